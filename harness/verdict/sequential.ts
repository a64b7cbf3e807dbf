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
  const out: number[] = [];
  let carried = START;
  for (const [k, t] of fractions.entries()) {
    const b = boundaryOnS(carried, t, spend[k]!);
    out.push(b / Math.sqrt(t));
    if (k < fractions.length - 1) carried = carry(carried, t, b);
  }
  return out;
}

/** S's sub-density at a look on the not-yet-crossed region: masses (density × trapezoid weight) at points. */
interface Density {
  t: number;
  xs: number[];
  mass: number[];
}

/** S(0) = 0: all the mass at one point, so the first look's sums are the plain normal's. */
const START: Density = { t: 0, xs: [0], mass: [1] };

const GRID = 801;

/**
 * Σ mass·g(x) over the density's points. A loop, not reduce: START's arrays hold small integers, the
 * grids' doubles, and reduce's callback seeing both ran 1.6× slower.
 */
function integrate(d: Density, g: (x: number) => number): number {
  let sum = 0;
  for (let i = 0; i < d.xs.length; i++) sum += d.mass[i]! * g(d.xs[i]!);
  return sum;
}

/** The boundary b on S at time t where P(first crossing) is `target`, by bisection (it falls as b rises). */
function boundaryOnS(d: Density, t: number, target: number): number {
  const sd = Math.sqrt(t - d.t);
  const crossing = (b: number): number => integrate(d, (x) => 1 - normalCdf((b - x) / sd));
  let lo = -10;
  let hi = 10 + d.xs.at(-1)!;
  for (let i = 0; i < 100 && hi - lo > 1e-10; i++) {
    const mid = (lo + hi) / 2;
    if (crossing(mid) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The sub-density at time t below boundary b: d convolved with the increment, on a grid from −8√t up to b. */
function carry(d: Density, t: number, b: number): Density {
  const sd = Math.sqrt(t - d.t);
  const bottom = -8 * Math.sqrt(t);
  const step = (b - bottom) / (GRID - 1);
  const xs = Array.from({ length: GRID }, (_, i) => bottom + i * step);
  const density = (s: number) => integrate(d, (x) => normalPdf((s - x) / sd) / sd);
  const mass = xs.map((s, i) => (i === 0 || i === GRID - 1 ? step / 2 : step) * density(s));
  return { t, xs, mass };
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
