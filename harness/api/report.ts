/**
 * Jobs on results files, which never re-run anything: every report format again, and two runs
 * compared. results.json's trials are the source of truth; the verdict is computed from them.
 */
import { dirname, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { loadTargets } from "../plan/targets.js";
import { profileArtifacts } from "../profile/artifacts.js";
import { exportAll } from "../report/exporter.js";
import { EXPORTERS } from "../report/index.js";
import { readGateReport, readResultsFile } from "../results/file.js";
import type { Comparison, Results } from "../results/schema.js";
import { analyze, headlinesOf } from "../verdict/analysis.js";
import { compareRuns } from "../verdict/compare.js";
import type { JobContext } from "./context.js";

/** The verdict, once, from the trials. */
export const analyzed = (r: Results): Results => ({ ...r, summary: analyze(r, headlinesOf(r), loadTargets()) });

/** Every report format from a results file, into `outDir` (default: beside it); relative paths resolve against ctx.cwd. */
export function renderReports(
  file: string,
  outDir: string | undefined,
  ctx: Pick<JobContext, "cwd" | "env">,
): { results: Results; written: string[]; errors: string[] } {
  const path = resolve(ctx.cwd, file);
  const results = analyzed(readResultsFile(path));
  const dir = resolve(ctx.cwd, outDir ?? dirname(path));
  const gate = readGateReport(dirname(path));
  return {
    results,
    ...exportAll(
      results,
      { headlines: headlinesOf(results), ...profileArtifacts(dirname(path)), gate },
      dir,
      EXPORTERS,
      { GITHUB_STEP_SUMMARY: ctx.env.GITHUB_STEP_SUMMARY },
    ),
  };
}

export interface CompareDocument {
  schema: "perfpack/compare@1";
  a: { file: string; runId: string; rounds: number };
  b: { file: string; runId: string; rounds: number };
  comparisons: Comparison[];
}

/** B against A for every variant and scenario in both runs (unpaired: the runs share no rounds). */
export function compareFiles(a: string, b: string, cwd = "."): CompareDocument {
  const ra = analyzed(readResultsFile(resolve(cwd, a), "run A"));
  const rb = analyzed(readResultsFile(resolve(cwd, b), "run B"));
  const comparisons = compareRuns(ra, rb, headlinesOf(rb));
  if (comparisons.length === 0) throw new UsageError(`${a} and ${b} share no variant and scenario to compare`);
  return {
    schema: "perfpack/compare@1",
    a: { file: a, runId: ra.runId, rounds: ra.plan.rounds },
    b: { file: b, runId: rb.runId, rounds: rb.plan.rounds },
    comparisons,
  };
}
