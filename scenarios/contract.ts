/** The contract between the engine and a scenario module (scenarios/*.ts). */

export interface ScenarioTarget {
  executorUrl: string;
  /** The mock exchange, when perfpack launched it or the target's health names it. */
  exchangeUrl: string | undefined;
  /** The variant's executor settings as the executor reports them on /health. */
  toggles: Record<string, unknown>;
}

export interface ScenarioContext {
  target: ScenarioTarget;
  /** Measured load length, seconds. */
  durationS: number;
  /** Unmeasured warm-up before it, seconds. */
  warmupS: number;
  connections: number;
  /** Open model: requests per second (latency scenario); undefined = closed model. */
  rate: number | undefined;
  wsClients: number;
  /** Aborted when the trial must end early (a service died, or perfpack was interrupted). */
  signal: AbortSignal;
  /** Marks the start of the measured window (after warm-up); probes cover exactly that window. */
  measureStart(): Promise<void>;
  log(line: string): void;
}

export interface ScenarioResult {
  /** Flat named numbers (rps, latency_p95_ms …); omit what was not measured, never NaN. */
  metrics: Record<string, number>;
  /** Units of work in the measured window (requests, orders, messages), for CPU per unit. */
  work: number;
  workUnit: "request" | "order" | "message";
  /** A time series over the window (the soak's samples), kept in the trial record. */
  series?: SeriesPoint[];
}

/** One sample of a series: seconds into the window (t_s) and named numbers. */
export type SeriesPoint = { t_s: number } & Record<string, number>;

/** What the probes saw over the measured window, for a scenario's own derived metrics. */
export interface WindowProbes {
  /** Executor metrics: after − before (counters, histogram buckets, sums, counts). */
  executorDelta: Map<string, number>;
  /** Mock-exchange /stats: after − before; undefined when the upstream is not our mock. */
  exchangeDelta: Record<string, number> | undefined;
  windowS: number;
}

/** A metric worth a column in the summary table, and which way is better. */
export interface Headline {
  metric: string;
  label: string;
  better: "higher" | "lower";
  /** One of the few metrics the regression gate tests (throughput and p95 of each scenario). */
  gate?: true;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly headline: readonly Headline[];
  /** Flags the launcher passes to the mock exchange for this scenario's trials. */
  readonly exchangeArgs: (ctx: { durationS: number; wsClients: number }) => string[];
  /** Wall time of one run, for the plan's estimate. */
  estimateS(ctx: { durationS: number; warmupS: number }): number;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
  /** Metrics computed from the window's probes (e.g. batch flushes from the executor's counters). */
  derive?(probes: WindowProbes, result: ScenarioResult, toggles: Record<string, unknown>): Record<string, number>;
}
