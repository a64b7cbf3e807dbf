import type { GateCause, Results } from "../results/schema.js";
import type { Exporter, ReportContext } from "./exporter.js";
import {
  allocationDimensions,
  runCapacityDimensions,
  runCapacityNote,
  allocationRows,
  allocationTopText,
  targetTable,
  claimNote,
  comparisonDimensions,
  medianDimensions,
  methodNote,
  readingNote,
  soakDimensions,
  soakSeries,
  soakSummary,
  targetDimensions,
  type Dimension,
} from "./format.js";
import { failedTrialText, gateLookTable, gateNote, gateOutcomeText, linkCell, planText } from "./format.js";
import { causeLinks, causeTitle, diffNoteText, grewDimensions, grewNote, notProfiledText } from "./gate-cause.js";

const esc = (s: string) => s.replace(/\|/g, "\\|");

function markdownTable<T>(rows: readonly T[], dims: readonly Dimension<T>[]): string {
  const head = `| ${dims.map((d) => d.label).join(" | ")} |`;
  const sep = `|${dims.map(() => "---").join("|")}|`;
  return [head, sep, ...rows.map((r) => `| ${dims.map((d) => esc(d.format(r))).join(" | ")} |`)].join("\n");
}

/** One section of the report as lines, ending in a blank one; none when it has nothing to say. */
type Section = (r: Results, ctx: ReportContext) => string[];

const title: Section = (r) => [`# perfpack run ${r.runId}`, ""];

// a gate run's verdict is the gate's decision (below); the run's own would contradict it
const verdict: Section = (r, ctx) => {
  const v = r.summary.verdict;
  if (!v || ctx.gate) return [];
  return [`**Verdict: ${v.pass ? "PASS" : "FAIL"}**${v.reasons.length ? ` — ${v.reasons.join("; ")}` : ""}`, ""];
};

/** A regression's cause: what grew per unit of work, linked to the differential flamegraph; or why it was not profiled. */
function cause(c: GateCause | undefined): string[] {
  if (!c) return [];
  if (c.status === "not-profiled") return [`### ${causeTitle(c)}`, "", notProfiledText(c), ""];
  return [
    `### ${causeTitle(c)}`,
    "",
    causeLinks(c)
      .map((l) => `[${l.label}](${l.href})`)
      .join(" · "),
    "",
    ...(c.diff ? [] : [diffNoteText(c), ""]),
    ...(c.grew.length
      ? [markdownTable(c.grew, grewDimensions(c)), ""]
      : [`No function's time per ${c.unit} grew.`, ""]),
    grewNote(c),
    "",
  ];
}

const gate: Section = (_r, { gate: g }) => {
  if (!g) return [];
  const looks = gateLookTable(g);
  return [
    `## Gate against ${g.baseline}: ${gateOutcomeText(g)}`,
    "",
    ...g.reasons.map((reason) => `- ${reason}`),
    ...(g.reasons.length ? [""] : []),
    ...cause(g.cause),
    "Look by look:",
    "",
    markdownTable(looks.rows, looks.dims),
    "",
    gateNote(g),
    "",
  ];
};

const plan: Section = (r) => [planText(r), ""];

// the pack's headline (against baseline) says nothing of two revisions of one variant
const headline: Section = (r, ctx) => {
  const rows = (r.summary.targets ?? []).filter((t) => t.kind === "headline");
  if (!rows.length || ctx.gate) return [];
  return [
    "## Headline: the guide's >2× throughput and lower p95",
    "",
    markdownTable(rows, targetDimensions),
    "",
    ...rows.filter((t) => t.note).map((t) => `- ${t.variant}, ${t.label}: ${t.note}`),
    "",
    claimNote(rows),
    "",
  ];
};

const comparisons: Section = (r) => {
  const cs = r.summary.comparisons ?? [];
  if (!cs.length) return [];
  return [
    `## Comparisons (candidate / reference, medians over rounds, paired by round)`,
    "",
    markdownTable(cs, comparisonDimensions),
    "",
    `${methodNote(cs)} ${readingNote(cs)} ◆ marks the metrics the regression gate tests.`,
    "",
  ];
};

const targets: Section = (r) => {
  const table = (r.summary.targets ?? []).filter((t) => t.kind === "table");
  if (!table.length) return [];
  const pivot = targetTable(table);
  // why a row was not measured, or what its figure is (the closed model's req/s is not a capacity)
  const unmeasured = pivot.rows.filter((row) => row.note);
  return [
    "## The guide's targets table",
    "",
    markdownTable(pivot.rows, pivot.dims),
    "",
    ...unmeasured.map((row) => `- ${row.label}: ${row.note}`),
    "",
  ];
};

const allocation: Section = (r) => {
  const rows = allocationRows(r);
  if (!rows.length) return [];
  const a = r.allocation!;
  return [
    `## Allocation pass (${a.scenario} scenario's load, ${a.durationS} s)`,
    "",
    markdownTable(rows, allocationDimensions),
    "",
    a.method,
    "",
    ...rows
      .filter((row) => allocationTopText(row))
      .map((row) => `- ${row.variant}, most objects allocated by: ${allocationTopText(row)}`),
    "",
  ];
};

const capacity: Section = (r) => {
  const c = r.capacity;
  if (!c) return [];
  return [
    "## Capacity at the SLO (run --capacity)",
    "",
    markdownTable(c.searches, runCapacityDimensions),
    "",
    runCapacityNote(c).replace(`${c.folder}/report.html`, `[${c.folder}/report.html](${c.folder}/report.html)`),
    "",
  ];
};

const soak: Section = (r) => {
  const text = soakSummary(r);
  if (!text) return [];
  return ["## Soak: memory and GC over time", "", text, "", markdownTable(soakSeries(r, 30), soakDimensions), ""];
};

/** A scenario's median columns; with --upstream-rtt, each variant's figures stand beside the RTT they were measured at. */
function medianColumns(r: Results, scenario: string): Dimension<string>[] {
  const link = (v: string) => linkCell(r.plan.variants.find((x) => x.name === v)?.env ?? {});
  const [variant, ...heads] = medianDimensions(r, scenario);
  // markdownTable escapes cells only, and a scenario's headline label may hold a |
  const escaped = heads.map((d) => ({ ...d, label: esc(d.label) }));
  const linked = r.plan.variants.some((v) => link(v.name) !== undefined);
  return [
    variant!,
    ...(linked ? [{ label: "upstream link", format: (v: string) => link(v) ?? "none" }] : []),
    ...escaped,
  ];
}

const medians: Section = (r) => [
  "## Medians per variant",
  "",
  ...r.plan.scenarios
    .filter((scenario) => (r.plan.headlines?.[scenario] ?? []).length)
    .flatMap((scenario) => [
      `**${scenario}**`,
      "",
      markdownTable(
        r.plan.variants.map((v) => v.name),
        medianColumns(r, scenario),
      ),
      "",
    ]),
];

const failedTrials: Section = (r) => {
  const failed = r.trials.filter((t) => t.status === "failed");
  if (!failed.length) return [];
  return ["## Failed trials", "", ...failed.map((t) => `- ${esc(failedTrialText(t))}`), ""];
};

const generatorBound: Section = (r) => {
  const bound = r.trials.filter((t) => t.generatorBound).length;
  if (!bound) return [];
  return [
    `⚠ ${bound} trial(s) were generator-bound (the load generator used ≥ 0.9 cores): their figures understate the executor.`,
    "",
  ];
};

const profiles: Section = (_r, ctx) =>
  ctx.links?.length ? ["## Profiles", "", ...ctx.links.map((l) => `- [${l.label}](${l.href})`), ""] : [];

const hotPath: Section = (_r, ctx) => (ctx.hotPath ? [ctx.hotPath.replace(/^# /, "## "), ""] : []);

const variants: Section = (r) => [
  "Variants:",
  "",
  ...r.plan.variants.map(
    (v) =>
      `- \`${v.name}\`: ${
        Object.entries(v.env)
          .map(([k, val]) => `${k}=${val}`)
          .join(" ") || "(the target's own settings)"
      }`,
  ),
  "",
];

const SECTIONS: readonly Section[] = [
  title,
  verdict,
  gate,
  plan,
  headline,
  comparisons,
  targets,
  capacity,
  allocation,
  soak,
  medians,
  failedTrials,
  generatorBound,
  profiles,
  hotPath,
  variants,
];

/** The Markdown report: fit for a PR comment and for $GITHUB_STEP_SUMMARY. */
export const markdown: Exporter = {
  format: "markdown",
  file: "report.md",
  render: (r, ctx) => SECTIONS.flatMap((section) => section(r, ctx)).join("\n"),
};
