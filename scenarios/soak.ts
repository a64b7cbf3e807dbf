import { AnswerTally, type AnswerSink, type TransportFailure } from "../harness/load/answers.js";
import { batch } from "./batch.js";
import { subscribeMarket } from "../harness/load/ws.js";
import { LatencyRecorder } from "../harness/load/latency.js";
import { openPool, runSchedule } from "../harness/load/open.js";
import { leastSquaresSlope } from "../services/common/src/slope.js";
import { hasMetric, scrape, sumOf } from "../harness/load/exposition.js";
import { processUsage } from "../harness/load/process-usage.js";
import { FAILURE_SHARE, type LiveRequest, type Scenario, type ScenarioContext, type SeriesPoint } from "./contract.js";

/**
 * `perfpack run --soak DURATION`: the optimized executor under a steady, open-model load for a
 * long time, sampled every interval, to see whether memory and GC hold still.
 *
 * Load: `--rate` requests/s at constant arrival times (default SOAK_RATE), alternating an order
 * and an open-orders read, latency counted from each request's due time (no coordinated
 * omission), plus `--ws-clients` market-stream subscribers for the whole soak. Plain HTTP goes
 * through perfpack's wire client (one pool for both requests), HTTPS through undici's Pool.
 * Each interval records, from the executor's own metrics: RSS, heap used, the GC time share and
 * CPU over the interval (a service without them: RSS and CPU of its process from the OS); and
 * from the generator: requests, errors, latency percentiles, and WS messages delivered.
 */
const SOAK_RATE = 200;
/** In-flight requests past which the generator stops sending and counts the requests as late. */
const MAX_IN_FLIGHT = 512;

/** About 60 samples a soak, each 1–30 s long. */
const soakIntervalS = (durationS: number): number => Math.min(30, Math.max(1, Math.round(durationS / 60)));

const MB = 2 ** 20;

/** One sample of the service's process: bytes, and cumulative seconds of GC and CPU. */
interface ProcessSample {
  rss: number;
  heap?: number;
  gc?: number;
  cpu: number;
}

type ProcessReader = () => Promise<ProcessSample | undefined>;

/**
 * Where a soak reads the service's process: its own metrics (prom-client's defaults, as the
 * reference executor serves them: RSS, heap, GC and CPU), or for a service without them the
 * OS's figures of its process (RSS and CPU; no heap or GC). Chosen once, at the first sample,
 * so an interval never subtracts one source from the other.
 */
async function processSource(url: string, pid: number | undefined): Promise<ProcessReader | undefined> {
  const fromMetrics = async (): Promise<ProcessSample | undefined> => {
    try {
      const m = await scrape(url);
      if (!hasMetric(m, "process_resident_memory_bytes")) return undefined;
      return {
        rss: sumOf(m, "process_resident_memory_bytes"),
        ...(hasMetric(m, "nodejs_heap_size_used_bytes") ? { heap: sumOf(m, "nodejs_heap_size_used_bytes") } : {}),
        ...(hasMetric(m, "nodejs_gc_duration_seconds_sum") ? { gc: sumOf(m, "nodejs_gc_duration_seconds_sum") } : {}),
        cpu: sumOf(m, "process_cpu_seconds_total"),
      };
    } catch {
      return undefined;
    }
  };
  if (await fromMetrics()) return fromMetrics;
  if (pid === undefined) return undefined;
  return async () => {
    const usage = (await processUsage([pid]))?.get(pid);
    return usage ? { rss: usage.rssBytes, cpu: usage.cpuMs / 1000 } : undefined;
  };
}

/** The answers of a stretch of the soak (an interval, or the window): how many, how many failed, and the latency of the rest. */
class Stretch {
  readonly latency = new LatencyRecorder();
  responses = 0;
  errors = 0;

  /** An answer, `ms` from its request's due time. */
  add(status: number, ms: number): void {
    this.responses++;
    // latency percentiles are of the successful answers
    if (status < 200 || status >= 300) this.errors++;
    else this.latency.recordMs(ms);
  }

  /** A request that got no answer. */
  fail(): void {
    this.errors++;
  }
}

/**
 * Where the pool puts each answer: the window's AnswerTally (its failure share is held to
 * --max-errors), the current interval's stretch and the whole window's.
 */
class SoakTally implements AnswerSink {
  answers = new AnswerTally();
  interval = new Stretch();
  window = new Stretch();

  answer(status: number, ms: number, text?: string): void {
    this.answers.answer(status, ms, text);
    this.interval.add(status, ms);
    this.window.add(status, ms);
  }

  error(kind: TransportFailure, message?: string): void {
    this.answers.error(kind, message);
    this.interval.fail();
    this.window.fail();
  }

  get wantsBody(): boolean {
    return this.answers.wantsBody;
  }

  /** The current interval's stretch, ended: the next one starts empty. */
  endInterval(): Stretch {
    const ended = this.interval;
    this.interval = new Stretch();
    return ended;
  }

  /** Forgets the warm-up's answers: the window starts here. */
  reset(): void {
    this.answers = new AnswerTally();
    this.interval = new Stretch();
    this.window = new Stretch();
  }
}

/** The market-stream subscribers, for the whole soak, and the messages they were delivered. */
interface MarketStream {
  readonly messages: number;
  close(): void;
}

async function marketStream(ctx: ScenarioContext): Promise<MarketStream> {
  const subscribers = await subscribeMarket(ctx.target.executorUrl, ctx.wsClients, ctx.signal, ctx.requests.ws);
  const stream = {
    messages: 0,
    close: () => {
      for (const s of subscribers) s.ws.terminate();
    },
  };
  for (const s of subscribers) s.ws.on("message", () => stream.messages++);
  return stream;
}

/**
 * The bodies of the soak's writes: the batch request's, or with batch's own default body, orders
 * of the soak's own (both sides), each with a clientOrderId of its own across warm-up and soak
 * (a repeat would be answered from a query).
 */
function orderBodies(write: LiveRequest): () => string | undefined {
  if (write.body?.text !== batch.request.body) return () => write.body?.next();
  let orders = 0;
  return () => {
    const n = orders++;
    return JSON.stringify({ symbol: "BTCUSDT", side: n % 2 === 0 ? "SELL" : "BUY", type: "MARKET", quantity: "0.001", clientOrderId: `soak-${process.pid.toString(36)}-${n.toString(36)}` });
  };
}

/**
 * The soak's load on one pool, its answers into `tally`: writes (the batch scenario's request)
 * and reads (the latency scenario's) alternating, on the open model's clock (harness/load/open.ts).
 */
function soakLoad(ctx: ScenarioContext, tally: SoakTally, rate: number, intervalS: number) {
  const write = ctx.requests.batch!;
  const read = ctx.requests.latency!;
  const order = orderBodies(write);
  const pool = openPool({ url: ctx.target.executorUrl, connections: ctx.connections }, tally, { recordMs: () => {} });
  const fire = (i: number, due: number): Promise<void> => {
    const r = i % 2 === 0 ? write : read;
    const body = r === write ? order() : read.body?.next();
    return pool.fire(due, { method: r.method, path: r.path, headers: r.headers, ...(body !== undefined ? { body } : {}) });
  };
  return {
    /** `seconds` of the schedule, `tick` at each interval boundary; resolves to the requests counted late. */
    async drive(seconds: number, tick?: () => Promise<void>): Promise<number> {
      const r = await runSchedule({
        rate,
        total: Math.floor(rate * seconds),
        signal: ctx.signal,
        maxInFlight: MAX_IN_FLIGHT,
        fire,
        ...(tick ? { tick: { everyMs: intervalS * 1000, fn: tick } } : {}),
      });
      return r.late;
    },
    close: () => pool.close(),
  };
}

/** A point's figures of the process: RSS and heap now, GC and CPU over the interval since the previous sample. */
function processFigures(cur: ProcessSample | undefined, prev: ProcessSample | undefined, dt: number): Record<string, number> {
  if (!cur) return {};
  return {
    rss_mb: cur.rss / MB,
    ...(cur.heap !== undefined ? { heap_mb: cur.heap / MB } : {}),
    ...(prev && cur.gc !== undefined && prev.gc !== undefined ? { gc_share: (cur.gc - prev.gc) / dt } : {}),
    ...(prev ? { cpu_cores: (cur.cpu - prev.cpu) / dt } : {}),
  };
}

/** The soak's series: a point at each interval's end, of its answers, the WS messages delivered, and the service's process. */
class Sampler {
  readonly points: SeriesPoint[] = [];
  private prev: ProcessSample | undefined;
  private prevAt: number;
  private prevWs = 0;

  constructor(
    private readonly t0: number,
    private readonly readProcess: ProcessReader | undefined,
    private readonly tally: SoakTally,
    private readonly stream: MarketStream,
    private readonly log: (line: string) => void,
  ) {
    this.prevAt = t0;
  }

  /** The process as the window starts, which the first interval's GC and CPU count from. */
  async begin(): Promise<void> {
    this.prev = await this.readProcess?.();
    this.prevWs = this.stream.messages;
  }

  async sample(): Promise<void> {
    const now = performance.now();
    const cur = await this.readProcess?.();
    const dt = (now - this.prevAt) / 1000;
    const interval = this.tally.endInterval();
    const lat = interval.latency.summary();
    const point: SeriesPoint = {
      t_s: (now - this.t0) / 1000,
      rps: interval.responses / dt,
      errors: interval.errors,
      ws_msgs_per_s: (this.stream.messages - this.prevWs) / dt,
      ...(lat ? { p50_ms: lat.p50, p95_ms: lat.p95, p99_ms: lat.p99 } : {}),
      ...processFigures(cur, this.prev, dt),
    };
    this.points.push(point);
    this.log(`soak ${point.t_s.toFixed(0)} s: rss ${point.rss_mb?.toFixed(1)} MB, gc ${((point.gc_share ?? 0) * 100).toFixed(2)}%, ${point.rps.toFixed(0)} req/s`);
    this.prev = cur ?? this.prev;
    this.prevAt = now;
    this.prevWs = this.stream.messages;
  }

  /** A last point for the window's tail, unless the last one was just taken. */
  async last(): Promise<void> {
    if (this.points.length === 0 || performance.now() - this.prevAt > 500) await this.sample();
  }
}

/** The window's metrics: its throughput, failures and latency, RSS's peak and growth, the worst interval's GC share. */
function soakMetrics(o: { series: readonly SeriesPoint[]; tally: SoakTally; elapsedS: number; intervalS: number; rate: number; late: number; wsMessages: number }): Record<string, number> {
  const { series, tally, elapsedS } = o;
  const rss = series.map((p) => p.rss_mb).filter((v): v is number => v !== undefined);
  const gcs = series.map((p) => p.gc_share).filter((v): v is number => v !== undefined);
  const withRss = series.filter((p) => p.rss_mb !== undefined);
  // growth over the later 80%: the first minutes hold the JIT and pools filling up
  const settled = withRss.slice(Math.floor(withRss.length / 5));
  const lat = tally.window.latency.summary();
  return {
    soak_duration_s: elapsedS,
    soak_interval_s: o.intervalS,
    soak_target_rate: o.rate,
    soak_rps: tally.answers.ok / elapsedS,
    soak_requests: tally.window.responses,
    soak_errors: tally.window.errors,
    soak_late: o.late,
    ...(lat ? { soak_p50_ms: lat.p50, soak_p95_ms: lat.p95, soak_p99_ms: lat.p99 } : {}),
    ...(rss.length ? { soak_rss_max_mb: Math.max(...rss), soak_rss_last_mb: rss.at(-1)!, soak_rss_first_mb: rss[0]! } : {}),
    ...(settled.length >= 2
      ? {
          soak_rss_growth_mb_per_min:
            leastSquaresSlope(
              settled.map((p) => p.t_s),
              settled.map((p) => p.rss_mb!),
            ) * 60,
        }
      : {}),
    ...(gcs.length ? { soak_gc_share_max: Math.max(...gcs) } : {}),
    ws_msgs_per_s: o.wsMessages / elapsedS,
    failure_share: tally.answers.failureShare,
  };
}

export const soak = {
  name: "soak",
  description: "steady open-model load (orders and open-orders) plus WS subscribers for a long time; RSS, heap, GC share and latency per interval",
  // its writes are the batch scenario's request, its reads the latency scenario's, its subscribers the ws scenario's
  uses: ["batch", "latency", "ws"],
  duet: "it runs the optimized variant alone, for a long time",
  headline: [
    { metric: "soak_rps", label: "req/s", better: "higher" },
    FAILURE_SHARE,
    { metric: "soak_p95_ms", label: "p95 ms", better: "lower" },
    { metric: "soak_rss_max_mb", label: "RSS peak MB", better: "lower" },
    { metric: "soak_rss_growth_mb_per_min", label: "RSS growth MB/min", better: "lower" },
    { metric: "soak_gc_share", label: "GC share", better: "lower" },
    { metric: "soak_gc_share_max", label: "GC share, worst interval", better: "lower" },
    { metric: "soak_errors", label: "errors", better: "lower" },
  ],
  exchangeArgs: () => ["--latency-ms", "1"],
  estimateS: ({ durationS, warmupS }) => durationS + warmupS + 0.5,
  async run(ctx) {
    const rate = ctx.rate ?? SOAK_RATE;
    const intervalS = soakIntervalS(ctx.durationS);
    const stream = await marketStream(ctx);
    const tally = new SoakTally();
    const load = soakLoad(ctx, tally, rate, intervalS);
    if (ctx.warmupS > 0) await load.drive(ctx.warmupS);
    tally.reset();
    await ctx.measureStart();
    const t0 = performance.now();
    const sampler = new Sampler(t0, await processSource(ctx.target.executorUrl, ctx.target.executorPid), tally, stream, ctx.log);
    await sampler.begin();
    let late = 0;
    try {
      late = await load.drive(ctx.durationS, () => sampler.sample());
      if (!ctx.signal.aborted) await sampler.last();
    } finally {
      stream.close();
      await load.close();
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const metrics = soakMetrics({ series: sampler.points, tally, elapsedS, intervalS, rate, late, wsMessages: stream.messages });
    return { metrics, work: tally.window.responses, workUnit: "request", series: sampler.points, answers: tally.answers.record() };
  },
  // the soak's GC share is the executor's over the whole window (the probes' delta)
  derive: (probes): Record<string, number> => {
    if (!probes.executorDelta) return {};
    const gc = sumOf(probes.executorDelta, "nodejs_gc_duration_seconds_sum");
    return probes.windowS > 0 ? { soak_gc_share: gc / probes.windowS } : {};
  },
} satisfies Scenario;
