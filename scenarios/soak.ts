import { AnswerTally, type TransportFailure } from "../harness/load/answers.js";
import { batch } from "./batch.js";
import { subscribeMarket } from "../harness/load/ws.js";
import { LatencyRecorder } from "../harness/load/latency.js";
import { openPool, runSchedule } from "../harness/load/open.js";
import { leastSquaresSlope } from "../services/common/src/slope.js";
import { scrape, sumOf } from "../harness/load/exposition.js";
import { processUsage } from "../harness/load/process-usage.js";
import { FAILURE_SHARE, type Scenario, type SeriesPoint } from "./contract.js";

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

/** One sample of the service's process: bytes, and cumulative seconds of GC and CPU. */
interface ProcessSample {
  rss: number;
  heap?: number;
  gc?: number;
  cpu: number;
}

/**
 * Where a soak reads the service's process: its own metrics (prom-client's defaults, as the
 * reference executor serves them: RSS, heap, GC and CPU), or for a service without them the
 * OS's figures of its process (RSS and CPU; no heap or GC). Chosen once, at the first sample,
 * so an interval never subtracts one source from the other.
 */
async function processSource(url: string, pid: number | undefined): Promise<(() => Promise<ProcessSample | undefined>) | undefined> {
  const fromMetrics = async (): Promise<ProcessSample | undefined> => {
    try {
      const m = await scrape(url);
      const has = (name: string) => [...m.keys()].some((k) => k === name || k.startsWith(name + "{"));
      if (!has("process_resident_memory_bytes")) return undefined;
      return {
        rss: sumOf(m, "process_resident_memory_bytes"),
        ...(has("nodejs_heap_size_used_bytes") ? { heap: sumOf(m, "nodejs_heap_size_used_bytes") } : {}),
        ...(has("nodejs_gc_duration_seconds_sum") ? { gc: sumOf(m, "nodejs_gc_duration_seconds_sum") } : {}),
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
    const base = ctx.target.executorUrl;
    const rate = ctx.rate ?? SOAK_RATE;
    const intervalS = soakIntervalS(ctx.durationS);

    let wsMessages = 0;
    const subscribers = await subscribeMarket(base, ctx.wsClients, ctx.signal, ctx.requests.ws);
    for (const s of subscribers) s.ws.on("message", () => wsMessages++);

    // every order gets a clientOrderId of its own, across warm-up and soak (a repeat would be answered from a query)
    let orders = 0;
    let late = 0;
    let interval = { recorder: new LatencyRecorder(), responses: 0, errors: 0 };
    let totals = { recorder: new LatencyRecorder(), responses: 0, errors: 0 };
    // the window's answers, counted apart (its failure share is held to --max-errors)
    let answers = new AnswerTally();
    // writes are the batch scenario's request, reads the latency scenario's; with batch's own
    // default body, the soak sends orders of its own (both sides, each with a unique clientOrderId)
    const write = ctx.requests.batch!;
    const read = ctx.requests.latency!;
    const ownOrders = write.body?.text === batch.request.body;
    const order = () => {
      const n = orders++;
      if (!ownOrders) return write.body?.next();
      return JSON.stringify({ symbol: "BTCUSDT", side: n % 2 === 0 ? "SELL" : "BUY", type: "MARKET", quantity: "0.001", clientOrderId: `soak-${process.pid.toString(36)}-${n.toString(36)}` });
    };
    /** An answer, `ms` from its request's due time, into the window's tally, the interval's and the totals. */
    const tally = {
      answer(status: number, ms: number, text?: string): void {
        answers.answer(status, ms, text);
        for (const acc of [interval, totals]) {
          acc.responses++;
          // latency percentiles are of the successful answers
          if (status < 200 || status >= 300) acc.errors++;
          else acc.recorder.recordMs(ms);
        }
      },
      error(kind: TransportFailure, message?: string): void {
        answers.error(kind, message);
        interval.errors++;
        totals.errors++;
      },
      get wantsBody(): boolean {
        return answers.wantsBody;
      },
    };
    const pool = openPool({ url: base, connections: ctx.connections }, tally, { recordMs: () => {} });
    const fire = (i: number, due: number): Promise<void> => {
      const r = i % 2 === 0 ? write : read;
      const body = r === write ? order() : read.body?.next();
      return pool.fire(due, { method: r.method, path: r.path, headers: r.headers, ...(body !== undefined ? { body } : {}) });
    };

    /** The open model's schedule (harness/load/open.ts) for `seconds`; `tick` at each interval boundary. */
    const drive = async (seconds: number, tick?: () => Promise<void>) => {
      const r = await runSchedule({
        rate,
        total: Math.floor(rate * seconds),
        signal: ctx.signal,
        maxInFlight: MAX_IN_FLIGHT,
        fire,
        ...(tick ? { tick: { everyMs: intervalS * 1000, fn: tick } } : {}),
      });
      late += r.late;
    };

    if (ctx.warmupS > 0) await drive(ctx.warmupS);
    interval = { recorder: new LatencyRecorder(), responses: 0, errors: 0 };
    totals = { recorder: new LatencyRecorder(), responses: 0, errors: 0 };
    answers = new AnswerTally();
    late = 0;
    await ctx.measureStart();
    const t0 = performance.now();
    const readProcess = await processSource(base, ctx.target.executorPid);
    const sampleProcess = async () => (readProcess ? readProcess() : undefined);
    let prev = await sampleProcess();
    let prevAt = t0;
    let prevWs = wsMessages;
    const series: SeriesPoint[] = [];
    const sample = async () => {
      const now = performance.now();
      const cur = await sampleProcess();
      const dt = (now - prevAt) / 1000;
      const lat = interval.recorder.summary();
      const point: SeriesPoint = {
        t_s: (now - t0) / 1000,
        rps: interval.responses / dt,
        errors: interval.errors,
        ws_msgs_per_s: (wsMessages - prevWs) / dt,
        ...(lat ? { p50_ms: lat.p50, p95_ms: lat.p95, p99_ms: lat.p99 } : {}),
      };
      if (cur) {
        point.rss_mb = cur.rss / 2 ** 20;
        if (cur.heap !== undefined) point.heap_mb = cur.heap / 2 ** 20;
        if (prev) {
          if (cur.gc !== undefined && prev.gc !== undefined) point.gc_share = (cur.gc - prev.gc) / dt;
          point.cpu_cores = (cur.cpu - prev.cpu) / dt;
        }
      }
      series.push(point);
      ctx.log(`soak ${point.t_s.toFixed(0)} s: rss ${point.rss_mb?.toFixed(1)} MB, gc ${((point.gc_share ?? 0) * 100).toFixed(2)}%, ${point.rps.toFixed(0)} req/s`);
      prev = cur ?? prev;
      prevAt = now;
      prevWs = wsMessages;
      interval = { recorder: new LatencyRecorder(), responses: 0, errors: 0 };
    };
    try {
      await drive(ctx.durationS, sample);
      if (!ctx.signal.aborted && (series.length === 0 || performance.now() - prevAt > 500)) await sample();
    } finally {
      for (const s of subscribers) s.ws.terminate();
      await pool.close();
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const rss = series.map((p) => p.rss_mb).filter((v): v is number => v !== undefined);
    const gcs = series.map((p) => p.gc_share).filter((v): v is number => v !== undefined);
    const withRss = series.filter((p) => p.rss_mb !== undefined);
    // growth over the later 80%: the first minutes hold the JIT and pools filling up
    const settled = withRss.slice(Math.floor(withRss.length / 5));
    const lat = totals.recorder.summary();
    const metrics: Record<string, number> = {
      soak_duration_s: elapsedS,
      soak_interval_s: intervalS,
      soak_target_rate: rate,
      soak_rps: answers.ok / elapsedS,
      soak_requests: totals.responses,
      soak_errors: totals.errors,
      soak_late: late,
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
      ws_msgs_per_s: wsMessages / elapsedS,
    };
    return { metrics: { ...metrics, failure_share: answers.failureShare }, work: totals.responses, workUnit: "request", series, answers: answers.record() };
  },
  // the soak's GC share is the executor's over the whole window (the probes' delta)
  derive: (probes): Record<string, number> => {
    if (!probes.executorDelta) return {};
    const gc = sumOf(probes.executorDelta, "nodejs_gc_duration_seconds_sum");
    return probes.windowS > 0 ? { soak_gc_share: gc / probes.windowS } : {};
  },
} satisfies Scenario;
