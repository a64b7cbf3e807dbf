/**
 * The reports of a capacity job (capacity.json): report.md, report.html (capacity-html.ts) and the
 * terminal summary. Pure functions from the document to text.
 */
import type { ChalkInstance } from "chalk";
import type { CapacityDocument, CapacitySearchRecord } from "../results/capacity.js";
import { STATUS_TEXT, type Dimension } from "./format.js";
import {
  RATIO_NOTE,
  TARGETS_NOTE,
  capacityTargetDimensions,
  bracketText,
  capacityDimensions,
  capacityNotes,
  capacityText,
  earlyText,
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
  type ScenarioView,
} from "./capacity-format.js";
import { sloText } from "../plan/slo.js";

export { capacityHtml } from "./capacity-html.js";

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function markdownTable<T>(rows: readonly T[], dims: readonly Dimension<T>[]): string {
  const head = `| ${dims.map((d) => esc(d.label)).join(" | ")} |`;
  const sep = `|${dims.map(() => "---").join("|")}|`;
  return [head, sep, ...rows.map((r) => `| ${dims.map((d) => esc(d.format(r))).join(" | ")} |`)].join("\n");
}

function planLines(doc: CapacityDocument): string[] {
  const unreached = unreachedScenarios(doc);
  return [
    `# perfpack capacity ${doc.runId}`,
    "",
    machineText(doc),
    "",
    ...(doc.interrupted ? ["**Interrupted**: only finished steps are counted.", ""] : []),
    "## Plan",
    "",
    "Variants:",
    "",
    ...doc.plan.variants.map((v) => `- \`${v.name}\`: ${variantText(v)}`),
    "",
    "Scenarios:",
    "",
    ...scenarioViews(doc).map((v) => `- ${scenarioText(v)}`),
    ...unreached.map((s) => `- ${s}: not reached`),
    "",
    searchText(doc),
    "",
  ];
}

/** A failed search's error and the service's last lines. */
const failureLines = (r: CapacitySearchRecord): string[] =>
  r.ended !== "failed"
    ? []
    : [
        `**${r.variant} failed**: ${r.error ?? "no error recorded"}`,
        "",
        ...(r.logTail ? ["```", r.logTail, "```", ""] : []),
      ];

function scenarioLines(doc: CapacityDocument, v: ScenarioView): string[] {
  const seeds = seedText(v);
  const disagree = uslDisagreements(v.searches);
  return [
    `## ${v.scenario} (SLO ${sloText(v.slo)})`,
    "",
    "### Capacity per variant",
    "",
    markdownTable(v.searches, capacityDimensions),
    "",
    ...(seeds ? [seeds, ""] : []),
    ...disagree.flatMap((s) => [s, ""]),
    ...v.searches.flatMap(failureLines),
    "### The capacity ratio",
    "",
    ...(v.ratios.length
      ? v.ratios.map((q) => `- ${ratioSentence(doc, q)}`)
      : ["- no candidate to compare with the reference"]),
    "",
    RATIO_NOTE,
    "",
    "### Steps, in the order measured",
    "",
    markdownTable(stepRows(v), stepDimensions(v)),
    "",
  ];
}

/** report.md of a capacity job: the plan, per scenario the capacities, the ratio and the steps, and how to read them. */
export function capacityMarkdown(doc: CapacityDocument): string {
  return [
    ...planLines(doc),
    ...scenarioViews(doc).flatMap((v) => scenarioLines(doc, v)),
    ...(doc.targets.length
      ? [
          "## The guide's throughput targets, on the capacities",
          "",
          markdownTable(doc.targets, capacityTargetDimensions),
          "",
          TARGETS_NOTE,
          "",
        ]
      : []),
    "## Notes",
    "",
    ...capacityNotes().flatMap((n) => [`- ${n}`]),
    "",
  ].join("\n");
}

/** One scenario in the terminal: a line per variant, the ratios, and what ended early. */
function scenarioTerminal(doc: CapacityDocument, v: ScenarioView, paint: ChalkInstance): string[] {
  const width = Math.max(...v.searches.map((r) => r.variant.length));
  const capWidth = Math.max(...v.searches.map((r) => capacityText(r).length));
  const rows = v.searches.map((r) => {
    const cap = capacityText(r).padEnd(capWidth);
    return `  ${r.variant.padEnd(width)}  ${r.capacity === undefined ? paint.red(cap) : paint.bold(cap)}  bracket ${bracketText(r)}`;
  });
  const early = v.searches.map(earlyText).filter((t) => t !== undefined);
  const note = early.length ? [paint.yellow(`  note: ${early.join("; ")}`)] : [];
  return [
    `capacity · ${v.scenario} (SLO ${sloText(v.slo)})`,
    ...rows,
    ...v.ratios.map((q) => `  ${q.ratio === undefined ? paint.yellow(ratioSentence(doc, q)) : ratioSentence(doc, q)}`),
    ...note,
  ];
}

/** The terminal summary of a capacity job: per scenario, capacity per variant with its bracket, the ratio, what ended early. */
export function capacityTerminal(doc: CapacityDocument, paint: ChalkInstance): string {
  const lines = scenarioViews(doc).flatMap((v) => scenarioTerminal(doc, v, paint));
  for (const t of doc.targets)
    lines.push(
      `${STATUS_TEXT[t.status]}  ${t.label}: ${capacityTargetDimensions[1]!.format(t)}, needs ${t.requirement} (${t.variant}; ${t.definition})`,
    );
  if (doc.interrupted) lines.push(paint.yellow("interrupted: only finished steps are counted"));
  const unreached = unreachedScenarios(doc);
  if (unreached.length) lines.push(paint.yellow(`not reached: ${unreached.join(", ")}`));
  return lines.join("\n");
}
