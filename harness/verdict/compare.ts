import type { Comparison, Results, TrialRecord } from "../results/schema.js";
import { requestsIn, type Headline } from "../../scenarios/contract.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import { holm, median, pairedRatio, unpairedRatio } from "./stats.js";

const ALPHA = 0.05;

/** --max-errors when a results file does not record it (files before it existed): the run's default, defined once. */
export const DEFAULT_MAX_ERRORS = RUN_DEFAULTS.maxErrors;

/**
 * An arm's failure share over all its trials of a scenario that counted their answers, failed
 * trials included (a trial failed for too many failures still says how often the arm failed).
 */
function pooledFailureShare(trials: readonly TrialRecord[], variant: string, scenario: string): number | undefined {
  let failed = 0;
  let total = 0;
  for (const t of trials) {
    if (t.variant !== variant || t.scenario !== scenario || !t.answers) continue;
    const a = t.answers;
    const n = requestsIn(a);
    failed += n - a.ok;
    total += n;
  }
  return total === 0 ? undefined : failed / total;
}

/** The arms' failure shares when they differ by more than `limit`: their ratio is not a speed change. */
function failuresDiffer(
  ref: number | undefined,
  cand: number | undefined,
  limit: number,
): Comparison["failuresDiffer"] {
  const r = ref ?? 0;
  const c = cand ?? 0;
  return Math.abs(c - r) > limit ? { reference: r, candidate: c } : undefined;
}

const okValues = (trials: readonly TrialRecord[], variant: string, scenario: string, metric: string) =>
  trials
    .filter(
      (t) =>
        t.status === "ok" && t.variant === variant && t.scenario === scenario && Number.isFinite(t.metrics[metric]),
    )
    .map((t) => ({ round: t.round, v: t.metrics[metric]! }));

/** The arms the verdict is about: baseline → optimized when present, else first → last. */
export function arms(variants: readonly string[]): { reference: string; candidate: string } | undefined {
  if (variants.length < 2) return undefined;
  const reference = variants.includes("baseline") ? "baseline" : variants[0]!;
  const candidate = variants.includes("optimized") ? "optimized" : variants.filter((v) => v !== reference).at(-1)!;
  return { reference, candidate };
}

/**
 * Holm over the rows' p-values. `worse`: one-sided, for the gate, which only asks whether a
 * metric got worse (half the two-sided p in the worse direction, 1 − p/2 otherwise).
 */
function finish(
  rows: Array<Omit<Comparison, "pAdjusted" | "significant" | "direction">>,
  sided: "two" | "worse" = "two",
): Comparison[] {
  const isWorse = (r: (typeof rows)[number]) => (r.better === "higher" ? r.estimate.ratio < 1 : r.estimate.ratio > 1);
  const ps = rows.map((r) => (sided === "two" ? r.estimate.p : isWorse(r) ? r.estimate.p / 2 : 1 - r.estimate.p / 2));
  const adjusted = holm(ps);
  return rows.map((r, i) => {
    // arms that failed differently measured different work: never a speed change
    const significant = adjusted[i]! < ALPHA && !r.failuresDiffer;
    const up = r.estimate.ratio > 1;
    const good = r.better === "higher" ? up : !up;
    return {
      ...r,
      pAdjusted: adjusted[i]!,
      significant,
      direction: significant ? (good ? "better" : "worse") : "same",
    };
  });
}

/**
 * Within one run: every other variant against the reference, each headline metric of each
 * scenario, paired by round. Holm runs over all of them together.
 */
export function compareWithinRun(results: Results, headlines: Record<string, readonly Headline[]>): Comparison[] {
  const variants = results.plan.variants.map((v) => v.name);
  const a = arms(variants);
  if (!a) return [];
  return finish(
    variants
      .filter((v) => v !== a.reference)
      .flatMap((candidate) => pairedRows(results, headlines, a.reference, candidate, "all")),
  );
}

type Row = Omit<Comparison, "pAdjusted" | "significant" | "direction">;

/** One comparison row: the arms' names and values (medians for reading) and the estimate. */
const row = (
  scenario: string,
  h: Headline,
  [reference, candidate]: [string, string],
  [ref, cand]: [number[], number[]],
  estimate: Row["estimate"],
): Row => ({
  scenario,
  metric: h.metric,
  label: h.label,
  better: h.better,
  reference,
  candidate,
  referenceMedian: median(ref),
  candidateMedian: median(cand),
  estimate,
  gate: h.gate === true,
});

/** One arm against another in the same run, paired by round, on every headline metric (or the gate's). */
function pairedRows(
  results: Results,
  headlines: Record<string, readonly Headline[]>,
  reference: string,
  candidate: string,
  only: "all" | "gate",
  level = 0.95,
): Row[] {
  const rows: Row[] = [];
  for (const scenario of results.plan.scenarios) {
    for (const h of headlines[scenario] ?? []) {
      if ((only === "gate" && !h.gate) || h.unit === "share") continue;
      const ref = okValues(results.trials, reference, scenario, h.metric);
      const cand = okValues(results.trials, candidate, scenario, h.metric);
      const pairs = ref.flatMap((r) => cand.filter((c) => c.round === r.round).map((c) => [r.v, c.v] as const));
      // at another level than 95% (the sequential gate's looks): Student's t, whose tails a few rounds can carry
      const estimate = pairedRatio(pairs, level === 0.95 ? { seed: 1 } : { level, method: "t" });
      if (!estimate) continue;
      const differ = failuresDiffer(
        pooledFailureShare(results.trials, reference, scenario),
        pooledFailureShare(results.trials, candidate, scenario),
        results.plan.maxErrors ?? DEFAULT_MAX_ERRORS,
      );
      rows.push({
        ...row(scenario, h, [reference, candidate], [ref.map((x) => x.v), cand.map((x) => x.v)], estimate),
        failuresDiffer: differ,
      });
    }
  }
  return rows;
}

/** A gate's baseline arm: a variant on a built revision that is not the candidate side (--candidate-ref). */
const isBaselineArm = (v: Results["plan"]["variants"][number]): boolean =>
  v.system?.kind === "revision" && v.system.candidate !== true;

/**
 * The gate against a revision, within one run: each variant on this checkout against the same
 * variant on the baseline revision (`name@ref`), paired by round, on the gate's metrics, one-sided
 * (does it get worse?), Holm over all of them. `level`: the intervals' confidence (the sequential
 * gate's per-look level).
 */
export function compareRevisions(
  results: Results,
  headlines: Record<string, readonly Headline[]>,
  level = 0.95,
): Comparison[] {
  const vs = results.plan.variants;
  const rows = vs.filter(isBaselineArm).flatMap((b) => {
    const c = vs.find((x) => !isBaselineArm(x) && b.name.startsWith(`${x.name}@`));
    return c ? pairedRows(results, headlines, b.name, c.name, "gate", level) : [];
  });
  return finish(rows, "worse");
}

/**
 * Across two runs (compare, gate): the same variant and scenario in both files, unpaired
 * (the runs share no rounds). `only` restricts to the gate's metrics; `level`: the intervals'
 * confidence (the stored-run gate's, Bonferroni over its metrics).
 */
export function compareRuns(
  base: Results,
  current: Results,
  headlines: Record<string, readonly Headline[]>,
  only: "all" | "gate" = "all",
  level: number | ((metrics: number) => number) = 0.95,
): Comparison[] {
  const found: Array<{ variant: string; scenario: string; h: Headline; b: number[]; c: number[] }> = [];
  const variants = current.plan.variants.map((v) => v.name).filter((v) => base.plan.variants.some((b) => b.name === v));
  for (const variant of variants) {
    for (const scenario of current.plan.scenarios.filter((s) => base.plan.scenarios.includes(s))) {
      for (const h of headlines[scenario] ?? []) {
        if ((only === "gate" && !h.gate) || h.unit === "share") continue;
        const b = okValues(base.trials, variant, scenario, h.metric).map((x) => x.v);
        const c = okValues(current.trials, variant, scenario, h.metric).map((x) => x.v);
        // a ratio needs a positive value on both sides
        if (b.some((x) => x > 0) && c.some((x) => x > 0)) found.push({ variant, scenario, h, b, c });
      }
    }
  }
  // the level may depend on how many metrics share the error (the stored-run gate's Bonferroni)
  const lv = typeof level === "function" ? level(found.length) : level;
  const limit = Math.min(base.plan.maxErrors ?? DEFAULT_MAX_ERRORS, current.plan.maxErrors ?? DEFAULT_MAX_ERRORS);
  const rows = found.map(({ variant, scenario, h, b, c }) => {
    const differ = failuresDiffer(
      pooledFailureShare(base.trials, variant, scenario),
      pooledFailureShare(current.trials, variant, scenario),
      limit,
    );
    return {
      ...row(
        scenario,
        h,
        [`${variant} (baseline run)`, `${variant} (current run)`],
        [b, c],
        unpairedRatio(b, c, lv === 0.95 ? { seed: 1 } : { level: lv, method: "t" })!,
      ),
      failuresDiffer: differ,
    };
  });
  return finish(rows, only === "gate" ? "worse" : "two");
}

/** A change expressed as "how much better" in the metric's own direction: +0.12 = 12% better. */
export function improvement(c: Pick<Comparison, "better" | "estimate">): number {
  return c.better === "higher" ? c.estimate.ratio - 1 : 1 / c.estimate.ratio - 1;
}
