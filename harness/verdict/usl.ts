import type { UslFit } from "../results/capacity.js";

export type { UslFit };

/**
 * The Universal Scalability Law, X(N) = λN / (1 + σ(N − 1) + κN(N − 1)) (Gunther), fitted by
 * Levenberg–Marquardt as usl4j does: pure, no I/O. N is the concurrency (by Little's law, N = X·R
 * at each measured point), X the throughput. σ (contention) and κ (coherency) are held at ≥ 0 by
 * projecting every step onto that region; λ (the throughput of one) stays above 0.
 */

/** usl4j's minimum: with fewer points three parameters and their errors are not worth reporting. */
const MIN_POINTS = 6;

type Params = [lambda: number, sigma: number, kappa: number];
interface Point {
  n: number;
  x: number;
}

/** X at concurrency n under a fit (or any λ, σ, κ). */
export function uslPredict(fit: Pick<UslFit, "lambda" | "sigma" | "kappa">, n: number): number {
  return (fit.lambda * n) / (1 + fit.sigma * (n - 1) + fit.kappa * n * (n - 1));
}

const predict = (p: Params, n: number) => uslPredict({ lambda: p[0], sigma: p[1], kappa: p[2] }, n);

/** ∂X/∂(λ, σ, κ) at n. */
function gradient(p: Params, n: number): Params {
  const d = 1 + p[1] * (n - 1) + p[2] * n * (n - 1);
  const slope = (-p[0] * n * (n - 1)) / (d * d);
  return [n / d, slope, slope * n];
}

const sse = (p: Params, pts: readonly Point[]) => pts.reduce((a, q) => a + (q.x - predict(p, q.n)) ** 2, 0);

/** Solves A·y = b by Gaussian elimination with partial pivoting; undefined when A is singular. */
function solve(a: readonly number[][], b: readonly number[]): number[] | undefined {
  const m = a.map((row, i) => [...row, b[i]!]);
  const k = b.length;
  for (let c = 0; c < k; c++) {
    const pivot = m.slice(c).reduce((best, row, i) => (Math.abs(row[c]!) > Math.abs(m[best]![c]!) ? c + i : best), c);
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    if (!(Math.abs(m[c]![c]!) > 0)) return undefined;
    for (let r = c + 1; r < k; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= k; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const y = new Array<number>(k).fill(0);
  for (let r = k - 1; r >= 0; r--) {
    const rest = y.reduce((s, v, j) => (j > r ? s + m[r]![j]! * v : s), 0);
    y[r] = (m[r]![k]! - rest) / m[r]![r]!;
  }
  return y;
}

/** JᵀJ and Jᵀr over the free parameters (indices into Params). */
function normalEquations(p: Params, pts: readonly Point[], free: readonly number[]) {
  const jtj = free.map(() => free.map(() => 0));
  const jtr = free.map(() => 0);
  for (const q of pts) {
    const g = gradient(p, q.n);
    const r = q.x - predict(p, q.n);
    free.forEach((a, i) => {
      jtr[i]! += g[a]! * r;
      free.forEach((b, j) => (jtj[i]![j]! += g[a]! * g[b]!));
    });
  }
  return { jtj, jtr };
}

/** Back into the region: λ > 0, σ ≥ 0, κ ≥ 0. */
const project = (p: Params): Params => [Math.max(p[0], Number.MIN_VALUE), Math.max(0, p[1]), Math.max(0, p[2])];

/**
 * Levenberg–Marquardt from `start` over the free parameters, with Marquardt's scaling (the damping
 * is μ times JᵀJ's diagonal, so λ in the thousands and κ in the thousandths move alike). A step is
 * taken only when it lowers the squared error; it ends when no step does (μ has grown past any use).
 */
function levenbergMarquardt(start: Params, pts: readonly Point[], free: readonly number[]): Params {
  let p = project(start);
  let err = sse(p, pts);
  let mu = 1e-3;
  for (let iter = 0; iter < 500 && mu < 1e12; iter++) {
    const { jtj, jtr } = normalEquations(p, pts, free);
    const damped = jtj.map((row, i) => row.map((v, j) => (i === j ? v + mu * (v || 1e-12) : v)));
    const step = solve(damped, jtr);
    const trial = step && project(p.map((v, a) => v + (step[free.indexOf(a)] ?? 0)) as Params);
    const trialErr = trial ? sse(trial, pts) : Infinity;
    if (!(trialErr < err)) {
      mu *= 10;
      continue;
    }
    [p, err, mu] = [trial!, trialErr, Math.max(mu / 10, 1e-12)];
    if (err === 0) break;
  }
  return p;
}

/** Standard errors from the Jacobian at the solution: the square roots of s²·(JᵀJ)⁻¹'s diagonal. */
function standardErrors(p: Params, pts: readonly Point[]): Params {
  const all = [0, 1, 2];
  const { jtj } = normalEquations(p, pts, all);
  const s2 = sse(p, pts) / (pts.length - all.length);
  return all.map((i) => {
    const column = solve(
      jtj,
      all.map((j) => (j === i ? 1 : 0)),
    );
    return column ? Math.sqrt(Math.max(0, s2 * column[i]!)) : NaN;
  }) as Params;
}

/** σ and κ to start from: usl4j's (0.1, 0.01), and others around it, so that a far minimum is not missed. */
const STARTS: ReadonlyArray<[number, number]> = [
  [0.1, 0.01],
  [0.01, 0.0001],
  [0.5, 0.001],
  [0.01, 0.1],
];

/** The best of several starts; then κ = 0 (no peak) when letting κ go does not lower the error beyond rounding. */
function bestFit(pts: readonly Point[]): Params {
  const first = pts.reduce((a, q) => (q.n < a.n ? q : a));
  const lambda = first.x / first.n;
  const fits = STARTS.map(([s, k]) => levenbergMarquardt([lambda, s, k], pts, [0, 1, 2]));
  const best = fits.reduce((a, p) => (sse(p, pts) < sse(a, pts) ? p : a));
  const linearTail = levenbergMarquardt([best[0], best[1], 0], pts, [0, 1]);
  const scale = pts.reduce((a, q) => a + q.x * q.x, 0);
  return sse(linearTail, pts) <= sse(best, pts) + 1e-12 * scale ? linearTail : best;
}

/**
 * The USL fitted to points (N, X): λ, σ, κ with standard errors, the peak N* = √((1 − σ)/κ) and
 * X(N*) when κ > 0 (none when κ is 0: no retrograde region), and R². Points with N or X not above
 * 0 are left out; fewer than six, or fewer than three distinct N, give the reason instead.
 */
export function fitUsl(points: readonly Point[]): UslFit | { reason: string } {
  const pts = points.filter((q) => q.n > 0 && q.x > 0 && Number.isFinite(q.n) && Number.isFinite(q.x));
  const dropped = points.length - pts.length;
  const left = dropped ? ` (${dropped} left out: N or X not above 0)` : "";
  if (pts.length < MIN_POINTS)
    return {
      reason: `the USL fit needs at least ${MIN_POINTS} points below saturation; there are ${pts.length}${left}`,
    };
  if (new Set(pts.map((q) => q.n)).size < 3)
    return {
      reason: `the USL fit needs at least 3 distinct concurrencies; the points have ${new Set(pts.map((q) => q.n)).size}`,
    };
  const p = bestFit(pts);
  if (!p.every(Number.isFinite)) return { reason: "the USL fit did not converge" };
  const se = standardErrors(p, pts);
  const meanX = pts.reduce((a, q) => a + q.x, 0) / pts.length;
  const sst = pts.reduce((a, q) => a + (q.x - meanX) ** 2, 0);
  const [lambda, sigma, kappa] = p;
  const peakN = kappa > 0 && sigma < 1 ? Math.sqrt((1 - sigma) / kappa) : undefined;
  return {
    lambda,
    sigma,
    kappa,
    se: { lambda: se[0], sigma: se[1], kappa: se[2] },
    peakN,
    peakX: peakN === undefined ? undefined : uslPredict({ lambda, sigma, kappa }, peakN),
    r2: sst > 0 ? 1 - sse(p, pts) / sst : 1,
    points: pts.length,
  };
}
