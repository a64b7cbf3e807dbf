import jstat from "jstat";
import type { RatioEstimate } from "../results/schema.js";
import { seededRandom } from "../../services/common/src/rng.js";

const { jStat } = jstat;

/**
 * Statistics over trials: pure functions, no I/O. The unit of replication is the trial (one
 * fresh executor running one scenario); requests inside a trial are not independent samples,
 * so every interval here is computed over trials, never over requests.
 */

/** Seeded PRNG: the same inputs give the same intervals, run after run. */
export const rng = seededRandom;

/** Percentile of sorted values, linear between closest ranks (R type 7, numpy's default). */
function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export const percentile = (xs: readonly number[], p: number): number =>
  percentileSorted(
    [...xs].sort((a, b) => a - b),
    p,
  );

/** The median: the type-7 percentile at 0.5, so the mean of the middle pair for an even count. */
export const median = (xs: readonly number[]): number => percentile(xs, 0.5);

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The standard normal CDF. */
export const normalCdf = (z: number): number => jStat.normal.cdf(z, 0, 1);
/** Student t quantile. */
const tInv = (p: number, df: number): number => jStat.studentt.inv(p, df);

/** Below this many rounds, the bootstrap cannot reach 95% coverage (see below); a t interval is used. */
export const BOOTSTRAP_MIN_N = 10;

/**
 * Student's t interval on mean log ratios. With few rounds a bootstrap can only recombine the
 * rounds it has (with 3 rounds its interval is at most their range, which holds the true
 * ratio ~75% of the time), so below BOOTSTRAP_MIN_N rounds this exact-under-normality
 * interval is used; log ratios of throughput and latency are close to normal.
 */
function tSummary(stat: number, se: number, df: number, n: number, paired: boolean, level: number): RatioEstimate {
  const lv = level === 0.95 ? {} : { level };
  if (!(se > 0))
    return {
      ratio: Math.exp(stat),
      lo: Math.exp(stat),
      hi: Math.exp(stat),
      p: stat === 0 ? 1 : 0,
      n,
      paired,
      method: "t",
      ...lv,
    };
  const half = tInv(1 - (1 - level) / 2, df) * se;
  const p = 2 * (1 - jStat.studentt.cdf(Math.abs(stat / se), df));
  return {
    ratio: Math.exp(stat),
    lo: Math.exp(stat - half),
    hi: Math.exp(stat + half),
    p,
    n,
    paired,
    method: "t",
    ...lv,
  };
}

const variance = (xs: readonly number[]): number => {
  const m = mean(xs);
  // n − 1: Bessel's correction
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};

/**
 * Hesterberg's expanded percentile bootstrap: the plain percentile interval is too narrow for
 * small n (it behaves like z·s/√n where t_{n−1}·s/√(n−1) is due), so the tail probability is
 * moved to Φ(√(n/(n−1)) · t_{n−1}) before reading the bootstrap quantiles.
 * (T. Hesterberg, "What teachers should know about the bootstrap", Am. Stat. 2015, §4.)
 */
function expandedAlpha(n: number, level: number): number {
  const tail = (1 - level) / 2;
  if (n < 2) return tail;
  return 1 - normalCdf(Math.sqrt(n / (n - 1)) * tInv(1 - tail, n - 1));
}

function bootstrapSummary(stat: number, boots: number[], n: number, paired: boolean, level: number): RatioEstimate {
  boots.sort((a, b) => a - b);
  const a = expandedAlpha(n, level);
  const lo = percentileSorted(boots, a);
  const hi = percentileSorted(boots, 1 - a);
  const below = boots.filter((b) => b <= 0).length / boots.length;
  const above = boots.filter((b) => b >= 0).length / boots.length;
  return {
    ratio: Math.exp(stat),
    lo: Math.exp(lo),
    hi: Math.exp(hi),
    p: Math.min(1, 2 * Math.min(below, above)),
    n,
    paired,
    method: "bootstrap",
    level: level === 0.95 ? undefined : level,
  };
}

export interface IntervalOptions {
  resamples?: number;
  seed?: number;
  /** Two-sided confidence level of the interval (default 0.95). */
  level?: number;
  /**
   * "t": Student's t at every n. The sequential gate's per-look levels are extreme (99.x%), and a
   * bootstrap over a few rounds cannot resolve such tails: its most extreme resample is bounded by
   * the most extreme round.
   */
  method?: "t";
}

/** Enough resamples that each tail of the interval holds at least ~25 of them. */
const resamplesFor = (o: IntervalOptions): number =>
  o.resamples ?? Math.max(2000, Math.ceil(50 / (1 - (o.level ?? 0.95))));

/**
 * Ratio candidate/baseline with a 95% interval, by a bootstrap over rounds paired by round:
 * the per-round log ratios are resampled with replacement, and their mean is the statistic.
 * Pairing takes out what a round shares (machine drift hits both arms of a round alike).
 * `pairs` holds [baseline, candidate] for each round where both arms have a value.
 */
export function pairedRatio(
  pairs: ReadonlyArray<readonly [number, number]>,
  o: IntervalOptions = {},
): RatioEstimate | undefined {
  const level = o.level ?? 0.95;
  const logs = pairs.filter(([b, c]) => b > 0 && c > 0).map(([b, c]) => Math.log(c / b));
  const n = logs.length;
  if (n === 0) return undefined;
  const stat = mean(logs);
  if (n === 1) return { ratio: Math.exp(stat), lo: 0, hi: Infinity, p: 1, n, paired: true, method: "t" };
  if (n < BOOTSTRAP_MIN_N || o.method === "t")
    return tSummary(stat, Math.sqrt(variance(logs) / n), n - 1, n, true, level);
  const rand = rng(o.seed ?? 1);
  const B = resamplesFor(o);
  const boots: number[] = new Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += logs[Math.floor(rand() * n)]!;
    boots[b] = s / n;
  }
  return bootstrapSummary(stat, boots, n, true, level);
}

/**
 * The same for two arms that share no rounds (two separate runs): each arm's log values are
 * resampled on its own, and the statistic is the difference of their means.
 */
export function unpairedRatio(
  baseline: readonly number[],
  candidate: readonly number[],
  o: IntervalOptions = {},
): RatioEstimate | undefined {
  const level = o.level ?? 0.95;
  const lb = baseline.filter((x) => x > 0).map(Math.log);
  const lc = candidate.filter((x) => x > 0).map(Math.log);
  if (lb.length === 0 || lc.length === 0) return undefined;
  const stat = mean(lc) - mean(lb);
  const n = Math.min(lb.length, lc.length);
  if (lb.length < 2 || lc.length < 2)
    return { ratio: Math.exp(stat), lo: 0, hi: Infinity, p: 1, n, paired: false, method: "t" };
  if (n < BOOTSTRAP_MIN_N || o.method === "t") {
    // Welch: unequal variances, Welch–Satterthwaite degrees of freedom
    const vb = variance(lb) / lb.length;
    const vc = variance(lc) / lc.length;
    const df = (vb + vc) ** 2 / ((vb * vb) / (lb.length - 1) + (vc * vc) / (lc.length - 1));
    return tSummary(
      stat,
      Math.sqrt(vb + vc),
      Number.isFinite(df) ? df : Math.min(lb.length, lc.length) - 1,
      n,
      false,
      level,
    );
  }
  const rand = rng(o.seed ?? 1);
  const B = resamplesFor(o);
  const boots: number[] = new Array(B);
  const draw = (xs: number[]) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(rand() * xs.length)]!;
    return s / xs.length;
  };
  for (let b = 0; b < B; b++) boots[b] = draw(lc) - draw(lb);
  return bootstrapSummary(stat, boots, n, false, level);
}

/** Holm–Bonferroni step-down: adjusted p-values, in the input's order. */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
