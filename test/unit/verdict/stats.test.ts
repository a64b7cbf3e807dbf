import assert from "node:assert/strict";
import { test } from "node:test";
import { BOOTSTRAP_MIN_N, holm, pairedRatio, percentile, rng, unpairedRatio } from "../../../harness/verdict/stats.js";

const close = (a: number, b: number, tol = 1e-3) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

test("percentiles interpolate between closest ranks (numpy's default)", () => {
  const xs = [15, 20, 35, 40, 50];
  close(percentile(xs, 0.5), 35);
  close(percentile(xs, 0.4), 29);
  close(percentile(xs, 0.95), 48);
  close(percentile([1, 2, 3, 4], 0.5), 2.5);
});

test("Holm adjusts step-down and keeps the input order", () => {
  // textbook: p = 0.01, 0.04, 0.03, 0.005 with m = 4 → 0.03, 0.06, 0.06, 0.02
  const adj = holm([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((want, i) => close(adj[i]!, want, 1e-12));
  assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
});

test("paired ratio with few rounds: Student's t on log ratios, known values", () => {
  // log ratios ln 1.1, ln 1.2, ln 1.3: mean 0.18000, sd 0.083548, se 0.048237, t(0.975, 2) = 4.3027
  const e = pairedRatio([
    [100, 110],
    [100, 120],
    [100, 130],
  ])!;
  assert.equal(e.method, "t");
  assert.equal(e.n, 3);
  close(e.ratio, Math.exp((Math.log(1.1) + Math.log(1.2) + Math.log(1.3)) / 3), 1e-9);
  close(e.lo, Math.exp(0.18 - 4.3027 * 0.048237), 1e-3); // 0.9728
  close(e.hi, Math.exp(0.18 + 4.3027 * 0.048237), 1e-3); // 1.4734
  assert.ok(e.p > 0.05 && e.p < 0.1, `p ${e.p}`);
});

test("a ratio needs a positive value on both sides; one round gives no interval", () => {
  assert.equal(pairedRatio([[0, 1]]), undefined);
  const one = pairedRatio([[100, 120]])!;
  assert.equal(one.lo, 0);
  assert.equal(one.hi, Infinity);
  assert.equal(one.p, 1);
});

test("identical arms give ratio 1 and no significance", () => {
  const e = pairedRatio([
    [100, 100],
    [90, 90],
    [110, 110],
  ])!;
  assert.equal(e.ratio, 1);
  assert.equal(e.p, 1);
});

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

/** Share of simulated experiments whose 95% interval holds the true ratio (tachometer's stats_test idea). */
function coverage(rounds: number, paired: boolean, sims: number, seed: number): number {
  const r = rng(seed);
  const trueRatio = 1.25;
  let hits = 0;
  for (let s = 0; s < sims; s++) {
    const pairs: Array<[number, number]> = [];
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // a round's drift hits both arms; each trial adds its own noise
      const drift = 0.2 * gauss(r);
      pairs.push([1000 * Math.exp(drift + 0.08 * gauss(r)), 1000 * trueRatio * Math.exp(drift + 0.08 * gauss(r))]);
      a.push(1000 * Math.exp(0.12 * gauss(r)));
      b.push(1000 * trueRatio * Math.exp(0.12 * gauss(r)));
    }
    const e = paired
      ? pairedRatio(pairs, { resamples: 400, seed: s })
      : unpairedRatio(a, b, { resamples: 400, seed: s });
    if (e && e.lo <= trueRatio && trueRatio <= e.hi) hits++;
  }
  return hits / sims;
}

for (const [rounds, paired] of [
  [3, true],
  [5, true],
  [BOOTSTRAP_MIN_N + 2, true],
  [3, false],
  [BOOTSTRAP_MIN_N + 2, false],
] as const) {
  test(`the 95% interval covers the true ratio about 95% of the time (${paired ? "paired" : "unpaired"}, ${rounds} rounds, 2,000 simulated runs)`, () => {
    const c = coverage(rounds, paired, 2000, 7 + rounds);
    assert.ok(c >= 0.925 && c <= 0.975, `coverage ${(c * 100).toFixed(1)}%`);
  });
}
