/**
 * One measured window over one or more arms under a scenario's load: the probes read before and
 * after it (the executor's metrics, the exchange's counters, the processes' CPU and memory, the
 * generator's own CPU), and each arm's record is derived from what they saw.
 */
import { exchangeStats, ProcessSampler } from "./probes.js";
import { delta, scrape, sumOf, type Scrape } from "../load/exposition.js";
import { scenarioContext, type LoadedArm, type LoadShape } from "./rig.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "../../scenarios/contract.js";
import type { TrialRecord } from "../results/schema.js";
import type { AnswersRecord } from "../load/answers.js";

/** One arm of a measured window: where its load goes, its processes, and its share of the load. */
export interface MeasureArm extends LoadedArm {
  /** A user's service may have no metrics endpoint. */
  metricsOptional: boolean;
  artillery?: ScenarioContext["artillery"];
  connections: number;
  wsClients: number;
}

export type MeasureResult = Pick<TrialRecord, "metrics" | "generatorBound" | "executorDelta" | "series"> & {
  answers?: AnswersRecord;
};

/** What every arm shares in a window: the run's load settings and how its lines are told. */
export interface MeasureSettings {
  load: Omit<LoadShape, "connections" | "wsClients">;
  /** Generator CPU (cores) at or above which an arm is flagged generator-bound. */
  generatorBoundCores: number;
  /** The arms share one exchange: its counters are no one arm's. */
  sharedExchange: boolean;
  log(line: string): void;
}

/** The probes' reading at the window's start. */
interface Opened {
  before: Array<Scrape | undefined>;
  exBefore: Array<Record<string, number> | undefined>;
  cpu0: NodeJS.CpuUsage;
  w0: number;
}

/** The window's readings once it closed. */
interface Closed extends Opened {
  windowS: number;
  gen: NodeJS.CpuUsage;
  after: Array<Scrape | undefined>;
  exAfter: Array<Record<string, number> | undefined>;
}

/**
 * The measured window of a slice: it opens once for every arm, when the last one has warmed up
 * (`arrive`), and closes once (`close`), when the scenarios return or earlier when one says so
 * (an outside generator that still reports and exits after its load: Artillery, alone).
 */
class MeasureWindow {
  readonly sampler: ProcessSampler;
  private arrived = 0;
  private opened: Opened | undefined;
  private closed: Promise<Closed> | undefined;
  private release!: (opening: Promise<Opened>) => void;
  private readonly opening = new Promise<Opened>((resolve) => (this.release = resolve));
  /** Rejects when the slice is aborted: nothing waits for a scenario's own teardown after that. */
  readonly aborted: Promise<never>;

  constructor(
    private readonly arms: readonly MeasureArm[],
    private readonly sharedExchange: boolean,
    signal: AbortSignal,
  ) {
    const pids = [
      ...new Set(
        arms.flatMap((a) => [a.pids.executor ?? 0, a.pids.exchange ?? 0, ...(a.pids.link ? [a.pids.link] : [])]),
      ),
    ];
    this.sampler = new ProcessSampler(pids);
    this.opening.catch(() => {});
    this.aborted = new Promise<never>((_, reject) =>
      signal.addEventListener(
        "abort",
        () => reject(signal.reason instanceof Error ? signal.reason : new Error("trial aborted")),
        { once: true },
      ),
    );
    this.aborted.catch(() => {});
  }

  /** An arm has warmed up: resolves when every arm has and the probes have read the start. */
  async arrive(): Promise<void> {
    if (++this.arrived === this.arms.length) this.release(this.open());
    await Promise.race([this.opening, this.aborted]);
  }

  /** Ends the window (once): the probes read the end. Before it opened, nothing is read. */
  async close(): Promise<void> {
    const o = this.opened;
    if (!o) return;
    this.closed ??= (async () => {
      const windowS = (performance.now() - o.w0) / 1000;
      const gen = process.cpuUsage(o.cpu0);
      await this.sampler.stop();
      return {
        ...o,
        windowS,
        gen,
        after: await Promise.all(this.arms.map((a) => this.scrape(a))),
        exAfter: await Promise.all(this.arms.map((a) => this.exchange(a))),
      };
    })();
    await this.closed;
  }

  /** The readings of a closed window. */
  readings(scenario: string): Promise<Closed> {
    if (!this.closed) throw new Error(`scenario ${scenario} never started its measured window`);
    return this.closed;
  }

  private async open(): Promise<Opened> {
    const before = await Promise.all(this.arms.map((a) => this.scrape(a)));
    const exBefore = await Promise.all(this.arms.map((a) => this.exchange(a)));
    await this.sampler.start();
    this.opened = { before, exBefore, cpu0: process.cpuUsage(), w0: performance.now() };
    return this.opened;
  }

  /** A service without the metrics endpoint: its metric-based figures are not measured. */
  private scrape(arm: MeasureArm): Promise<Scrape | undefined> {
    return scrape(arm.target.executorUrl).catch((err: unknown) =>
      arm.metricsOptional ? undefined : Promise.reject(err),
    );
  }

  private exchange(arm: MeasureArm): Promise<Record<string, number> | undefined> {
    return this.sharedExchange ? Promise.resolve(undefined) : exchangeStats(arm.target.exchangeUrl);
  }
}

/**
 * Runs the scenario on each arm at once (one arm: the alternate design; several: a duet slice, in
 * the caller's order) with probes around one measured window. Each arm gets its own metrics; the
 * generator's CPU is the whole process's (all arms' load), and a shared exchange's counters cannot
 * be split between arms, so they are not attributed.
 */
export async function measure(
  scenario: Scenario,
  signal: AbortSignal,
  arms: readonly MeasureArm[],
  s: MeasureSettings,
): Promise<MeasureResult[]> {
  const n = arms.length;
  const window = new MeasureWindow(arms, s.sharedExchange, signal);
  const contexts = arms.map((arm) =>
    scenarioContext(
      arm,
      {
        ...s.load,
        rate: s.load.rate === undefined ? undefined : s.load.rate / n,
        connections: arm.connections,
        wsClients: arm.wsClients,
      },
      {
        signal,
        artillery: arm.artillery,
        log: (line) => s.log(n > 1 ? `${arm.name}: ${line}` : line),
        measureStart: () => window.arrive(),
        measureEnd: n === 1 ? () => window.close() : undefined,
      },
    ),
  );
  let results: ScenarioResult[];
  try {
    // an abort ends the wait at once: a scenario's teardown (subscribers closing, a warm-up's
    // timer) finishes on its own, with its services already stopping
    const runs = Promise.all(contexts.map((ctx) => scenario.run(ctx)));
    runs.catch(() => {});
    results = await Promise.race([runs, window.aborted]);
    if (!signal.aborted) await window.close();
  } finally {
    await window.sampler.stop();
  }
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("trial aborted");
  const w = await window.readings(scenario.name);
  // a generator the scenario ran outside this process (Artillery) reports its own CPU over the window
  const generatorCores =
    ((w.gen.user + w.gen.system) / 1e6 + results.reduce((x, r) => x + (r.generatorCpuS ?? 0), 0)) / w.windowS;
  return arms.map((arm, i) =>
    armMetrics(scenario, arm, results[i]!, {
      windowS: w.windowS,
      generatorCores,
      generatorBound: generatorCores >= s.generatorBoundCores,
      sampler: window.sampler,
      before: w.before[i],
      after: w.after[i],
      exBefore: w.exBefore[i],
      exAfter: w.exAfter[i],
    }),
  );
}

/** One arm's share of a window's readings. */
interface ArmReadings {
  windowS: number;
  generatorCores: number;
  generatorBound: boolean;
  sampler: ProcessSampler;
  before: Scrape | undefined;
  after: Scrape | undefined;
  exBefore: Record<string, number> | undefined;
  exAfter: Record<string, number> | undefined;
}

/** One arm's record of a window: the scenario's metrics, its processes' CPU and memory, and what the probes derive. */
function armMetrics(scenario: Scenario, arm: MeasureArm, result: ScenarioResult, w: ArmReadings): MeasureResult {
  const { windowS, sampler, before, after, exBefore, exAfter, generatorCores, generatorBound } = w;
  const { pids } = arm;
  const d = before && after ? delta(before, after) : undefined;
  const exDelta =
    exBefore && exAfter
      ? Object.fromEntries(Object.entries(exAfter).map(([k, v]) => [k, v - (exBefore[k] ?? 0)]))
      : undefined;

  const m: Record<string, number> = { ...result.metrics, window_s: windowS };
  const unit = result.workUnit;
  m.generator_cpu_cores = generatorCores;
  m.generator_rss_mb = process.memoryUsage().rss / 2 ** 20;
  const ex = pids.executor ? sampler.of(pids.executor) : undefined;
  if (ex) {
    m.executor_cpu_cores = ex.cpuS / windowS;
    if (result.work > 0) m[`executor_cpu_us_per_${unit}`] = (ex.cpuS * 1e6) / result.work;
    m.executor_rss_max_mb = ex.rssMaxMb;
    m.executor_rss_mean_mb = ex.rssMeanMb;
  }
  const xc = pids.exchange ? sampler.of(pids.exchange) : undefined;
  if (xc) m.exchange_cpu_cores = xc.cpuS / windowS;
  // the link (--upstream-rtt) runs apart: its CPU is neither the generator's nor the executor's
  const lk = pids.link ? sampler.of(pids.link) : undefined;
  if (lk) m.link_cpu_cores = lk.cpuS / windowS;
  // GC time share: seconds spent in GC (all kinds) over the window's seconds
  if (d && [...d.keys()].some((k) => k.startsWith("nodejs_gc_duration_seconds_sum")))
    m.executor_gc_share = sumOf(d, "nodejs_gc_duration_seconds_sum") / windowS;
  if (exDelta && result.work > 0) {
    m[`upstream_conns_per_${unit}`] = (exDelta.connections ?? 0) / result.work;
    m[`upstream_tls_handshakes_per_${unit}`] = (exDelta.tlsHandshakes ?? 0) / result.work;
  }
  if (d || exDelta)
    Object.assign(
      m,
      scenario.derive?.({ executorDelta: d, exchangeDelta: exDelta, windowS }, result, arm.target.toggles) ?? {},
    );
  m.generator_bound = generatorBound ? 1 : 0;
  for (const [k, v] of Object.entries(m)) if (!Number.isFinite(v)) delete m[k];
  const sparkDelta = d ? Object.fromEntries([...d].filter(([k, v]) => k.startsWith("spark_") && v !== 0)) : undefined;
  return {
    metrics: m,
    generatorBound,
    executorDelta: sparkDelta,
    series: result.series,
    answers: result.answers,
  };
}
