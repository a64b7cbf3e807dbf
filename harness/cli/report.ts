import chalk from "chalk";
import Table from "cli-table3";
import { dirname, resolve } from "node:path";
import { analyze, headlinesOf } from "../verdict/analysis.js";
import { compareRuns } from "../verdict/compare.js";
import { EXIT } from "../errors.js";
import { decideGate } from "../verdict/gate.js";
import { exportAll } from "../report/exporter.js";
import { comparisonDimensions } from "../report/format.js";
import { EXPORTERS } from "../report/index.js";
import { verdictText } from "../report/terminal.js";
import { readResultsFile } from "../results/file.js";
import { profileArtifacts } from "../profile/artifacts.js";
import type { Results } from "../results/schema.js";
import type { Scenario } from "../../scenarios/contract.js";
import { PlanError } from "../plan/variants.js";

export interface Out {
  write(text: string): void;
}

/** Recomputes the summary from the trials: results.json's trials are the source of truth. */
function refresh(r: Results, registry: ReadonlyMap<string, Scenario>): Results {
  const headlines = headlinesOf(r, registry);
  return { ...r, plan: { ...r.plan, headlines: Object.fromEntries(Object.entries(headlines).map(([k, v]) => [k, [...v]])) }, summary: analyze(r, headlines) };
}

/** `perfpack report <results.json> [--out DIR]`: every report format again, nothing re-run. */
export function reportCommand(file: string, outDir: string | undefined, registry: ReadonlyMap<string, Scenario>, out: Out, env: NodeJS.ProcessEnv): number {
  const r = refresh(readResultsFile(file), registry);
  const dir = resolve(outDir ?? dirname(file));
  const { written, errors } = exportAll(r, { headlines: r.plan.headlines ?? {}, ...profileArtifacts(dirname(resolve(file))) }, dir, EXPORTERS, { GITHUB_STEP_SUMMARY: env.GITHUB_STEP_SUMMARY });
  out.write(verdictText(r) + "\n");
  for (const f of written) out.write(`report: ${f}\n`);
  for (const e of errors) out.write(chalk.red(`failed: ${e}\n`));
  return errors.length ? EXIT.runFailure : EXIT.ok;
}

function comparisonTable(rows: ReturnType<typeof compareRuns>): string {
  const dims = comparisonDimensions.map((d) => (d.label === "reference" ? { ...d, label: "A (median)" } : d.label === "candidate" ? { ...d, label: "B (median)" } : d));
  const t = new Table({ head: ["variant", ...dims.map((d) => d.label)], style: { head: [], border: [], compact: true } });
  for (const c of rows) t.push([c.reference.replace(" (baseline run)", ""), ...dims.map((d) => d.format(c))]);
  return t.toString();
}

/** `perfpack compare a.json b.json`: B against A for every variant and scenario in both. */
export function compareCommand(a: string, b: string, registry: ReadonlyMap<string, Scenario>, out: Out): number {
  const ra = refresh(readResultsFile(a, "run A"), registry);
  const rb = refresh(readResultsFile(b, "run B"), registry);
  const rows = compareRuns(ra, rb, headlinesOf(rb, registry));
  if (rows.length === 0) throw new PlanError(`${a} and ${b} share no variant and scenario to compare`);
  out.write(`A: ${a} (${ra.runId}, ${ra.plan.rounds} rounds)\nB: ${b} (${rb.runId}, ${rb.plan.rounds} rounds)\n`);
  out.write(comparisonTable(rows) + "\n");
  out.write("ratio = B / A; intervals unpaired (the runs share no rounds); p Holm-adjusted over the rows.\n");
  return EXIT.ok;
}

/** `perfpack gate`: exit 1 on a significant regression beyond the threshold or a failed gating target. */
export function gateCommand(base: Results, current: Results, maxRegression: number, registry: ReadonlyMap<string, Scenario>, out: Out): number {
  const b = refresh(base, registry);
  const c = refresh(current, registry);
  const d = decideGate(b, c, headlinesOf(c, registry), maxRegression);
  out.write(`gate: current ${c.runId} against baseline ${b.runId}; ${d.comparisons.length} comparisons (throughput and p95 per variant and scenario), max regression ${(maxRegression * 100).toFixed(0)}%\n`);
  out.write(comparisonTable(d.comparisons) + "\n");
  if (d.pass) {
    out.write(chalk.green.bold("gate: PASS") + " — no metric is significantly worse by more than the threshold, and every gating target holds\n");
    return EXIT.ok;
  }
  out.write(chalk.red.bold("gate: FAIL\n") + d.reasons.map((r) => `  - ${r}`).join("\n") + "\n");
  return EXIT.gateFailed;
}
