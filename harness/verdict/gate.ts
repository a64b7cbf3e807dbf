import { compareRevisions, compareRuns, improvement } from "./compare.js";
import { callMetric, outcomeOf, type GateOutcome, type MetricCall } from "./sequential.js";
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

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const intervalOf = (c: Comparison) => `${((c.estimate.level ?? 0.95) * 100).toFixed(2)}% interval ${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}`;
const nameOf = (c: Comparison) => `${c.candidate} · ${c.scenario} · ${c.label}`;

export interface RevisionGateDecision extends GateDecision {
  /** pass: every gate metric clear of the line; regression: one wholly worse; inconclusive: neither. */
  outcome: GateOutcome;
  /** Each comparison's call against the line, in the order of `comparisons`. */
  calls: MetricCall[];
}

/**
 * The gate against a revision at one look, pure: both arms ran interleaved in one run, so the
 * comparison is paired by round and carries no drift between runs. Each gate metric (throughput,
 * p95, CPU per unit of work) is called against the line `maxRegression` from its interval at
 * `level` (the look's level under alpha spending, harness/verdict/sequential.ts): a regression
 * when the interval is wholly worse than the line, clear when wholly better.
 */
export function decideRevisionGate(results: Results, headlines: Record<string, readonly Headline[]>, maxRegression: number, o: { level?: number; lastLook?: boolean } = {}): RevisionGateDecision {
  const comparisons = compareRevisions(results, headlines, o.level ?? 0.95);
  const calls = comparisons.map((c) => callMetric(c, maxRegression));
  const state = outcomeOf(calls, o.lastLook ?? true);
  const outcome: GateOutcome = state === "continue" ? "inconclusive" : state;
  const regressions = comparisons.filter((_, i) => calls[i] === "regression");
  const reasons =
    outcome === "regression"
      ? regressions.map((c) => `${nameOf(c)}: ${pct(-improvement(c))} worse than ${c.reference} (ratio ${c.estimate.ratio.toFixed(3)}, ${intervalOf(c)}, wholly beyond the ${pct(maxRegression)} line)`)
      : outcome === "inconclusive"
        ? comparisons
            .filter((_, i) => calls[i] === "undecided")
            .map((c) => `${nameOf(c)}: undecided (ratio ${c.estimate.ratio.toFixed(3)}, ${intervalOf(c)} reaches across the ${pct(maxRegression)} line)`)
        : [];
  if (comparisons.length === 0) reasons.push("no gate metric was measured on both revisions: nothing to compare");
  return { pass: outcome === "pass", outcome, calls, comparisons, regressions, reasons };
}
