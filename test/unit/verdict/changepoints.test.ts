import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bestEnergySplit,
  changePoints,
  isWorse,
  MIN_POINTS,
  type SeriesPoint,
} from "../../../harness/verdict/changepoints.js";
import { rng } from "../../../harness/verdict/stats.js";

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
const series = (values: readonly number[]): SeriesPoint[] => values.map((value, i) => ({ commit: `c${i}`, value }));
/** Levels with multiplicative (log-normal) noise of `cv`, seeded. */
function noisy(levels: readonly number[], cv: number, seed: number): SeriesPoint[] {
  const r = rng(seed);
  return series(levels.map((l) => l * Math.exp(cv * gauss(r))));
}
/** n commits at 1000, multiplied by `steps[i].ratio` from commit `steps[i].at` on. */
function stepped(n: number, steps: ReadonlyArray<{ at: number; ratio: number }>): number[] {
  return Array.from({ length: n }, (_, i) => steps.reduce((l, s) => (i >= s.at ? l * s.ratio : l), 1000));
}
const indices = (pts: readonly SeriesPoint[], o = {}) => changePoints(pts, o).changePoints.map((c) => c.index);

test("the energy statistic matches its definition, computed by brute force (Matteson & James, α = 1)", () => {
  // Otava's own test sequence (tests/change_point_divisive_test.py); its best split is at 5
  const xs = [0.3, 2.4, 1.5, -0.9, -0.5, 99.7, 98.3, 99.1, 149.0, 149.7, 149.5, 149.1, 148.8, 150.0];
  let best = { index: -1, q: -Infinity };
  for (let tau = 1; tau < xs.length; tau++)
    for (let kappa = tau + 1; kappa <= xs.length; kappa++) {
      const [x, y] = [xs.slice(0, tau), xs.slice(tau, kappa)];
      const [n, m] = [x.length, y.length];
      const pairs = (a: number[]) => a.flatMap((u, i) => a.slice(i + 1).map((v) => Math.abs(u - v)));
      const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
      const cross = sum(x.flatMap((u) => y.map((v) => Math.abs(u - v))));
      const q =
        (2 / (m + n)) * cross -
        (n > 1 ? ((2 * m) / ((m + n) * (n - 1))) * sum(pairs(x)) : 0) -
        (m > 1 ? ((2 * n) / ((m + n) * (m - 1))) * sum(pairs(y)) : 0);
      if (q > best.q) best = { index: tau, q };
    }
  const got = bestEnergySplit(xs);
  assert.equal(got.index, best.index);
  assert.equal(best.index, 5);
  assert.ok(Math.abs(got.q - best.q) < 1e-9 * best.q, `${got.q} vs ${best.q}`);
});

test("Otava's own cases: its test sequence splits at 5 and 8; its single series at 10 (window 10, p 0.0001)", () => {
  const seq = [0.3, 2.4, 1.5, -0.9, -0.5, 99.7, 98.3, 99.1, 149.0, 149.7, 149.5, 149.1, 148.8, 150.0];
  // on logs: exp(x / 100) has logs x / 100, the same shape
  assert.deepEqual(indices(series(seq.map((x) => Math.exp(x / 100)))), [5, 8]);
  const single = [1.02, 0.95, 0.99, 1.0, 1.12, 1.0, 1.01, 0.98, 1.01, 0.96, 0.5, 0.51, 0.48, 0.48, 0.55, 0.5, 0.49];
  const got = changePoints(series([...single, 0.51, 0.5, 0.49]), { window: 10, maxP: 0.0001 });
  assert.deepEqual(
    got.changePoints.map((c) => [c.index, c.commit, c.previous]),
    [[10, "c10", "c9"]],
  );
});

test("known steps are found at the right commit, with the ratio's interval around the true step", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const pts = noisy(
      stepped(150, [
        { at: 50, ratio: 0.9 },
        { at: 100, ratio: 1.2 },
      ]),
      0.02,
      seed,
    );
    const a = changePoints(pts);
    assert.equal(a.status, "analysed");
    assert.deepEqual(
      a.changePoints.map((c) => c.index),
      [50, 100],
      `seed ${seed}`,
    );
    const [down, up] = a.changePoints;
    assert.ok(down!.lo < 0.9 && 0.9 < down!.hi, `seed ${seed}: ${down!.lo}–${down!.hi}`);
    assert.ok(up!.lo < 1.2 && 1.2 < up!.hi, `seed ${seed}: ${up!.lo}–${up!.hi}`);
    assert.ok(down!.lo < down!.ratio && down!.ratio < down!.hi && down!.p < 0.001);
    // the segments: levels near 1000, 900, 1080; the change points name them
    assert.deepEqual(
      a.segments.map((s) => [s.first, s.last, s.n]),
      [
        [0, 49, 50],
        [50, 99, 50],
        [100, 149, 50],
      ],
    );
    assert.ok(Math.abs(a.segments[1]!.level / 900 - 1) < 0.01, `${a.segments[1]!.level}`);
    assert.equal(down!.after, a.segments[1]);
  }
});

test("pure noise gives no change point (fixed seeds, CV 1–5%, 200 commits)", () => {
  for (const cv of [0.01, 0.03, 0.05])
    for (const seed of [11, 12, 13, 14, 15]) {
      const a = changePoints(noisy(stepped(200, []), cv, seed));
      assert.deepEqual(
        a.changePoints.map((c) => c.index),
        [],
        `cv ${cv} seed ${seed}`,
      );
    }
});

test("the magnitude's 95% interval covers the true step about 95% of the time (1,000 simulated series)", () => {
  // a 20% step at CV 3%: always found, so the position is not chosen by the noise; counted where it is
  // the only change point (a false one beside it cuts a segment where its mean is most different)
  let alone = 0;
  let covered = 0;
  for (let seed = 1; seed <= 1000; seed++) {
    const cps = changePoints(noisy(stepped(60, [{ at: 30, ratio: 1.2 }]), 0.03, 1000 + seed)).changePoints;
    if (cps.length !== 1 || cps[0]!.index !== 30) continue;
    alone++;
    if (cps[0]!.lo <= 1.2 && 1.2 <= cps[0]!.hi) covered++;
  }
  assert.ok(alone >= 950, `found alone ${alone}/1000`);
  assert.ok(covered / alone > 0.93 && covered / alone < 0.97, `covered ${covered}/${alone}`);
});

test("a constant series has no change point and one segment at its value", () => {
  const a = changePoints(series(Array(30).fill(250)));
  assert.equal(a.status, "analysed");
  assert.deepEqual(a.changePoints, []);
  assert.equal(a.segments.length, 1);
  assert.ok(Math.abs(a.segments[0]!.level - 250) < 1e-9);
});

test(`fewer than ${MIN_POINTS} points: no change point, and the reason`, () => {
  const a = changePoints(series([100, 100, 100, 50, 50]));
  assert.equal(a.status, "too-short");
  assert.deepEqual(a.changePoints, []);
  assert.match(a.status === "too-short" ? a.reason : "", /5 point\(s\).*at least 6/);
  assert.equal(changePoints([]).status, "too-short");
  // points without a positive value do not count towards the six, and are reported as ignored
  const b = changePoints(series([100, 0, 100, NaN, 100, -1, 50, 50]));
  assert.equal(b.status, "too-short");
  assert.equal(b.ignored, 3);
});

test("ties: a step between runs of identical medians is certain, unless the runs' own intervals say otherwise", () => {
  const flat = series([...Array(8).fill(1), ...Array(8).fill(1.01)]);
  const a = changePoints(flat);
  assert.deepEqual(
    a.changePoints.map((c) => [c.index, c.p]),
    [[8, 0]],
  );
  assert.ok(Math.abs(a.changePoints[0]!.ratio - 1.01) < 1e-12 && a.changePoints[0]!.lo === a.changePoints[0]!.ratio);
  // each run ±5%: a 1% step between ties is within the runs' own noise
  const withIntervals = flat.map((p) => ({ ...p, lo: p.value * 0.95, hi: p.value * 1.05 }));
  assert.deepEqual(changePoints(withIntervals).changePoints, []);
  // and a 30% step is still found, its interval no longer of zero width
  const big = series([...Array(8).fill(1), ...Array(8).fill(1.3)]).map((p) => ({
    ...p,
    lo: p.value * 0.95,
    hi: p.value * 1.05,
  }));
  const cp = changePoints(big).changePoints;
  assert.deepEqual(
    cp.map((c) => c.index),
    [8],
  );
  assert.ok(cp[0]!.lo < 1.3 && 1.3 < cp[0]!.hi && cp[0]!.hi / cp[0]!.lo > 1.02, `${cp[0]!.lo}–${cp[0]!.hi}`);
});

test("ignored points keep the indices and commits of the input", () => {
  const pts = noisy(stepped(40, [{ at: 20, ratio: 0.7 }]), 0.01, 7);
  const a = changePoints(pts.map((p, i) => (i === 5 || i === 20 ? { ...p, value: 0 } : p)));
  assert.equal(a.ignored, 2);
  // the first analysed point at the new level is 21; the last at the old one is 19
  assert.deepEqual(
    a.changePoints.map((c) => [c.index, c.commit, c.previous]),
    [[21, "c21", "c19"]],
  );
});

test("the whole series at once (window Infinity) finds the same steps; a window below 2 is refused", () => {
  const pts = noisy(
    stepped(120, [
      { at: 30, ratio: 0.85 },
      { at: 90, ratio: 1.1 },
    ]),
    0.02,
    3,
  );
  assert.deepEqual(indices(pts, { window: Infinity }), [30, 90]);
  assert.deepEqual(indices(pts), [30, 90]);
  assert.throws(() => changePoints(pts, { window: 1 }), /window must be at least 2/);
});

test("minMagnitude drops significant changes smaller than it", () => {
  const pts = noisy(stepped(100, [{ at: 50, ratio: 0.97 }]), 0.005, 9);
  assert.deepEqual(indices(pts), [50]);
  assert.deepEqual(indices(pts, { minMagnitude: 0.05 }), []);
});

test("isWorse follows the metric's direction", () => {
  assert.equal(isWorse({ ratio: 0.9 }, "higher"), true);
  assert.equal(isWorse({ ratio: 0.9 }, "lower"), false);
  assert.equal(isWorse({ ratio: 1.1 }, "lower"), true);
  assert.equal(isWorse({ ratio: 1.1 }, "higher"), false);
});

test("the analysis is deterministic: the same series gives the same answer", () => {
  const pts = noisy(stepped(300, [{ at: 120, ratio: 0.95 }]), 0.02, 21);
  assert.deepEqual(changePoints(pts), changePoints(pts));
});
