import { closedLoad } from "../harness/load/closed.js";
import { histogramQuantile } from "../harness/load/exposition.js";
import { FAILURE_SHARE, type Scenario } from "./contract.js";
import { loadTarget } from "../harness/load/request.js";
import { loadFixture, nsPerOp } from "../harness/load/microbench.js";
import { compileSerializers } from "../services/executor/src/lib/fastJson.js";

/** fast against native in process (fixtures of 50 and 500 orders), then the endpoint under load. */
export const json = {
  name: "json",
  description:
    "in-process fast vs native serialization of 50/500 open orders; then spark_json_serialization_ms under load (500 open orders)",
  charts: [{ kind: "throughput", metric: "rps", label: "req/s (json)" }],
  request: { protocol: "http", method: "GET", path: "/api/private/open-orders", headers: {} },
  uses: ["json"],
  duet: "it times serializers inside perfpack's own process, where a second arm's load generator would share the CPU it times",
  headline: [
    { metric: "json_fast_ns_per_op_500", label: "fast ns/op (500)", better: "lower" },
    { metric: "json_native_ns_per_op_500", label: "native ns/op (500)", better: "lower" },
    { metric: "json_fast_speedup_500", label: "fast speed-up (500)", better: "higher" },
    { metric: "json_serialization_p95_ms", label: "endpoint ser. p95 ms", better: "lower", gate: true },
    { metric: "rps", label: "req/s", better: "higher", gate: true },
    FAILURE_SHARE,
    { metric: "latency_p95_ms", label: "p95 ms", better: "lower" },
  ],
  exchangeArgs: () => ["--open-orders", "500"],
  estimateS: ({ durationS, warmupS }) => durationS + warmupS + 1,
  async run(ctx) {
    const metrics: Record<string, number> = {};
    const fast = compileSerializers("fast");
    const native = compileSerializers("native");
    for (const n of [50, 500] as const) {
      const view = loadFixture(n);
      const ns = await nsPerOp(
        { fast: () => fast.openOrders(view), native: () => native.openOrders(view) },
        { signal: ctx.signal },
      );
      metrics[`json_fast_ns_per_op_${n}`] = ns.fast!;
      metrics[`json_native_ns_per_op_${n}`] = ns.native!;
      metrics[`json_fast_speedup_${n}`] = metrics[`json_native_ns_per_op_${n}`]! / metrics[`json_fast_ns_per_op_${n}`]!;
    }
    const load = {
      ...loadTarget(ctx.target.executorUrl, ctx.requests.json!),
      connections: ctx.connections,
      signal: ctx.signal,
    };
    if (ctx.warmupS > 0) await closedLoad({ ...load, durationS: ctx.warmupS, drain: true });
    await ctx.measureStart();
    const r = await closedLoad({ ...load, durationS: ctx.durationS });
    Object.assign(metrics, { rps: r.perSecond, requests: r.responses, ...r.answers.metrics("latency") });
    return { metrics, work: r.responses, workUnit: "request", answers: r.answers.record() };
  },
  derive({ executorDelta: d }) {
    const out: Record<string, number> = {};
    if (!d) return out;
    for (const [q, name] of [
      [0.5, "json_serialization_p50_ms"],
      [0.95, "json_serialization_p95_ms"],
    ] as const) {
      const v = histogramQuantile(d, "spark_json_serialization_ms", q);
      if (v !== undefined) out[name] = v;
    }
    let sum = 0;
    let count = 0;
    for (const [k, v] of d) {
      if (k.startsWith("spark_json_serialization_ms_sum")) sum += v;
      if (k.startsWith("spark_json_serialization_ms_count")) count += v;
    }
    if (count > 0) out.json_serialization_mean_ms = sum / count;
    return out;
  },
} satisfies Scenario;
