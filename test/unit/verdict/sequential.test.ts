import assert from "node:assert/strict";
import { test } from "node:test";
import { pairedRatio, rng } from "../../../harness/verdict/stats.js";
import { callMetric, lookLevel, looksWithin, outcomeOf, roundsAtLook, spent, type GateOutcome, type SequentialDesign } from "../../../harness/verdict/sequential.js";

const design: SequentialDesign = { alpha: 0.05, minRounds: 4, batchRounds: 2, maxLooks: 6, metrics: 3 };

test("alpha spending: the looks' tails add up to alpha per side, and later looks get more of it", () => {
  let tails = 0;
  const levels: number[] = [];
  for (let k = 1; k <= design.maxLooks; k++) {
    levels.push(lookLevel(design, k));
    tails += ((1 - lookLevel(design, k)) / 2) * design.metrics;
  }
  assert.ok(Math.abs(tails - design.alpha) < 1e-12, `spent ${tails}`);
  assert.equal(spent(design, design.maxLooks), design.alpha);
  assert.equal(spent(design, 0), 0);
  assert.equal(roundsAtLook(design, design.maxLooks), 14);
  // every look's interval is wider than an uncorrected 95% one
  assert.ok(levels.every((l) => l > 0.95 && l < 1));
  assert.ok(levels.at(-1)! < levels[1]!, "the last look spends more than the second");
});

test("a metric is called against the line from its interval, in the metric's own direction", () => {
  const est = (lo: number, hi: number) => ({ ratio: (lo + hi) / 2, lo, hi, p: 0.5, n: 6, paired: true, method: "t" as const });
  // throughput (higher is better): 0.80–0.90 is wholly more than 5% worse
  assert.equal(callMetric({ better: "higher", estimate: est(0.8, 0.9) }, 0.05), "regression");
  assert.equal(callMetric({ better: "higher", estimate: est(0.97, 1.1) }, 0.05), "clear");
  assert.equal(callMetric({ better: "higher", estimate: est(0.9, 1.1) }, 0.05), "undecided");
  // p95 and CPU per request (lower is better): 1.08–1.20 is wholly more than 5% worse
  assert.equal(callMetric({ better: "lower", estimate: est(1.08, 1.2) }, 0.05), "regression");
  assert.equal(callMetric({ better: "lower", estimate: est(0.9, 1.03) }, 0.05), "clear");
  assert.equal(callMetric({ better: "lower", estimate: est(0.99, 1.07) }, 0.05), "undecided");
});

test("the gate's outcome: one regression decides; a pass needs every metric clear; otherwise look again or end inconclusive", () => {
  assert.equal(outcomeOf(["clear", "regression", "undecided"], false), "regression");
  assert.equal(outcomeOf(["clear", "clear", "clear"], false), "pass");
  assert.equal(outcomeOf(["clear", "undecided", "clear"], false), "continue");
  assert.equal(outcomeOf(["clear", "undecided", "clear"], true), "inconclusive");
  assert.equal(outcomeOf([], true), "inconclusive");
});

test("looks within the budget: the first look always, then one per batch that ends within it", () => {
  // 180 s budget, 70 s gone at the first look (build and minimum rounds), batches of 30 s: 3 more
  assert.equal(looksWithin(180, 70, 30), 4);
  assert.equal(looksWithin(30, 70, 30), 1);
});

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

/**
 * The sequential procedure on simulated gates: per round, three gate metrics' paired log ratios
 * (correlated, as throughput, p95 and CPU are) with true change `worse` (in each metric's worse
 * direction); looks as the gate takes them. Returns the outcomes and how often the intervals at
 * the stopping look held the true ratios.
 */
function simulate(worse: number, sims: number, seed: number, levelAt: (k: number) => number): { outcomes: Record<GateOutcome, number>; covered: number } {
  const r = rng(seed);
  const outcomes: Record<GateOutcome, number> = { pass: 0, regression: 0, inconclusive: 0 };
  let covered = 0;
  const better = ["higher", "lower", "lower"] as const;
  const truth = better.map((b) => (b === "higher" ? 1 / (1 + worse) : 1 + worse));
  for (let s = 0; s < sims; s++) {
    const pairs: Array<Array<[number, number]>> = [[], [], []];
    let outcome: GateOutcome | "continue" = "continue";
    let estimates: Array<ReturnType<typeof pairedRatio>> = [];
    for (let k = 1; outcome === "continue"; k++) {
      while (pairs[0]!.length < roundsAtLook(design, k)) {
        const shared = gauss(r); // what a round does to every metric alike
        better.forEach((_, m) => {
          const noise = 0.06 * (0.6 * shared + 0.8 * gauss(r));
          pairs[m]!.push([1000, 1000 * truth[m]! * Math.exp(noise)]);
        });
      }
      estimates = pairs.map((p) => pairedRatio(p, { level: levelAt(k), method: "t" }));
      const calls = estimates.map((e, m) => callMetric({ better: better[m]!, estimate: e! }, 0.05));
      outcome = outcomeOf(calls, k === design.maxLooks);
    }
    outcomes[outcome]++;
    if (estimates.every((e, m) => e!.lo <= truth[m]! && truth[m]! <= e!.hi)) covered++;
  }
  return { outcomes, covered: covered / sims };
}

test("sequential coverage: with alpha spent over the looks, a change exactly at the line is called a regression at most alpha of the time (2,000 simulated gates)", (t) => {
  const atLine = simulate(0.05, 2000, 11, (k) => lookLevel(design, k));
  t.diagnostic(`at the line: ${JSON.stringify(atLine.outcomes)}, covered ${atLine.covered}`);
  assert.ok(atLine.outcomes.regression / 2000 <= design.alpha, JSON.stringify(atLine.outcomes));
  // every metric's interval at the stopping look holds its true ratio at least 1 − 2α of the time
  assert.ok(atLine.covered >= 1 - 2 * design.alpha, `covered ${atLine.covered}`);
  // no change: never a regression, and the intervals still cover
  const none = simulate(0, 2000, 12, (k) => lookLevel(design, k));
  t.diagnostic(`no change: ${JSON.stringify(none.outcomes)}, covered ${none.covered}`);
  assert.ok(none.outcomes.regression / 2000 <= design.alpha, JSON.stringify(none.outcomes));
  assert.ok(none.covered >= 1 - 2 * design.alpha, `covered ${none.covered}`);
});

test("the same looks with an uncorrected 90% interval each time call a change at the line a regression more often than alpha", (t) => {
  // why the spending is there: six looks at a one-sided 5% each add up
  const naive = simulate(0.05, 2000, 13, () => 0.9);
  t.diagnostic(`uncorrected, at the line: ${JSON.stringify(naive.outcomes)}`);
  assert.ok(naive.outcomes.regression / 2000 > design.alpha, JSON.stringify(naive.outcomes));
});

test("a real regression of twice the line is found: the sequential gate calls it within its looks most of the time", (t) => {
  const twice = simulate(0.1, 500, 14, (k) => lookLevel(design, k));
  t.diagnostic(`twice the line: ${JSON.stringify(twice.outcomes)}`);
  assert.ok(twice.outcomes.regression / 500 >= 0.8, JSON.stringify(twice.outcomes));
  assert.equal(twice.outcomes.pass, 0);
});
