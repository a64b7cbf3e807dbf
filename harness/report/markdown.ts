import type { Results } from "../results/schema.js";
import type { Exporter } from "./exporter.js";
import {
  allocationDimensions,
  allocationRows,
  allocationTopText,
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
import { failedTrialText, gateLookTable, gateNote, gateOutcomeText, linkCell, metricText, planText } from "./format.js";

const esc = (s: string) => s.replace(/\|/g, "\\|");

function markdownTable<T>(rows: readonly T[], dims: readonly Dimension<T>[]): string {
  const head = `| ${dims.map((d) => d.label).join(" | ")} |`;
  const sep = `|${dims.map(() => "---").join("|")}|`;
  return [head, sep, ...rows.map((r) => `| ${dims.map((d) => esc(d.format(r))).join(" | ")} |`)].join("\n");
}

/** The Markdown report: fit for a PR comment and for $GITHUB_STEP_SUMMARY. */
export const markdown: Exporter = {
  format: "markdown",
  file: "report.md",
  render(r: Results, ctx) {
    const s = r.summary;
    const lines: string[] = [];
    const verdict = s.verdict;
    lines.push(`# perfpack run ${r.runId}`, "");
    // a gate run's verdict is the gate's decision (below); the run's own would contradict it
    if (verdict && !ctx.gate)
      lines.push(
        `**Verdict: ${verdict.pass ? "PASS" : "FAIL"}**${verdict.reasons.length ? ` — ${verdict.reasons.join("; ")}` : ""}`,
        "",
      );
    if (ctx.gate) {
      const g = ctx.gate;
      const looks = gateLookTable(g);
      lines.push(`## Gate against ${g.baseline}: ${gateOutcomeText(g)}`, "");
      for (const reason of g.reasons) lines.push(`- ${reason}`);
      if (g.reasons.length) lines.push("");
      lines.push("Look by look:", "", markdownTable(looks.rows, looks.dims), "", gateNote(g), "");
    }
    lines.push(planText(r), "");
    const headline = (s.targets ?? []).filter((t) => t.kind === "headline");
    // the pack's headline (against baseline) says nothing of two revisions of one variant
    if (headline.length && !ctx.gate) {
      lines.push(
        "## Headline: the guide's >2× throughput and lower p95",
        "",
        markdownTable(headline, targetDimensions),
        "",
      );
      for (const t of headline) if (t.note) lines.push(`- ${t.variant}, ${t.label}: ${t.note}`);
      lines.push("", claimNote(headline), "");
    }
    const cs = s.comparisons ?? [];
    if (cs.length) {
      lines.push(`## Comparisons (candidate / reference, medians over rounds, paired by round)`, "");
      lines.push(markdownTable(cs, comparisonDimensions), "");
      lines.push(`${methodNote(cs)} ${readingNote(cs)} ◆ marks the metrics the regression gate tests.`, "");
    }
    const table = (s.targets ?? []).filter((t) => t.kind === "table");
    if (table.length) {
      const pivot = targetTable(table);
      lines.push("## The guide's targets table", "", markdownTable(pivot.rows, pivot.dims), "");
      for (const r of pivot.rows)
        if (r.note && [...r.byVariant.values()].some((t) => t.status === "not-measured"))
          lines.push(`- ${r.label}: ${r.note}`);
      lines.push("");
    }
    const alloc = allocationRows(r);
    if (alloc.length) {
      lines.push(
        `## Allocation pass (${r.allocation!.scenario} scenario's load, ${r.allocation!.durationS} s)`,
        "",
        markdownTable(alloc, allocationDimensions),
        "",
        r.allocation!.method,
        "",
      );
      for (const row of alloc)
        if (allocationTopText(row))
          lines.push(`- ${row.variant}, most objects allocated by: ${allocationTopText(row)}`);
      lines.push("");
    }
    const soakText = soakSummary(r);
    if (soakText) {
      lines.push(
        "## Soak: memory and GC over time",
        "",
        soakText,
        "",
        markdownTable(soakSeries(r, 30), soakDimensions),
        "",
      );
    }
    lines.push("## Medians per variant", "");
    for (const scenario of r.plan.scenarios) {
      const heads = r.plan.headlines?.[scenario] ?? [];
      const rows = r.plan.variants.map((v) => v.name);
      if (!heads.length) continue;
      // with --upstream-rtt, each variant's latency figures stand beside the RTT they were measured at
      const link = (v: string) => linkCell(r.plan.variants.find((x) => x.name === v)?.env ?? {});
      const linked = rows.some((v) => link(v) !== undefined);
      const rttCell = (v: string) => (linked ? ` ${link(v) ?? "none"} |` : "");
      lines.push(
        `**${scenario}**`,
        "",
        `| variant |${linked ? " upstream link |" : ""} ${heads.map((h) => esc(h.label)).join(" | ")} |`,
        `|---|${linked ? "---|" : ""}${heads.map(() => "---").join("|")}|`,
      );
      for (const v of rows)
        lines.push(
          `| ${esc(v)} |${rttCell(v)} ${heads.map((h) => metricText(h, s.medians[v]?.[scenario]?.[h.metric])).join(" | ")} |`,
        );
      lines.push("");
    }
    const failed = r.trials.filter((t) => t.status === "failed");
    if (failed.length) {
      lines.push("## Failed trials", "");
      for (const t of failed) lines.push(`- ${esc(failedTrialText(t))}`);
      lines.push("");
    }
    const bound = r.trials.filter((t) => t.generatorBound);
    if (bound.length)
      lines.push(
        `⚠ ${bound.length} trial(s) were generator-bound (the load generator used ≥ 0.9 cores): their figures understate the executor.`,
        "",
      );
    if (ctx.links?.length) lines.push("## Profiles", "", ...ctx.links.map((l) => `- [${l.label}](${l.href})`), "");
    if (ctx.hotPath) lines.push(ctx.hotPath.replace(/^# /, "## "), "");
    lines.push(
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
    );
    return lines.join("\n");
  },
};
