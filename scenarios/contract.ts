/** The contract between the engine and a scenario module (scenarios/*.ts). */

/**
 * A request a scenario sends, as the run configures it (the `requests` key, --header): what
 * results.json records, with header values as written (`${env:API_KEY}` stays a reference).
 */
export interface RequestSpec {
  /** ws: a WebSocket upgrade (GET) on `path`, which carries headers but no body. */
  protocol: "http" | "ws";
  method: string;
  /** Absolute path, with its query string. */
  path: string;
  headers: Record<string, string>;
  /** JSON text; strings in it may hold {{seq}} or {{uuid}}. */
  body?: string;
}

/** The request as the load generators send it: header values resolved, the body a template. */
export interface LiveRequest {
  protocol: "http" | "ws";
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: RequestBody;
  /** What it was made from (header values unresolved): for an outside generator's script. */
  spec: RequestSpec;
}

/** A request body as the generators send it: fixed bytes, or a template filled per request. */
export interface RequestBody {
  /** The template as written (JSON text, placeholders included). */
  readonly text: string;
  /** No placeholder: every request sends the same bytes. */
  readonly fixed: boolean;
  next(): string;
}

/** How a request that got no answer failed: refused, reset (or closed early), timed out, or anything else (a protocol error). */
export type TransportFailure = "refused" | "reset" | "timeout" | "other";

/** What the answers of a trial's measured window were, as results.json records it beside the metrics. */
export interface AnswersRecord {
  /** 2xx answers. */
  ok: number;
  /** Answers outside 2xx, by status code. */
  statuses: Record<string, number>;
  /** Requests that got no answer, by how they failed. */
  transport: Record<TransportFailure, number>;
  /** (non-2xx + transport failures) / every request that ended. */
  failureShare: number;
  /** The first failure: its status and body (truncated, secrets scrubbed), or its transport error. */
  first?: { status?: number; body?: string; error?: string };
}

export interface ScenarioTarget {
  executorUrl: string;
  /** The mock exchange, when perfpack launched it or the target's health names it. */
  exchangeUrl: string | undefined;
  /** The variant's executor settings as the executor reports them on /health. */
  toggles: Record<string, unknown>;
  /** The service's process, when perfpack launched it: for what a service without metrics does not report (the soak's RSS and CPU). */
  executorPid?: number;
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
  /**
   * The requests of the run, by scenario name (the config file's `requests` over each scenario's
   * default, with --header): header values resolved, bodies as templates. A scenario sends the
   * entries its `uses` names.
   */
  requests: Readonly<Record<string, LiveRequest>>;
  /** Aborted when the trial must end early (a service died, or perfpack was interrupted). */
  signal: AbortSignal;
  /**
   * --generator artillery: the trial's load goes through a real `artillery run` child instead
   * of perfpack's own generators (latency, batch, ws; json and soak always run in process).
   */
  artillery?: { env: Readonly<NodeJS.ProcessEnv>; workDir: string };
  /** A capacity step's SLO quantile (0.5 … 0.999): the scenario adds `<latency prefix>_slo_ms`, that quantile of its window. */
  sloQuantile?: number;
  /** Marks the start of the measured window (after warm-up); probes cover exactly that window. */
  measureStart(): Promise<void>;
  /**
   * Marks its end, for a scenario whose load ends before it returns (an outside generator that
   * reports and exits afterwards); otherwise the window ends when the scenario returns.
   */
  measureEnd?(): Promise<void>;
  log(line: string): void;
}

export interface ScenarioResult {
  /** Flat named numbers (rps, latency_p95_ms …); omit what was not measured, never NaN. */
  metrics: Record<string, number>;
  /** Units of work in the measured window (requests, orders, messages), for CPU per unit. */
  work: number;
  workUnit: "request" | "order" | "message";
  /** CPU seconds over the window of a generator that ran outside perfpack's process (Artillery). */
  generatorCpuS?: number;
  /** A time series over the window (the soak's samples), kept in the trial record. */
  series?: SeriesPoint[];
  /**
   * The window's answers, counted apart (HTTP scenarios): the runner fails a trial whose failure
   * share is over --max-errors, and results.json keeps the record.
   */
  answers?: AnswersRecord;
}

/** One sample of a series: seconds into the window (t_s) and named numbers. */
export type SeriesPoint = { t_s: number } & Record<string, number>;

/** What the probes saw over the measured window, for a scenario's own derived metrics. */
export interface WindowProbes {
  /** Executor metrics: after − before (counters, histogram buckets, sums, counts); undefined when the service has no metrics endpoint (a team's own). */
  executorDelta: Map<string, number> | undefined;
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
  /**
   * "share": a fraction (0–1), shown as a percentage and compared as a difference in points, never
   * as a ratio (the failure share beside each throughput figure).
   */
  unit?: "share";
}

/** One series of a chart: a metric's median per variant, optionally divided by another metric's. */
export interface ChartSeries {
  label: string;
  metric: string;
  /** Divide by this metric (e.g. payload bytes per message). */
  per?: string;
}

/**
 * A chart the reports draw for a scenario, declared by the scenario and recorded in results.json,
 * so that the reports name no scenario: throughput (median bars, rounds as dots, 95% intervals),
 * percentiles (a line per variant), or bars (a series per metric, a bar per variant).
 */
export type Chart =
  | { kind: "throughput"; metric: string; label: string }
  | { kind: "percentiles"; title: string; series: readonly ChartSeries[] }
  | { kind: "bars"; title: string; series: readonly ChartSeries[] };

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly headline: readonly Headline[];
  /** Its own request (configurable under its name in `requests`), when it sends one. */
  readonly request?: RequestSpec;
  /** The `requests` entries it sends (its own, or others'): a user's service must serve them. */
  readonly uses: readonly string[];
  /** Why it cannot run as a duet (`--design duet`): it then runs alone, one variant at a time. */
  readonly duet?: string;
  /** What the HTML report draws for this scenario. */
  readonly charts?: readonly Chart[];
  /** Flags the launcher passes to the mock exchange for this scenario's trials. */
  readonly exchangeArgs: (ctx: { durationS: number; wsClients: number; wsRate?: number }) => string[];
  /** Wall time of one run, for the plan's estimate. */
  estimateS(ctx: { durationS: number; warmupS: number }): number;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
  /** Metrics computed from the window's probes (e.g. batch flushes from the executor's counters). */
  derive?(probes: WindowProbes, result: ScenarioResult, toggles: Record<string, unknown>): Record<string, number>;
  /** How `perfpack capacity` loads it step by step; a scenario without one has no capacity search. */
  readonly capacity?: CapacitySpec;
}

/**
 * A scenario's capacity search: what a step sets, and what its windows are judged on. "rate": its
 * request at an offered rate (open model, coordinated-omission corrected), judged on the latency
 * of the answers; "subscribers": that many subscribers, judged on the latency of what they receive.
 */
export interface CapacitySpec {
  level: "rate" | "subscribers";
  /** The level's unit in reports: "req/s", "orders/s", "subscribers". */
  unit: string;
  /** The SLO when --slo is not given (the guide's target for this scenario). */
  defaultSlo: string;
  /** The prefix of the latency metrics the SLO reads ("latency": latency_p95_ms …). */
  latency: string;
  /** What one unit of the level's work is: CPU is reported per one. */
  work: ScenarioResult["workUnit"];
  /** The metric of the work per second a window achieved (answered, or delivered). */
  achieved: string;
  /** The work per second a level offers, when it is not the level itself (subscribers × the feed rate). */
  offered?(level: number, o: { wsRate?: number }): number;
}

/** The percentile series of a latency chart (the closed and open load generators' metrics). */
export const LATENCY_PERCENTILES: readonly ChartSeries[] = [
  { label: "p50", metric: "latency_p50_ms" },
  { label: "p95", metric: "latency_p95_ms" },
  { label: "p99", metric: "latency_p99_ms" },
  { label: "max", metric: "latency_max_ms" },
];

/** The failure share beside a scenario's throughput headline (harness/load/answers.ts counts it). */
export const FAILURE_SHARE: Headline = { metric: "failure_share", label: "failed", better: "lower", unit: "share" };

/** Every request of an answers record that ended: answered (any status) or failed in transport. */
export const requestsIn = (a: AnswersRecord): number =>
  a.ok + Object.values(a.statuses).reduce((x, y) => x + y, 0) + Object.values(a.transport).reduce((x, y) => x + y, 0);
