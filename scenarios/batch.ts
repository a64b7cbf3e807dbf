import { closedLoad } from "../harness/load/closed.js";
import { runArtilleryTrial } from "../harness/load/artillery-run.js";
import { loadTarget } from "../harness/load/request.js";
import { histogramQuantile, sumOf } from "../harness/load/exposition.js";
import { FAILURE_SHARE, LATENCY_PERCENTILES, type Scenario } from "./contract.js";

/** All orders are BTCUSDT, so that spark_batch_flush_total{key="BTCUSDT"} carries the whole story. */
const ORDER = JSON.stringify({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" });

/** Many concurrent clients POSTing orders; batching shows in the executor's and the exchange's counters. */
export const batch = {
  name: "batch",
  description: "concurrent orders (POST /api/private/order, or requests.batch) from --connections clients",
  charts: [
    { kind: "throughput", metric: "orders_per_s", label: "orders/s" },
    { kind: "percentiles", title: "latency percentiles (ms)", series: LATENCY_PERCENTILES },
  ],
  request: {
    protocol: "http",
    method: "POST",
    path: "/api/private/order",
    headers: { "content-type": "application/json" },
    body: ORDER,
  },
  uses: ["batch"],
  headline: [
    { metric: "orders_per_s", label: "orders/s", better: "higher", gate: true },
    FAILURE_SHARE,
    { metric: "latency_p95_ms", label: "p95 ms", better: "lower", gate: true },
    { metric: "batch_mean_size", label: "mean batch", better: "higher" },
    { metric: "batch_efficiency", label: "batch eff.", better: "higher" },
    { metric: "upstream_calls_per_order", label: "upstream calls/order", better: "lower" },
    { metric: "executor_cpu_us_per_order", label: "CPU µs/order", better: "lower", gate: true },
  ],
  capacity: {
    level: "rate",
    unit: "orders/s",
    defaultSlo: "p95<50ms,errors<1%",
    latency: "latency",
    work: "order",
    achieved: "achieved_rate",
  },
  exchangeArgs: () => [],
  estimateS: ({ durationS, warmupS }) => durationS + warmupS,
  async run(ctx) {
    if (ctx.artillery) return runArtilleryTrial("batch", ctx, ctx.artillery);
    const post = {
      ...loadTarget(ctx.target.executorUrl, ctx.requests.batch!),
      connections: ctx.connections,
      signal: ctx.signal,
    };
    if (ctx.warmupS > 0) await closedLoad({ ...post, durationS: ctx.warmupS, drain: true });
    await ctx.measureStart();
    const r = await closedLoad({ ...post, durationS: ctx.durationS });
    return {
      metrics: { orders_per_s: r.ok / r.elapsedS, orders: r.ok, ...r.answers.metrics("latency") },
      work: r.ok,
      workUnit: "order",
      answers: r.answers.record(),
    };
  },
  derive({ executorDelta: d, exchangeDelta: ex }, result, toggles) {
    const out: Record<string, number> = {};
    // the calls that reached the exchange: its own count when it is perfpack's mock (any service), else the executor's
    if (ex && result.work > 0)
      out.upstream_calls_per_order = ((ex.orderCalls ?? 0) + (ex.batchCalls ?? 0)) / result.work;
    if (!d) return out;
    const flushes = sumOf(d, "spark_batch_flush_total");
    out.batch_flushes = flushes;
    out.batch_flush_btcusdt = d.get('spark_batch_flush_total{key="BTCUSDT"}') ?? 0;
    const count = d.get("spark_batch_size_count") ?? 0;
    if (count > 0) {
      const mean = (d.get("spark_batch_size_sum") ?? 0) / count;
      out.batch_mean_size = mean;
      const max = Number(toggles.BATCH_MAX_SIZE);
      if (max > 0) out.batch_efficiency = mean / max;
      const p95 = histogramQuantile(d, "spark_batch_latency_ms", 0.95);
      if (p95 !== undefined) out.batch_latency_p95_ms = p95;
    }
    let calls = 0;
    for (const [k, v] of d)
      if (k.startsWith("spark_http_upstream_requests_total{") && /route="(order|batchOrders)"/.test(k)) calls += v;
    if (result.work > 0 && out.upstream_calls_per_order === undefined)
      out.upstream_calls_per_order = calls / result.work;
    return out;
  },
} satisfies Scenario;
