/**
 * Least-squares slope of ys over xs (0 with fewer than two points or no spread in x): how fast a
 * series drifts, as the soak's RSS growth. A statistic of one trial's samples, not of trials as
 * verdict/'s are; here, scenarios may import it.
 */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  const x = xs.slice(0, n);
  const y = ys.slice(0, n);
  const mx = x.reduce((s, v) => s + v / n, 0);
  const my = y.reduce((s, v) => s + v / n, 0);
  const num = x.reduce((s, v, i) => s + (v - mx) * (y[i]! - my), 0);
  const den = x.reduce((s, v) => s + (v - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
