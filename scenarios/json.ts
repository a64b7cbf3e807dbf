import { readFileSync } from "node:fs";
import { closedLoad } from "../harness/load/closed.js";
import { histogramQuantile } from "../harness/engine/probes.js";
import type { Scenario } from "./contract.js";
import type { ExchangeOrder } from "../services/common/src/exchange-types.js";
import { fixturePath } from "../services/common/src/project.js";
import { compileSerializers, toOpenOrderView, type OpenOrdersView } from "../services/executor/src/lib/fastJson.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** How many calls of `fn` take about `batchMs`, after a warm-up. */
function calibrate(fn: () => string, batchMs: number): number {
  for (let i = 0; i < 50; i++) fn();
  for (let n = 1; ; n *= 4) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= batchMs / 4) return Math.max(1, Math.ceil((n * batchMs) / ms));
  }
}

/**
 * ns per call of each function: timed batches of ~15 ms, the functions taking turns batch by
 * batch (A B A B …) so that whatever else the machine does hits them alike; the median batch
 * counts. The perfpack process shares the machine with the services it launched.
 */
export function nsPerOp(fns: Record<string, () => string>, reps = 7, batchMs = 15): Record<string, number> {
  const names = Object.keys(fns);
  const n = Object.fromEntries(names.map((k) => [k, calibrate(fns[k]!, batchMs)]));
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < reps; r++) {
    for (const k of r % 2 ? [...names].reverse() : names) {
      const fn = fns[k]!;
      const count = n[k]!;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) fn();
      samples[k]!.push(Number(process.hrtime.bigint() - t0) / count);
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(samples[k]!)]));
}

export function loadFixture(n: 50 | 500): OpenOrdersView {
  const orders = (JSON.parse(readFileSync(fixturePath(`open-orders-${n}.json`), "utf8")) as ExchangeOrder[]).map(toOpenOrderView);
  return { count: orders.length, orders };
}

/** fast against native in process (fixtures of 50 and 500 orders), then the endpoint under load. */
export const json = {
  name: "json",
  description: "in-process fast vs native serialization of 50/500 open orders; then spark_json_serialization_ms under load (500 open orders)",
  headline: [
    { metric: "json_fast_ns_per_op_500", label: "fast ns/op (500)", better: "lower" },
    { metric: "json_native_ns_per_op_500", label: "native ns/op (500)", better: "lower" },
    { metric: "json_fast_speedup_500", label: "fast speed-up (500)", better: "higher" },
    { metric: "json_serialization_p95_ms", label: "endpoint ser. p95 ms", better: "lower", gate: true },
    { metric: "rps", label: "req/s", better: "higher", gate: true },
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
      const ns = nsPerOp({ fast: () => fast.openOrders(view), native: () => native.openOrders(view) });
      metrics[`json_fast_ns_per_op_${n}`] = ns.fast!;
      metrics[`json_native_ns_per_op_${n}`] = ns.native!;
      metrics[`json_fast_speedup_${n}`] = metrics[`json_native_ns_per_op_${n}`]! / metrics[`json_fast_ns_per_op_${n}`]!;
    }
    const url = `${ctx.target.executorUrl}/api/private/open-orders`;
    if (ctx.warmupS > 0) await closedLoad({ url, connections: ctx.connections, durationS: ctx.warmupS, signal: ctx.signal });
    await ctx.measureStart();
    const r = await closedLoad({ url, connections: ctx.connections, durationS: ctx.durationS, signal: ctx.signal });
    metrics.rps = r.perSecond;
    metrics.requests = r.responses;
    metrics.errors = r.errors;
    metrics.non_2xx = r.non2xx;
    if (r.latency) metrics.latency_p95_ms = r.latency.p95;
    return { metrics, work: r.responses, workUnit: "request" };
  },
  derive({ executorDelta: d }) {
    const out: Record<string, number> = {};
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
