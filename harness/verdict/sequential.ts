import type { Comparison, MetricCall } from "../results/schema.js";

export type { MetricCall };
import { improvement } from "./compare.js";
import { normalCdf } from "./stats.js";

/**
 * Sequential sampling for the gate against a revision: pure functions, no I/O.
 *
 * The gate looks at its data after `minRounds` rounds, then after every `batchRounds` more, at
 * most `maxLooks` times (fixed before the first round, from the time budget). At each look, each
 * gate metric gets an interval on its change, and is decided when the interval lies wholly on one
 * side of the line `maxRegression`: wholly worse is a regression, wholly better is clear.
 *
 * The false-alarm rate holds across the looks by **alpha spending** with an **exact
 * group-sequential boundary**: the one-sided error α (per side) is split evenly (Bonferroni) over
 * the m gate metrics, and each metric's α/m is spent over the looks by the spending function
 * α·t² (t = the look's rounds over the last look's; a Lan–DeMets family member that spends little
 * at the first, small looks and most at the last). Look k's boundary c_k is the one at which a
 * metric's standardized change, a Brownian motion in the rounds (its looks correlated as
 * √(n_j/n_k)), first crosses at look k with probability exactly the α spent there; it is found by
 * numerical integration over the looks (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
 * ch. 19). Look k's intervals are two-sided at 1 − 2·(1 − Φ(c_k)), the boundary's nominal level,
 * taken as Student's t at the look's rounds. The looks' correlation makes c_k lower than the union
 * bound's z at the same spend (which assumes every look's crossing is a new one), so the intervals
 * are narrower at every look after the first, and still a metric whose true change is not beyond
 * the line is called a regression with probability at most α/m, however many looks the gate takes
 * (at most α over the metrics, whatever their correlation).
 */
export interface SequentialDesign {
  /** One-sided error per side, over all looks and metrics. */
  alpha: number;
  minRounds: number;
  batchRounds: number;
  maxLooks: number;
  /** How many gate metrics share α at each look. */
  metrics: number;
}

/** The spending function's power: α(t) = α·t^SPENDING_POWER. */
const SPENDING_POWER = 2;

/** Rounds at look k (1-based). */
export const roundsAtLook = (d: Pick<SequentialDesign, "minRounds" | "batchRounds">, k: number): number =>
  d.minRounds + (k - 1) * d.batchRounds;

/** α spent up to look k (0 before the first). */
export function spent(d: SequentialDesign, k: number): number {
  if (k <= 0) return 0;
  const t = Math.min(1, roundsAtLook(d, k) / roundsAtLook(d, d.maxLooks));
  return d.alpha * t ** SPENDING_POWER;
}

/**
 * The exact one-sided boundaries (z) of a group-sequential test under the null: at information
 * fractions `fractions` (increasing, the last 1), the z at each look such that the probability of
 * first crossing there is `spend[k]` (each > 0). The standardized score S(t) = Z_k·√t_k is a
 * Brownian motion; its sub-density on the not-yet-crossed region is carried from look to look on a
 * grid (trapezoid rule), and each boundary is found by bisection on the crossing probability.
 */
export function exactBoundaries(fractions: readonly number[], spend: readonly number[]): number[] {
  const grid = 801;
  const out: number[] = [];
  // the sub-density of S at the previous look, on points xs (with weights for the trapezoid rule)
  let xs: number[] = [];
  let f: number[] = [];
  let w: number[] = [];
  let prevT = 0;
  for (let k = 0; k < fractions.length; k++) {
    const t = fractions[k]!;
    const dt = t - prevT;
    const sd = Math.sqrt(dt);
    // P(first crossing at this look | boundary b on S): from the first look's normal, else the carried density
    const crossing = (b: number): number =>
      k === 0 ? 1 - normalCdf(b / sd) : xs.reduce((a, x, i) => a + w[i]! * f[i]! * (1 - normalCdf((b - x) / sd)), 0);
    const target = spend[k]!;
    // bisection on the boundary for S (the crossing probability falls as it rises)
    let lo = -10;
    let hi = 10 + (xs.at(-1) ?? 0);
    for (let i = 0; i < 100 && hi - lo > 1e-10; i++) {
      const mid = (lo + hi) / 2;
      if (crossing(mid) > target) lo = mid;
      else hi = mid;
    }
    const b = (lo + hi) / 2;
    out.push(b / Math.sqrt(t));
    if (k === fractions.length - 1) break;
    // the sub-density at this look below its boundary: the previous one convolved with the increment
    const bottom = -8 * Math.sqrt(t);
    const step = (b - bottom) / (grid - 1);
    const nx = Array.from({ length: grid }, (_, i) => bottom + i * step);
    const nw = nx.map((_, i) => (i === 0 || i === grid - 1 ? step / 2 : step));
    const nf = nx.map((s) =>
      k === 0 ? normalPdf(s / sd) / sd : xs.reduce((a, x, i) => a + w[i]! * f[i]! * (normalPdf((s - x) / sd) / sd), 0),
    );
    xs = nx;
    w = nw;
    f = nf;
    prevT = t;
  }
  return out;
}

const normalPdf = (z: number): number => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);

/** The exact boundaries of a design, per metric (α/m spent as α·t²), cached: they depend on the design alone. */
const boundaryCache = new Map<string, number[]>();
function boundariesOf(d: SequentialDesign): number[] {
  const key = `${d.alpha}/${d.minRounds}/${d.batchRounds}/${d.maxLooks}/${d.metrics}`;
  let b = boundaryCache.get(key);
  if (!b) {
    const last = roundsAtLook(d, d.maxLooks);
    const fractions = Array.from({ length: d.maxLooks }, (_, i) => roundsAtLook(d, i + 1) / last);
    const spend = fractions.map((_, i) => (spent(d, i + 1) - spent(d, i)) / d.metrics);
    b = exactBoundaries(fractions, spend);
    boundaryCache.set(key, b);
  }
  return b;
}

/** Look k's boundary z for each metric (k from 1 to maxLooks). */
const lookBoundary = (d: SequentialDesign, k: number): number => boundariesOf(d)[Math.min(k, d.maxLooks) - 1]!;

/** The two-sided confidence level of each metric's interval at look k: the exact boundary's nominal level. */
export function lookLevel(d: SequentialDesign, k: number): number {
  return 1 - 2 * (1 - normalCdf(lookBoundary(d, k)));
}

/** The union bound's level at look k (the spend of that look alone, as if no earlier look had been taken): wider than lookLevel after the first look. */
export function unionLevel(d: SequentialDesign, k: number): number {
  return 1 - (2 * (spent(d, k) - spent(d, k - 1))) / d.metrics;
}

/** A metric's call against the line: its interval wholly worse than `line`, wholly better, or across it. */
export function callMetric(c: Pick<Comparison, "better" | "estimate" | "failuresDiffer">, line: number): MetricCall {
  // the candidate fails more often than the limit allows beyond the reference: worse, whatever its speed
  if (c.failuresDiffer) return c.failuresDiffer.candidate > c.failuresDiffer.reference ? "regression" : "undecided";
  const { lo, hi } = c.estimate;
  // the change as "how much better" at each end of the interval
  const ends = [
    improvement({ better: c.better, estimate: { ...c.estimate, ratio: lo } }),
    improvement({ better: c.better, estimate: { ...c.estimate, ratio: hi } }),
  ];
  const best = Math.max(...ends);
  const worst = Math.min(...ends);
  if (best < -line) return "regression";
  if (worst > -line) return "clear";
  return "undecided";
}

export type GateOutcome = "pass" | "regression" | "inconclusive";

/**
 * The gate's state after a look: a regression as soon as one metric is wholly worse than the
 * line; a pass once every metric is clear; otherwise undecided (look again, or inconclusive when
 * no look is left).
 */
export function outcomeOf(calls: readonly MetricCall[], lastLook: boolean): GateOutcome | "continue" {
  if (calls.includes("regression")) return "regression";
  if (calls.length > 0 && calls.every((c) => c === "clear")) return "pass";
  return lastLook ? "inconclusive" : "continue";
}

/**
 * How many looks fit in the budget, counted at the first look (which the minimum rounds always
 * reach): that one, plus one per batch of `batchS` seconds that ends within the time left.
 */
export function looksWithin(budgetS: number, elapsedS: number, batchS: number): number {
  return 1 + Math.max(0, Math.floor((budgetS - elapsedS) / batchS));
}
