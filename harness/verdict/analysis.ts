import { compareWithinRun } from "./compare.js";
import type { Results, Summary } from "../results/schema.js";
import type { Headline } from "../../scenarios/contract.js";
import { summarize } from "./summary.js";
import { evaluateTargets, type TargetsFile } from "./targets.js";

/** Headline metrics per scenario, as the results file records them (the file explains itself). */
export const headlinesOf = (results: Results): Record<string, readonly Headline[]> => results.plan.headlines ?? {};

/**
 * results → summary: medians, comparisons with intervals, target verdicts and the overall
 * verdict against `targets` (the guide's, plan/targets.ts loads them). Pure; reports and the gate
 * only ever read this.
 */
export function analyze(
  results: Results,
  headlines: Record<string, readonly Headline[]>,
  targets: TargetsFile,
): Summary {
  const base = summarize(results.trials);
  const withMedians = { ...results, summary: base };
  const comparisons = compareWithinRun(withMedians, headlines);
  const verdicts = evaluateTargets(withMedians, targets, comparisons);
  const reasons: string[] = [];
  for (const t of verdicts)
    if (t.gate && t.status === "fail")
      reasons.push(`target failed: ${t.label}: measured ${t.measured?.toFixed(2)}, needs ${t.requirement}`);
  if (base.failedTrials > 0) reasons.push(`${base.failedTrials} trial(s) failed`);
  return { ...base, comparisons, targets: verdicts, verdict: { pass: reasons.length === 0, reasons } };
}
