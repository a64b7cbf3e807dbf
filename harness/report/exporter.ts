import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { GateReport, Results } from "../results/schema.js";
import type { Headline } from "../../scenarios/contract.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";

export interface ReportContext {
  headlines: Record<string, readonly Headline[]>;
  /** Links to artifacts beside the report (flamegraphs …), relative to the report folder. */
  links?: Array<{ label: string; href: string }>;
  /** The hot-path diff (Markdown) when the run was profiled. */
  hotPath?: string;
  /** The gate's decision, look by look, when the run was a gate against a revision (gate.json). */
  gate?: GateReport;
}

/** One report format: a pure function from results to text. */
export interface Exporter {
  readonly format: string;
  readonly file: string;
  render(results: Results, ctx: ReportContext): string;
}

/**
 * Writes every format into `dir` (hyperfine's ExportManager), each atomically (temp file, fsync,
 * rename): a report rewritten by `perfpack report` is the old one or the new one, never half of
 * either. One failing exporter does not stop the others; its error is returned.
 */
export function exportAll(
  results: Results,
  ctx: ReportContext,
  dir: string,
  exporters: readonly Exporter[],
  env: { GITHUB_STEP_SUMMARY?: string } = {},
): { written: string[]; errors: string[] } {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const errors: string[] = [];
  for (const e of exporters) {
    try {
      const text = e.render(results, ctx);
      const file = join(dir, e.file);
      writeFileAtomic(file, text);
      written.push(file);
      // in GitHub Actions the Markdown report also goes to the job's summary page (GitHub's file: appended to, as it asks)
      if (e.format === "markdown" && env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, text + "\n");
    } catch (err) {
      errors.push(`${e.format}: ${(err as Error).message}`);
    }
  }
  return { written, errors };
}
