import { AnswerTally, type AnswerSink, type TransportFailure } from "../harness/load/answers.js";
import { batch } from "./batch.js";
import { subscribeMarket } from "../harness/load/ws.js";
import { LatencyRecorder } from "../harness/load/latency.js";
import { openPool, runSchedule } from "../harness/load/open.js";
import { leastSquaresSlope } from "../services/common/src/slope.js";
import { sumOf } from "../harness/load/exposition.js";
import { processSource, SoakSeries } from "./soak-series.js";
import { FAILURE_SHARE, type LiveRequest, type Scenario, type ScenarioContext, type SeriesPoint } from "./contract.js";

/**
 * `perfpack run --soak DURATION`: the optimized executor under a steady, open-model load for a
 * long time, sampled every interval, to see whether memory and GC hold still.
 *
 * Load: `--rate` requests/s at constant arrival times (default SOAK_RATE), alternating an order
 * and an open-orders read, latency counted from each request's due time (no coordinated
 * omission), plus `--ws-clients` market-stream subscribers for the whole soak. Plain HTTP goes
 * through perfpack's wire client (one pool for both requests), HTTPS through undici's Pool.
 * Each interval records (scenarios/soak-series.ts), from the executor's own metrics: RSS, heap
 * used, the GC time share and CPU over the interval (a service without them: RSS and CPU of its
 * process from the OS); and from the generator: requests, errors, latency percentiles, and WS
 * messages delivered.
 */
const SOAK_RATE = 200;
/** In-flight requests past which the generator stops sending and counts the requests as late. */
const MAX_IN_FLIGHT = 512;

/** About 60 samples a soak, each 1–30 s long. */
const soakIntervalS = (durationS: number): number => Math.min(30, Math.max(1, Math.round(durationS / 60)));

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
    return JSON.stringify({
      symbol: "BTCUSDT",
      side: n % 2 === 0 ? "SELL" : "BUY",
      type: "MARKET",
      quantity: "0.001",
      clientOrderId: `soak-${process.pid.toString(36)}-${n.toString(36)}`,
    });
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
    return pool.fire(due, {
      method: r.method,
      path: r.path,
      headers: r.headers,
      body,
    });
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
        tick: tick ? { everyMs: intervalS * 1000, fn: tick } : undefined,
      });
      return r.late;
    },
    close: () => pool.close(),
  };
}

/** The window's metrics: its throughput, failures and latency, RSS's peak and growth, the worst interval's GC share. */
function soakMetrics(o: {
  series: readonly SeriesPoint[];
  tally: SoakTally;
  elapsedS: number;
  intervalS: number;
  rate: number;
  late: number;
  wsMessages: number;
}): Record<string, number> {
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
    ...(rss.length
      ? { soak_rss_max_mb: Math.max(...rss), soak_rss_last_mb: rss.at(-1)!, soak_rss_first_mb: rss[0]! }
      : {}),
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
  description:
    "steady open-model load (orders and open-orders) plus WS subscribers for a long time; RSS, heap, GC share and latency per interval",
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
    const readProcess = await processSource(ctx.target.executorUrl, ctx.target.executorPid);
    const sampler = new SoakSeries(
      t0,
      readProcess,
      () => tally.endInterval(),
      () => stream.messages,
      ctx.log,
    );
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
    const metrics = soakMetrics({
      series: sampler.points,
      tally,
      elapsedS,
      intervalS,
      rate,
      late,
      wsMessages: stream.messages,
    });
    return {
      metrics,
      work: tally.window.responses,
      workUnit: "request",
      series: sampler.points,
      answers: tally.answers.record(),
    };
  },
  // the soak's GC share is the executor's over the whole window (the probes' delta)
  derive: (probes): Record<string, number> => {
    if (!probes.executorDelta) return {};
    const gc = sumOf(probes.executorDelta, "nodejs_gc_duration_seconds_sum");
    return probes.windowS > 0 ? { soak_gc_share: gc / probes.windowS } : {};
  },
} satisfies Scenario;
