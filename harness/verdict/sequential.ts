import type { Comparison } from "../results/schema.js";
import { improvement } from "./compare.js";

/**
 * Sequential sampling for the gate against a revision: pure functions, no I/O.
 *
 * The gate looks at its data after `minRounds` rounds, then after every `batchRounds` more, at
 * most `maxLooks` times (fixed before the first round, from the time budget). At each look, each
 * gate metric gets an interval on its change, and is decided when the interval lies wholly on one
 * side of the line `maxRegression`: wholly worse is a regression, wholly better is clear.
 *
 * The false-alarm rate holds across the looks by **alpha spending**: the one-sided error α (per
 * side) is spent over the looks by the spending function α·t² (t = the look's rounds over the last
 * look's, a Lan–DeMets family member that spends little at the first, small looks and most at the
 * last), and split evenly (Bonferroni) over the gate metrics. Look k's intervals are two-sided at
 * 1 − 2·(α(t_k) − α(t_{k−1}))/m. By the union bound, every interval of every look covers its true
 * ratio at once with probability at least 1 − 2α, whatever the correlation between looks and
 * metrics; so a metric whose true change is not beyond the line is called a regression with
 * probability at most α, however many looks the gate takes.
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
export const roundsAtLook = (d: Pick<SequentialDesign, "minRounds" | "batchRounds">, k: number): number => d.minRounds + (k - 1) * d.batchRounds;

/** α spent up to look k (0 before the first). */
export function spent(d: SequentialDesign, k: number): number {
  if (k <= 0) return 0;
  const t = Math.min(1, roundsAtLook(d, k) / roundsAtLook(d, d.maxLooks));
  return d.alpha * t ** SPENDING_POWER;
}

/** The two-sided confidence level of each metric's interval at look k. */
export function lookLevel(d: SequentialDesign, k: number): number {
  const tail = (spent(d, k) - spent(d, k - 1)) / d.metrics;
  return 1 - 2 * tail;
}

export type MetricCall = "regression" | "clear" | "undecided";

/** A metric's call against the line: its interval wholly worse than `line`, wholly better, or across it. */
export function callMetric(c: Pick<Comparison, "better" | "estimate" | "failuresDiffer">, line: number): MetricCall {
  // the candidate fails more often than the limit allows beyond the reference: worse, whatever its speed
  if (c.failuresDiffer) return c.failuresDiffer.candidate > c.failuresDiffer.reference ? "regression" : "undecided";
  const { lo, hi } = c.estimate;
  // the change as "how much better" at each end of the interval
  const ends = [improvement({ better: c.better, estimate: { ...c.estimate, ratio: lo } }), improvement({ better: c.better, estimate: { ...c.estimate, ratio: hi } })];
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
