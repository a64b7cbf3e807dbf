import { compareRevisions, compareRuns, improvement } from "./compare.js";
import type { Comparison } from "../results/schema.js";
import type { Results } from "../results/schema.js";
import type { Headline } from "../../scenarios/contract.js";

export interface GateDecision {
  pass: boolean;
  comparisons: Comparison[];
  regressions: Comparison[];
  reasons: string[];
}

/**
 * The CI gate, pure: every variant and scenario present in both runs, on the gate's metrics
 * (throughput and p95 per scenario). A regression is a change to the worse that is both
 * significant (Holm-adjusted over the metrics checked) and larger than `maxRegression`.
 * A gating target (the headline) that fails in the current run also fails the gate.
 */
export function decideGate(base: Results, current: Results, headlines: Record<string, readonly Headline[]>, maxRegression: number): GateDecision {
  const comparisons = compareRuns(base, current, headlines, "gate");
  const regressions = comparisons.filter((c) => c.direction === "worse" && -improvement(c) > maxRegression);
  const reasons: string[] = [];
  for (const c of regressions) {
    reasons.push(
      `${c.candidate.replace(" (current run)", "")} · ${c.scenario} · ${c.label}: ${(-improvement(c) * 100).toFixed(1)}% worse (ratio ${c.estimate.ratio.toFixed(3)}, 95% interval ${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}, Holm p ${c.pAdjusted.toFixed(4)})`,
    );
  }
  for (const t of current.summary.targets ?? []) {
    if (t.gate && t.status === "fail") reasons.push(`target failed in the current run: ${t.label}: ${t.measured?.toFixed(2)} (needs ${t.requirement})`);
  }
  if (comparisons.length === 0) reasons.push("the two runs share no variant and scenario with gate metrics: nothing to compare");
  return { pass: reasons.length === 0, comparisons, regressions, reasons };
}

/** Reasons for the regressions among `comparisons`: significantly worse, and by more than the line. */
const regressionsOf = (comparisons: readonly Comparison[], maxRegression: number) => comparisons.filter((c) => c.direction === "worse" && -improvement(c) > maxRegression);
const reasonOf = (c: Comparison) =>
  `${c.candidate} · ${c.scenario} · ${c.label}: ${(-improvement(c) * 100).toFixed(1)}% worse than ${c.reference} (ratio ${c.estimate.ratio.toFixed(3)}, 95% interval ${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}, Holm p ${c.pAdjusted.toFixed(4)})`;

/**
 * The gate against a revision, pure: both arms ran interleaved in one run, so the comparison is
 * paired by round and carries no drift between runs. A regression is a gate metric (throughput,
 * p95, CPU per unit of work) significantly worse, one-sided and Holm-adjusted, by more than
 * `maxRegression`.
 */
export function decideRevisionGate(results: Results, headlines: Record<string, readonly Headline[]>, maxRegression: number): GateDecision {
  const comparisons = compareRevisions(results, headlines);
  const regressions = regressionsOf(comparisons, maxRegression);
  const reasons = regressions.map(reasonOf);
  if (comparisons.length === 0) reasons.push("no gate metric was measured on both revisions: nothing to compare");
  return { pass: reasons.length === 0, comparisons, regressions, reasons };
}
