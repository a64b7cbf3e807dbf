import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { historyTrend, type HistoryDocument } from "../../../harness/verdict/trend.js";
import { HISTORY_COLORS, historyHtml } from "../../../harness/report/history-html.js";
import { ratioChangeText } from "../../../harness/report/history-text.js";
import { commitOf, sampleHistory, seriesRecords } from "../../helpers/history-samples.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-history-html-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const outDir = join(tmp, "out");
mkdirSync(outDir);

interface ChartSeries {
  id: string;
  title: string;
  status: string;
  run: number[];
  values: number[];
  lo: number[];
  hi: (number | null)[];
  n: number[];
  segments: Array<[number, number, number]>;
  gate: null | { ratio: (number | null)[]; outcome: (string | null)[]; baseline: (string | null)[] };
  changePoints: Array<{
    index: number;
    commit: string;
    previous: string;
    label: string;
    standing: boolean;
    color: string;
  }>;
  chain: null | {
    anchor: string;
    run: (number | null)[];
    commits: string[];
    ratio: number[];
    lo: number[];
    hi: (number | null)[];
    link: (number | null)[];
    gaps: Array<{ at: number; since: string }>;
    line: number;
    standing: boolean;
    call: { title: string; text: string };
  };
}

interface Runs {
  commits: string[];
  ids: string[];
  sources: (string | null)[];
  hrefs: (string | null)[];
}

/** What the page's charts draw: its perfpack-data block. */
function chartData(html: string): { line: number; runs: Runs; series: ChartSeries[] } {
  const m = /<script id="perfpack-data" type="application\/json">(.*?)<\/script>/s.exec(html);
  assert.ok(m, "no perfpack-data block");
  return JSON.parse(m[1]!);
}

const doc = historyTrend(sampleHistory(join(tmp, "runs")), {
  store: ".perfpack/history.db",
  line: 0.05,
  anchor: { links: 20, why: "the last 20 links (no tag)" },
  now: new Date("2026-12-01T00:00:00.000Z"),
});
const page = historyHtml(doc, { outDir });
const data = chartData(page);
/** The page holds `re` (the message names the pattern, not the whole page). */
const has = (html: string, re: RegExp) => assert.ok(re.test(html), `the page lacks ${re}`);
const byMetric = (m: string) => {
  const i = doc.series.findIndex((s) => s.key.metric === m);
  return { s: doc.series[i]!, d: data.series[i]! };
};
/** A series' points' commits and links, through the page's table of runs. */
const commitsOf = (d: ChartSeries) => d.run.map((r) => data.runs.commits[r]!);
const hrefsOf = (runs: readonly (number | null)[]) => runs.map((r) => (r === null ? null : data.runs.hrefs[r]!));
/** What the page keeps of a number: six significant digits. */
const r6 = (x: number) => Number(x.toPrecision(6));

test("history.html draws a chart per series, in the document's order, with each run's value and interval in commit order", () => {
  assert.equal(data.series.length, doc.series.length);
  assert.deepEqual(
    data.series.map((s) => s.title),
    [
      "batch · optimized · CPU µs/req (cpu_us_per_req), main, testbed " + doc.testbeds[0]!.id,
      "latency · optimized · p95 ms (latency_p95_ms), main, testbed " + doc.testbeds[0]!.id,
      "latency · optimized · req/s (rps), main, testbed " + doc.testbeds[0]!.id,
    ],
  );
  const { s, d } = byMetric("latency_p95_ms");
  const commits = Array.from({ length: 30 }, (_, i) => commitOf(i + 1));
  assert.deepEqual(commitsOf(d), commits);
  assert.deepEqual(
    d.values,
    s.points.map((p) => r6(p.value)),
  );
  assert.ok(
    d.values.slice(0, 19).every((v) => Math.abs(v - 20) < 0.3) &&
      d.values.slice(19).every((v) => Math.abs(v - 23) < 0.3),
  );
  assert.deepEqual([d.lo, d.hi], [s.points.map((p) => r6(p.lo)), s.points.map((p) => r6(p.hi))]);
  // the step line: the old level up to commit 19, the new one from commit 20
  assert.deepEqual(d.segments, [
    [0, 18, r6(s.segments[0]!.level)],
    [19, 29, r6(s.segments[1]!.level)],
  ]);
  // every metric of a run names the same run, kept once
  assert.equal(data.runs.ids.length, 40);
  assert.deepEqual(byMetric("rps").d.run, d.run);
  assert.equal(page.match(/<canvas id="series-\d+-trend"/g)?.length, 3, "a trend canvas per series");
  assert.equal(page.match(/<canvas id="series-\d+-chain"/g)?.length, 1, "a chain canvas for the gated series");
});

test("a change point is marked at the commit where the new level starts, labelled with its magnitude and interval; a standing one in red", () => {
  const { s, d } = byMetric("latency_p95_ms");
  assert.equal(d.changePoints.length, 1);
  const c = d.changePoints[0]!;
  assert.equal(c.commit, commitOf(20));
  assert.equal(c.previous, commitOf(19));
  assert.equal(c.index, 19);
  // 20 → 23 ms: +15% on the metric itself, worse (p95 is better lower), its interval a point or so either side
  assert.match(c.label, /^\+15% \(\+1[45]%…\+1[56]%\) worse$/);
  assert.equal(c.label, ratioChangeText(s.changePoints[0]!, s.better));
  assert.equal(c.standing, true);
  assert.equal(c.color, HISTORY_COLORS.standing);
  assert.equal(d.status, "regression");
  // an improvement: marked, green, not standing
  const rps = byMetric("rps").d;
  assert.equal(rps.changePoints[0]!.commit, commitOf(12));
  assert.match(rps.changePoints[0]!.label, /^\+10% \(\+\d\.?\d*%…\+1\d%\) better$/);
  assert.equal(rps.changePoints[0]!.standing, false);
  assert.equal(rps.changePoints[0]!.color, HISTORY_COLORS.better);
  assert.equal(rps.status, "ok");
});

test("the chained paired trend starts at 1 at the anchor and multiplies the links, with its interval, the line and the creep call", () => {
  const { s, d } = byMetric("cpu_us_per_req");
  const c = d.chain!;
  assert.ok(c, "a gated series has a chain");
  assert.deepEqual(c.commits, [commitOf(0, "c"), ...Array.from({ length: 10 }, (_, i) => commitOf(i + 1, "c"))]);
  assert.equal(c.anchor, commitOf(0, "c"));
  assert.deepEqual([c.ratio[0], c.lo[0], c.hi[0], c.link[0]], [1, 1, 1, null]);
  c.ratio.slice(1).forEach((r, i) => assert.ok(Math.abs(r - 1.015 ** (i + 1)) < 1e-5, `${r} at link ${i + 1}`));
  assert.deepEqual(
    [c.lo.slice(1), c.hi.slice(1)],
    [s.chain!.points.map((p) => r6(p.cumulative.lo)), s.chain!.points.map((p) => r6(p.cumulative.hi))],
  );
  assert.deepEqual(c.gaps, []);
  // the interval widens with every link
  const widths = c.ratio.slice(1).map((_, i) => Math.log(c.hi[i + 1]! / c.lo[i + 1]!));
  for (let i = 1; i < widths.length; i++) assert.ok(widths[i]! > widths[i - 1]!);
  // lower is better: the line is 1/(1 − 5%), worse above it
  assert.equal(c.line, 1 / 0.95);
  assert.equal(s.chain!.creep.status, "creep");
  assert.equal(c.standing, true);
  assert.match(
    c.call.title,
    /^CREEP since [0-9a-f]{7}: \+16% \(\+\d\.?\d*%…\+\d+%\) worse over 10 link\(s\), the line 5\.0% worse$/,
  );
  assert.match(c.call.text, /10 passed, 0 inconclusive, 0 regression/);
});

test("a chain with a commit that was not gated restarts after it: the chart marks where, and the product starts again", () => {
  const records = seriesRecords({
    commits: 10,
    metric: "latency_p95_ms",
    better: "lower",
    value: (i) => 20 * 1.015 ** i,
    link: (i) => (i === 5 ? undefined : 1.015),
  });
  const d = chartData(
    historyHtml(historyTrend(records, { store: "s", line: 0.05, anchor: { why: "all" } }), { outDir }),
  );
  const c = d.series[0]!.chain!;
  // the anchor, links 1–4, then 6–10 from commit 5
  assert.deepEqual(c.gaps, [{ at: 5, since: commitOf(5).slice(0, 7) }]);
  assert.ok(Math.abs(c.ratio[4]! - 1.015 ** 4) < 1e-5 && Math.abs(c.ratio[5]! - 1.015) < 1e-5, c.ratio.join(" "));
});

test("each point links to its run's report.html, relative to the page, where one is on this machine", () => {
  const { d } = byMetric("latency_p95_ms");
  hrefsOf(d.run).forEach((href, k) => {
    const i = k + 1;
    assert.equal(href, i % 2 === 1 ? `../runs/r${i}/report.html` : null, `commit ${i}`);
  });
  // without a report, the tooltip names the stored run's path
  assert.equal(data.runs.sources[d.run[1]!], join(tmp, "runs", "r2", "results.json"));
  // the chain's points open the gate run of their commit (the anchor has none)
  const c = byMetric("cpu_us_per_req").d.chain!;
  assert.deepEqual(hrefsOf(c.run), [
    null,
    ...Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? `../runs/r${k + 1}/report.html` : null)),
  ]);
  // the change-point table links its commits too
  has(page, /<a href="\.\.\/runs\/r19\/report\.html"><code>[0-9a-f]{7}<\/code><\/a>\.\.<code>[0-9a-f]{7}<\/code>/);
});

test("the top of the page gives the store, the line, the anchor, the testbeds and what stands, in red", () => {
  has(page, /<code>\.perfpack\/history\.db<\/code>, 40 run\(s\), 3 series/);
  has(page, /a change worse than 5\.0% is a regression/);
  has(page, /the last 20 links \(no tag\)/);
  has(
    page,
    new RegExp(
      `<td><code>${doc.testbeds[0]!.id}</code></td><td>Intel\\(R\\) Xeon\\(R\\) Processor</td><td>2</td><td>v20\\.20\\.2</td>`,
    ),
  );
  const standing = /<ul class="standing">(.*?)<\/ul>/s.exec(page)?.[1] ?? "";
  assert.equal(doc.standing.length, 3, "latency's change point; the batch series' change point and its creep");
  assert.equal(standing.match(/<li>/g)?.length, 3);
  assert.match(
    standing,
    /latency · optimized · p95 ms \(latency_p95_ms\), main.*change point <code>[0-9a-f]{7}\.\.[0-9a-f]{7}<\/code>, \+15% \(.*\) worse/,
  );
  assert.match(standing, /creep <code>/);
  assert.match(standing, /href="#series-1"/);
  // with nothing standing, it says so
  const calm: HistoryDocument = { ...doc, series: doc.series.filter((s) => s.key.metric === "rps"), standing: [] };
  has(historyHtml(calm, { outDir }), /Nothing stands/);
  // an empty store: the page says so, and draws nothing
  const empty = historyHtml(historyTrend([], { store: "empty.db", line: 0.05, anchor: { why: "none" } }), { outDir });
  has(empty, /0 run\(s\), 0 series/);
  has(empty, /Nothing stands/);
  assert.deepEqual(chartData(empty).series, []);
});

test("every text is escaped, in the page and in its data", () => {
  const records = seriesRecords({
    commits: 8,
    metric: "p95_</script><b>ms",
    better: "lower",
    value: () => 10,
    branch: "feat/<img src=x onerror=alert(1)>",
    variant: `o"'&`,
  });
  const html = historyHtml(historyTrend(records, { store: "a<b>.db", line: 0.05, anchor: { why: "<i>why</i>" } }), {
    outDir,
  });
  assert.ok(!/<img|<b>|<i>why|<\/script><b>/.test(html), "an unescaped text");
  has(html, /feat\/&lt;img src=x onerror=alert\(1\)&gt;/);
  const d = chartData(html);
  assert.equal(
    d.series[0]!.title,
    `latency · o"'& · p95_</script><b>ms, feat/<img src=x onerror=alert(1)>, testbed ${records[0]!.testbed.id}`,
  );
});
