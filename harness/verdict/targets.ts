import { arms } from "./compare.js";
import type { Comparison, Results, TargetStatus, TargetVerdict } from "../results/schema.js";

export interface HeadlineTarget {
  id: string;
  label: string;
  scenario: string;
  metric: string;
  /** candidate/reference must be ≥ min, or ≤ max (< max when exclusive). */
  min?: number;
  max?: number;
  exclusive?: boolean;
  gate?: boolean;
}

export interface TableTarget {
  id: string;
  label: string;
  scenario: string;
  aggregate?: "max";
  metric: string;
  unit: string;
  below?: number;
  above?: number;
  stretch: number;
  definition?: string;
  gate?: boolean;
}

export interface TargetsFile {
  schema: "perfpack/targets@1";
  headline: HeadlineTarget[];
  targets: TableTarget[];
}

/** The variant whose claim a run tests, when it is in the run. */
const CLAIM = "optimized";

/**
 * Why a run's figure for this metric is not the service's: under the open model (--rate) the
 * latency scenario's req/s is the rate perfpack offered, the same for every variant.
 */
function setByThePlan(results: Results, t: { scenario: string; metric: string }): string | undefined {
  const rate = results.plan.rate;
  if (
    t.scenario !== "latency" ||
    t.metric !== "rps" ||
    rate === null ||
    rate === undefined ||
    !results.plan.scenarios.includes("latency")
  )
    return undefined;
  return `an open-model run (--rate ${rate}) offers every variant ${rate} req/s, so its req/s is the rate, not what the service can do; throughput needs the closed model (no --rate)`;
}

/** One headline target for one variant against the reference, from the paired comparison. */
function headlineVerdict(
  results: Results,
  h: HeadlineTarget,
  variant: string,
  a: { reference: string } | undefined,
  comparisons: readonly Comparison[],
  gate: boolean,
): TargetVerdict {
  const requirement =
    h.min !== undefined
      ? `≥ ${h.min}× ${a?.reference ?? "reference"}`
      : `${h.exclusive ? "<" : "≤"} ${h.max}× ${a?.reference ?? "reference"}`;
  // the pair's name, as a measured row gives it, wherever there is a reference
  const pair = a ? `${variant} vs ${a.reference}` : variant;
  const fixed = setByThePlan(results, h);
  if (fixed)
    return {
      id: h.id,
      label: h.label,
      kind: "headline",
      status: "not-measured",
      requirement,
      variant: pair,
      gate,
      note: fixed,
    };
  const c = comparisons.find((x) => x.scenario === h.scenario && x.metric === h.metric && x.candidate === variant);
  if (!a || !c)
    return {
      id: h.id,
      label: h.label,
      kind: "headline",
      status: "not-measured",
      requirement,
      variant: pair,
      gate,
      note: a ? "the scenario was not run" : "needs two variants",
    };
  const r = c.estimate.ratio;
  const ok = h.min !== undefined ? r >= h.min : h.exclusive ? r < h.max! : r <= h.max!;
  const sure =
    h.min !== undefined ? c.estimate.lo >= h.min : h.exclusive ? c.estimate.hi < h.max! : c.estimate.hi <= h.max!;
  return {
    id: h.id,
    label: h.label,
    kind: "headline",
    status: ok ? "pass" : "fail",
    measured: r,
    requirement,
    variant: pair,
    gate,
    note: `95% interval ${c.estimate.lo.toFixed(2)}–${c.estimate.hi.toFixed(2)}×${ok && !sure ? "; the interval reaches past the line, so this pass is not yet certain" : ""}`,
  };
}

/** The variants the targets table is evaluated on: every one but the reference (or the last, with no reference). */
export function targetVariants(variants: readonly string[]): string[] {
  const a = arms(variants);
  return a ? variants.filter((v) => v !== a.reference) : [variants.at(-1) ?? ""];
}

/** The allocation pass's figure for a variant, with what it rests on; or why there is none. */
function allocationValue(results: Results, variant: string): { value?: number; note: string } {
  const rec = results.allocation;
  if (!rec)
    return {
      note: "the allocation pass did not run (it needs the latency scenario and a service perfpack launches; --skip-allocation skips it)",
    };
  const a = rec.variants[variant];
  if (!a) return { note: "the allocation pass did not reach this variant" };
  if ("error" in a) return { note: `the allocation pass failed: ${a.error}` };
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  if (a.objectsPerS === undefined)
    return {
      note: `${n(a.objectsPerRequest)} objects/request, but no ok ${rec.scenario} trial gave a req/s to scale it by`,
    };
  const [lo, hi] = a.objectsPerSRange ?? [a.objectsPerS, a.objectsPerS];
  return {
    value: a.objectsPerS,
    note: `${n(a.objectsPerRequest)} objects/request × ${n(a.trialRps!)} req/s (the trials' median) + ${n(a.backgroundObjectsPerS)} objects/s idle; ${n(lo)}–${n(hi)} over the trials' rounds. ${rec.method}`,
  };
}

/**
 * A throughput row judged on `run --capacity`'s search: the variant's capacity at the SLO (the
 * highest offered rate at which it held), not the closed model's rate at saturation. A capacity
 * that is only "at least" and below the line cannot fail the row. Undefined: no search of this
 * scenario and variant answers the row's metric.
 */
function capacityVerdict(
  results: Results,
  t: TableTarget,
  variant: string,
  base: Omit<TargetVerdict, "status">,
): TargetVerdict | undefined {
  const s = results.capacity?.searches.find(
    (x) => x.scenario === t.scenario && x.variant === variant && x.metric === t.metric,
  );
  if (!s || t.above === undefined) return undefined;
  const closed = results.summary.medians[variant]?.[t.scenario]?.[t.metric];
  const closedNote =
    closed !== undefined
      ? `; the trials' closed model read ${Math.round(closed).toLocaleString("en-US")} ${t.unit} at saturation`
      : "";
  const note = `capacity at the SLO: the highest offered rate (open model) at which ${s.slo} held${s.atLeast ? " (at least: the search never failed above it)" : ""}${closedNote}`;
  const v = s.capacity ?? (s.ended === "below-min" ? 0 : undefined);
  if (v === undefined)
    return { ...base, status: "not-measured", note: `the capacity search found none (${s.ended ?? "not run"})` };
  const status: TargetStatus =
    v > t.stretch ? "stretch-met" : v > t.above ? "pass" : s.atLeast ? "not-measured" : "fail";
  return { ...base, status, measured: v, note };
}

/** One row of the targets table on one variant's medians (a throughput row: on its capacity, when searched). */
function tableVerdict(results: Results, t: TableTarget, variant: string): TargetVerdict {
  const limit = t.below ?? t.above!;
  const cmp = t.below !== undefined ? "<" : ">";
  const requirement = `${cmp} ${limit} ${t.unit} (stretch ${cmp} ${t.stretch})`;
  const base = { id: t.id, label: t.label, kind: "table", requirement, variant, gate: t.gate === true } as const;
  const searched = capacityVerdict(results, t, variant, base);
  if (searched) return searched;
  const fixed = setByThePlan(results, t);
  if (fixed) return { ...base, status: "not-measured", note: fixed };
  const alloc = t.scenario === "allocation" ? allocationValue(results, variant) : undefined;
  const v = alloc ? alloc.value : measuredValue(results, variant, t);
  if (v === undefined)
    return {
      ...base,
      status: "not-measured",
      note:
        alloc?.note ??
        (results.plan.scenarios.includes(t.scenario) || t.scenario === "*" ? t.definition : undefined) ??
        `${t.scenario} scenario not in this run`,
    };
  const meets = (x: number) => (t.below !== undefined ? v < x : v > x);
  const status: TargetStatus = meets(t.stretch) ? "stretch-met" : meets(limit) ? "pass" : "fail";
  return { ...base, status, measured: v, note: alloc?.note ?? t.definition };
}

/** The candidate's median of a metric in a scenario ("*" with aggregate max: the worst scenario). */
function measuredValue(results: Results, variant: string, t: TableTarget): number | undefined {
  const byScenario = results.summary.medians[variant] ?? {};
  if (t.scenario === "*") {
    const vs = Object.values(byScenario)
      .map((m) => m[t.metric])
      .filter((v): v is number => Number.isFinite(v));
    return vs.length ? Math.max(...vs) : undefined;
  }
  return byScenario[t.scenario]?.[t.metric];
}

/**
 * Evaluates the guide's targets on a run: the headline (candidate against reference, from the
 * paired comparison) and every row of the table (the candidate's medians).
 */
export function evaluateTargets(
  results: Results,
  targets: TargetsFile,
  comparisons: readonly Comparison[],
): TargetVerdict[] {
  const variants = results.plan.variants.map((v) => v.name);
  const a = arms(variants);
  // The claim a run can test is optimized against the reference. An ablation or a matrix asks which
  // toggle does what: there the headline is evaluated for every variant and gates nothing.
  const claim = variants.includes(CLAIM) && a?.reference === "baseline" ? CLAIM : undefined;
  const out: TargetVerdict[] = [];
  const candidates = targetVariants(variants);
  for (const variant of candidates) {
    for (const h of targets.headline)
      out.push(headlineVerdict(results, h, variant, a, comparisons, h.gate === true && variant === claim));
  }
  // the table's absolute targets, on every variant the headline is about
  for (const variant of candidates) for (const t of targets.targets) out.push(tableVerdict(results, t, variant));
  return out;
}
