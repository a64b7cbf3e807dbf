import assert from "node:assert/strict";
import { test } from "node:test";
import { callCreep, chain, changeOf, linkLog, type Link } from "../../../harness/verdict/chain.js";
import { pairedRatio, rng } from "../../../harness/verdict/stats.js";
import { callMetric } from "../../../harness/verdict/sequential.js";

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

/** Links c1..cN, each over its parent, with the ratio and a symmetric (on logs) interval of ± `half` (a share). */
function links(ratios: readonly number[], half: number, extra: Partial<Link["estimate"]> = {}): Link[] {
  return ratios.map((ratio, i) => ({
    commit: `c${i + 1}`,
    parent: `c${i}`,
    estimate: { ratio, lo: ratio / (1 + half), hi: ratio * (1 + half), ...extra },
    outcome: "pass",
  }));
}

test("one link: the chain gives back the link's own interval (Student's t at its rounds, at its level)", () => {
  const e = pairedRatio([
    [100, 97],
    [100, 99],
    [100, 96],
    [100, 98],
    [100, 97.5],
    [100, 98.5],
  ])!;
  const one: Link = { commit: "b", parent: "a", estimate: e, outcome: "pass" };
  const c = chain([one], { better: "higher", line: 0.05 });
  close(c.points[0]!.cumulative.ratio, e.ratio);
  close(c.points[0]!.cumulative.lo, e.lo, 1e-6);
  close(c.points[0]!.cumulative.hi, e.hi, 1e-6);
  assert.equal(c.anchor, "a");
  // the same link given at the sequential gate's 98.2% level: its se is smaller than at 95%
  const wide = { ...e, level: 0.982 };
  assert.ok(linkLog(wide).variance < linkLog(e).variance);
  const at95 = chain([{ ...one, estimate: wide }], { better: "higher", line: 0.05 }).points[0]!.cumulative;
  assert.ok(at95.hi / at95.lo < e.hi / e.lo, "a 98.2% interval re-read at 95% is narrower");
});

test("the chained interval widens with every link, as √links when the links are alike", () => {
  const c = chain(links(Array(16).fill(1), 0.025), { better: "higher", line: 0.05 });
  const widths = c.points.map((p) => Math.log(p.cumulative.hi / p.cumulative.lo));
  for (let i = 1; i < widths.length; i++) assert.ok(widths[i]! > widths[i - 1]!);
  // no rounds given: normal quantiles throughout, so the width is exactly √k times one link's
  widths.forEach((w, i) => close(w / widths[0]!, Math.sqrt(i + 1), 1e-9));
  close(widths[0]!, 2 * Math.log(1.025), 1e-12);
  // the estimate is the product
  const p = chain(links([1.1, 0.9, 1.05], 0.02), { better: "higher", line: 0.05 }).points.at(-1)!;
  close(p.cumulative.ratio, 1.1 * 0.9 * 1.05, 1e-12);
  assert.equal(p.links, 3);
  assert.equal(p.since, "c0");
});

test("the creep: eight links of −1.5% throughput, each of which passed its gate, are reported", () => {
  const ls = links(Array(8).fill(0.985), 0.01);
  // every link on its own is clear of the 5% line: the gate passes each
  for (const l of ls)
    assert.equal(
      callMetric({ better: "higher", estimate: { ...l.estimate, p: 1, n: 6, paired: true, method: "t" } }, 0.05),
      "clear",
    );
  const c = chain(ls, { better: "higher", line: 0.05 });
  if (c.creep.status !== "creep") return assert.fail(`creep expected, got ${c.creep.status}`);
  assert.deepEqual(c.creep.outcomes, { pass: 8, inconclusive: 0, regression: 0 });
  close(c.creep.cumulative.ratio, 0.985 ** 8, 1e-12);
  close(c.creep.change, 0.985 ** 8 - 1, 1e-12);
  assert.equal(c.creep.links, 8);
  assert.equal(c.creep.since, "c0");
  assert.equal(c.creep.through, "c8");
  // 4 links: 0.941, past the line, its interval up to 0.960: suspected; from the 5th (0.927, up to 0.948) wholly beyond
  assert.deepEqual(
    c.points.map((p) => p.call),
    ["none", "none", "none", "suspected", "creep", "creep", "creep", "creep"],
  );
  assert.equal(c.creep.firstSuspected, "c4");
  assert.equal(c.creep.firstCreep, "c5");
});

test("suspected: the estimate is beyond the line and the chain wholly worse than no change, but not wholly beyond the line", () => {
  assert.equal(callCreep({ ratio: 0.93, lo: 0.9, hi: 0.97 }, "higher", 0.05), "suspected");
  assert.equal(callCreep({ ratio: 0.93, lo: 0.88, hi: 0.99 }, "higher", 0.05), "suspected");
  // the estimate beyond the line, but the interval reaches no change: not reported
  assert.equal(callCreep({ ratio: 0.93, lo: 0.85, hi: 1.02 }, "higher", 0.05), "none");
  // wholly beyond
  assert.equal(callCreep({ ratio: 0.9, lo: 0.88, hi: 0.94 }, "higher", 0.05), "creep");
  // certain but small
  assert.equal(callCreep({ ratio: 0.97, lo: 0.96, hi: 0.98 }, "higher", 0.05), "none");
  // no interval at all
  assert.equal(callCreep({ ratio: 0.5, lo: 0, hi: Infinity }, "higher", 0.05), "none");
});

test("direction: for latency higher is worse, and the line is the gate's (1/ratio − 1 below −line)", () => {
  const up = links(Array(8).fill(1.015), 0.01);
  assert.equal(chain(up, { better: "lower", line: 0.05 }).creep.status, "creep");
  assert.equal(chain(up, { better: "higher", line: 0.05 }).creep.status, "none");
  const down = links(Array(8).fill(0.985), 0.01);
  assert.equal(chain(down, { better: "lower", line: 0.05 }).creep.status, "none");
  close(changeOf(0.9, "higher"), -0.1);
  close(changeOf(1.25, "lower"), -0.2);
  // the latency line at 5% sits at 1/0.95 = 1.0526, as the gate's
  assert.equal(callCreep({ ratio: 1.06, lo: 1.054, hi: 1.066 }, "lower", 0.05), "creep");
  assert.equal(callCreep({ ratio: 1.06, lo: 1.051, hi: 1.066 }, "lower", 0.05), "suspected");
});

test("the anchor: N links back, or a given commit; an anchor that is no link's parent is said", () => {
  const ls = links([0.9, 0.9, 1, 1, 1], 0.01);
  const last3 = chain(ls, { better: "higher", line: 0.05, anchor: { links: 3 } });
  assert.equal(last3.anchor, "c2");
  assert.deepEqual(
    last3.points.map((p) => p.commit),
    ["c3", "c4", "c5"],
  );
  close(last3.points.at(-1)!.cumulative.ratio, 1);
  assert.equal(last3.creep.status, "none");
  const fromC1 = chain(ls, { better: "higher", line: 0.05, anchor: { commit: "c1" } });
  assert.equal(fromC1.points.length, 4);
  close(fromC1.points.at(-1)!.cumulative.ratio, 0.9);
  const all = chain(ls, { better: "higher", line: 0.05, anchor: { links: 50 } });
  assert.equal(all.creep.status, "creep");
  const missing = chain(ls, { better: "higher", line: 0.05, anchor: { commit: "v1.0" } });
  assert.deepEqual(missing.creep, { status: "unknown", reason: "the anchor v1.0 is the parent of no gate link" });
  assert.equal(chain([], { better: "higher", line: 0.05 }).creep.status, "unknown");
});

test("a gap in the links restarts the chain: no link is assumed for a commit that was not gated", () => {
  const ls = links([0.95, 0.95, 0.95, 0.95], 0.01);
  ls[2] = { ...ls[2]!, parent: "x" }; // c3's parent is not c2
  const c = chain(ls, { better: "higher", line: 0.05 });
  assert.deepEqual(c.gaps, [{ after: "c2", parent: "x", commit: "c3" }]);
  assert.deepEqual(
    c.points.map((p) => [p.since, p.links]),
    [
      ["c0", 1],
      ["c0", 2],
      ["x", 1],
      ["x", 2],
    ],
  );
  if (c.creep.status === "unknown") assert.fail("a verdict");
  assert.equal(c.creep.since, "x");
  close(c.creep.cumulative.ratio, 0.95 ** 2);
});

test("a link without an interval (one round) makes the chain's interval unbounded from there", () => {
  const ls = links([0.98, 0.98], 0.01);
  ls.push({ commit: "c3", parent: "c2", estimate: { ratio: 0.9, lo: 0, hi: Infinity, n: 1 }, outcome: "inconclusive" });
  const c = chain(ls, { better: "higher", line: 0.05 });
  const last = c.points.at(-1)!.cumulative;
  close(last.ratio, 0.98 * 0.98 * 0.9, 1e-12);
  assert.deepEqual([last.lo, last.hi], [0, Infinity]);
  if (c.creep.status !== "none") return assert.fail(`none expected, got ${c.creep.status}`);
  assert.deepEqual(c.creep.outcomes, { pass: 2, inconclusive: 1, regression: 0 });
});

test("the chained 95% interval covers the true cumulative ratio about 95% of the time (simulated gates, 6 rounds each)", () => {
  const r = rng(5);
  let covered = 0;
  const trials = 1000;
  for (let t = 0; t < trials; t++) {
    const ls: Link[] = Array.from({ length: 8 }, (_, i) => {
      const rounds = Array.from({ length: 6 }, () => [100, 100 * 0.985 * Math.exp(0.023 * gauss(r))] as const);
      return { commit: `c${i + 1}`, parent: `c${i}`, estimate: pairedRatio(rounds)!, outcome: "pass" };
    });
    const cum = chain(ls, { better: "higher", line: 0.05 }).points.at(-1)!.cumulative;
    if (cum.lo <= 0.985 ** 8 && 0.985 ** 8 <= cum.hi) covered++;
  }
  assert.ok(covered / trials > 0.93 && covered / trials < 0.97, `covered ${covered}/${trials}`);
});
