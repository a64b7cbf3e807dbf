import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { historyTrend } from "../../../harness/verdict/trend.js";
import { historyMarkdown } from "../../../harness/report/history-text.js";
import { sha, trendHistory as syntheticHistory, TREND_TESTBED as TESTBED } from "../../helpers/history-trend.js";

const opts = { store: "test.db", line: 0.05, anchor: { links: 50, why: "the last 50 gate links" } };

describe("historyTrend", () => {
  const h = syntheticHistory();
  const doc = historyTrend(h.records, opts);
  const p95 = doc.series.find((s) => s.key.metric === "latency_p95_ms")!;
  const rps = doc.series.find((s) => s.key.metric === "rps")!;

  test("one series per metric, variant, scenario, branch and testbed, its points in run order", () => {
    assert.equal(doc.series.length, 2);
    assert.deepEqual(p95.key, {
      testbed: TESTBED.id,
      branch: "main",
      variant: "optimized",
      scenario: "latency",
      metric: "latency_p95_ms",
    });
    assert.deepEqual(
      p95.points.map((p) => p.commit),
      Array.from({ length: h.commits }, (_, i) => sha(i)),
    );
    assert.equal(doc.runs, h.commits);
  });

  test("the p95 step is a change point at its commit, 30% worse (lower is better), and it stands", () => {
    assert.equal(p95.changePoints.length, 1);
    const c = p95.changePoints[0]!;
    assert.equal(c.commit, sha(h.stepAt));
    assert.equal(c.previous, sha(h.stepAt - 1));
    assert.ok(Math.abs(c.ratio - 1.3) < 0.03, `ratio ${c.ratio}`);
    assert.ok(c.change < -0.2 && c.changeLo <= c.change && c.change <= c.changeHi);
    assert.equal(c.state, "stands");
    assert.equal(p95.status, "regression");
    assert.ok(doc.standing.some((r) => r.kind === "change-point" && r.to === sha(h.stepAt)));
  });

  test("a later change back to the old level resolves it", () => {
    const back = syntheticHistory(40, 12).records.map((r) =>
      r.metric === "latency_p95_ms" && Number(r.runId.slice(4)) >= 26
        ? { ...r, median: r.median / 1.3, lo: r.lo / 1.3, hi: r.hi / 1.3 }
        : r,
    );
    const s = historyTrend(back, opts).series.find((x) => x.key.metric === "latency_p95_ms")!;
    assert.deepEqual(
      s.changePoints.map((c) => c.state),
      ["resolved", "better"],
    );
    assert.equal(s.status, "ok");
  });

  test("the links chain: each passed or was inconclusive, and together they are a creep", () => {
    const c = rps.chain!;
    assert.equal(c.points.length, h.commits - h.firstLink);
    assert.equal(c.anchor, sha(h.firstLink - 1));
    if (c.creep.status !== "creep" && c.creep.status !== "suspected") throw new Error(`no creep: ${c.creep.status}`);
    assert.ok(Math.abs(c.creep.cumulative.ratio - 0.985 ** 12) < 1e-9);
    assert.equal(c.creep.outcomes.inconclusive, 12);
    assert.ok(doc.standing.some((r) => r.kind === c.creep.status && r.series.metric === "rps"));
    assert.equal(p95.chain, undefined, "p95 has no links in this history");
  });

  test("a later gate of a commit against another one (history confirm) does not break the chain", () => {
    const confirm = h.records
      .filter((r) => r.commit === sha(15))
      .map((r) => ({
        ...r,
        runId: "confirm",
        time: new Date(Date.UTC(2026, 11, 1)).toISOString(),
        gate: { ...r.gate!, baselineCommit: sha(10), baselineRef: sha(10) },
        ...(r.link ? { link: { ...r.link, ratio: 0.9 } } : {}),
      }));
    const again = historyTrend([...h.records, ...confirm], opts).series.find((x) => x.key.metric === "rps")!;
    assert.deepEqual(again.chain!.gaps, []);
    // and the link is the gate against its parent: the chart opens that run, not the confirm
    assert.equal(again.chain!.points.find((p) => p.commit === sha(15))!.runId, "run-015");
    assert.deepEqual(
      again.chain!.points.map((p) => p.link.ratio),
      rps.chain!.points.map((p) => p.link.ratio),
    );
  });

  test("an anchor after the step leaves the change point before it, and chains from the anchor", () => {
    const late = historyTrend(h.records, { ...opts, anchor: { commit: sha(16), why: "--since" } });
    const s = late.series.find((x) => x.key.metric === "latency_p95_ms")!;
    assert.equal(s.changePoints[0]!.state, "before-anchor");
    const r = late.series.find((x) => x.key.metric === "rps")!;
    assert.equal(r.chain!.anchor, sha(16));
    assert.equal(r.chain!.points.length, h.commits - 17);
  });

  test("runs from two machines are two series, never one", () => {
    const other = { ...TESTBED, id: "ffffffffffff", cpuModel: "Other" };
    const two = historyTrend(
      h.records.map((r, i) => (i % 4 < 2 ? r : { ...r, testbed: other })),
      opts,
    );
    assert.equal(two.series.length, 4);
    assert.equal(two.testbeds.length, 2);
  });

  test("history.md names what stands and each series", () => {
    const md = historyMarkdown(doc);
    assert.match(md, /## \d regressions? stands?/);
    assert.match(
      md,
      new RegExp(
        `change point, \\+30% \\(.+\\) worse, came in ${sha(h.stepAt - 1).slice(0, 10)}\\.\\.${sha(h.stepAt).slice(0, 10)}`,
      ),
    );
    assert.match(md, /main · latency · optimized · req\/s/);
    assert.match(md, /chained since \w+ over 12 links: 0 pass, 12 inconclusive, 0 regression/);
  });
});
