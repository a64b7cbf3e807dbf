import type { Comparison } from "../compare.js";
import type { TargetStatus, TargetVerdict } from "../targets.js";
import { fmt } from "./terminal-table.js";

/** Columns of the comparison table as data: Markdown, terminal and HTML render the same list. */
export interface Dimension<T> {
  label: string;
  format(row: T): string;
}

export const ratioText = (r: number) => `${r.toFixed(2)}×`;
export const intervalText = (c: Comparison) =>
  Number.isFinite(c.estimate.hi) ? `${c.estimate.lo.toFixed(2)}–${c.estimate.hi.toFixed(2)}×` : "needs ≥ 2 rounds";

export const comparisonDimensions: Dimension<Comparison>[] = [
  { label: "scenario", format: (c) => c.scenario },
  { label: "metric", format: (c) => `${c.label}${c.gate ? " ◆" : ""}` },
  { label: "reference", format: (c) => fmt(c.referenceMedian) },
  { label: "candidate", format: (c) => fmt(c.candidateMedian) },
  { label: "ratio", format: (c) => ratioText(c.estimate.ratio) },
  { label: "95% interval", format: intervalText },
  { label: "p (Holm)", format: (c) => (c.pAdjusted < 0.001 ? "<0.001" : c.pAdjusted.toFixed(3)) },
  { label: "", format: (c) => (c.direction === "same" ? "≈ no significant change" : c.direction === "better" ? "✓ better" : "✗ worse") },
];

export const STATUS_TEXT: Record<TargetStatus, string> = {
  "stretch-met": "✓✓ stretch met",
  pass: "✓ pass",
  fail: "✗ fail",
  "not-measured": "– not measured",
};

export const targetDimensions: Dimension<TargetVerdict>[] = [
  { label: "target", format: (t) => t.label },
  { label: "measured", format: (t) => (t.measured === undefined ? "–" : t.kind === "headline" ? ratioText(t.measured) : fmt(t.measured)) },
  { label: "needs", format: (t) => t.requirement },
  { label: "status", format: (t) => STATUS_TEXT[t.status] + (t.gate ? " (gates)" : "") },
  { label: "on", format: (t) => t.variant },
];

export const methodNote = (cs: readonly Comparison[]): string => {
  const methods = new Set(cs.map((c) => c.estimate.method));
  const n = Math.max(0, ...cs.map((c) => c.estimate.n));
  return methods.has("t")
    ? `Intervals: Student's t on log ratios over ${n} round(s) (below 10 rounds a bootstrap cannot reach 95% coverage; with 10 or more rounds perfpack uses a bootstrap over rounds).`
    : `Intervals: bootstrap over rounds (expanded percentile), ${n} rounds.`;
};
