import jstat from "jstat";

const { jStat } = jstat;

/**
 * Change points of a metric's history: pure, no I/O. The series is one value per commit in
 * first-parent order (a run's median), and a value may carry the run's own 95% interval.
 *
 * **Method: E-divisive means with a Student t-test, as Apache Otava (ex-Hunter) runs it**
 * (Matteson & James 2014, "A nonparametric approach for multiple change point analysis of
 * multivariate data"; Fleming et al. 2023, "Hunter: using change point detection to hunt for
 * performance regressions"):
 * 1. *Split.* Overlapping windows of `window` commits (default 50), each starting half a window
 *    (or at its last change point) after the previous one. In each window the energy statistic
 *    Q̂(τ, κ) (Matteson & James, α = 1) picks the split τ that most separates [s, τ) from [τ, κ)
 *    over every κ; the split is kept when a t-test between the two sides says p ≤ 10·maxP, and
 *    the window is split again, recursively, until a candidate fails. These are the weak points.
 * 2. *Merge.* Over the whole series, each weak point is tested between its neighbours; the one
 *    with the largest p is dropped while any p ≥ maxP (default 0.001, Otava's), its neighbours are
 *    tested again, and so on. What is left are the change points.
 *
 * Why the t-test and not permutations (Matteson & James; MongoDB's signal-processing-algorithms):
 * - a permutation test costs O(P·n²) per candidate (P ≈ 100–1,000 shuffles), too slow for 1,000
 *   commits × 10 metrics on every `perfpack history`, and needs a seeded RNG to be repeatable; the
 *   t-test is exact arithmetic, so the same history always gives the same answer;
 * - within a level, the logs of a metric's medians are close to normal (run-to-run noise is
 *   multiplicative), which is the t-test's assumption; Otava's measurements found it as good in
 *   practice, and it works on segments of a few points, where permutations have no resolution.
 * - The candidate is the best of many splits, so its p-value is optimistic (the selection is not
 *   accounted for); the windows bound the number of splits, and maxP = 0.001 keeps the false change
 *   points rare (scripts/changepoints-eval.mjs measures them per 100 commits).
 *
 * Differences from Otava, on purpose:
 * - Everything is on the logs of the values: performance changes are multiplicative, and a ratio
 *   new/old reads the same at 100 req/s and 10,000.
 * - The t-test uses the sample variance (n − 1); Otava passes numpy's population SD, which makes
 *   its p-values a little smaller than Student's.
 * - After a weak point is dropped, both its neighbours are tested again (Otava re-tests the next
 *   two, so the one before keeps a stale p).
 * - The pooled variance is never below the runs' own: a point's variance around its level is its
 *   run's noise plus the drift between jobs, so when the points carry intervals, their mean
 *   squared standard error (on logs) is a floor. It matters when medians tie (a quantized p95 of
 *   exactly 1 ms for ten commits, then 1.01 ms): without it the sample variance is 0 and any step
 *   is "certain". The intervals are not used as weights: they know nothing of the drift between
 *   CI jobs, which is larger than the noise within a run.
 *
 * Each change point's magnitude is the ratio of the segments' geometric means (new/old, the
 * exponent of the difference of mean logs), between the change points on either side, with a
 * Student t interval on that difference from the same pooled variance as its test. The t interval
 * rather than a bootstrap: segments can be a few points long, where a bootstrap's interval is at
 * most their range (see stats.ts), and it is consistent with the test that found the point.
 */

export interface SeriesPoint {
  commit: string;
  /** The run's value (a median): positive, or the point is ignored (no logarithm). */
  value: number;
  /** The run's own 95% interval on the value, when it has one. */
  lo?: number;
  hi?: number;
}

/** A stretch of commits at one level, between change points (indices into the series, inclusive). */
export interface Segment {
  first: number;
  last: number;
  /** Points in it that were analysed. */
  n: number;
  /** The geometric mean of its values. */
  level: number;
}

export interface ChangePoint {
  /** Index of the first point at the new level. */
  index: number;
  /** The commit where the new level starts. */
  commit: string;
  /** The last commit at the old level: the change came in previous..commit. */
  previous: string;
  /** New level over old: the ratio of the segments' geometric means. */
  ratio: number;
  /** The interval on `ratio`, at `level`. */
  lo: number;
  hi: number;
  level: number;
  /** Two-sided p of Student's t-test between the segments, on logs. */
  p: number;
  before: Segment;
  after: Segment;
}

export type ChangePointAnalysis =
  | { status: "analysed"; changePoints: ChangePoint[]; segments: Segment[]; ignored: number }
  | { status: "too-short"; changePoints: []; segments: Segment[]; ignored: number; reason: string };

export interface ChangePointOptions {
  /** The significance a change point must reach (Otava's default 0.001). */
  maxP?: number;
  /** Commits per window of the split step (Otava's default 50); Infinity: the whole series at once. */
  window?: number;
  /** A change point smaller than this relative change is dropped (default 0: any size). */
  minMagnitude?: number;
  /** Two-sided level of the magnitude's interval (default 0.95). */
  level?: number;
}

/** Below this many points no change point is sought: neither side of a split could hold three. */
export const MIN_POINTS = 6;

const DEFAULTS = { maxP: 0.001, window: 50, minMagnitude: 0, level: 0.95 };

/** z of a run's 95% interval, to recover its standard error on logs. */
const Z95 = 1.959963984540054;

/** Change points of a series, in index order; the segments between them. */
export function changePoints(points: readonly SeriesPoint[], options: ChangePointOptions = {}): ChangePointAnalysis {
  const o = { ...DEFAULTS, ...options };
  if (!(o.window >= 2)) throw new RangeError(`window must be at least 2 commits (got ${o.window})`);
  const data = prepare(points);
  const ignored = points.length - data.index.length;
  if (data.index.length < MIN_POINTS) {
    const reason = `${data.index.length} point(s) with a positive value: change points need at least ${MIN_POINTS}`;
    return { status: "too-short", changePoints: [], segments: segmentsOf(data, []), ignored, reason };
  }
  const firstPass = o.maxP < 0.05 ? o.maxP * 10 : o.maxP < 0.5 ? o.maxP * 2 : o.maxP;
  const weak = weakPoints(data, o.window, firstPass);
  const kept = merge(data, weak, o.maxP, o.minMagnitude);
  const segments = segmentsOf(data, kept);
  const found = kept.map((c, i) => describe(data, points, segments, c, i, o.level));
  return { status: "analysed", changePoints: found, segments, ignored };
}

/**
 * The best single split of a whole series by the energy statistic alone (no test, raw values):
 * the split τ (the first index of the right side) and its Q̂. For tests and the evaluation script.
 */
export function bestEnergySplit(xs: readonly number[]): { index: number; q: number } {
  if (xs.length < 2) throw new RangeError("a split needs at least 2 values");
  return new Energy(Float64Array.from(xs), 0, xs.length).bestSplit(0, xs.length);
}

/** A change point is a regression when its new level is worse in the metric's direction. */
export const isWorse = (cp: Pick<ChangePoint, "ratio">, better: "higher" | "lower"): boolean =>
  better === "higher" ? cp.ratio < 1 : cp.ratio > 1;

/** The analysed points: their logs (centred), prefix sums for O(1) segment statistics, and where each came from. */
interface Prepared {
  /** Index in the input of each analysed point. */
  index: number[];
  /** Logs of the values, minus their mean (for precision in the sums of squares). */
  logs: Float64Array;
  centre: number;
  /** Prefix sums over the analysed points: logs, squared logs, the runs' own variances. */
  sum: Float64Array;
  sumSq: Float64Array;
  sumFloor: Float64Array;
}

function prepare(points: readonly SeriesPoint[]): Prepared {
  const index = points.flatMap((p, i) => (p.value > 0 && Number.isFinite(p.value) ? [i] : []));
  const raw = index.map((i) => Math.log(points[i]!.value));
  const centre = raw.length > 0 ? raw.reduce((a, b) => a + b, 0) / raw.length : 0;
  const logs = Float64Array.from(raw, (x) => x - centre);
  const n = logs.length;
  const sum = new Float64Array(n + 1);
  const sumSq = new Float64Array(n + 1);
  const sumFloor = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    sum[i + 1] = sum[i]! + logs[i]!;
    sumSq[i + 1] = sumSq[i]! + logs[i]! * logs[i]!;
    sumFloor[i + 1] = sumFloor[i]! + ownVariance(points[index[i]!]!);
  }
  return { index, logs, centre, sum, sumSq, sumFloor };
}

/** The run's own variance of its log value, from its 95% interval; 0 without one. */
function ownVariance(p: SeriesPoint): number {
  if (p.lo === undefined || p.hi === undefined || !(p.lo > 0) || !Number.isFinite(p.hi) || !(p.hi >= p.lo)) return 0;
  return (Math.log(p.hi / p.lo) / (2 * Z95)) ** 2;
}

interface SegmentStats {
  n: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  ss: number;
  floor: number;
}

/** Mean, sum of squares and the runs' own variance over analysed points [a, b). */
function stats(d: Prepared, a: number, b: number): SegmentStats {
  const n = b - a;
  const s = d.sum[b]! - d.sum[a]!;
  const mean = s / n;
  return { n, mean, ss: Math.max(0, d.sumSq[b]! - d.sumSq[a]! - s * mean), floor: d.sumFloor[b]! - d.sumFloor[a]! };
}

interface TTest {
  /** Difference of mean logs, right − left. */
  d: number;
  se: number;
  df: number;
  p: number;
}

/**
 * Student's two-sample t-test (pooled variance, as Otava) between [a, c) and [c, b) on logs, the
 * pooled variance floored by the runs' own (see the module's comment).
 */
function tTest(data: Prepared, a: number, c: number, b: number): TTest {
  const l = stats(data, a, c);
  const r = stats(data, c, b);
  const d = r.mean - l.mean;
  const df = l.n + r.n - 2;
  if (df < 1) return { d, se: Infinity, df, p: 1 };
  const variance = Math.max((l.ss + r.ss) / df, (l.floor + r.floor) / (l.n + r.n));
  const se = Math.sqrt(variance * (1 / l.n + 1 / r.n));
  if (!(se > 0)) return { d, se: 0, df, p: d === 0 ? 1 : 0 };
  const t = d / se;
  // two-sided tail of Student's t through the incomplete beta: exact to the smallest p
  return { d, se, df, p: Math.min(1, jStat.ibeta(df / (df + t * t), df / 2, 0.5)) };
}

/** The split steps' union: weak change points (indices into the analysed points), sorted. */
function weakPoints(data: Prepared, window: number, maxP: number): number[] {
  const n = data.logs.length;
  const step = Math.max(1, Math.floor(window / 2));
  const found = new Set<number>();
  for (let start = 0; start < n;) {
    const end = Math.min(start + window, n);
    const cps = divide(data, start, end, maxP);
    for (const c of cps) found.add(c);
    start = Math.max(cps.at(-1) ?? 0, start + step);
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * E-divisive in the window [start, end): the best split of the best segment, while its t-test
 * passes; each kept split divides its segment in two for the next round.
 */
function divide(data: Prepared, start: number, end: number, maxP: number): number[] {
  const energy = new Energy(data.logs, start, end);
  const cps: number[] = [];
  for (;;) {
    const bounds = [start, ...cps, end];
    const best = bestCandidate(energy, bounds);
    if (!best) break;
    if (!(tTest(data, best.a, best.index, best.b).p <= maxP)) break;
    cps.push(best.index);
    cps.sort((x, y) => x - y);
  }
  return cps;
}

/** The candidate with the highest Q̂ over every segment of at least two points (the first on ties). */
function bestCandidate(energy: Energy, bounds: readonly number[]) {
  let best: { index: number; q: number; a: number; b: number } | undefined;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [a, b] = [bounds[i]!, bounds[i + 1]!];
    if (b - a < 2) continue;
    const c = energy.bestSplit(a, b);
    if (!best || c.q > best.q) best = { ...c, a, b };
  }
  return best;
}

/**
 * The energy statistic of a window: Q̂(X, Y) = 2/(n+m)·ΣΣ|x−y| − 2m/((n+m)(n−1))·Σ|x−x'| −
 * 2n/((n+m)(m−1))·Σ|y−y'| for X = [s, τ), Y = [τ, κ) (Matteson & James, α = 1; n = |X|, m = |Y|),
 * over every s < τ < κ ≤ e in O((e − s)²) from column prefix sums of the distance matrix.
 */
class Energy {
  private readonly dist: Float64Array;
  private readonly width: number;

  constructor(
    logs: Float64Array,
    private readonly start: number,
    end: number,
  ) {
    this.width = end - start;
    this.dist = new Float64Array(this.width * this.width);
    for (let i = 0; i < this.width; i++)
      for (let j = 0; j < this.width; j++)
        this.dist[i * this.width + j] = Math.abs(logs[start + i]! - logs[start + j]!);
  }

  /** The τ in (a, b) with the highest Q̂ over κ ∈ (τ, b], and that Q̂. */
  bestSplit(a: number, b: number): { index: number; q: number } {
    const pre = this.columnPrefix(a - this.start, b - this.start);
    const m = b - a;
    let best = { index: a + 1, q: -Infinity };
    let within = 0; // Σ|x − x'| over X = [a, τ)
    for (let n = 1; n < m; n++) {
      within += pre[(n - 1) * (m + 1) + (n - 1)]!;
      const q = bestOverKappa(pre, m, n, within);
      if (q > best.q) best = { index: a + n, q };
    }
    return best;
  }

  /** pre[j·(m+1) + t] = Σ_{i < t} D(i, j), rows and columns relative to the segment [a, b). */
  private columnPrefix(a: number, b: number): Float64Array {
    const m = b - a;
    const pre = new Float64Array(m * (m + 1));
    for (let j = 0; j < m; j++) {
      const row = (a + j) * this.width + a;
      for (let t = 1; t <= j; t++) pre[j * (m + 1) + t] = pre[j * (m + 1) + t - 1]! + this.dist[row + t - 1]!;
    }
    return pre;
  }
}

/** For X = the first n points of the segment, the highest Q̂ as Y grows from one point to the end. */
function bestOverKappa(pre: Float64Array, m: number, n: number, within: number): number {
  let best = -Infinity;
  let cross = 0; // ΣΣ|x − y|
  let ys = 0; // Σ|y − y'| over Y
  for (let j = n; j < m; j++) {
    const toX = pre[j * (m + 1) + n]!;
    cross += toX;
    ys += pre[j * (m + 1) + j]! - toX;
    const k = j - n + 1;
    const q =
      (2 / (n + k)) * cross -
      (n > 1 ? ((2 * k) / ((n + k) * (n - 1))) * within : 0) -
      (k > 1 ? ((2 * n) / ((n + k) * (k - 1))) * ys : 0);
    if (q > best) best = q;
  }
  return best;
}

/**
 * The merge step: each weak point is tested between its neighbours; while one fails (p ≥ maxP),
 * or is smaller than minMagnitude, the weakest (largest p; else smallest change) goes, and its
 * neighbours are tested again.
 */
function merge(data: Prepared, weak: readonly number[], maxP: number, minMagnitude: number): number[] {
  const n = data.logs.length;
  const cps = [...weak];
  const testAt = (i: number) => tTest(data, i > 0 ? cps[i - 1]! : 0, cps[i]!, cps[i + 1] ?? n);
  const tests = cps.map((_, i) => testAt(i));
  while (cps.length > 0) {
    let k = argBest(tests, (t) => t.p);
    if (tests[k]!.p < maxP) {
      k = argBest(tests, (t) => -Math.abs(t.d));
      if (Math.expm1(Math.abs(tests[k]!.d)) > minMagnitude) break;
    }
    cps.splice(k, 1);
    tests.splice(k, 1);
    for (const i of [k - 1, k]) if (i >= 0 && i < cps.length) tests[i] = testAt(i);
  }
  return cps;
}

/** Index of the first element with the highest key. */
function argBest<T>(xs: readonly T[], key: (x: T) => number): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (key(xs[i]!) > key(xs[best]!)) best = i;
  return best;
}

/** The segments between change points (`cps` are indices into the analysed points). */
function segmentsOf(data: Prepared, cps: readonly number[]): Segment[] {
  const n = data.logs.length;
  if (n === 0) return [];
  const bounds = [0, ...cps, n];
  return bounds.slice(1).map((b, i) => {
    const a = bounds[i]!;
    const s = stats(data, a, b);
    return { first: data.index[a]!, last: data.index[b - 1]!, n: s.n, level: Math.exp(s.mean + data.centre) };
  });
}

/** Quantile of Student's t; the normal's when the degrees of freedom are past jStat's range. */
const tQuantile = (p: number, df: number): number => (df > 1e6 ? jStat.normal.inv(p, 0, 1) : jStat.studentt.inv(p, df));

/** The i-th change point at analysed index c: its commits, its magnitude with the interval, its p. */
function describe(
  data: Prepared,
  points: readonly SeriesPoint[],
  segments: readonly Segment[],
  c: number,
  i: number,
  level: number,
): ChangePoint {
  const before = segments[i]!;
  const after = segments[i + 1]!;
  const t = tTest(data, c - before.n, c, c + after.n);
  const half = Number.isFinite(t.se) ? tQuantile(1 - (1 - level) / 2, t.df) * t.se : Infinity;
  const index = data.index[c]!;
  return {
    index,
    commit: points[index]!.commit,
    previous: points[data.index[c - 1]!]!.commit,
    ratio: Math.exp(t.d),
    lo: Math.exp(t.d - half),
    hi: Math.exp(t.d + half),
    level,
    p: t.p,
    before,
    after,
  };
}
