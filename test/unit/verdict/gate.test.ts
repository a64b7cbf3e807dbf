import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { analyze, headlinesOf } from "../../../harness/verdict/analysis.js";
import { loadTargets } from "../../../harness/plan/targets.js";
import { decideGate } from "../../../harness/verdict/gate.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";

const sample = (): Results => JSON.parse(readFileSync(fixturePath("sample-baseline.json"), "utf8"));

/** A results file of `rounds` optimized latency trials whose gate metrics are `value(metric, round)`. */
function crafted(rounds: number, value: (metric: string, round: number) => number): Results {
  const r = sample();
  const template = r.trials.find((t) => t.variant === "optimized" && t.scenario === "latency")!;
  r.plan = {
    ...r.plan,
    variants: r.plan.variants.filter((v) => v.name === "optimized"),
    scenarios: ["latency"],
    rounds,
  };
  // the gate metrics as the latency scenario declares them today: throughput, p95 and CPU per request
  r.plan.headlines!.latency = r.plan.headlines!.latency!.map((h) =>
    h.metric === "executor_cpu_us_per_request" ? { ...h, gate: true as const } : h,
  );
  r.trials = Array.from({ length: rounds }, (_, i) => ({
    ...template,
    round: i + 1,
    metrics: {
      ...template.metrics,
      ...Object.fromEntries(["rps", "latency_p95_ms", "executor_cpu_us_per_request"].map((m) => [m, value(m, i + 1)])),
    },
  }));
  r.summary = analyze(r, headlinesOf(r), loadTargets());
  return r;
}
/** ±spread around `centre`, alternating by round: a known, symmetric noise. */
const around = (centre: number, spread: number) => (round: number) =>
  centre * (1 + (round % 2 === 0 ? spread : -spread));
const BASE = { rps: 1500, latency_p95_ms: 30, executor_cpu_us_per_request: 600 } as Record<string, number>;
const base = (spread: number, rounds = 6) => crafted(rounds, (m, i) => around(BASE[m]!, spread)(i));
/** The current run: every metric `f` times worse (throughput ÷ f, latency and CPU × f). */
const worse = (f: number, spread: number, rounds = 6) =>
  crafted(rounds, (m, i) => around(m === "rps" ? BASE[m]! / f : BASE[m]! * f, spread)(i));

test("A/A: a run against itself never fails the gate; with tight rounds it passes, every metric clear of the line", () => {
  const r = base(0.01);
  const d = decideGate(r, r, headlinesOf(r), 0.1);
  assert.equal(d.outcome, "pass", d.reasons.join("; "));
  assert.equal(d.pass, true);
  assert.deepEqual(d.calls, ["clear", "clear", "clear"]);
  // Bonferroni over the three gate metrics: 1 − 2 × 0.05 / 3
  assert.ok(d.comparisons.every((c) => Math.abs(c.estimate.level! - (1 - 0.1 / 3)) < 1e-12));
});

test("too little evidence is inconclusive, not a pass: intervals wider than the line (issue: a 0.83× change passed)", () => {
  // 5 rounds at ±15% each side: the interval of a 17% drop in req/s reaches across the 10% line
  const d = decideGate(base(0.15, 5), worse(1 / 0.83, 0.15, 5), headlinesOf(base(0.15, 5)), 0.1);
  assert.equal(d.outcome, "inconclusive", d.reasons.join("; "));
  assert.equal(d.pass, false);
  assert.ok(d.calls.includes("undecided") && !d.calls.includes("regression"), d.calls.join(", "));
  assert.match(
    d.reasons.join("\n"),
    /optimized · latency · req\/s: undecided \(ratio 0\.830, 96\.67% interval [\d.]+–[\d.]+ reaches across the 10\.0% line\)/,
  );
  // and a run against itself with the same noise is inconclusive too: nothing shows it is clear of the line
  assert.equal(decideGate(base(0.15, 5), base(0.15, 5), headlinesOf(base(0.15, 5)), 0.1).outcome, "inconclusive");
});

test("a consistent 40% slowdown is a regression, naming each metric wholly beyond the line", () => {
  const d = decideGate(base(0.02), worse(1 / 0.6, 0.02), headlinesOf(base(0.02)), 0.1);
  assert.equal(d.outcome, "regression");
  assert.deepEqual(d.calls, ["regression", "regression", "regression"]);
  assert.equal(d.regressions.length, 3);
  assert.match(
    d.reasons[0]!,
    /optimized · latency · req\/s: 40\.0% worse \(ratio 0\.600, 96\.67% interval [\d.]+–[\d.]+, wholly beyond the 10\.0% line\)/,
  );
});

test("a change smaller than --max-regression, measured tightly, passes", () => {
  const d = decideGate(base(0.005), worse(1.03, 0.005), headlinesOf(base(0.005)), 0.1);
  assert.equal(d.outcome, "pass", d.reasons.join("; "));
});

test("an improvement never fails the gate", () => {
  for (const spread of [0.005, 0.3]) {
    const d = decideGate(base(spread), worse(1 / 1.5, spread), headlinesOf(base(spread)), 0.1);
    assert.equal(d.regressions.length, 0);
    assert.notEqual(d.outcome, "regression");
  }
});

test("a failed headline target in the current run fails the gate", () => {
  const base = sample();
  const cur: Results = JSON.parse(JSON.stringify(base));
  // make optimized no faster than baseline on the latency scenario
  for (const t of cur.trials)
    if (t.variant === "optimized" && t.scenario === "latency")
      t.metrics.rps = cur.trials.find((x) => x.variant === "baseline" && x.scenario === "latency")!.metrics.rps!;
  cur.summary = analyze(cur, headlinesOf(cur), loadTargets());
  const d = decideGate(base, cur, headlinesOf(cur), 10);
  assert.equal(d.pass, false);
  assert.ok(
    d.reasons.some((r) => /target failed in the current run: Throughput/.test(r)),
    d.reasons.join("; "),
  );
});

test("targets evaluate to pass, stretch-met, fail or not-measured, with the measured value", () => {
  const r = sample();
  const s = analyze(r, headlinesOf(r), loadTargets());
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
  // the sample predates the allocation pass
  assert.equal(ids.get("object_allocation")!.status, "not-measured");
  assert.match(ids.get("object_allocation")!.note!, /the allocation pass did not run .*--skip-allocation/);
  for (const t of s.targets!) if (t.status !== "not-measured") assert.equal(typeof t.measured, "number", t.id);
  assert.equal(ids.get("batch_efficiency")!.status, "stretch-met");
});

test("under the open model (--rate) the latency scenario's req/s is the offered rate: its targets are not measured, say why, and gate nothing", () => {
  const r = sample();
  r.plan = { ...r.plan, rate: 300 };
  const s = analyze(r, headlinesOf(r), loadTargets());
  const ids = new Map(s.targets!.map((t) => [t.id, t]));
  for (const id of ["throughput_2x", "http_rps"]) {
    assert.equal(ids.get(id)!.status, "not-measured", id);
    assert.match(ids.get(id)!.note!, /--rate 300\) offers every variant 300 req\/s.*closed model/, id);
  }
  // latency is still the service's under the open model
  assert.notEqual(ids.get("p95_lower")!.status, "not-measured");
  assert.ok(!(s.verdict?.reasons ?? []).some((x) => /Throughput/.test(x)), "no verdict reason from the offered rate");
  // a soak's --rate is its own: with no latency scenario in the run, the row says that instead
  const soakRun = sample();
  soakRun.plan = { ...soakRun.plan, rate: 300, scenarios: ["soak"] };
  soakRun.trials = [];
  const soakTargets = analyze(soakRun, headlinesOf(soakRun), loadTargets()).targets!;
  assert.match(soakTargets.find((t) => t.id === "http_rps")!.note!, /latency scenario not in this run/);
});

/** The sample as a gate run: baseline's trials stand for `optimized@main` (the baseline revision), optimized's for this checkout. */
function revisionRun(burn: number): Results {
  const r = sample();
  const base = "optimized@main";
  r.plan.variants = [
    {
      ...r.plan.variants.find((v) => v.name === "optimized")!,
      name: base,
      system: { kind: "revision", ref: "main", commit: "0123456789" },
    },
    r.plan.variants.find((v) => v.name === "optimized")!,
  ];
  const optimized = r.trials.filter((t) => t.variant === "optimized");
  // both arms get the same trials, paired by round; this checkout's CPU per request is `burn` times the baseline's
  r.trials = [
    ...optimized.map((t) => ({ ...t, variant: base })),
    ...optimized.map((t) => ({
      ...t,
      metrics: Object.fromEntries(
        Object.entries(t.metrics).map(([k, v]) => [k, k.startsWith("executor_cpu_us_per") ? v * burn : v]),
      ),
    })),
  ];
  r.plan.headlines!.latency = r.plan.headlines!.latency!.map((h) =>
    h.metric === "executor_cpu_us_per_request" ? { ...h, gate: true as const } : h,
  );
  return r;
}

test("the revision gate pairs each variant with itself on the baseline revision, on the gate metrics only", async () => {
  const { decideRevisionGate } = await import("../../../harness/verdict/gate.js");
  const same = decideRevisionGate(revisionRun(1), headlinesOf(revisionRun(1)), 0.1);
  assert.equal(same.pass, true, same.reasons.join("; "));
  assert.ok(same.comparisons.every((c) => c.reference === "optimized@main" && c.candidate === "optimized" && c.gate));
  assert.ok(same.comparisons.some((c) => c.metric === "executor_cpu_us_per_request"));
});

test("arms that failed differently are never a speed change: marked, not significant, and the gate calls the one that fails more a regression", async () => {
  const { markedRatio } = await import("../../../harness/report/format.js");
  const { mediansTables } = await import("../../../harness/report/tables.js");
  const answers = (failed: number) => ({
    ok: 1000 - failed,
    statuses: (failed ? { "503": failed } : {}) as Record<string, number>,
    transport: { refused: 0, reset: 0, timeout: 0, other: 0 },
    failureShare: failed / 1000,
  });
  const b = base(0.01);
  const c = worse(1 / 1.5, 0.01); // 1.5× faster, but 8% of its requests failed
  for (const t of b.trials) t.answers = answers(0);
  for (const t of c.trials) t.answers = answers(80);
  b.plan.maxErrors = c.plan.maxErrors = 0.1;
  assert.ok(
    decideGate(b, c, headlinesOf(b), 0.1).comparisons.every((x) => !x.failuresDiffer),
    "8 points apart is within a 10% limit",
  );
  b.plan.maxErrors = c.plan.maxErrors = 0.05;
  const d = decideGate(b, c, headlinesOf(b), 0.1);
  assert.ok(
    d.comparisons.length > 0 &&
      d.comparisons.every((x) => x.failuresDiffer?.candidate === 0.08 && !x.significant && x.direction === "same"),
  );
  assert.equal(d.outcome, "regression");
  assert.equal(markedRatio(d.comparisons[0]!), "⚠ failed 0% vs 8.00%");

  // within one run: the sample's two variants, the optimized arm failing 30% in one of its rounds
  const r = sample();
  r.plan.maxErrors = 0.05;
  for (const t of r.trials)
    t.answers = answers(t.variant === "optimized" && t.scenario === "latency" && t.round === 1 ? 300 : 0);
  const s = analyze(r, headlinesOf(r), loadTargets());
  const latency = s.comparisons!.filter((x) => x.scenario === "latency");
  assert.ok(
    latency.length > 0 && latency.every((x) => x.failuresDiffer && x.direction === "same"),
    JSON.stringify(latency.map((x) => x.failuresDiffer)),
  );
  assert.ok(s.comparisons!.filter((x) => x.scenario !== "latency").every((x) => !x.failuresDiffer));
  assert.ok(!s.comparisons!.some((x) => x.metric === "failure_share"), "a share is not compared as a ratio");
  const table = mediansTables({ ...r, summary: s });
  assert.match(table, /latency\s*│ req\/s\s*│[^\n]*⚠ failed 0% vs/);
});

test("the allocation row reads the allocation pass: its objects/s with how it was got, or why there is none", () => {
  const r = sample();
  const figures = {
    objects: 5e5,
    bytes: 4e7,
    requests: 100,
    windowS: 3,
    passRps: 33,
    backgroundObjectsPerS: 9000,
    objectsPerRequest: 4000,
    bytesPerRequest: 3e5,
    top: [],
  };
  const row = (allocation: Results["allocation"]) => {
    const s = analyze({ ...r, ...(allocation ? { allocation } : {}) }, headlinesOf(r), loadTargets());
    return s.targets!.find((t) => t.id === "object_allocation")!;
  };
  const measured = row({
    method: "the method",
    scenario: "latency",
    durationS: 3,
    variants: {
      optimized: { ...figures, trialRps: 1000, objectsPerS: 4_009_000, objectsPerSRange: [3_609_000, 4_409_000] },
    },
  });
  assert.equal(measured.status, "fail");
  assert.equal(measured.measured, 4_009_000);
  assert.match(
    measured.note!,
    /^4,000 objects\/request × 1,000 req\/s \(the trials' median\) \+ 9,000 objects\/s idle; 3,609,000–4,409,000 over the trials' rounds\. the method$/,
  );
  const failed = row({
    method: "m",
    scenario: "latency",
    durationS: 3,
    variants: { optimized: { error: "no request was answered during the allocation pass" } },
  });
  assert.equal(failed.status, "not-measured");
  assert.match(failed.note!, /failed: no request was answered/);
  const unscaled = row({ method: "m", scenario: "latency", durationS: 3, variants: { optimized: figures } });
  assert.equal(unscaled.status, "not-measured");
  assert.match(unscaled.note!, /no ok latency trial gave a req\/s/);
});

test("with run --capacity, the throughput rows are judged on the capacity at the SLO, and say so", () => {
  const r = sample();
  const search = (capacity: number | undefined, atLeast = false, ended = "bracketed") => ({
    scenario: "latency",
    variant: "optimized",
    metric: "rps",
    unit: "req/s",
    slo: "p95 < 100 ms, errors < 1%",
    ...(capacity !== undefined ? { capacity } : {}),
    bracket: [capacity ?? null, capacity === undefined ? null : capacity * 1.05] as [number | null, number | null],
    atLeast,
    ended,
  });
  const row = (s: ReturnType<typeof search>) => {
    r.capacity = { folder: "capacity", interrupted: false, searches: [s] };
    return analyze(r, headlinesOf(r), loadTargets()).targets!.find(
      (t) => t.id === "http_rps" && t.variant === "optimized",
    )!;
  };
  const pass = row(search(1500));
  assert.equal(pass.status, "pass");
  assert.equal(pass.measured, 1500);
  assert.match(
    pass.note!,
    /^capacity at the SLO: the highest offered rate \(open model\) at which p95 < 100 ms, errors < 1% held; the trials' closed model read [\d,]+ req\/s at saturation$/,
  );
  assert.equal(row(search(2500)).status, "stretch-met");
  assert.equal(row(search(700)).status, "fail");
  // only "at least" 700: it cannot fail the row
  const atLeast = row(search(700, true, "budget"));
  assert.equal(atLeast.status, "not-measured");
  assert.match(atLeast.note!, /at least/);
  // missed the SLO at the lowest level: 0, a fail
  const none = row(search(undefined, false, "below-min"));
  assert.equal(none.measured, 0);
  assert.equal(none.status, "fail");
  // the baseline's row is its closed-model median, as without a search
  const base = analyze(r, headlinesOf(r), loadTargets()).targets!.find(
    (t) => t.id === "http_rps" && t.variant === "baseline",
  );
  if (base) assert.doesNotMatch(base.note ?? "", /capacity at the SLO/);
});
