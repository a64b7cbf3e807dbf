import assert from "node:assert/strict";
import { test } from "node:test";
import {
  callStep,
  capacityOf,
  capacityRatio,
  capacityTargets,
  confirmOf,
  retryOf,
  searchSteps,
  nextRate,
  STEP_RULE,
  type SearchOptions,
  type SearchStep,
  type Slo,
  type StepWindow,
} from "../../../harness/verdict/capacity.js";
import { rng } from "../../../harness/verdict/stats.js";
import type { CapacitySearchRecord } from "../../../harness/results/capacity.js";

const close = (a: number, b: number, tol = 1e-3) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

const slo: Slo = { percentile: 0.95, label: "p95", maxMs: 100, maxErrorShare: 0.01 };
const win = (latencyMs: number, over: Partial<StepWindow> = {}): StepWindow => ({
  offered: 1000,
  achieved: 1000,
  latencyMs,
  errorShare: 0,
  generatorBound: false,
  lateShare: 0,
  ...over,
});

test("callStep: nothing is called before the minimum of windows", () => {
  const c = callStep([win(10), win(10)], slo);
  assert.equal(c.call, "more");
  assert.equal(c.reason, "2 of 3 windows measured");
  // not even a saturated step: its shortfall is judged on the minimum of windows
  assert.equal(callStep([win(10, { achieved: 500 })], slo).call, "more");
});

test("callStep: a clear pass, with the t interval on the logs of the windows' percentiles", () => {
  const c = callStep([win(60), win(62), win(58)], slo);
  assert.equal(c.call, "pass");
  // logs of 60, 62, 58: mean 4.09406, sd 0.033340, se 0.019249; t(0.975, 2) = 4.30265
  const m = (Math.log(60) + Math.log(62) + Math.log(58)) / 3;
  close(c.latency!.estimate, Math.exp(m), 1e-9);
  close(c.latency!.lo, Math.exp(m - 4.30265 * 0.019249), 1e-2);
  close(c.latency!.hi, Math.exp(m + 4.30265 * 0.019249), 1e-2);
  assert.equal(c.reason, "p95 60 ms (95% interval 55.2–65.2) lies below the 100 ms line over 3 windows");
  assert.equal(c.achievedShare, 1);
  assert.equal(c.errorShare, 0);
  assert.equal(c.generatorBound, false);
});

test("callStep: a clear fail on latency", () => {
  const c = callStep([win(150), win(160), win(155)], slo);
  assert.equal(c.call, "fail");
  assert.match(c.reason, /^p95 155 ms \(95% interval \d+–\d+\) lies above the 100 ms line over 3 windows$/);
});

test("callStep: undecided asks for more windows, and is at the line once the cap is reached", () => {
  const across = [90, 110, 100];
  const more = callStep(
    across.map((l) => win(l)),
    slo,
  );
  assert.equal(more.call, "more");
  assert.match(more.reason, /reaches across the 100 ms line after 3 windows: measuring more$/);
  const eight = [90, 110, 95, 105, 92, 108, 97, 103].map((l) => win(l));
  assert.equal(callStep(eight.slice(0, 7), slo).call, "more");
  const line = callStep(eight, slo);
  assert.equal(line.call, "at-line");
  assert.equal(line.reason, "p95 99.8 ms (95% interval 93.7–106) reaches across the 100 ms line after 8 windows");
  // a tighter cap ends it sooner
  assert.equal(
    callStep(
      across.map((l) => win(l)),
      slo,
      { ...STEP_RULE, maxWindows: 3 },
    ).call,
    "at-line",
  );
});

test("callStep: a saturated step fails on the total across windows, whatever its latency", () => {
  const c = callStep([win(20, { achieved: 800 }), win(20, { achieved: 812 }), win(20, { achieved: 824 })], slo);
  assert.equal(c.call, "fail");
  assert.equal(c.reason, "achieved 812/s of 1000/s offered (81%): the service saturated");
  close(c.achievedShare, 0.812, 1e-12);
  // one short window within a total inside the tolerance is no saturation
  const ok = callStep([win(20, { achieved: 900 }), win(20), win(20)], slo);
  assert.equal(ok.call, "pass");
  close(ok.achievedShare, 2900 / 3000, 1e-12);
});

test("callStep: errors over the SLO's share fail the step; both causes are named", () => {
  const c = callStep(
    [win(20, { errorShare: 0.03 }), win(20, { errorShare: 0.034 }), win(20, { errorShare: 0.032 })],
    slo,
  );
  assert.equal(c.call, "fail");
  assert.equal(c.reason, "errors 3.2% over the 1% line");
  const both = callStep(
    [1, 2, 3].map(() => win(20, { achieved: 500, errorShare: 0.2 })),
    slo,
  );
  assert.equal(
    both.reason,
    "achieved 500/s of 1000/s offered (50%): the service saturated; errors 20% over the 1% line",
  );
  // at the line is not over it
  assert.equal(
    callStep(
      [1, 2, 3].map(() => win(20, { errorShare: 0.01 })),
      slo,
    ).call,
    "pass",
  );
});

test("callStep: a generator-bound step is flagged and still called on its figures", () => {
  const flagged = callStep([win(50, { generatorBound: true }), win(52, { generatorBound: true }), win(51)], slo);
  assert.equal(flagged.call, "pass");
  assert.equal(flagged.generatorBound, true);
  assert.match(flagged.reason, /\(generator-bound: the generator was the bottleneck in 2 of 3 windows\)$/);
  const late = callStep(
    [1, 2, 3].map(() => win(50, { lateShare: 0.08, achieved: 700 })),
    slo,
  );
  assert.equal(late.call, "fail");
  assert.equal(late.generatorBound, true);
  assert.match(late.reason, /saturated \(generator-bound: it sent 8% of requests late\)$/);
  // a minority of flagged windows and a late share within the tolerance: not generator-bound
  const fine = callStep([win(50, { generatorBound: true }), win(50, { lateShare: 0.04 }), win(50)], slo);
  assert.equal(fine.generatorBound, false);
});

test("callStep: a window without a measured percentile (no successful answer) fails the step", () => {
  const c = callStep([win(20), win(Infinity), win(20)], slo);
  assert.equal(c.call, "fail");
  assert.equal(c.reason, "p95 not measured in 1 of 3 windows (no successful answer there)");
});

test("callStep: the latency interval covers the true percentile ~95% of the time (4,000 simulated 3-window steps)", () => {
  const r = rng(11);
  let covered = 0;
  const steps = 4000;
  for (let s = 0; s < steps; s++) {
    const windows = [1, 2, 3].map(() => win(80 * Math.exp(0.1 * gauss(r))));
    const l = callStep(windows, slo).latency!;
    if (l.lo <= 80 && 80 <= l.hi) covered++;
  }
  // binomial SE at 95%: 0.0034
  close(covered / steps, 0.95, 0.015);
});

/** Walks the search against a service that passes iff the rate is at most its ceiling. */
function walk(o: SearchOptions, callAt: (rate: number) => SearchStep["call"]) {
  const steps: SearchStep[] = [];
  for (;;) {
    const next = nextRate(steps, o);
    if ("done" in next) return { steps, done: next.done };
    assert.ok(!steps.some((s) => s.rate === next.rate), `${next.rate} measured twice: ${steps.map((s) => s.rate)}`);
    assert.ok(next.rate >= o.minRate && next.rate <= o.maxRate, `${next.rate} out of range`);
    steps.push({ rate: next.rate, call: callAt(next.rate), generatorBound: false });
    assert.ok(steps.length < 60, `no end: ${steps.map((s) => s.rate)}`);
  }
}

const options = (seedRate: number): SearchOptions => ({
  seedRate,
  resolution: 0.05,
  factor: 2,
  minRate: 0.5,
  maxRate: 1e6,
});

test("nextRate brackets a known ceiling from seeds below and above it, never repeating a rate", () => {
  for (const ceiling of [1000, 123.4, 7777, 3.3])
    for (const seed of [1, 37, 500, 999, 1000, 1001, 4000, 250_000]) {
      const { steps, done } = walk(options(seed), (rate) => (rate <= ceiling ? "pass" : "fail"));
      assert.equal(done, "bracketed", `ceiling ${ceiling}, seed ${seed}: ${done}`);
      const { capacity, bracket } = capacityOf(steps);
      const [lastPass, firstFail] = bracket;
      assert.ok(lastPass! <= ceiling && ceiling < firstFail!, `ceiling ${ceiling}, seed ${seed}: ${bracket}`);
      assert.ok(firstFail! / lastPass! <= 1.05, `ceiling ${ceiling}, seed ${seed}: ${bracket}`);
      assert.equal(capacity, lastPass);
      // rates are rounded to three significant figures
      for (const s of steps.slice(1)) assert.equal(s.rate, Number(s.rate.toPrecision(3)));
    }
});

test("nextRate: whole levels (subscribers) end on adjacent integers, never repeating one", () => {
  for (const ceiling of [1, 3, 7, 40, 333])
    for (const seed of [1, 2, 10, 64, 1000]) {
      // small ceilings end on adjacent integers (3 and 4), where 5% cannot be reached
      const o = { ...options(seed), minRate: 1, whole: true };
      const { steps, done } = walk(o, (level) => (level <= ceiling ? "pass" : "fail"));
      assert.equal(done, "bracketed", `ceiling ${ceiling}, seed ${seed}: ${done}`);
      for (const s of steps) assert.ok(Number.isInteger(s.rate), `${s.rate}`);
      const [lastPass, firstFail] = capacityOf(steps).bracket;
      assert.ok(lastPass! <= ceiling && ceiling < firstFail!, `seed ${seed}: ${steps.map((s) => s.rate)}`);
      assert.ok(
        firstFail! - lastPass! === 1 || firstFail! / lastPass! <= 1.05,
        `seed ${seed}: ${lastPass}, ${firstFail}`,
      );
    }
});

test("nextRate: the first step is the seed; then up by the factor while steps pass, and bisection once a step fails", () => {
  const { steps } = walk(options(100), (rate) => (rate <= 1000 ? "pass" : "fail"));
  assert.deepEqual(
    steps.slice(0, 6).map((s) => s.rate),
    [100, 200, 400, 800, 1600, 1130],
  );
});

test("nextRate: an at-line step counts as not passing", () => {
  const { steps, done } = walk(options(300), (rate) => (rate <= 1000 ? "pass" : rate <= 1100 ? "at-line" : "fail"));
  assert.equal(done, "bracketed");
  const [lastPass, firstFail] = capacityOf(steps).bracket;
  assert.ok(lastPass! <= 1000 && firstFail! > 1000 && firstFail! / lastPass! <= 1.05, `${lastPass} ${firstFail}`);
});

test("nextRate: below-min when nothing passes, having tried the minimum", () => {
  const { steps, done } = walk({ ...options(100), minRate: 1 }, () => "fail");
  assert.equal(done, "below-min");
  assert.deepEqual(
    steps.map((s) => s.rate),
    [100, 50, 25, 12.5, 6.25, 3.13, 1.56, 1],
  );
  assert.deepEqual(capacityOf(steps), { capacity: undefined, bracket: [undefined, 1], lowerBound: false });
});

test("nextRate: at-max when the maximum passes", () => {
  const { steps, done } = walk({ ...options(100), maxRate: 1000 }, () => "pass");
  assert.equal(done, "at-max");
  assert.deepEqual(
    steps.map((s) => s.rate),
    [100, 200, 400, 800, 1000],
  );
  assert.deepEqual(capacityOf(steps), { capacity: 1000, bracket: [1000, undefined], lowerBound: false });
  // a seed beyond the range starts at its end
  assert.deepEqual(nextRate([], { ...options(5000), maxRate: 1000 }), { rate: 1000 });
});

test("nextRate: a noisy fail below a pass does not stop the search", () => {
  const steps: SearchStep[] = [
    { rate: 1000, call: "fail", generatorBound: false },
    { rate: 500, call: "pass", generatorBound: false },
    { rate: 707, call: "pass", generatorBound: false },
    { rate: 600, call: "fail", generatorBound: false },
  ];
  assert.deepEqual(nextRate(steps, options(1000)), { rate: 841 });
  assert.deepEqual(capacityOf(steps).bracket, [707, 1000]);
});

test("capacityOf: a generator-bound first fail makes the capacity a lower bound", () => {
  const steps: SearchStep[] = [
    { rate: 1000, call: "pass", generatorBound: false },
    { rate: 2000, call: "fail", generatorBound: true },
    { rate: 1410, call: "pass", generatorBound: true },
    { rate: 1680, call: "fail", generatorBound: false },
  ];
  assert.deepEqual(capacityOf(steps), { capacity: 1410, bracket: [1410, 1680], lowerBound: false });
  steps[3]!.generatorBound = true;
  assert.equal(capacityOf(steps).lowerBound, true);
});

test("capacityRatio: the ratio of capacities and the range the brackets allow", () => {
  const reference = { capacity: 1000, bracket: [1000, 1050] as [number, number] };
  const candidate = { capacity: 2000, bracket: [2000, 2100] as [number, number] };
  const r = capacityRatio(candidate, reference);
  close(r.ratio!, 2, 1e-12);
  close(r.lo!, 2000 / 1050, 1e-12);
  close(r.hi!, 2100 / 1000, 1e-12);
  // the candidate reached the maximum: no upper end; the reference passed nowhere: no ratio, no lower end
  const atMax = { capacity: 5000, bracket: [5000, undefined] as [number, undefined] };
  assert.deepEqual(capacityRatio(atMax, reference), { ratio: 5, lo: 5000 / 1050, hi: undefined });
  const none = { capacity: undefined, bracket: [undefined, 100] as [undefined, number] };
  assert.deepEqual(capacityRatio(candidate, none), { ratio: undefined, lo: 20, hi: undefined });
});

test("the guide's throughput targets judged on the capacities: the claim's variant, which definition, stretch, pass, fail, a lower bound", () => {
  const search = (variant: string, capacity: number | undefined, o: Partial<CapacitySearchRecord> = {}) =>
    ({
      scenario: "latency",
      variant,
      level: "rate",
      unit: "req/s",
      slo: { percentile: 0.95, label: "p95", maxMs: 100, maxErrorShare: 0.01 },
      steps: [],
      bracket: [capacity, undefined],
      lowerBound: false,
      ended: "bracketed",
      ...(capacity !== undefined ? { capacity } : {}),
      ...o,
    }) as CapacitySearchRecord;
  const http = {
    id: "http_rps",
    label: "HTTP requests/sec",
    scenario: "latency",
    metric: "rps",
    unit: "req/s",
    above: 1000,
    stretch: 2000,
  };
  const p95 = {
    id: "http_p95",
    label: "HTTP P95",
    scenario: "latency",
    metric: "latency_p95_ms",
    unit: "ms",
    below: 100,
    stretch: 50,
  };
  const metric = (s: string) => (s === "latency" ? "rps" : undefined);
  const [row] = capacityTargets([search("baseline", 300), search("optimized", 1500)], [http, p95], metric);
  assert.equal(row!.variant, "optimized");
  assert.equal(row!.measured, 1500);
  assert.equal(row!.status, "pass");
  assert.match(row!.definition, /highest offered rate \(open model\) at which p95 < 100 ms held/);
  assert.equal(capacityTargets([search("optimized", 2500)], [http], metric)[0]!.status, "stretch-met");
  assert.equal(capacityTargets([search("optimized", 900)], [http], metric)[0]!.status, "fail");
  const none = capacityTargets([search("optimized", undefined, { ended: "below-min" })], [http], metric)[0]!;
  assert.deepEqual([none.measured, none.status], [0, "fail"]);
  const bound = capacityTargets([search("optimized", 900, { lowerBound: true })], [http], metric)[0]!;
  assert.deepEqual([bound.atLeast, bound.status], [true, "not-measured"]);
  assert.deepEqual(
    capacityTargets([search("optimized", 900)], [http], () => undefined),
    [],
    "a scenario not searched has no row",
  );
});

test("near the edge a level is tried once more: one at the line at once, then both ends of the bracket; never a third time", () => {
  const w = { offered: 1, achieved: 1, latencyMs: 1, errorShare: 0, generatorBound: false, lateShare: 0 };
  let seq = 0;
  const step = (level: number, call: "pass" | "fail" | "at-line", windows = 3) =>
    ({
      level,
      seq: ++seq,
      startedAt: "",
      windows: Array.from({ length: windows }, () => w),
      call: { call, reason: "", latency: undefined, achievedShare: 1, errorShare: 0, generatorBound: false },
      summary: { achieved: 1 },
    }) as CapacitySearchRecord["steps"][number];
  const record = (steps: CapacitySearchRecord["steps"]) => ({ steps }) as CapacitySearchRecord;
  // at the line: tried again at once; after its second try, not again
  const atLine = step(200, "at-line", 8);
  assert.equal(retryOf(record([step(100, "pass"), atLine])), atLine);
  assert.equal(retryOf(record([step(100, "pass"), atLine, step(200, "pass")])), undefined);
  // bracketed: the highest pass first, then the first non-pass above it
  const top = step(190, "pass");
  const first = step(200, "fail");
  const r = record([step(100, "pass"), first, top]);
  assert.equal(confirmOf(r), top);
  r.steps.push({ ...step(190, "pass"), pooledWith: top.seq });
  assert.equal(confirmOf(r), first);
  r.steps.push({ ...step(200, "pass"), pooledWith: first.seq });
  // the fail flipped: the search reads each level's latest call, and 200 is now its highest pass
  assert.deepEqual(
    searchSteps(r).map((s) => [s.rate, s.call]),
    [
      [100, "pass"],
      [200, "pass"],
      [190, "pass"],
    ],
  );
  assert.equal(confirmOf(r), undefined, "both tried twice: nothing to confirm");
  // a level whose load could not be applied (no window) is not tried again
  assert.equal(
    confirmOf(record([step(100, "pass"), step(120, "fail", 0), { ...step(100, "pass"), pooledWith: 1 }])),
    undefined,
  );
});
