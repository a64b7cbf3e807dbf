import { compareRevisions, compareRuns, improvement } from "./compare.js";
import { callMetric, outcomeOf, type GateOutcome, type MetricCall } from "./sequential.js";
import type { Comparison } from "../results/schema.js";
import type { Results } from "../results/schema.js";
import type { Headline } from "../../scenarios/contract.js";

export interface GateDecision {
  pass: boolean;
  /** pass: every gate metric clear of the line; regression: one wholly worse (or a gating target failed); inconclusive: neither. */
  outcome: GateOutcome;
  /** Each comparison's call against the line, in the order of `comparisons`. */
  calls: MetricCall[];
  comparisons: Comparison[];
  regressions: Comparison[];
  reasons: string[];
}

/** The one-sided false-alarm rate per side of the stored-run gate, over its metrics (as the revision gate's). */
const STORED_GATE_ALPHA = 0.05;

/**
 * The CI gate against a stored run, pure: every variant and scenario present in both runs, on the
 * gate's metrics, unpaired (the runs share no rounds). Each metric's interval, at 1 − 2α/m for m
 * metrics (Bonferroni, the revision gate's rule at a single look), is called against the line
 * `maxRegression`: wholly worse is a regression, wholly better is clear, across it is undecided.
 * Any undecided metric makes the gate inconclusive: too few rounds, or too much noise, to say
 * either way. A gating target (the headline) that fails in the current run fails the gate.
 */
export function decideGate(
  base: Results,
  current: Results,
  headlines: Record<string, readonly Headline[]>,
  maxRegression: number,
  alpha = STORED_GATE_ALPHA,
): GateDecision {
  const comparisons = compareRuns(base, current, headlines, "gate", (m) => 1 - (2 * alpha) / Math.max(1, m));
  const calls = comparisons.map((c) => callMetric(c, maxRegression));
  const regressions = comparisons.filter((_, i) => calls[i] === "regression");
  const reasons = regressions.map(
    (c) =>
      `${nameOf(c)}: ${pct(-improvement(c))} worse (ratio ${c.estimate.ratio.toFixed(3)}, ${intervalOf(c)}, wholly beyond the ${pct(maxRegression)} line)`,
  );
  for (const t of current.summary.targets ?? []) {
    if (t.gate && t.status === "fail")
      reasons.push(`target failed in the current run: ${t.label}: ${t.measured?.toFixed(2)} (needs ${t.requirement})`);
  }
  let outcome: GateOutcome = reasons.length > 0 ? "regression" : (outcomeOf(calls, true) as GateOutcome);
  if (comparisons.length === 0) {
    reasons.push("the two runs share no variant and scenario with gate metrics: nothing to compare");
    outcome = "regression";
  }
  if (outcome === "inconclusive") reasons.push(...undecidedReasons(comparisons, calls, maxRegression));
  return { pass: outcome === "pass", outcome, calls, comparisons, regressions, reasons };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const intervalOf = (c: Comparison) =>
  `${((c.estimate.level ?? 0.95) * 100).toFixed(2)}% interval ${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}`;
const nameOf = (c: Comparison) => `${c.candidate.replace(" (current run)", "")} · ${c.scenario} · ${c.label}`;
const undecidedReasons = (comparisons: readonly Comparison[], calls: readonly MetricCall[], line: number): string[] =>
  comparisons
    .filter((_, i) => calls[i] === "undecided")
    .map(
      (c) =>
        `${nameOf(c)}: undecided (ratio ${c.estimate.ratio.toFixed(3)}, ${intervalOf(c)} reaches across the ${pct(line)} line)`,
    );

export type RevisionGateDecision = GateDecision;

/**
 * The gate against a revision at one look, pure: both arms ran interleaved in one run, so the
 * comparison is paired by round and carries no drift between runs. Each gate metric (throughput,
 * p95, CPU per unit of work) is called against the line `maxRegression` from its interval at
 * `level` (the look's level under alpha spending, harness/verdict/sequential.ts): a regression
 * when the interval is wholly worse than the line, clear when wholly better.
 */
export function decideRevisionGate(
  results: Results,
  headlines: Record<string, readonly Headline[]>,
  maxRegression: number,
  o: { level?: number; lastLook?: boolean } = {},
): RevisionGateDecision {
  const comparisons = compareRevisions(results, headlines, o.level ?? 0.95);
  const calls = comparisons.map((c) => callMetric(c, maxRegression));
  const state = outcomeOf(calls, o.lastLook ?? true);
  const outcome: GateOutcome = state === "continue" ? "inconclusive" : state;
  const regressions = comparisons.filter((_, i) => calls[i] === "regression");
  const reasons =
    outcome === "regression"
      ? regressions.map(
          (c) =>
            `${nameOf(c)}: ${pct(-improvement(c))} worse than ${c.reference} (ratio ${c.estimate.ratio.toFixed(3)}, ${intervalOf(c)}, wholly beyond the ${pct(maxRegression)} line)`,
        )
      : outcome === "inconclusive"
        ? undecidedReasons(comparisons, calls, maxRegression)
        : [];
  if (comparisons.length === 0) reasons.push("no gate metric was measured on both revisions: nothing to compare");
  return { pass: outcome === "pass", outcome, calls, comparisons, regressions, reasons };
}
