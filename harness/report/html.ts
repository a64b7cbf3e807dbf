import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gateMetricKey, type GateCause, type GateReport, type Results } from "../results/schema.js";
import type { ChartSeries } from "../../scenarios/contract.js";
import type { Exporter, ReportContext } from "./exporter.js";
import {
  allocationDimensions,
  runCapacityDimensions,
  runCapacityNote,
  allocationRows,
  allocationTopText,
  failedTrialText,
  gateLookTable,
  gateNote,
  gateOutcomeText,
  lineRatio,
  medianDimensions,
  planText,
  targetTable,
  claimNote,
  comparisonDimensions,
  methodNote,
  readingNote,
  soakDimensions,
  soakSeries,
  soakSummary,
  targetDimensions,
  type Dimension,
} from "./format.js";
import { causeLinks, causeTitle, diffNoteText, grewDimensions, grewNote, notProfiledText } from "./gate-cause.js";

const require = createRequire(import.meta.url);
let chartJs: string | undefined;
/** Chart.js's UMD build, inlined so the report works offline as one file. */
// (chart.js's "exports" hide dist/ files, so the UMD build is found beside its main entry, dist/chart.cjs)
export const chartLibrary = () =>
  (chartJs ??= readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8"));

/** Escapes text for HTML. */
export const h = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A table of rows by its Dimensions (the Markdown and terminal tables' columns). */
export function table<T>(rows: readonly T[], dims: readonly Dimension<T>[], cls: (r: T) => string = () => ""): string {
  return `<table><thead><tr>${dims.map((d) => `<th>${h(d.label)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr class="${cls(r)}">${dims.map((d) => `<td>${h(d.format(r))}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** Each gate metric's interval per look, against its line: plain numbers for the page's script. */
function gateCharts(g: GateReport | undefined) {
  if (!g) return [];
  return g.comparisons.map((c) => {
    const key = gateMetricKey(c);
    const looks = g.looks.filter((l) => l.intervals?.[key]);
    return {
      title: `gate: ${c.scenario} · ${c.label}, candidate / reference per look`,
      labels: looks.map((l) => `look ${l.look} (${l.rounds} rounds, ${(l.level * 100).toFixed(1)}%)`),
      intervals: looks.map((l) => [
        l.intervals[key]!.lo,
        Number.isFinite(l.intervals[key]!.hi) ? l.intervals[key]!.hi : null,
      ]),
      ratios: looks.map((l) => l.intervals[key]!.ratio),
      calls: looks.map((l) => l.calls[key] ?? "undecided"),
      line: lineRatio(c.better, g.maxRegression),
      worse: c.better === "higher" ? "below" : "above",
    };
  });
}

/** What the page's script draws: plain numbers, computed here so the page holds no statistics. */
function chartData(r: Results, g?: GateReport) {
  const variants = r.plan.variants.map((v) => v.name);
  const med = (v: string, s: string, m: string) => r.summary.medians[v]?.[s]?.[m] ?? null;
  const value = (v: string, s: string, c: ChartSeries) => {
    const x = med(v, s, c.metric);
    if (!c.per) return x;
    const d = med(v, s, c.per);
    return x !== null && d ? x / d : null;
  };
  // the charts each scenario declared (results.json records them): the report names no scenario
  const charts = r.plan.scenarios.flatMap((scenario) =>
    (r.plan.charts?.[scenario] ?? []).map((c) => ({ scenario, c })),
  );
  const throughput = charts.flatMap(({ scenario, c }) =>
    c.kind !== "throughput"
      ? []
      : [
          {
            title: `${scenario}: ${c.label}`,
            medians: variants.map((v) => med(v, scenario, c.metric)),
            rounds: variants.map((v) =>
              r.trials
                .filter((t) => t.status === "ok" && t.variant === v && t.scenario === scenario)
                .map((t) => t.metrics[c.metric] ?? null),
            ),
            intervals: variants.map((v) => {
              const x = r.summary.comparisons?.find(
                (k) => k.candidate === v && k.scenario === scenario && k.metric === c.metric,
              );
              return x && Number.isFinite(x.estimate.hi)
                ? [x.referenceMedian * x.estimate.lo, x.referenceMedian * x.estimate.hi]
                : null;
            }),
          },
        ],
  );
  const lines = charts.flatMap(({ scenario, c }) =>
    c.kind !== "percentiles"
      ? []
      : [
          {
            title: `${scenario}: ${c.title}`,
            labels: c.series.map((x) => x.label),
            series: variants.map((v) => ({ name: v, values: c.series.map((x) => value(v, scenario, x)) })),
          },
        ],
  );
  const bars = charts.flatMap(({ scenario, c }) =>
    c.kind !== "bars"
      ? []
      : [
          {
            title: `${scenario}: ${c.title}`,
            datasets: c.series.map((x) => ({ label: x.label, data: variants.map((v) => value(v, scenario, x)) })),
          },
        ],
  );
  const soak = soakSeries(r);
  return {
    variants,
    gate: gateCharts(g),
    throughput,
    lines,
    bars,
    soak: soak.length
      ? {
          t: soak.map((p) => Math.round(p.t_s)),
          rss: soak.map((p) => p.rss_mb ?? null),
          heap: soak.map((p) => p.heap_mb ?? null),
          gc: soak.map((p) => (p.gc_share === undefined ? null : p.gc_share * 100)),
          p95: soak.map((p) => p.p95_ms ?? null),
        }
      : null,
  };
}

const PAGE_SCRIPT = `
const D = JSON.parse(document.getElementById("perfpack-data").textContent);
const palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"];
Chart.defaults.animation = false;
let next = 0;
// the page carries one <canvas id="chart-N"> per chart, in the order drawn here
function canvas() {
  return document.getElementById("chart-" + next++);
}
const CALL_COLOR = { regression: "#e15759cc", clear: "#59a14fcc", undecided: "#bab0accc" };
for (const g of D.gate) {
  new Chart(canvas(), {
    data: {
      labels: g.labels,
      datasets: [
        { type: "bar", label: "interval at the look's level (red: regression, green: clear, grey: undecided)", data: g.intervals, backgroundColor: g.calls.map((c) => CALL_COLOR[c]), barPercentage: 0.4 },
        { type: "line", label: "ratio", data: g.ratios, borderColor: "#000", backgroundColor: "#000", showLine: false, pointRadius: 4 },
        { type: "line", label: "the line (worse " + g.worse + " it)", data: g.labels.map(() => g.line), borderColor: "#e15759", borderDash: [6, 4], pointRadius: 0 },
        { type: "line", label: "no change", data: g.labels.map(() => 1), borderColor: "#888", borderWidth: 1, pointRadius: 0 },
      ],
    },
    // the intervals, the line and 1 decide the range: from 0 the bars would be slivers
    options: { scales: { y: { beginAtZero: false, grace: "5%", title: { display: true, text: "candidate / reference" } } } },
  });
}
for (const t of D.throughput) {
  const points = t.rounds.flatMap((rs, i) => rs.filter((v) => v !== null).map((v) => ({ x: D.variants[i], y: v })));
  new Chart(canvas(), {
    data: {
      labels: D.variants,
      datasets: [
        { type: "bar", label: "median", data: t.medians, backgroundColor: D.variants.map((_, i) => palette[i % palette.length] + "aa") },
        { type: "bar", label: "95% interval (from the ratio to the reference)", data: t.intervals, backgroundColor: "#0003", borderColor: "#000", borderWidth: 1, barPercentage: 0.25, grouped: false },
        { type: "scatter", label: "rounds", data: points, backgroundColor: "#000", pointRadius: 3 },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
}
for (const l of D.lines) {
  new Chart(canvas(), {
    type: "line",
    data: { labels: l.labels, datasets: l.series.map((s, i) => ({ label: s.name, data: s.values, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] })) },
    options: { scales: { y: { type: "logarithmic", title: { display: true, text: "ms" } } } },
  });
}
for (const b of D.bars) {
  new Chart(canvas(), {
    type: "bar",
    data: { labels: D.variants, datasets: b.datasets.map((d, i) => ({ label: d.label, data: d.data, backgroundColor: palette[(i + 1) % palette.length] })) },
    options: { scales: { y: { beginAtZero: true } } },
  });
}
if (D.soak) {
  new Chart(canvas(), {
    type: "line",
    data: { labels: D.soak.t, datasets: [
      { label: "RSS MB", data: D.soak.rss, borderColor: "#4e79a7", backgroundColor: "#4e79a7", yAxisID: "mb" },
      { label: "heap used MB", data: D.soak.heap, borderColor: "#76b7b2", backgroundColor: "#76b7b2", yAxisID: "mb" },
      { label: "GC time %", data: D.soak.gc, borderColor: "#e15759", backgroundColor: "#e15759", yAxisID: "pct" },
    ] },
    options: { scales: { x: { title: { display: true, text: "seconds" } }, mb: { position: "left", beginAtZero: true, title: { display: true, text: "MB" } }, pct: { position: "right", beginAtZero: true, title: { display: true, text: "GC %" }, grid: { drawOnChartArea: false } } } },
  });
  new Chart(canvas(), {
    type: "line",
    data: { labels: D.soak.t, datasets: [{ label: "p95 ms (per interval)", data: D.soak.p95, borderColor: "#f28e2b", backgroundColor: "#f28e2b" }] },
    options: { scales: { x: { title: { display: true, text: "seconds" } }, y: { beginAtZero: true } } },
  });
}
document.body.dataset.charts = String(Chart.instances ? Object.keys(Chart.instances).length : 0);
`;

/** Each group's <figure>s, their canvases numbered in the order PAGE_SCRIPT draws them. */
function figures(d: ReturnType<typeof chartData>) {
  let n = 0;
  const figs = (titles: readonly string[]) =>
    titles
      .map(
        (title) =>
          `<figure><figcaption>${h(title)}</figcaption><canvas id="chart-${n++}" role="img" aria-label="${h(title)}"></canvas></figure>`,
      )
      .join("");
  // an object literal's properties are evaluated in order: this is the drawing order
  return {
    gate: figs(d.gate.map((g) => g.title)),
    throughput: figs(d.throughput.map((t) => t.title)),
    lines: figs(d.lines.map((l) => l.title)),
    bars: figs(d.bars.map((b) => b.title)),
    soak: figs(d.soak ? ["soak: RSS, heap and GC time share over time", "soak: p95 latency per interval"] : []),
  };
}

/** One line of the page's body; empty when the section has nothing to say. */
type Section = (r: Results, ctx: ReportContext, figs: ReturnType<typeof figures>) => string;

const head = (r: Results) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perfpack ${h(r.runId)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f6f6f6}.verdict{font-size:1.2rem;padding:.6rem 1rem;border-radius:6px;display:inline-block}
.pass{background:#e3f4e1;color:#1e6b1e}.undecided{background:#fdf3d8;color:#7a5b00}.fail{background:#fbe3e3;color:#9b1c1c}
tr.worse td{color:#9b1c1c}tr.better td{color:#1e6b1e}tr.st-fail td{color:#9b1c1c}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
.muted{color:#666}
</style></head><body>
<h1>perfpack run ${h(r.runId)}</h1>`;

// a gate run's verdict is the gate's decision (below); the run's own would contradict it
const verdict: Section = (r, ctx) => {
  const v = r.summary.verdict;
  if (!v || ctx.gate) return "";
  return `<p class="verdict ${v.pass ? "pass" : "fail"}">Verdict: ${v.pass ? "PASS" : "FAIL"}${v.reasons.length ? ` — ${h(v.reasons.join("; "))}` : ""}</p>`;
};

const gate: Section = (_r, { gate: g }, figs) => {
  if (!g) return "";
  const cls = g.outcome === "pass" ? "pass" : g.outcome === "regression" || g.strict ? "fail" : "undecided";
  const reasons = g.reasons.length ? `<ul>${g.reasons.map((x) => `<li>${h(x)}</li>`).join("")}</ul>` : "";
  const looks = gateLookTable(g);
  return `<h2>Gate against ${h(g.baseline)}</h2><p class="verdict ${cls}">Gate: ${h(gateOutcomeText(g))}</p>${reasons}${cause(g.cause)}<div class="grid">${figs.gate}</div>${table(looks.rows, looks.dims)}<p class="muted">${h(gateNote(g))}</p>`;
};

/** A regression's cause: what grew per unit of work, linked to the differential flamegraph; or why it was not profiled. */
function cause(c: GateCause | undefined): string {
  if (!c) return "";
  const title = `<h3>${h(causeTitle(c))}</h3>`;
  if (c.status === "not-profiled") return `${title}<p>${h(notProfiledText(c))}</p>`;
  const links = causeLinks(c)
    .map((l) => `<a href="${h(l.href)}">${h(l.label)}</a>`)
    .join(" · ");
  const rows = c.grew.length
    ? table(c.grew, grewDimensions(c), () => "worse")
    : `<p>${h(`No function's time per ${c.unit} grew.`)}</p>`;
  const missing = c.diff ? "" : `<p class="muted">${h(diffNoteText(c))}</p>`;
  return `${title}<p>${links}</p>${missing}${rows}<p class="muted">${h(grewNote(c))}</p>`;
}

const plan: Section = (r) => `<p class="muted">${h(`${planText(r).replace(/\*\*/g, "")} Started ${r.startedAt}.`)}</p>`;

// the pack's headline (against baseline) says nothing of two revisions of one variant
const headline: Section = (r, ctx) => {
  const rows = (r.summary.targets ?? []).filter((t) => t.kind === "headline");
  if (!rows.length || ctx.gate) return "";
  return `<h2>Headline: the guide's &gt;2× throughput and lower p95</h2>${table(rows, targetDimensions, (t) => `st-${t.status}`)}<p class="muted">${h(claimNote(rows))}</p>`;
};

const throughput: Section = (_r, _ctx, figs) =>
  figs.throughput
    ? `<h2>Throughput per variant (median bars, rounds as dots, 95% intervals)</h2><div class="grid">${figs.throughput}</div>`
    : "";

const percentiles: Section = (_r, _ctx, figs) =>
  figs.lines ? `<h2>Latency percentiles</h2><div class="grid">${figs.lines}</div>` : "";

const bars: Section = (_r, _ctx, figs) =>
  figs.bars ? `<h2>More per variant</h2><div class="grid">${figs.bars}</div>` : "";

const soak: Section = (r, _ctx, figs) => {
  const text = soakSummary(r);
  if (!text) return "";
  return `<h2>Soak: memory and GC over time</h2><p>${h(text)}</p><div class="grid">${figs.soak}</div>${table(soakSeries(r, 60), soakDimensions)}`;
};

const medians: Section = (r) => {
  const variants = r.plan.variants.map((x) => x.name);
  const tables = r.plan.scenarios
    .filter((sc) => (r.plan.headlines?.[sc] ?? []).length > 0)
    .map((sc) => `<h3>${h(sc)}</h3>${table(variants, medianDimensions(r, sc))}`)
    .join("");
  if (!tables) return "";
  return `<h2>Medians per variant</h2>${tables}<p class="muted">failed: the share of requests that got no 2xx answer (non-2xx and transport errors); latency is of the successful answers.</p>`;
};

const failedTrials: Section = (r) => {
  const failed = r.trials.filter((t) => t.status === "failed");
  if (!failed.length) return "";
  return `<h2>Failed trials</h2><ul>${failed.map((t) => `<li>${h(failedTrialText(t))}</li>`).join("")}</ul>`;
};

const comparisons: Section = (r) => {
  const cs = r.summary.comparisons ?? [];
  if (!cs.length) return "";
  return `<h2>Comparisons</h2>${table(cs, comparisonDimensions, (c) => c.direction)}<p class="muted">${h(methodNote(cs))} ${h(readingNote(cs))} ◆ = tested by the gate.</p>`;
};

const targets: Section = (r) => {
  const rows = (r.summary.targets ?? []).filter((t) => t.kind === "table");
  if (!rows.length) return "";
  const pivot = targetTable(rows);
  const failing = (row: (typeof pivot.rows)[number]) =>
    [...row.byVariant.values()].some((t) => t.status === "fail") ? "st-fail" : "";
  const notes = pivot.rows
    .filter((row) => row.note)
    .map((row) => `<p class="muted">${h(row.label)}: ${h(row.note!)}</p>`)
    .join("");
  return `<h2>The guide's targets table</h2>${table(pivot.rows, pivot.dims, failing)}${notes}${capacity(r)}`;
};

/** run --capacity: after the targets table, whose throughput rows it judges. */
const capacity = (r: Results): string => {
  const c = r.capacity;
  if (!c) return "";
  const link = `<a href="${h(c.folder)}/report.html">${h(c.folder)}/report.html</a>`;
  return `<h2>Capacity at the SLO (run --capacity)</h2>${table(c.searches, runCapacityDimensions, () => "")}<p class="muted">${h(runCapacityNote(c)).replace(h(`${c.folder}/report.html`), link)}</p>`;
};

const allocation: Section = (r) => {
  const rows = allocationRows(r);
  if (!rows.length) return "";
  const a = r.allocation!;
  const tops = rows
    .filter((row) => allocationTopText(row))
    .map((row) => `<p>${h(row.variant)}, most objects allocated by: ${h(allocationTopText(row))}</p>`)
    .join("");
  return `<h2>Allocation pass (${h(a.scenario)} scenario's load, ${a.durationS} s)</h2>${table(rows, allocationDimensions, () => "")}<p class="muted">${h(a.method)}</p>${tops}`;
};

const hotPath: Section = (_r, ctx) => (ctx.hotPath ? `<h2>Hot path (self time)</h2><pre>${h(ctx.hotPath)}</pre>` : "");

const profiles: Section = (_r, ctx) =>
  ctx.links?.length
    ? `<h2>Flamegraphs and profiles</h2><ul>${ctx.links.map((l) => `<li><a href="${h(l.href)}">${h(l.label)}</a></li>`).join("")}</ul>`
    : "";

const SECTIONS: readonly Section[] = [
  verdict,
  gate,
  plan,
  headline,
  throughput,
  percentiles,
  bars,
  soak,
  medians,
  failedTrials,
  comparisons,
  targets,
  allocation,
  hotPath,
  profiles,
];

/** The chart data for the page's script (with `<` escaped, so it cannot close its script tag), Chart.js, and the script. */
const scripts = (
  d: ReturnType<typeof chartData>,
) => `<script id="perfpack-data" type="application/json">${JSON.stringify(d).replace(/</g, "\\u003c")}</script>
<script>${chartLibrary()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;

/** One self-contained HTML file: tables, and charts drawn by Chart.js (inlined), offline. */
export const html: Exporter = {
  format: "html",
  file: "report.html",
  render(r: Results, ctx: ReportContext) {
    const d = chartData(r, ctx.gate);
    const figs = figures(d);
    return [head(r), ...SECTIONS.map((section) => section(r, ctx, figs)), scripts(d)].join("\n");
  },
};
