/**
 * flame/diff.html: a differential flamegraph of two profiles, one self-contained page that works
 * offline like report.html. d3-flame-graph and the d3 modules it needs are inlined (their UMD
 * builds, in dependency order); what it draws is a JSON block (`flame-diff-data`) computed by
 * profile/diff-tree.ts, so the page's script holds no arithmetic and a test can read the data.
 *
 * Two views of one merged tree, per unit of work: the candidate's stacks at their widths coloured
 * by the change against the reference (Brendan Gregg's differential flame graph), and the negated
 * view, the reference's stacks coloured by the same change, where code the candidate no longer
 * runs shows (blue).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import type { ScenarioResult } from "../../scenarios/contract.js";
import { h } from "./html.js";

export type WorkUnit = ScenarioResult["workUnit"];

/** A frame's time per unit of work in one profile, µs: on top of the stack (self) and with its callees (total). */
export interface FrameTime {
  self: number;
  total: number;
}

/** A frame of a view (d3-flame-graph's node shape: name, value, children). */
export interface FlameDiffNode {
  name: string;
  /** The width: the drawn profile's total time per unit, µs (the candidate's, or the reference's in the negated view). */
  value: number;
  /**
   * The colour's source, µs per unit: the candidate's self time minus the reference's, with (for a
   * frame of the application or its dependencies) that of the built-ins it calls (profile/diff-tree.ts).
   */
  delta: number;
  /** Red (more), blue (less) or grey (no change), deeper for a bigger change. */
  colour: string;
  a: FrameTime;
  b: FrameTime;
  children: FlameDiffNode[];
}

/**
 * A function's self time per unit of work in both profiles (summed over every stack it is on top
 * of, with what it runs of builtins, native code and Node's own: performance.now, writev), µs.
 */
export interface FrameChange {
  frame: string;
  aPerUnit: number;
  bPerUnit: number;
  /** bPerUnit − aPerUnit */
  change: number;
}

export interface FlameDiffArm {
  name: string;
  /** The units of work the load completed while the profile recorded. */
  units: number;
  samples: number;
  /** Sampled (non-idle) time per unit, µs. */
  perUnit: number;
  /** Only the load's window was kept (else the whole profile, start-up included). */
  windowed: boolean;
  /** The samples' time (sampledMs) was scaled to the main thread's CPU time measured over the window (cpuMs). */
  scaled?: { sampledMs: number; cpuMs: number };
}

/** Everything the page draws, as its `flame-diff-data` block holds it. */
export interface FlameDiffData {
  schema: "perfpack/flame-diff@1";
  reference: FlameDiffArm;
  candidate: FlameDiffArm;
  unit: WorkUnit;
  /** What the samples are (the tool and its file), for the page's note. */
  source?: string;
  /** The largest |delta| of any frame: the full-intensity colour. */
  maxDelta: number;
  /** Frames narrower than this share of their view's root are left out (they would be under a pixel). */
  minShare: number;
  views: { diff: FlameDiffNode; negated: FlameDiffNode };
  /** Functions whose self time per unit grew the most, biggest first; and those that shrank the most. */
  grew: FrameChange[];
  shrank: FrameChange[];
}

const require = createRequire(import.meta.url);

/** A package's folder, found from `from`'s (its dependant's) folder, as Node resolves it there. */
function packageDir(name: string, from: string): string {
  let dir = dirname(createRequire(join(from, "package.json")).resolve(name));
  while (basename(dir) !== name && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The d3 modules d3-flame-graph's UMD build reads from the global `d3`, each after what it needs, with the package that depends on it. */
const D3_MODULES: ReadonlyArray<[string, string]> = [
  ["d3-array", "d3-flame-graph"],
  ["d3-color", "d3-transition"],
  ["d3-interpolate", "d3-scale"],
  ["d3-format", "d3-flame-graph"],
  ["d3-time", "d3-scale"],
  ["d3-time-format", "d3-scale"],
  ["d3-scale", "d3-flame-graph"],
  ["d3-dispatch", "d3-flame-graph"],
  ["d3-timer", "d3-transition"],
  ["d3-ease", "d3-flame-graph"],
  ["d3-selection", "d3-flame-graph"],
  ["d3-transition", "d3-flame-graph"],
  ["d3-hierarchy", "d3-flame-graph"],
];

let library: string | undefined;
/** d3-flame-graph's UMD build (its CSS inside) after the d3 modules' UMD builds, resolved where npm put them. */
function flameGraphLibrary(): string {
  if (library) return library;
  const fg = dirname(dirname(require.resolve("d3-flame-graph")));
  const dirs = new Map<string, string>([["d3-flame-graph", fg]]);
  const dirOf = (name: string, via: string): string => {
    const d = dirs.get(name) ?? packageDir(name, dirs.get(via) ?? packageDir(via, fg));
    dirs.set(name, d);
    return d;
  };
  const parts = D3_MODULES.map(([name, via]) => readFileSync(join(dirOf(name, via), "dist", `${name}.min.js`), "utf8"));
  parts.push(readFileSync(join(fg, "dist", "d3-flamegraph.umd.min.js"), "utf8"));
  // a module's last line may be a comment (a source map's): each starts on a line of its own
  return (library = parts.join(";\n"));
}

/** A time per unit, µs, for the page's prose. */
export function perUnitText(us: number): string {
  const a = Math.abs(us);
  return a >= 1000 ? `${(us / 1000).toFixed(2)} ms` : a >= 10 ? `${us.toFixed(1)} µs` : `${us.toFixed(2)} µs`;
}

const scaledText = (s: FlameDiffArm["scaled"]): string =>
  s
    ? ` (${s.sampledMs.toLocaleString("en-US")} ms of samples scaled to the ${s.cpuMs.toLocaleString("en-US")} ms of main-thread CPU measured over the load)`
    : "";

const armText = (x: FlameDiffArm, unit: WorkUnit): string =>
  `${h(x.name)}: ${x.units.toLocaleString("en-US")} ${unit}s, ${x.samples.toLocaleString("en-US")} samples, ${perUnitText(x.perUnit)} per ${unit}${scaledText(x.scaled)}${x.windowed ? "" : " (whole profile, start-up included)"}`;

const changeRows = (rows: readonly FrameChange[]): string =>
  rows
    .map(
      (r) =>
        `<tr><td><code>${h(r.frame)}</code></td><td>${perUnitText(r.aPerUnit)}</td><td>${perUnitText(r.bPerUnit)}</td><td>${r.change > 0 ? "+" : "−"}${perUnitText(Math.abs(r.change))}</td></tr>`,
    )
    .join("");

function changeTable(title: string, rows: readonly FrameChange[], d: FlameDiffData): string {
  if (!rows.length) return "";
  const head = `<tr><th>function</th><th>${h(d.reference.name)}</th><th>${h(d.candidate.name)}</th><th>change</th></tr>`;
  return `<h2>${h(title)}</h2><table>${head}${changeRows(rows)}</table>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:16px 20px;color:#222}h1{font-size:20px;margin:0 0 6px}
h2{font-size:16px;margin:20px 0 6px}p{margin:4px 0}.muted{color:#666;font-size:13px}
.bar{display:flex;gap:8px;align-items:center;margin:10px 0}button{font-size:14px;padding:4px 10px;cursor:pointer}
button[aria-pressed=true]{background:#333;color:#fff}#details{min-height:18px;font-size:13px;color:#333}
.key span{display:inline-block;width:14px;height:12px;vertical-align:middle;margin:0 3px 0 10px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}body .d3-flame-graph-tip{font-size:12px;z-index:10;width:max-content;background:#000;color:#fff;padding:5px 10px;border-radius:3px}
body .d3-flame-graph-tip td{border:0;padding:1px 6px;white-space:nowrap}`;

/** The page: the header says what the widths and colours are, then the two views behind one toggle, then the tables of change. */
export function renderFlameDiffHtml(d: FlameDiffData): string {
  const { reference: a, candidate: b, unit } = d;
  const title = `Differential flamegraph: ${a.name} → ${b.name}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${h(title)}</title><style>${STYLE}</style></head><body>
<h1>${h(title)}</h1>
<p>Per ${unit} of work, not per second: each profile's time is divided by the ${unit}s its load completed, so arms that served different rates compare. Widths: <b id="width-of">${h(b.name)}</b>'s CPU time per ${unit}. Colour: the change of each function's own time per ${unit}, with the Node and V8 built-ins it calls counted to it (a built-in frame: its own), ${h(b.name)} against ${h(a.name)}<span class="key"><span style="background:rgb(255,60,60)"></span>more<span style="background:rgb(60,60,255)"></span>less<span style="background:rgb(220,220,220)"></span>no change</span>; the deepest colour is ±${perUnitText(d.maxDelta)} per ${unit}.</p>
<p class="muted">${armText(a, unit)}. ${armText(b, unit)}.${d.source ? ` Samples: ${h(d.source)}.` : ""} Frames under ${(d.minShare * 100).toFixed(2)}% of a view are left out. Click a frame to zoom, hover for its times.</p>
<div class="bar"><button id="view-diff" aria-pressed="true">${h(b.name)}, coloured by its change</button><button id="negate" aria-pressed="false">negated: ${h(a.name)}, coloured by ${h(b.name)}'s change</button><input id="search" placeholder="search functions" size="28"><button id="reset">reset zoom</button></div>
<div id="details"></div>
<div id="chart"></div>
${changeTable(`Grew: self time per ${unit}, ${b.name} against ${a.name}`, d.grew, d)}
${changeTable(`Shrank: self time per ${unit}`, d.shrank, d)}
${d.grew.length || d.shrank.length ? `<p class="muted">Self time of each function over all its stacks, with what it runs of builtins, native code and Node's own (performance.now, writev, TLS …) counted to it, so a loop that spins on a builtin is named by its own function. The graph and hot-path-diff.md keep every frame apart.</p>` : ""}
<script id="flame-diff-data" type="application/json">${JSON.stringify(d).replace(/</g, "\\u003c")}</script>
<script>${flameGraphLibrary()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Draws the chosen view; the toggle re-reads the data, so a zoom in one view leaves no marks on the other. */
const PAGE_SCRIPT = String.raw`(function () {
  var raw = document.getElementById("flame-diff-data").textContent;
  var data = JSON.parse(raw);
  var unit = data.unit;
  var esc = function (s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); };
  var t = function (us) { var a = Math.abs(us); return a >= 1000 ? (us / 1000).toFixed(2) + " ms" : a >= 10 ? us.toFixed(1) + " µs" : us.toFixed(2) + " µs"; };
  var signed = function (x) { return (x > 0 ? "+" : x < 0 ? "−" : "±") + t(Math.abs(x)); };
  var rel = function (b, a) { return a > 0 ? " (" + (b >= a ? "+" : "−") + Math.abs((b / a - 1) * 100).toFixed(0) + "%)" : b > 0 ? " (new)" : ""; };
  var row = function (label, a, b) { return "<tr><td>" + label + "</td><td>" + t(a) + "</td><td>" + t(b) + "</td><td>" + signed(b - a) + rel(b, a) + "</td></tr>"; };
  var tipHtml = function (d) {
    var n = d.data;
    return "<b>" + esc(n.name) + "</b><table><tr><td>per " + unit + "</td><td>" + esc(data.reference.name) + "</td><td>" + esc(data.candidate.name) + "</td><td>change</td></tr>" +
      row("self", n.a.self, n.b.self) + row("total", n.a.total, n.b.total) + "</table>" +
      (Math.abs(n.delta - (n.b.self - n.a.self)) > 0.005 ? "<div>coloured by " + signed(n.delta) + ": its own change with the built-ins it calls</div>" : "");
  };
  var label = function (d) {
    var n = d.data;
    return n.name + ": self " + t(n.a.self) + " → " + t(n.b.self) + " per " + unit + " (" + signed(n.b.self - n.a.self) + "), total " + t(n.a.total) + " → " + t(n.b.total);
  };
  // a tooltip of its own: the library's measures itself while hidden (width 0), so it never flips left at the edge
  var tipEl = document.createElement("div");
  tipEl.className = "d3-flame-graph-tip";
  tipEl.style.cssText = "position:absolute;display:none;pointer-events:none";
  document.body.appendChild(tipEl);
  var tip = function () {};
  tip.show = function (event, d) {
    tipEl.innerHTML = tipHtml(d);
    tipEl.style.display = "block";
    var left = event.pageX + 8, top = event.pageY + 8;
    if (left + tipEl.offsetWidth > window.scrollX + window.innerWidth) left = event.pageX - tipEl.offsetWidth - 8;
    if (top + tipEl.offsetHeight > window.scrollY + window.innerHeight) top = event.pageY - tipEl.offsetHeight - 8;
    tipEl.style.left = Math.max(5, left) + "px";
    tipEl.style.top = Math.max(5, top) + "px";
    return tip;
  };
  tip.hide = function () { tipEl.style.display = "none"; return tip; };
  var chart = (flamegraph.default || flamegraph.flamegraph)()
    .width(Math.max(600, document.getElementById("chart").clientWidth))
    .cellHeight(18)
    .transitionDuration(300)
    .minFrameSize(1)
    .sort(true)
    .tooltip(tip)
    .setLabelHandler(label)
    .setColorMapper(function (d, original) { return d.highlight ? original : d.data.colour; })
    .setDetailsElement(document.getElementById("details"));
  var view = "diff";
  var show = function (v) {
    view = v;
    var fresh = JSON.parse(raw).views[v];
    document.getElementById("view-diff").setAttribute("aria-pressed", String(v === "diff"));
    document.getElementById("negate").setAttribute("aria-pressed", String(v === "negated"));
    document.getElementById("width-of").textContent = v === "diff" ? data.candidate.name : data.reference.name;
    document.body.setAttribute("data-view", v);
    if (!document.querySelector("#chart svg")) d3.select("#chart").datum(fresh).call(chart);
    else chart.update(fresh);
  };
  document.getElementById("view-diff").onclick = function () { if (view !== "diff") show("diff"); };
  document.getElementById("negate").onclick = function () { show(view === "diff" ? "negated" : "diff"); };
  document.getElementById("reset").onclick = function () { chart.resetZoom(); };
  document.getElementById("search").oninput = function (e) { var q = e.target.value; if (q) chart.search(q.replace(/[.*+?^$\{\}()|[\]\\]/g, "\\$&")); else chart.clear(); };
  show("diff");
})();`;
