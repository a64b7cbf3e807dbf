/**
 * report.html of a capacity job: the tables of report.md and, per scenario, the curve (each
 * variant's p50, p95 and p99 with their intervals against the achieved rate, the SLO line and each
 * variant's capacity) and CPU per unit against the rate. One file, Chart.js inlined: works offline.
 * What the charts draw is in a `capacity-data` JSON block, computed here; the page holds no statistics.
 */
import type { CapacityDocument, CapacityStepRecord, Interval } from "../results/capacity.js";
import {
  RATIO_NOTE,
  TARGETS_NOTE,
  capacityTargetDimensions,
  achievedLevel,
  capacityDimensions,
  capacityNotes,
  machineText,
  ratioSentence,
  scenarioText,
  scenarioViews,
  searchText,
  seedText,
  stepDimensions,
  stepRows,
  unreachedScenarios,
  uslDisagreements,
  variantText,
  isLowerBound,
  type ScenarioView,
} from "./capacity-format.js";
import { fmt } from "./format.js";
import { chartLibrary, h, table } from "./html.js";
import { sloText } from "../plan/slo.js";

/** A step as drawn: x is what it achieved (the scenario's unit), each percentile its interval across windows. */
interface CurvePoint {
  seq: number;
  level: number;
  x: number;
  call: CapacityStepRecord["call"]["call"];
  p50: Interval | null;
  p95: Interval | null;
  p99: Interval | null;
  cpu: number | null;
}

const pointOf = (s: CapacityStepRecord): CurvePoint => ({
  seq: s.seq,
  level: s.level,
  x: achievedLevel(s),
  call: s.call.call,
  p50: s.summary.p50 ?? null,
  p95: s.summary.p95 ?? null,
  p99: s.summary.p99 ?? null,
  cpu: s.summary.cpuPerUnit ?? null,
});

/**
 * The x axis's end: a little right of the last point, rounded up to a half power of ten, so the
 * axis's ticks stay round and the SLO line (drawn from 0 to here) spans it.
 */
function axisEnd(x: number): number {
  const end = x * 1.05;
  const step = 10 ** Math.floor(Math.log10(end)) / 2;
  return Math.ceil(end / step) * step;
}

/** One scenario's charts: a series per variant (its steps by level), the SLO line, the capacity marks. */
function curveOf(v: ScenarioView) {
  const series = v.searches.map((r) => ({
    variant: r.variant,
    points: [...r.steps].sort((a, b) => a.level - b.level).map(pointOf),
  }));
  const marks = v.searches
    .filter((r) => r.capacity !== undefined)
    .map((r) => ({
      variant: r.variant,
      x: r.capacity!,
      lowerBound: isLowerBound(r),
      label: `${r.variant}: ${isLowerBound(r) ? "≥ " : ""}${fmt(r.capacity)} ${r.unit}`,
    }));
  const xs = [...series.flatMap((s) => s.points.map((p) => p.x)), ...marks.map((m) => m.x)];
  // the y axis holds every interval whole and the SLO line (Chart.js sizes it by the estimates alone)
  const intervals = series.flatMap((s) => s.points.flatMap((p) => [p.p50, p.p95, p.p99])).filter((i) => i !== null);
  return {
    scenario: v.scenario,
    unit: v.unit,
    slo: { label: v.slo.label, maxMs: v.slo.maxMs },
    xMax: axisEnd(Math.max(1, ...xs)),
    yMin: Math.min(v.slo.maxMs, ...intervals.map((i) => i.lo)),
    yMax: Math.max(v.slo.maxMs, ...intervals.map((i) => i.hi)),
    series,
    marks,
  };
}

/** What the page's script draws, per scenario. */
const capacityChartData = (doc: CapacityDocument) => ({ scenarios: scenarioViews(doc).map(curveOf) });

const PAGE_SCRIPT = `
const D = JSON.parse(document.getElementById("capacity-data").textContent);
const palette = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"];
const SLO_COLOR = "#e15759";
const CALL_STYLE = { pass: "circle", fail: "crossRot", "at-line": "triangle", more: "rect" };
Chart.defaults.animation = false;
let next = 0;
// the page carries one <canvas id="capacity-chart-N"> per chart, in the order drawn here
function canvas() {
  return document.getElementById("capacity-chart-" + next++);
}
// over the datasets: each point's interval as an error bar, and each variant's capacity as a dashed vertical line
function overlay(marks) {
  return {
    id: "capacityOverlay",
    afterDatasetsDraw(chart) {
      const { ctx, scales, chartArea: a } = chart;
      ctx.save();
      chart.data.datasets.forEach((ds, i) => {
        if (!ds.errorBars || !chart.isDatasetVisible(i)) return;
        ctx.strokeStyle = ds.borderColor;
        ctx.lineWidth = 1;
        ctx.setLineDash([]);
        chart.getDatasetMeta(i).data.forEach((el, j) => {
          const p = ds.data[j];
          const top = scales.y.getPixelForValue(p.hi);
          const bottom = scales.y.getPixelForValue(p.lo);
          ctx.beginPath();
          ctx.moveTo(el.x, top); ctx.lineTo(el.x, bottom);
          ctx.moveTo(el.x - 3, top); ctx.lineTo(el.x + 3, top);
          ctx.moveTo(el.x - 3, bottom); ctx.lineTo(el.x + 3, bottom);
          ctx.stroke();
        });
      });
      marks.forEach((m, k) => {
        const px = scales.x.getPixelForValue(m.x);
        ctx.strokeStyle = ctx.fillStyle = m.color;
        ctx.lineWidth = 2;
        ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(px, a.top); ctx.lineTo(px, a.bottom); ctx.stroke();
        ctx.font = "12px system-ui, sans-serif";
        // the label right of its line, or left of it where it would leave the plot
        const text = "capacity " + m.label;
        const left = px + 4 + ctx.measureText(text).width > a.right;
        ctx.textAlign = left ? "right" : "left";
        ctx.fillText(text, left ? px - 4 : px + 4, a.top + 14 + 14 * k);
      });
      ctx.restore();
    },
  };
}
const colorOf = (c, variant) => palette[c.series.findIndex((s) => s.variant === variant) % palette.length];
const xAxis = (c) => ({ type: "linear", min: 0, max: c.xMax, title: { display: true, text: "achieved " + c.unit } });
const pointStyle = (ctx) => CALL_STYLE[ctx.raw && ctx.raw.call] || "circle";
for (const c of D.scenarios) {
  const marks = c.marks.map((m) => ({ ...m, color: colorOf(c, m.variant) }));
  const datasets = [];
  c.series.forEach((s, i) => {
    const color = palette[i % palette.length];
    for (const [k, dash, radius] of [["p50", [2, 3], 3], ["p95", [], 4], ["p99", [8, 4], 3]]) {
      const data = s.points.filter((p) => p[k]).map((p) => ({ x: p.x, y: p[k].estimate, lo: p[k].lo, hi: p[k].hi, call: p.call }));
      datasets.push({ label: s.variant + " " + k, data, showLine: true, errorBars: true, borderColor: color, backgroundColor: color, borderDash: dash, pointRadius: radius, pointStyle });
    }
  });
  datasets.push({ label: "SLO: " + c.slo.label + " < " + c.slo.maxMs + " ms", data: [{ x: 0, y: c.slo.maxMs }, { x: c.xMax, y: c.slo.maxMs }], showLine: true, borderColor: SLO_COLOR, backgroundColor: SLO_COLOR, borderWidth: 2, borderDash: [8, 4], pointRadius: 0 });
  new Chart(canvas(), {
    type: "scatter",
    data: { datasets },
    options: { scales: { x: xAxis(c), y: { type: "logarithmic", suggestedMin: c.yMin, suggestedMax: c.yMax, title: { display: true, text: "ms (interval across windows)" } } } },
    plugins: [overlay(marks)],
  });
  new Chart(canvas(), {
    type: "scatter",
    data: { datasets: c.series.map((s, i) => ({ label: s.variant, data: s.points.filter((p) => p.cpu !== null).map((p) => ({ x: p.x, y: p.cpu, call: p.call })), showLine: true, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointStyle })) },
    options: { scales: { x: xAxis(c), y: { beginAtZero: true, title: { display: true, text: "executor CPU µs per unit of work" } } } },
    plugins: [overlay(marks)],
  });
}
document.body.dataset.charts = String(Object.keys(Chart.instances).length);
`;

const head = (doc: CapacityDocument) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perfpack capacity ${h(doc.runId)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem;margin-top:1.4rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left;font-variant-numeric:tabular-nums;vertical-align:top}
th{background:#f6f6f6}.capacity td:nth-child(-n+4){white-space:nowrap}.steps{overflow-x:auto}.steps table{font-size:13px}.steps td:last-child{min-width:14rem}tr.call-fail td{color:#9b1c1c}tr.call-at-line td{color:#7a5b00}
.warn{background:#fdf3d8;color:#7a5b00;padding:.4rem .8rem;border-radius:6px}.fail{background:#fbe3e3;color:#9b1c1c;padding:.4rem .8rem;border-radius:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
.muted{color:#666}pre{background:#f6f6f6;padding:.5rem;overflow:auto}
</style></head><body>
<h1>perfpack capacity ${h(doc.runId)}</h1>`;

function plan(doc: CapacityDocument): string {
  const variants = doc.plan.variants.map((v) => `<li><code>${h(v.name)}</code>: ${h(variantText(v))}</li>`).join("");
  const scenarios = [
    ...scenarioViews(doc).map((v) => `<li>${h(scenarioText(v))}</li>`),
    ...unreachedScenarios(doc).map((s) => `<li>${h(s)}: not reached</li>`),
  ].join("");
  return (
    `<p class="muted">${h(machineText(doc))}</p>` +
    (doc.interrupted ? `<p class="warn">Interrupted: only finished steps are counted.</p>` : "") +
    `<h2>Plan</h2><p>Variants:</p><ul>${variants}</ul><p>Scenarios:</p><ul>${scenarios}</ul><p>${h(searchText(doc))}</p>`
  );
}

/** The two charts of a scenario, their canvases numbered from `n` in the order the page's script draws them. */
function figures(v: ScenarioView, n: number): string {
  const fig = (id: number, title: string) =>
    `<figure><figcaption>${h(title)}</figcaption><canvas id="capacity-chart-${id}" role="img" aria-label="${h(title)}"></canvas></figure>`;
  return `<div class="grid">${fig(n, `${v.scenario}: latency against achieved ${v.unit} (p50, p95, p99 with their intervals across windows), the SLO line and each variant's capacity`)}${fig(n + 1, `${v.scenario}: CPU per unit of work against achieved ${v.unit}`)}</div>`;
}

function scenario(doc: CapacityDocument, v: ScenarioView, n: number): string {
  const seeds = seedText(v);
  const failures = v.searches
    .filter((r) => r.ended === "failed")
    .map(
      (r) =>
        `<p class="fail">${h(r.variant)} failed: ${h(r.error ?? "no error recorded")}</p>${r.logTail ? `<pre>${h(r.logTail)}</pre>` : ""}`,
    )
    .join("");
  const ratios = v.ratios.length
    ? v.ratios.map((q) => `<li>${h(ratioSentence(doc, q))}</li>`).join("")
    : "<li>no candidate to compare with the reference</li>";
  return (
    `<section class="scenario" data-scenario="${h(v.scenario)}"><h2>${h(v.scenario)} (SLO ${h(sloText(v.slo))})</h2>` +
    `<h3>Capacity per variant</h3><div class="capacity">${table(v.searches, capacityDimensions)}</div>` +
    (seeds ? `<p class="muted">${h(seeds)}</p>` : "") +
    uslDisagreements(v.searches)
      .map((s) => `<p class="warn">${h(s)}</p>`)
      .join("") +
    failures +
    `<h3>The capacity ratio</h3><ul class="ratios">${ratios}</ul><p class="muted">${h(RATIO_NOTE)}</p>` +
    `<h3>The curve</h3>${figures(v, n)}` +
    `<h3>Steps, in the order measured</h3><div class="steps">${table(stepRows(v), stepDimensions(v), (r) => `call-${r.step.call.call}`)}</div></section>`
  );
}

/** report.html of a capacity job: one self-contained page (Chart.js inlined), offline. */
export function capacityHtml(doc: CapacityDocument): string {
  const data = capacityChartData(doc);
  const notes = capacityNotes()
    .map((n) => `<li>${h(n.replace(/`/g, ""))}</li>`)
    .join("");
  return [
    head(doc),
    plan(doc),
    ...scenarioViews(doc).map((v, i) => scenario(doc, v, 2 * i)),
    doc.targets.length
      ? `<h2>The guide's throughput targets, on the capacities</h2><div class="targets">${table(doc.targets, capacityTargetDimensions)}</div><p class="muted">${h(TARGETS_NOTE.replace(/`/g, ""))}</p>`
      : "",
    `<h2>Notes</h2><ul class="muted">${notes}</ul>`,
    // `<` escaped, so the data cannot close its script tag
    `<script type="application/json" id="capacity-data">${JSON.stringify(data).replace(/</g, "\\u003c")}</script>`,
    `<script>${chartLibrary()}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    "</body></html>",
    "",
  ].join("\n");
}
