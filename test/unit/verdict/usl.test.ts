import assert from "node:assert/strict";
import { test } from "node:test";
import { fitUsl, uslPredict, type UslFit } from "../../../harness/verdict/usl.js";
import { rng } from "../../../harness/verdict/stats.js";

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
const truth = { lambda: 1000, sigma: 0.05, kappa: 0.001 };
const ns = Array.from({ length: 32 }, (_, i) => i + 1);
const fitted = (r: ReturnType<typeof fitUsl>): UslFit => {
  assert.ok(!("reason" in r), JSON.stringify(r));
  return r;
};

test("uslPredict: X(N) = λN / (1 + σ(N − 1) + κN(N − 1))", () => {
  // 1000·10 / (1 + 0.05·9 + 0.001·90) = 10000 / 1.54
  assert.ok(Math.abs(uslPredict(truth, 10) - 10000 / 1.54) < 1e-9);
  assert.equal(uslPredict(truth, 1), 1000);
});

test("fitUsl recovers known parameters and the peak from exact data (N = 1 … 32)", () => {
  const f = fitted(fitUsl(ns.map((n) => ({ n, x: uslPredict(truth, n) }))));
  const rel = (a: number, b: number) => Math.abs(a / b - 1);
  assert.ok(rel(f.lambda, 1000) < 1e-6, `λ ${f.lambda}`);
  assert.ok(rel(f.sigma, 0.05) < 1e-6, `σ ${f.sigma}`);
  assert.ok(rel(f.kappa, 0.001) < 1e-6, `κ ${f.kappa}`);
  // N* = √((1 − σ)/κ) = √950 = 30.822; X(N*) = 1000·30.822 / (1 + 0.05·29.822 + 0.001·30.822·29.822)
  assert.ok(rel(f.peakN!, Math.sqrt(950)) < 1e-6, `N* ${f.peakN}`);
  assert.ok(rel(f.peakX!, uslPredict(truth, Math.sqrt(950))) < 1e-6, `X(N*) ${f.peakX}`);
  assert.ok(f.r2 > 1 - 1e-12);
  assert.equal(f.points, 32);
});

test("fitUsl with 1% seeded noise: estimates near the truth, which lies within 3 standard errors of them", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = rng(seed);
    const f = fitted(fitUsl(ns.map((n) => ({ n, x: uslPredict(truth, n) * (1 + 0.01 * gauss(r)) }))));
    assert.ok(Math.abs(f.lambda / 1000 - 1) < 0.025, `seed ${seed}: λ ${f.lambda}`);
    assert.ok(Math.abs(f.sigma - 0.05) < 0.006, `seed ${seed}: σ ${f.sigma}`);
    assert.ok(Math.abs(f.kappa / 0.001 - 1) < 0.12, `seed ${seed}: κ ${f.kappa}`);
    for (const k of ["lambda", "sigma", "kappa"] as const)
      assert.ok(Math.abs(f[k] - truth[k]) < 3 * f.se[k], `seed ${seed}: ${k} ${f[k]} ± ${f.se[k]}`);
    assert.ok(Math.abs(f.peakN! / Math.sqrt(950) - 1) < 0.06, `seed ${seed}: N* ${f.peakN}`);
    assert.ok(f.r2 > 0.998, `seed ${seed}: R² ${f.r2}`);
  }
});

test("fitUsl: concurrencies from Little's law (not whole numbers) fit as well", () => {
  const pts = [0.6, 1.7, 3.1, 5.4, 9.8, 14.2, 20.5, 27.9].map((n) => ({ n, x: uslPredict(truth, n) }));
  const f = fitted(fitUsl(pts));
  assert.ok(Math.abs(f.kappa / 0.001 - 1) < 1e-5 && Math.abs(f.sigma / 0.05 - 1) < 1e-5, JSON.stringify(f));
});

test("fitUsl: a linear series has κ = 0 and no finite peak", () => {
  const f = fitted(fitUsl(ns.slice(0, 10).map((n) => ({ n, x: 500 * n }))));
  assert.equal(f.kappa, 0);
  assert.ok(f.sigma < 1e-9, `σ ${f.sigma}`);
  assert.ok(Math.abs(f.lambda - 500) < 1e-6, `λ ${f.lambda}`);
  assert.equal(f.peakN, undefined);
  assert.equal(f.peakX, undefined);
});

test("fitUsl: fewer than 6 usable points, or fewer than 3 distinct N, give the reason", () => {
  const five = fitUsl(ns.slice(0, 5).map((n) => ({ n, x: uslPredict(truth, n) })));
  assert.deepEqual(five, { reason: "the USL fit needs at least 6 points below saturation; there are 5" });
  const zeros = fitUsl([...ns.slice(0, 5).map((n) => ({ n, x: 100 * n })), { n: 6, x: 0 }]);
  assert.deepEqual(zeros, {
    reason: "the USL fit needs at least 6 points below saturation; there are 5 (1 left out: N or X not above 0)",
  });
  const two = fitUsl([1, 1, 1, 2, 2, 2].map((n) => ({ n, x: 100 * n })));
  assert.deepEqual(two, { reason: "the USL fit needs at least 3 distinct concurrencies; the points have 2" });
});
