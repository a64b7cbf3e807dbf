import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { analyze, headlinesOf } from "../../../harness/verdict/analysis.js";
import { decideGate } from "../../../harness/verdict/gate.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";

const sample = (): Results => JSON.parse(readFileSync(fixturePath("sample-baseline.json"), "utf8"));

/** A copy of the sample whose trials are scaled: throughput × f, latency ÷ f. */
function scaled(r: Results, f: number, noise: (i: number) => number = () => 1): Results {
  const copy: Results = JSON.parse(JSON.stringify(r));
  copy.trials.forEach((t, i) => {
    for (const k of Object.keys(t.metrics)) {
      if (/(^rps$|per_s$)/.test(k)) t.metrics[k] = t.metrics[k]! * f * noise(i);
      if (/_ms$/.test(k)) t.metrics[k] = (t.metrics[k]! / f) * noise(i);
    }
  });
  copy.summary = analyze(copy, headlinesOf(copy));
  return copy;
}

test("A/A: a run against itself passes the gate", () => {
  const r = sample();
  r.summary = analyze(r, headlinesOf(r));
  const d = decideGate(r, r, headlinesOf(r), 0.1);
  assert.equal(d.pass, true, d.reasons.join("; "));
  assert.ok(d.comparisons.length >= 8);
  assert.ok(d.comparisons.every((c) => c.direction === "same"));
});

test("a consistent 40% slowdown in every trial fails the gate, naming the metrics", () => {
  const base = sample();
  const slow = scaled(base, 0.6, (i) => 1 + ((i % 3) - 1) * 0.01);
  const d = decideGate(base, slow, headlinesOf(base), 0.1);
  assert.equal(d.pass, false);
  assert.ok(d.regressions.length > 0);
  assert.ok(d.reasons.some((r) => /worse/.test(r)));
});

test("a significant change smaller than --max-regression passes", () => {
  const base = sample();
  const slightly = scaled(base, 0.97, (i) => 1 + ((i % 3) - 1) * 0.001);
  const d = decideGate(base, slightly, headlinesOf(base), 0.1);
  assert.equal(d.regressions.length, 0, d.reasons.join("; "));
});

test("an improvement never fails the gate", () => {
  const base = sample();
  const d = decideGate(base, scaled(base, 1.5), headlinesOf(base), 0.1);
  assert.equal(d.regressions.length, 0);
});

test("a failed headline target in the current run fails the gate", () => {
  const base = sample();
  const cur: Results = JSON.parse(JSON.stringify(base));
  // make optimized no faster than baseline on the latency scenario
  for (const t of cur.trials) if (t.variant === "optimized" && t.scenario === "latency") t.metrics.rps = cur.trials.find((x) => x.variant === "baseline" && x.scenario === "latency")!.metrics.rps!;
  cur.summary = analyze(cur, headlinesOf(cur));
  const d = decideGate(base, cur, headlinesOf(cur), 10);
  assert.equal(d.pass, false);
  assert.ok(
    d.reasons.some((r) => /target failed in the current run: Throughput/.test(r)),
    d.reasons.join("; "),
  );
});

test("targets evaluate to pass, stretch-met, fail or not-measured, with the measured value", () => {
  const r = sample();
  const s = analyze(r, headlinesOf(r));
  const ids = new Map(s.targets!.map((t) => [t.id, t]));
  for (const id of [
    "throughput_2x",
    "p95_lower",
    "http_p95",
    "json_serialization",
    "batch_processing",
    "ws_latency",
    "http_rps",
    "orders_per_s",
    "ws_msgs_per_s",
    "batch_efficiency",
    "gc_pressure",
    "memory",
    "object_allocation",
  ]) {
    assert.ok(ids.has(id), id);
  }
  assert.equal(ids.get("object_allocation")!.status, "not-measured");
  assert.match(ids.get("object_allocation")!.note!, /heap/);
  for (const t of s.targets!) if (t.status !== "not-measured") assert.equal(typeof t.measured, "number", t.id);
  assert.equal(ids.get("batch_efficiency")!.status, "stretch-met");
});

/** The sample as a gate run: baseline's trials stand for `optimized@main` (the baseline revision), optimized's for this checkout. */
function revisionRun(burn: number): Results {
  const r = sample();
  const base = "optimized@main";
  r.plan.variants = [
    { ...r.plan.variants.find((v) => v.name === "optimized")!, name: base, system: { kind: "revision", ref: "main", commit: "0123456789" } },
    r.plan.variants.find((v) => v.name === "optimized")!,
  ];
  const optimized = r.trials.filter((t) => t.variant === "optimized");
  // both arms get the same trials, paired by round; this checkout's CPU per request is `burn` times the baseline's
  r.trials = [
    ...optimized.map((t) => ({ ...t, variant: base })),
    ...optimized.map((t) => ({ ...t, metrics: Object.fromEntries(Object.entries(t.metrics).map(([k, v]) => [k, k.startsWith("executor_cpu_us_per") ? v * burn : v])) })),
  ];
  r.plan.headlines!.latency = r.plan.headlines!.latency!.map((h) => (h.metric === "executor_cpu_us_per_request" ? { ...h, gate: true as const } : h));
  return r;
}

test("the revision gate pairs each variant with itself on the baseline revision, on the gate metrics only", async () => {
  const { decideRevisionGate } = await import("../../../harness/verdict/gate.js");
  const same = decideRevisionGate(revisionRun(1), headlinesOf(revisionRun(1)), 0.1);
  assert.equal(same.pass, true, same.reasons.join("; "));
  assert.ok(same.comparisons.every((c) => c.reference === "optimized@main" && c.candidate === "optimized" && c.gate));
  assert.ok(same.comparisons.some((c) => c.metric === "executor_cpu_us_per_request"));
});
