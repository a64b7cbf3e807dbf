import { request, type Dispatcher } from "undici";
import { closedLoad } from "../harness/load/closed.js";
import { latencyMetrics } from "../harness/load/latency.js";
import { openLoad } from "../harness/load/open.js";
import { loadTarget } from "../harness/load/request.js";
import { runArtilleryTrial } from "../harness/load/artillery-run.js";
import { FAILURE_SHARE, LATENCY_PERCENTILES, type Scenario } from "./contract.js";

/**
 * The guide's keep-alive check, then load on GET /api/private/open-orders (or requests.latency):
 * closed model, or open model at --rate with coordinated-omission correction.
 */
export const latency = {
  name: "latency",
  description: "cold/warm open-orders (open_orders_1/2/3), then load on GET /api/private/open-orders",
  charts: [
    { kind: "throughput", metric: "rps", label: "req/s" },
    { kind: "percentiles", title: "latency percentiles (ms)", series: LATENCY_PERCENTILES },
  ],
  request: { protocol: "http", method: "GET", path: "/api/private/open-orders", headers: {} },
  uses: ["latency"],
  headline: [
    { metric: "rps", label: "req/s", better: "higher", gate: true },
    FAILURE_SHARE,
    { metric: "latency_p50_ms", label: "p50 ms", better: "lower" },
    { metric: "latency_p95_ms", label: "p95 ms", better: "lower", gate: true },
    { metric: "latency_p99_ms", label: "p99 ms", better: "lower" },
    { metric: "executor_cpu_us_per_request", label: "CPU µs/req", better: "lower", gate: true },
    { metric: "upstream_conns_per_request", label: "upstream conns/req", better: "lower" },
  ],
  capacity: {
    level: "rate",
    unit: "req/s",
    defaultSlo: "p95<100ms,errors<1%",
    latency: "latency",
    work: "request",
    achieved: "achieved_rate",
  },
  exchangeArgs: () => [],
  estimateS: ({ durationS, warmupS }) => durationS + warmupS + 0.3,
  async run(ctx) {
    const target = loadTarget(ctx.target.executorUrl, ctx.requests.latency!);
    const metrics: Record<string, number> = {};
    // The guide's perf_latency_test: the first three requests of a fresh executor, each on a new
    // client connection as three curl calls would be. The second should beat the first when
    // the executor keeps its upstream connection alive.
    for (let i = 1; i <= 3; i++) {
      const t0 = performance.now();
      const r = await request(target.url, {
        method: target.method as Dispatcher.HttpMethod,
        headers: target.headers,
        body: target.body?.next(),
        reset: true,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await r.body.dump();
      metrics[`open_orders_${i}_s`] = (performance.now() - t0) / 1000;
    }
    if (ctx.artillery) {
      const r = await runArtilleryTrial("latency", ctx, ctx.artillery);
      return { ...r, metrics: { ...metrics, ...r.metrics } };
    }
    if (ctx.warmupS > 0)
      await closedLoad({
        ...target,
        connections: ctx.connections,
        durationS: ctx.warmupS,
        drain: true,
        signal: ctx.signal,
      });
    await ctx.measureStart();
    if (ctx.rate !== undefined) {
      const r = await openLoad({
        ...target,
        rate: ctx.rate,
        durationS: ctx.durationS,
        connections: ctx.connections,
        signal: ctx.signal,
      });
      Object.assign(metrics, {
        rps: r.ok / r.elapsedS,
        target_rate: r.targetRate,
        achieved_rate: r.achievedRate,
        requests: r.responses,
        ...r.answers.metrics("latency"),
        ...latencyMetrics("latency_uncorrected", r.uncorrected),
      });
      return { metrics, work: r.responses, workUnit: "request", answers: r.answers.record() };
    }
    const r = await closedLoad({
      ...target,
      connections: ctx.connections,
      durationS: ctx.durationS,
      signal: ctx.signal,
    });
    Object.assign(metrics, { rps: r.perSecond, requests: r.responses, ...r.answers.metrics("latency") });
    return { metrics, work: r.responses, workUnit: "request", answers: r.answers.record() };
  },
} satisfies Scenario;
