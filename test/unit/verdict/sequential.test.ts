import assert from "node:assert/strict";
import { test } from "node:test";
import { pairedRatio, rng } from "../../../harness/verdict/stats.js";
import {
  callMetric,
  exactBoundaries,
  lookLevel,
  looksWithin,
  outcomeOf,
  roundsAtLook,
  spent,
  unionLevel,
  type GateOutcome,
  type SequentialDesign,
} from "../../../harness/verdict/sequential.js";

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

const design: SequentialDesign = { alpha: 0.05, minRounds: 4, batchRounds: 2, maxLooks: 6, metrics: 3 };

const phi = (z: number) => {
  // Φ by the complementary error function's continued series (independent of the module's jStat)
  let sum = 0;
  let term = z;
  for (let n = 0; n < 200; n++) {
    sum += term;
    term *= (z * z) / (2 * n + 3);
  }
  return 0.5 + (sum * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI);
};

test("the exact boundary reproduces the published two-look boundaries (O'Brien–Fleming and Pocock, one-sided 2.5%)", () => {
  // O'Brien–Fleming, K = 2: 2.797 then 1.977; Pocock, K = 2: 2.178 at both (Jennison & Turnbull, tables 2.1, 2.3)
  const obf = exactBoundaries([0.5, 1], [1 - phi(2.797), 0.025 - (1 - phi(2.797))]);
  assert.ok(Math.abs(obf[0]! - 2.797) < 1e-3 && Math.abs(obf[1]! - 1.977) < 3e-3, JSON.stringify(obf));
  const pocock = exactBoundaries([0.5, 1], [1 - phi(2.178), 0.025 - (1 - phi(2.178))]);
  assert.ok(Math.abs(pocock[1]! - 2.178) < 3e-3, JSON.stringify(pocock));
});

test("the exact boundary's crossing probabilities are the spends: 200,000 simulated null paths over 6 uneven looks", () => {
  const fractions = [6, 8, 10, 12, 14, 16].map((n) => n / 16);
  const spend = fractions.map((t, i) => (0.05 / 3) * (t ** 2 - (i ? fractions[i - 1]! ** 2 : 0)));
  const b = exactBoundaries(fractions, spend);
  const r = rng(5);
  const crossed = fractions.map(() => 0);
  const paths = 200_000;
  for (let p = 0; p < paths; p++) {
    let s = 0;
    let prev = 0;
    for (let k = 0; k < fractions.length; k++) {
      s += Math.sqrt(fractions[k]! - prev) * gauss(r);
      prev = fractions[k]!;
      if (s / Math.sqrt(fractions[k]!) >= b[k]!) {
        crossed[k]!++;
        break;
      }
    }
  }
  const total = crossed.reduce((a, x) => a + x, 0) / paths;
  // in all: α/m = 0.0167 (Monte Carlo SE 0.0003)
  assert.ok(Math.abs(total - 0.05 / 3) < 0.0012, `crossed ${total}`);
  crossed.forEach((c, k) =>
    assert.ok(
      Math.abs(c / paths - spend[k]!) < 4 * Math.sqrt(spend[k]! / paths) + 1e-4,
      `look ${k + 1}: ${c / paths} vs ${spend[k]}`,
    ),
  );
});

test("alpha spending: the first look's level is the union bound's, every later one narrower; all wider than 95%", () => {
  const levels: number[] = [];
  for (let k = 1; k <= design.maxLooks; k++) {
    levels.push(lookLevel(design, k));
    if (k === 1) assert.ok(Math.abs(lookLevel(design, 1) - unionLevel(design, 1)) < 1e-9);
    else
      assert.ok(
        lookLevel(design, k) < unionLevel(design, k),
        `look ${k}: ${lookLevel(design, k)} vs ${unionLevel(design, k)}`,
      );
  }
  // the union bound's tails add up to alpha per side
  let tails = 0;
  for (let k = 1; k <= design.maxLooks; k++) tails += ((1 - unionLevel(design, k)) / 2) * design.metrics;
  assert.ok(Math.abs(tails - design.alpha) < 1e-12, `spent ${tails}`);
  assert.equal(spent(design, design.maxLooks), design.alpha);
  assert.equal(spent(design, 0), 0);
  assert.equal(roundsAtLook(design, design.maxLooks), 14);
  assert.ok(levels.every((l) => l > 0.95 && l < 1));
  assert.ok(levels.at(-1)! < levels[1]!, "the last look spends more than the second");
});

test("a metric is called against the line from its interval, in the metric's own direction", () => {
  const est = (lo: number, hi: number) => ({
    ratio: (lo + hi) / 2,
    lo,
    hi,
    p: 0.5,
    n: 6,
    paired: true,
    method: "t" as const,
  });
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

/**
 * The sequential procedure on simulated gates: per round, three gate metrics' paired log ratios
 * (correlated, as throughput, p95 and CPU are) with true change `worse` (in each metric's worse
 * direction); looks as the gate takes them. Returns the outcomes and how often the intervals at
 * the stopping look held the true ratios.
 */
function simulate(
  worse: number,
  sims: number,
  seed: number,
  levelAt: (k: number) => number,
): { outcomes: Record<GateOutcome, number>; covered: number } {
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
