/**
 * history.html: the run history (a HistoryDocument, verdict/trend.ts) drawn for a browser. One
 * self-contained page, offline, like report.html: Chart.js inlined, and what the charts draw in a
 * `perfpack-data` JSON block computed here, so the page's script holds no statistics.
 *
 * Per series (grouped by testbed, branch and scenario): the trend (each run's median and its
 * interval, the level between change points as a step line, each change point marked with its
 * magnitude and interval, a standing one in red), and, where the commits were gated against their
 * parents, the chained paired ratio since the anchor with its interval and the line. Each point
 * opens its run's report.html when one is on this machine (the only I/O here: existsSync).
 */
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Testbed } from "../history/record.js";
import type {
  HistoryDocument,
  StandingRegression,
  TrendChangePoint,
  TrendPoint,
  TrendSeries,
} from "../verdict/trend.js";
import { sameSeries } from "../verdict/trend.js";
import { fmt, shareText } from "./format.js";
import { ratioChangeText } from "./history-text.js";
import { chartLibrary, h } from "./html.js";

/** Where the page is written, and where relative run paths in the store were given from. */
export interface HistoryHtmlOptions {
  outDir: string;
  /** The directory perfpack ran in, for a run's path stored relative (default: this process's). */
  cwd?: string;
}

/** A standing regression, a worse change that does not stand, a better one. */
export const HISTORY_COLORS = { standing: "#d62728", worse: "#d68a00", better: "#3a8a3a" } as const;

/** A signed percentage of a change: −0.12 → "−12%", +0.031 → "+3.1%", −0.0034 → "−0.34%". */
function pct(x: number, unit = "%"): string {
  if (!Number.isFinite(x)) return x > 0 ? "+∞" : "−∞";
  const v = Math.abs(x) * 100;
  const digits = v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v === 0 ? "0" : v.toFixed(2);
  return `${x < 0 ? "−" : x > 0 ? "+" : ""}${digits}${unit}`;
}

const short = (commit: string): string => commit.slice(0, 7);

const valueText = (s: Pick<TrendSeries, "unit">, v: number): string => (s.unit === "share" ? shareText(v) : fmt(v));

const testbedText = (t: Testbed): string => `${t.cpuModel}, ${t.cores} cores, Node ${t.node}`;

/** scenario · variant · label (metric). */
const seriesName = (s: Pick<TrendSeries, "key" | "label">): string =>
  `${s.key.scenario} · ${s.key.variant} · ${s.label ? `${s.label} (${s.key.metric})` : s.key.metric}`;

const seriesTitle = (s: TrendSeries): string =>
  `${seriesName(s)}, ${s.key.branch ?? "no branch"}, testbed ${s.key.testbed}`;

/** Six significant digits: more than a chart or a tooltip shows, in half the bytes of a double. */
const r6 = (x: number): number | null => (Number.isFinite(x) ? Number(x.toPrecision(6)) : null);

/**
 * The runs the points come from, each once (a run gives a point to every metric's series), as
 * columns; a point names its run by index. Its report.html, relative to the page, when it is on this
 * machine: beside the stored results.json, or in the stored run folder (null for an artifact from elsewhere).
 */
class RunTable {
  readonly commits: string[] = [];
  readonly times: string[] = [];
  readonly ids: string[] = [];
  readonly kinds: string[] = [];
  readonly dirty: number[] = [];
  readonly sources: (string | null)[] = [];
  readonly hrefs: (string | null)[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly o: HistoryHtmlOptions) {}

  of(p: TrendPoint): number {
    const known = this.index.get(p.runId);
    if (known !== undefined) return known;
    const i = this.commits.push(p.commit) - 1;
    this.times.push(p.time.replace("T", " ").replace(/\.\d+Z$/, "Z"));
    this.ids.push(p.runId);
    this.kinds.push(p.kind);
    this.dirty.push(p.dirty ? 1 : 0);
    this.sources.push(p.source ?? null);
    this.hrefs.push(this.reportHref(p.source));
    this.index.set(p.runId, i);
    return i;
  }

  private reportHref(source: string | undefined): string | null {
    if (!source) return null;
    const path = resolve(this.o.cwd ?? ".", source);
    const file = join(/\.json$/i.test(path) ? dirname(path) : path, "report.html");
    return existsSync(file)
      ? relative(resolve(this.o.outDir), file).split(sep).map(encodeURIComponent).join("/")
      : null;
  }

  toJSON() {
    const { commits, times, ids, kinds, dirty, sources, hrefs } = this;
    return { commits, times, ids, kinds, dirty, sources, hrefs };
  }
}

const colorOf = (c: TrendChangePoint): string =>
  c.standing ? HISTORY_COLORS.standing : c.worse ? HISTORY_COLORS.worse : HISTORY_COLORS.better;

/** Where the series reaches the anchor commit (−1: it does not, or the anchor is not a commit). */
const anchorIndex = (s: TrendSeries, doc: HistoryDocument): number =>
  doc.anchor.commit ? s.points.findIndex((p) => p.commit === doc.anchor.commit) : -1;

/** The line as a ratio of the chained trend: worse below it when higher is better, above when lower is. */
const lineRatio = (s: TrendSeries, line: number): number => (s.better === "higher" ? 1 - line : 1 / (1 - line));

/** Each point's gate against its baseline commit, as columns (null where the point is no gate's). */
function gateColumns(s: TrendSeries) {
  if (!s.points.some((p) => p.link)) return null;
  const col = <T>(f: (l: NonNullable<TrendPoint["link"]>) => T) => s.points.map((p) => (p.link ? f(p.link) : null));
  return {
    ratio: col((l) => r6(l.ratio)),
    lo: col((l) => r6(l.lo)),
    hi: col((l) => r6(l.hi)),
    outcome: col((l) => l.outcome),
    baseline: col((l) => short(l.baselineCommit)),
  };
}

/**
 * The chained paired trend as the page draws it: the cumulative ratio and its band, each link's
 * ratio. It starts at the anchor, at 1 (no change since itself), so the chart reads "since here".
 */
function chainData(s: TrendSeries, doc: HistoryDocument, runs: readonly number[]) {
  const c = s.chain;
  if (!c || !c.points.length || c.anchor === undefined) return null;
  // a link opens the gate run it came from (trend.ts picks which of a commit's gates)
  const gateRun = new Map<string, number>();
  s.points.forEach((p, i) => gateRun.set(p.runId, runs[i]!));
  const ps = c.points;
  return {
    anchor: c.anchor,
    run: [null, ...ps.map((p) => (p.runId !== undefined ? (gateRun.get(p.runId) ?? null) : null))],
    commits: [c.anchor, ...ps.map((p) => p.commit)],
    ratio: [1, ...ps.map((p) => r6(p.cumulative.ratio))],
    lo: [1, ...ps.map((p) => r6(p.cumulative.lo))],
    hi: [1, ...ps.map((p) => r6(p.cumulative.hi))],
    change: [0, ...ps.map((p) => r6(p.change))],
    links: [0, ...ps.map((p) => p.links)],
    link: [null, ...ps.map((p) => r6(p.link.ratio))],
    linkLo: [null, ...ps.map((p) => r6(p.link.lo))],
    linkHi: [null, ...ps.map((p) => r6(p.link.hi))],
    outcome: [null, ...ps.map((p) => p.link.outcome)],
    calls: [null, ...ps.map((p) => p.call)],
    // where the chain restarts after a gap (+1: the anchor is in front), and the commit it restarts from
    gaps: c.gaps.map((g) => ({ at: ps.findIndex((p) => p.commit === g.commit) + 1, since: short(g.parent) })),
    line: lineRatio(s, doc.line),
    worse: s.better === "higher" ? "below" : "above",
    call: creepText(s),
    standing: c.creep.status === "creep" || c.creep.status === "suspected",
  };
}

/** The creep call of a series' chain: a short title for its chart, and the sentence under it. */
function creepText(s: TrendSeries): { title: string; text: string } {
  const v = s.chain?.creep;
  if (!v) return { title: "", text: "" };
  if (v.status === "unknown") return { title: "no chained trend", text: `chained trend: ${v.reason}` };
  const change = ratioChangeText(v.cumulative, s.better);
  const call = { creep: "CREEP", suspected: "creep suspected", none: "no creep" }[v.status];
  const o = v.outcomes;
  const first = [
    v.firstSuspected ? `suspected from ${short(v.firstSuspected)}` : "",
    v.firstCreep ? `creep from ${short(v.firstCreep)}` : "",
  ].filter(Boolean);
  return {
    title: `${call} since ${short(v.since)}: ${change} over ${v.links} link(s), the line ${pct(v.line).slice(1)} worse`,
    text:
      `${call}: ${change} since ${short(v.since)} through ${short(v.through)}, ${v.links} link(s) ` +
      `(${o.pass} passed, ${o.inconclusive} inconclusive, ${o.regression} regression); the line is ${pct(v.line).slice(1)} worse` +
      (first.length ? `; ${first.join(", ")}` : ""),
  };
}

/** One series as the page draws it: its points (by run) in order, its levels, change points and chain. */
function seriesData(s: TrendSeries, i: number, doc: HistoryDocument, runs: RunTable) {
  const run = s.points.map((p) => runs.of(p));
  const anchor = anchorIndex(s, doc);
  return {
    id: `series-${i}`,
    title: seriesTitle(s),
    yTitle: `${s.label ?? s.key.metric} (better ${s.better})`,
    better: s.better,
    share: s.unit === "share",
    status: s.status,
    run,
    values: s.points.map((p) => r6(p.value)),
    lo: s.points.map((p) => r6(p.lo)),
    hi: s.points.map((p) => r6(p.hi)),
    n: s.points.map((p) => p.n),
    level: s.points.map((p) => r6(p.level)),
    // the step line between change points: [first point, last point, level]
    segments: s.segments.map((g) => [g.first, g.last, r6(g.level)]),
    gate: gateColumns(s),
    changePoints: s.changePoints.map((c) => ({
      index: c.index,
      commit: c.commit,
      previous: c.previous,
      label: ratioChangeText(c, s.better),
      standing: c.standing,
      color: colorOf(c),
    })),
    anchor: anchor > 0 ? { index: anchor, label: `anchor ${doc.anchor.tag ?? short(doc.anchor.commit!)}` } : null,
    chain: chainData(s, doc, run),
  };
}

/** What the page's script draws: the runs once, a chart per series, and one per chain. */
function historyChartData(doc: HistoryDocument, o: HistoryHtmlOptions) {
  const runs = new RunTable(o);
  const series = doc.series.map((s, i) => seriesData(s, i, doc, runs));
  return { line: doc.line, runs: runs.toJSON(), series };
}

type ChartData = ReturnType<typeof historyChartData>;
type SeriesData = ChartData["series"][number];

const PAGE_SCRIPT = `
const D = JSON.parse(document.getElementById("perfpack-data").textContent);
const R = D.runs;
Chart.defaults.animation = false;
Chart.defaults.font.family = "system-ui, sans-serif";
const VALUE = "#4e79a7", CHAIN = "#7b4ea7", RED = "${HISTORY_COLORS.standing}";
// numbers as the report's tables write them (format.ts: fmt, shareText)
function num(v) {
  if (v === null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a === 0 ? "0" : a >= 1000 ? Math.round(v).toLocaleString("en-US") : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
const share = (v) => (v === null ? "–" : v === 0 ? "0%" : (v * 100).toFixed(v < 0.1 ? 2 : 1) + "%");
const ratio = (r, lo, hi) => r.toFixed(3) + "× (" + lo.toFixed(3) + "–" + (hi === null ? "∞" : hi.toFixed(3)) + "×)";
// as pct() writes a change
function signed(x) {
  const v = Math.abs(x) * 100;
  return (x < 0 ? "−" : x > 0 ? "+" : "") + (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v === 0 ? "0" : v.toFixed(2)) + "%";
}
const shortSha = (c) => c.slice(0, 7);
function runLines(r) {
  return [R.kinds[r] + " " + R.ids[r] + (R.dirty[r] ? " (uncommitted changes)" : ""), R.hrefs[r] ? "click: open its report" : R.sources[r] ? "report not here: " + R.sources[r] : "no stored run path"];
}
// a point's tooltip: time, value and interval, rounds, the gate's link, its run
function trendTip(s, i) {
  const v = s.share ? share : num, r = s.run[i], g = s.gate;
  const lines = [R.times[r], v(s.values[i]) + " (" + v(s.lo[i]) + "–" + v(s.hi[i]) + ", " + (s.level[i] * 100).toFixed(1) + "%), n = " + s.n[i]];
  if (g && g.ratio[i] !== null) lines.push("gate over " + g.baseline[i] + ": " + ratio(g.ratio[i], g.lo[i], g.hi[i]) + ", " + g.outcome[i]);
  return lines.concat(runLines(r));
}
function chainTip(c, i) {
  if (i === 0) return ["the anchor: the chain starts here"];
  // after a gap the chain restarts from the gap's parent, which is the link's baseline
  const since = c.gaps.filter((g) => g.at <= i).map((g) => g.since).pop() || shortSha(c.anchor);
  const gap = c.gaps.find((g) => g.at === i);
  const lines = [
    "link over " + (gap ? gap.since : shortSha(c.commits[i - 1])) + ": " + ratio(c.link[i], c.linkLo[i], c.linkHi[i]) + ", " + c.outcome[i],
    "since " + since + ", " + c.links[i] + " link(s): " + ratio(c.ratio[i], c.lo[i], c.hi[i]) + ", " + signed(c.change[i]),
    "call: " + c.calls[i],
  ];
  return c.run[i] === null ? lines : lines.concat(runLines(c.run[i]));
}
// the vertical marks (change points, the anchor, the chain's restarts) and their labels, staggered in rows so none overlaps another
function markers(list) {
  return {
    id: "historyMarkers",
    afterDatasetsDraw(chart) {
      const { ctx, scales: { x }, chartArea: a } = chart;
      const ends = [];
      ctx.save();
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "top";
      for (const m of list) {
        const px = x.getPixelForValue(m.at);
        ctx.strokeStyle = m.color;
        ctx.lineWidth = m.strong ? 2 : 1.25;
        ctx.setLineDash(m.dash || []);
        ctx.beginPath(); ctx.moveTo(px, a.top); ctx.lineTo(px, a.bottom); ctx.stroke();
        const w = ctx.measureText(m.text).width;
        const left = px + 4 + w > a.right;
        const from = left ? px - 4 - w : px + 4;
        let row = ends.findIndex((end) => end < from - 6);
        if (row < 0) row = ends.length < 4 ? ends.length : ends.indexOf(Math.min(...ends));
        ends[row] = from + w;
        const y = a.top + 2 + 14 * row;
        ctx.fillStyle = "rgba(255,255,255,0.85)";
        ctx.fillRect(from - 2, y - 1, w + 4, 13);
        ctx.fillStyle = m.color;
        ctx.fillText(m.text, from, y);
      }
      ctx.restore();
    },
  };
}
const pctTick = (v) => (v * 100).toFixed(Math.abs(v) < 0.01 ? 2 : 1) + "%";
// the run of the nearest commit along x, as the tooltip picks it
const runAt = (runs, evt, chart) => {
  const el = chart.getElementsAtEventForMode(evt, "index", { intersect: false }, false)[0];
  return el && runs[el.index] !== null ? R.hrefs[runs[el.index]] : null;
};
const onClick = (runs) => (evt, _els, chart) => {
  const href = runAt(runs, evt, chart);
  if (href) window.location.href = href;
};
const onHover = (runs) => (evt, _els, chart) => {
  evt.native.target.style.cursor = runAt(runs, evt, chart) ? "pointer" : "default";
};
const tooltip = (title, tip) => ({
  filter: (item) => item.datasetIndex === 2,
  displayColors: false,
  callbacks: { title: (items) => title(items[0].dataIndex), label: (item) => tip(item.dataIndex) },
});
function band(lo, hi, color, label) {
  return [
    { label: "_lo", data: lo, borderWidth: 0, pointRadius: 0, pointHoverRadius: 0, fill: false },
    { label, data: hi, borderWidth: 0, pointRadius: 0, pointHoverRadius: 0, backgroundColor: color, fill: "-1" },
  ];
}
const legend = { labels: { filter: (item) => !item.text.startsWith("_"), boxHeight: 8 } };
// past a few hundred points a dot per run is a dot per pixel: the line alone, a dot on hover
const radius = (n) => (n > 300 ? 0 : n > 100 ? 2 : 3);
// every x label is a 7-digit sha, one width: a few measured tell how many fit
const xAxis = { ticks: { autoSkip: true, sampleSize: 8, maxRotation: 50, font: { family: "ui-monospace, monospace", size: 10 } } };
function trend(s) {
  const marks = s.changePoints.map((c) => ({ at: c.index - 0.5, text: c.label + (c.standing ? " stands" : ""), color: c.color, strong: c.standing, dash: c.standing ? [] : [5, 3] }));
  if (s.anchor) marks.unshift({ at: s.anchor.index - 0.5, text: s.anchor.label, color: "#777", dash: [2, 3] });
  const levels = s.values.map(() => null);
  for (const [first, last, level] of s.segments) for (let i = first; i <= last; i++) levels[i] = level;
  // a gate that found a regression is a red dot at any size
  const bad = s.gate ? s.gate.outcome.map((x) => x === "regression") : [];
  const r = radius(s.values.length);
  new Chart(document.getElementById(s.id + "-trend"), {
    type: "line",
    data: {
      labels: s.run.map((k) => shortSha(R.commits[k])),
      datasets: [
        ...band(s.lo, s.hi, VALUE + "33", "interval of each run's median"),
        { label: "median per run (red: a gate that found a regression)", data: s.values, borderColor: VALUE, borderWidth: 1, backgroundColor: VALUE, pointRadius: s.values.map((_, i) => (bad[i] ? 3 : r)), pointBackgroundColor: s.values.map((_, i) => (bad[i] ? RED : VALUE)) },
        { label: "level between change points", data: levels, borderColor: "#222", borderWidth: 2, pointRadius: 0, pointHoverRadius: 0, stepped: "middle", spanGaps: false },
      ],
    },
    options: {
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend, tooltip: tooltip((i) => R.commits[s.run[i]], (i) => trendTip(s, i)) },
      scales: { x: xAxis, y: { grace: "12%", title: { display: true, text: s.yTitle }, ticks: s.share ? { callback: pctTick } : {} } },
      onClick: onClick(s.run), onHover: onHover(s.run),
    },
    plugins: [markers(marks)],
  });
}
function chained(s) {
  const c = s.chain;
  const marks = c.gaps.map((g) => ({ at: g.at - 0.5, text: "chain restarts from " + g.since, color: "#777", dash: [2, 3] }));
  const r = radius(c.ratio.length);
  new Chart(document.getElementById(s.id + "-chain"), {
    type: "line",
    data: {
      labels: c.commits.map(shortSha),
      datasets: [
        ...band(c.lo, c.hi, CHAIN + "2e", "95% interval of the chained ratio"),
        { label: "chained ratio since the anchor", data: c.ratio, borderColor: CHAIN, backgroundColor: CHAIN, borderWidth: 2, pointRadius: r },
        { label: "each link's ratio", data: c.link, borderColor: "#999", backgroundColor: "#999", showLine: false, pointRadius: Math.max(r, 1.5), pointStyle: "crossRot" },
        { label: "the line (worse " + c.worse + " it)", data: c.commits.map(() => c.line), borderColor: RED, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0 },
        { label: "_no change", data: c.commits.map(() => 1), borderColor: "#888", borderWidth: 1, pointRadius: 0, pointHoverRadius: 0 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend, tooltip: tooltip((i) => c.commits[i], (i) => chainTip(c, i)), title: { display: true, text: c.call.title, color: c.standing ? RED : "#444", font: { size: 12, weight: "600" } } },
      scales: { x: xAxis, y: { grace: "5%", title: { display: true, text: "this commit / the anchor" } } },
      onClick: onClick(c.run), onHover: onHover(c.run),
    },
    plugins: [markers(marks)],
  });
}
// the charts in view first, as they come into view, the rest one per task after them: the page
// answers at once however many series it holds, and every chart is drawn without scrolling
const pending = new Map();
for (const s of D.series) {
  pending.set(s.id + "-trend", () => trend(s));
  if (s.chain) pending.set(s.id + "-chain", () => chained(s));
}
const total = pending.size;
function draw(id) {
  const f = pending.get(id);
  if (!f) return;
  pending.delete(id);
  f();
  if (document.body.dataset.firstMs === undefined) document.body.dataset.firstMs = String(Math.round(performance.now()));
  if (pending.size) return;
  seen.disconnect();
  document.body.dataset.charts = String(Object.keys(Chart.instances).length);
  document.body.dataset.drawnMs = String(Math.round(performance.now()));
}
const seen = new IntersectionObserver((es) => es.forEach((e) => e.isIntersecting && draw(e.target.id)), { rootMargin: "300px" });
for (const id of pending.keys()) seen.observe(document.getElementById(id));
(function pump() {
  const id = pending.keys().next().value;
  if (id === undefined) return;
  draw(id);
  setTimeout(pump, 0);
})();
if (!total) document.body.dataset.charts = "0";
`;

const head = (doc: HistoryDocument) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perfpack history ${h(doc.store)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:2px solid #ccc}h3{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #ddd}h4{font-size:1rem;margin:1.4rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left;font-variant-numeric:tabular-nums;vertical-align:top}
th{background:#f6f6f6}code{font-family:ui-monospace,monospace}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
.standing{color:${HISTORY_COLORS.standing}}ul.standing{background:#fbe3e3;padding:.5rem 1rem .5rem 2rem;border-radius:6px}.ok{background:#e3f4e1;color:#1e6b1e;padding:.4rem .8rem;border-radius:6px;display:inline-block}
td a{color:inherit}tr.standing td{color:${HISTORY_COLORS.standing};font-weight:600}tr.worse td{color:#8a5a00}tr.better td{color:${HISTORY_COLORS.better}}
.badge{font-size:.8rem;padding:.1rem .45rem;border-radius:4px;margin-left:.5rem;vertical-align:middle}.badge.ok{display:inline;padding:.1rem .45rem}.badge.bad{background:#fbe3e3;color:${HISTORY_COLORS.standing}}
figure{margin:.4rem 0}figcaption{font-size:.9rem;color:#444;margin-bottom:.2rem}.trend{position:relative;height:300px}.chain{position:relative;height:230px}
.muted{color:#666}
</style></head><body>
<h1>perfpack history</h1>`;

/** The store, the line, the anchor, the testbeds: what every chart below is read against. */
function overview(doc: HistoryDocument): string {
  const filter = Object.entries(doc.filter)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const testbeds = doc.testbeds
    .map(
      (t) =>
        `<tr><td><code>${h(t.id)}</code></td><td>${h(t.cpuModel)}</td><td>${t.cores}</td><td>${h(t.node)}</td></tr>`,
    )
    .join("");
  return (
    `<dl><dt>store</dt><dd><code>${h(doc.store)}</code>, ${doc.runs} run(s), ${doc.series.length} series; drawn ${h(doc.generatedAt)}</dd>` +
    `<dt>the line</dt><dd>a change worse than ${h(pct(doc.line).slice(1))} is a regression</dd>` +
    `<dt>the anchor</dt><dd>${h(doc.anchor.why)}</dd>` +
    (filter ? `<dt>filter</dt><dd>${h(filter)}</dd>` : "") +
    `</dl><h2>Testbeds</h2><table><thead><tr><th>testbed</th><th>CPU</th><th>cores</th><th>Node</th></tr></thead><tbody>${testbeds}</tbody></table>` +
    `<p class="muted">Runs from different testbeds are never put in one series. Every run is drawn: no point is thinned.</p>`
  );
}

const KIND_TEXT: Record<StandingRegression["kind"], string> = {
  "change-point": "change point",
  creep: "creep",
  suspected: "creep suspected",
};

/** The regressions that stand, in red, each linking to its series; or that nothing stands. */
function standing(doc: HistoryDocument): string {
  if (!doc.standing.length)
    return `<h2>What stands</h2><p class="ok">Nothing stands: no regression beyond the line, no creep.</p>`;
  const items = doc.standing.map((r) => {
    const i = doc.series.findIndex((s) => sameSeries(s.key, r.series));
    const name = `${seriesName({ key: r.series, ...(r.label ? { label: r.label } : {}) })}, ${r.series.branch ?? "no branch"}, testbed ${r.series.testbed}`;
    return `<li><a class="standing" href="#series-${i}">${h(name)}</a>: ${KIND_TEXT[r.kind]} <code>${h(short(r.from))}..${h(short(r.to))}</code>, ${h(ratioChangeText(r, doc.series[i]?.better ?? "higher"))}</li>`;
  });
  return `<h2>What stands</h2><ul class="standing">${items.join("")}</ul>`;
}

/** Why a worse change point does not stand. */
function whyNot(c: TrendChangePoint, line: number, anchor: number): string {
  if (c.change >= -line) return "within the line";
  if (anchor > 0 && c.index < anchor) return "before the anchor";
  return "the level has since come back within the line";
}

const commitCell = (commit: string, href: string | null | undefined): string =>
  href ? `<a href="${h(href)}"><code>${h(short(commit))}</code></a>` : `<code>${h(short(commit))}</code>`;

/** The change points of a series as a table, so the page reads without hovering. */
function changePointTable(s: TrendSeries, hrefOf: (i: number) => string | null, doc: HistoryDocument): string {
  if (s.tooShort) return `<p class="muted">No change points sought: ${h(s.tooShort)}.</p>`;
  if (!s.changePoints.length) return `<p class="muted">No change point (E-divisive means, t-test).</p>`;
  const anchor = anchorIndex(s, doc);
  const rows = s.changePoints.map((c) => {
    const cls = c.standing ? "standing" : c.worse ? "worse" : "better";
    const status = c.standing
      ? "regression, stands"
      : c.worse
        ? `worse, does not stand (${whyNot(c, doc.line, anchor)})`
        : "better";
    const levels = `${valueText(s, c.before.level)} → ${valueText(s, c.after.level)}`;
    // the last old commit is the point before, past any that were not analysed (a value of 0)
    let before = c.index - 1;
    while (before > 0 && s.points[before]!.commit !== c.previous) before--;
    return (
      `<tr class="${cls}"><td>${commitCell(c.previous, hrefOf(before))}..${commitCell(c.commit, hrefOf(c.index))}</td>` +
      `<td>${h(ratioChangeText(c, s.better))}</td><td>${h(levels)}</td><td>${c.p < 0.0001 ? "&lt;0.0001" : c.p.toFixed(4)}</td><td>${h(status)}</td></tr>`
    );
  });
  return `<table class="changepoints"><thead><tr><th>commits (last old..first new)</th><th>change (95% interval)</th><th>level</th><th>p</th><th>status</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const STATUS_BADGE: Record<TrendSeries["status"], string> = {
  regression: `<span class="badge bad">regression stands</span>`,
  creep: `<span class="badge bad">creep</span>`,
  suspected: `<span class="badge bad">creep suspected</span>`,
  ok: `<span class="badge ok">ok</span>`,
};

/** One series: its trend chart, its chain's chart and call, its change points. */
function seriesSection(s: TrendSeries, d: SeriesData, doc: HistoryDocument, hrefs: ChartData["runs"]["hrefs"]): string {
  const where = `${s.key.branch ?? "no branch"}, testbed ${s.key.testbed}`;
  const trend = `<figure><figcaption>${h(`${where}: ${s.points.length} runs, each one's median and interval; the level between change points; the change points`)}</figcaption><div class="trend"><canvas id="${d.id}-trend" role="img" aria-label="${h(d.title)}"></canvas></div></figure>`;
  const chain = d.chain
    ? `<figure><figcaption>${h(`chained paired trend: each commit gated against its parent, the product since the anchor`)}</figcaption><div class="chain"><canvas id="${d.id}-chain" role="img" aria-label="${h(`${d.title}: chained paired trend`)}"></canvas></div></figure><p class="${d.chain.standing ? "standing" : "muted"}">${h(d.chain.call.text)}</p>`
    : "";
  return (
    `<section class="series" id="${d.id}" data-status="${s.status}"><h4>${h(seriesName(s))}${STATUS_BADGE[s.status]}</h4>` +
    `${trend}${chain}${changePointTable(s, (k) => hrefs[d.run[k]!] ?? null, doc)}</section>`
  );
}

/** The series under headings: testbed, then branch and scenario (the document's order already groups them). */
function seriesSections(doc: HistoryDocument, data: ChartData): string {
  const out: string[] = [];
  let testbed: string | undefined;
  let group: string | undefined;
  doc.series.forEach((s, i) => {
    if (s.key.testbed !== testbed) {
      testbed = s.key.testbed;
      group = undefined;
      const t = doc.testbeds.find((x) => x.id === testbed);
      out.push(`<h2>Testbed <code>${h(testbed)}</code>${t ? `: ${h(testbedText(t))}` : ""}</h2>`);
    }
    const g = `${s.key.branch ?? "no branch"} · ${s.key.scenario}`;
    if (g !== group) out.push(`<h3>${h((group = g))}</h3>`);
    out.push(seriesSection(s, data.series[i]!, doc, data.runs.hrefs));
  });
  return out.join("\n");
}

const READING =
  `<p class="muted">How to read: a dot is one run's median (its band: the run's own interval); the black step line is the ` +
  `level between change points (E-divisive means with a t-test); a vertical mark is a change point with its magnitude and ` +
  `95% interval, in the metric's direction (red: a regression that stands; amber: worse, but it does not stand; green: better). ` +
  `Where commits were gated against their parents, the chained paired ratio is free of the drift between CI jobs; ` +
  `its interval widens with every link. Click a point to open its run's report.</p>`;

/** history.html: one self-contained page (Chart.js inlined), offline. */
export function historyHtml(doc: HistoryDocument, o: HistoryHtmlOptions): string {
  const data = historyChartData(doc, o);
  return [
    head(doc),
    overview(doc),
    standing(doc),
    READING,
    seriesSections(doc, data),
    // `<` escaped, so the data cannot close its script tag
    `<script id="perfpack-data" type="application/json">${JSON.stringify(data).replace(/</g, "\\u003c")}</script>`,
    `<script>${chartLibrary()}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    "</body></html>",
    "",
  ].join("\n");
}
