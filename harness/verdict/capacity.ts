import jstat from "jstat";
import type {
  CapacitySearchRecord,
  CapacityStepRecord,
  WindowRecord,
  CapacityTargetRow,
  Interval,
  Slo,
  StepCall,
  StepWindow,
} from "../results/capacity.js";
import type { TableTarget } from "./targets.js";
import { median } from "./stats.js";

type StepSummary = CapacityStepRecord["summary"];

export type { Slo, StepCall, StepWindow };

const { jStat } = jstat;

/**
 * The capacity search's verdicts: pure functions, no I/O. A step at one offered rate is a warm-up
 * and then measured windows; `callStep` says whether the SLO holds there, and `nextRate` walks the
 * search (up by a factor while steps pass, down while they fail, then bisection) from the calls.
 * The types of a step's windows and call live with capacity.json (results/capacity.ts).
 */
export interface StepRule {
  /** Windows before any call. */
  minWindows: number;
  /** Windows after which an undecided step is called "at-line". */
  maxWindows: number;
  /** Two-sided level of the latency interval across windows. */
  confidence: number;
  /** Achieved may fall this share short of offered (on the total across windows) before the step is saturated. */
  achievedTolerance: number;
  /** Above this share of requests sent late, the generator could not keep its schedule. */
  lateTolerance: number;
}

export const STEP_RULE: StepRule = {
  minWindows: 3,
  maxWindows: 8,
  confidence: 0.95,
  achievedTolerance: 0.05,
  lateTolerance: 0.05,
};

/** Below this a percentile is taken as this, so that its log is finite. */
const FLOOR_MS = 1e-3;

/** "97.1", "104", "0.812": three significant figures, no trailing zeros. */
const sig = (x: number): string => Number(x.toPrecision(3)).toString();
/** A rate: whole above 100, else three significant figures. */
const fmtRate = (x: number): string => (x >= 100 ? x.toFixed(0) : sig(x));
const pct = (share: number): string => `${Number((share * 100).toPrecision(2))}%`;

/**
 * A t interval on the logs of the windows' percentiles: its centre is their geometric mean, since
 * a latency percentile is skewed and varies by a factor more than by an amount. One window: no
 * width can be known, so the interval is (0, ∞).
 */
function logInterval(values: readonly number[], confidence: number): Interval {
  const logs = values.map((v) => Math.log(Math.max(v, FLOOR_MS)));
  const n = logs.length;
  const m = logs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { estimate: Math.exp(m), lo: 0, hi: Infinity };
  // n − 1: Bessel's correction
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const half = (jStat.studentt.inv(1 - (1 - confidence) / 2, n - 1) * sd) / Math.sqrt(n);
  return { estimate: Math.exp(m), lo: Math.exp(m - half), hi: Math.exp(m + half) };
}

/** A step's figures across its windows: the totals the rule reads, before any call. */
interface StepFigures {
  offered: number;
  achieved: number;
  achievedShare: number;
  errorShare: number;
  generatorBound: boolean;
  generatorNote: string;
  latency: Interval | undefined;
}

function figuresOf(windows: readonly StepWindow[], rule: StepRule): StepFigures {
  const n = windows.length;
  const sum = (f: (w: StepWindow) => number) => windows.reduce((a, w) => a + f(w), 0);
  const offered = sum((w) => w.offered);
  const achieved = sum((w) => w.achieved);
  // A window's requests are in proportion to its offered rate (windows are of equal length).
  const weighted = (f: (w: StepWindow) => number) =>
    offered > 0 ? sum((w) => w.offered * f(w)) / offered : sum(f) / Math.max(n, 1);
  const flagged = windows.filter((w) => w.generatorBound).length;
  const late = weighted((w) => w.lateShare);
  const notes = [
    flagged * 2 > n ? `the generator was the bottleneck in ${flagged} of ${n} windows` : "",
    late > rule.lateTolerance ? `it sent ${pct(late)} of requests late` : "",
  ].filter(Boolean);
  const measured = windows.map((w) => w.latencyMs);
  return {
    offered,
    achieved,
    achievedShare: offered > 0 ? achieved / offered : 0,
    errorShare: weighted((w) => w.errorShare),
    generatorBound: notes.length > 0,
    generatorNote: notes.length ? ` (generator-bound: ${notes.join(", ")})` : "",
    latency:
      n === 0
        ? undefined
        : measured.every(Number.isFinite)
          ? logInterval(measured, rule.confidence)
          : { estimate: Infinity, lo: Infinity, hi: Infinity },
  };
}

/**
 * What the step rule makes of a step's windows so far. Nothing is called before `minWindows`. Then
 * a saturated step (achieved short of offered, on the totals) or one over the SLO's error share
 * fails; otherwise the latency interval decides: wholly below the line passes, wholly at or above
 * it fails, across it asks for more windows, and still across it after `maxWindows` is "at-line".
 * A generator-bound step is flagged but still called on its figures.
 */
export function callStep(windows: readonly StepWindow[], slo: Slo, rule: StepRule = STEP_RULE): StepCall {
  const f = figuresOf(windows, rule);
  const base = {
    latency: f.latency,
    achievedShare: f.achievedShare,
    errorShare: f.errorShare,
    generatorBound: f.generatorBound,
  };
  const n = windows.length;
  const made = (call: StepCall["call"], reason: string): StepCall => ({
    call,
    reason: reason + f.generatorNote,
    ...base,
  });
  if (n < rule.minWindows) return made("more", `${n} of ${rule.minWindows} windows measured`);
  const causes = [
    f.achievedShare < 1 - rule.achievedTolerance
      ? `achieved ${fmtRate(f.achieved / n)}/s of ${fmtRate(f.offered / n)}/s offered (${pct(f.achievedShare)}): the service saturated`
      : "",
    f.errorShare > slo.maxErrorShare ? `errors ${pct(f.errorShare)} over the ${pct(slo.maxErrorShare)} line` : "",
  ].filter(Boolean);
  if (causes.length) return made("fail", causes.join("; "));
  const l = f.latency!;
  const line = `the ${slo.maxMs} ms line`;
  const unmeasured = windows.filter((w) => !Number.isFinite(w.latencyMs)).length;
  if (unmeasured)
    return made("fail", `${slo.label} not measured in ${unmeasured} of ${n} windows (no successful answer there)`);
  const level = `${Number((rule.confidence * 100).toPrecision(3))}%`;
  const said = `${slo.label} ${sig(l.estimate)} ms (${level} interval ${sig(l.lo)}–${sig(l.hi)})`;
  if (l.hi < slo.maxMs) return made("pass", `${said} lies below ${line} over ${n} windows`);
  if (l.lo >= slo.maxMs) return made("fail", `${said} lies above ${line} over ${n} windows`);
  if (n < rule.maxWindows) return made("more", `${said} reaches across ${line} after ${n} windows: measuring more`);
  return made("at-line", `${said} reaches across ${line} after ${n} windows`);
}

/** A finished step as the search sees it. */
export interface SearchStep {
  rate: number;
  call: StepCall["call"];
  generatorBound: boolean;
}

export interface SearchOptions {
  /** The first rate tried. */
  seedRate: number;
  /** The search ends once the last pass and the first fail are within this share of each other. */
  resolution: number;
  /** Up (or down) by this factor until the SLO's line is crossed. */
  factor: number;
  minRate: number;
  maxRate: number;
  /** Levels are whole numbers (subscribers): rounded to integers, and bracketed once adjacent. */
  whole?: boolean;
}

export type SearchNext = { rate: number } | { done: "bracketed" | "below-min" | "at-max" };

/** Three significant figures: rates a reader can repeat. */
const round3 = (x: number): number => Number(x.toPrecision(3));

/** The highest passing rate, and the lowest not passing above it (any, when nothing passed). */
function bracketOf(steps: readonly SearchStep[]): { pass?: SearchStep; fail?: SearchStep } {
  const passes = steps.filter((s) => s.call === "pass");
  const pass = passes.reduce<SearchStep | undefined>((b, s) => (b && b.rate >= s.rate ? b : s), undefined);
  // "at-line" (and an unfinished "more") does not pass: it counts as a fail for the bracket.
  const above = steps.filter((s) => s.call !== "pass" && (pass === undefined || s.rate > pass.rate));
  const fail = above.reduce<SearchStep | undefined>((b, s) => (b && b.rate <= s.rate ? b : s), undefined);
  return { pass, fail };
}

/**
 * The search as a state machine over its finished steps: the next rate to measure, or why it is
 * done. It starts at the seed; while every step passed it goes up by `factor` (to `maxRate` at
 * most: done "at-max" once that passed); while none passed it goes down by `factor` (to `minRate`
 * at least: done "below-min" once that failed); once a pass lies below a fail it bisects their
 * geometric mean until they are within `resolution`, or adjacent on the rounding's grid
 * ("bracketed"). Rates have three significant figures (whole levels: integers); a rate already
 * measured is never proposed again.
 */
export function nextRate(steps: readonly SearchStep[], o: SearchOptions): SearchNext {
  const round = (x: number) => (o.whole ? Math.max(1, Math.round(round3(x))) : round3(x));
  const clamp = (x: number) => Math.min(o.maxRate, Math.max(o.minRate, round(x)));
  const measured = new Set(steps.map((s) => s.rate));
  const fresh = (x: number, done: "bracketed" | "below-min" | "at-max"): SearchNext =>
    measured.has(x) ? { done } : { rate: x };
  if (steps.length === 0) return { rate: clamp(o.seedRate) };
  const { pass, fail } = bracketOf(steps);
  if (!pass) {
    if (fail!.rate <= o.minRate) return { done: "below-min" };
    return fresh(clamp(fail!.rate / o.factor), "below-min");
  }
  if (!fail) {
    if (pass.rate >= o.maxRate) return { done: "at-max" };
    return fresh(clamp(pass.rate * o.factor), "at-max");
  }
  if (fail.rate / pass.rate <= 1 + o.resolution) return { done: "bracketed" };
  const mid = round(Math.sqrt(pass.rate * fail.rate));
  // Rounding can land the midpoint on an end of the bracket: it cannot be narrowed further.
  if (mid <= pass.rate || mid >= fail.rate) return { done: "bracketed" };
  return fresh(mid, "bracketed");
}

/** What a search found: the highest rate that passed, and the bracket of the SLO's line. */
export interface Capacity {
  capacity: number | undefined;
  /** The last pass and the first fail (or at-line) above it. */
  bracket: [number | undefined, number | undefined];
  /** The first fail was generator-bound: the service may hold the SLO beyond it, so the capacity is a lower bound. */
  lowerBound: boolean;
}

export function capacityOf(steps: readonly SearchStep[]): Capacity {
  const { pass, fail } = bracketOf(steps);
  return { capacity: pass?.rate, bracket: [pass?.rate, fail?.rate], lowerBound: fail?.generatorBound ?? false };
}

/** A candidate's capacity over the reference's, and the range the two brackets allow; undefined where a side is missing. */
export function capacityRatio(
  candidate: { capacity?: number; bracket: Capacity["bracket"] },
  reference: { capacity?: number; bracket: Capacity["bracket"] },
): { ratio: number | undefined; lo: number | undefined; hi: number | undefined } {
  const over = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  return {
    ratio: over(candidate.capacity, reference.capacity),
    lo: over(candidate.bracket[0], reference.bracket[1]),
    hi: over(candidate.bracket[1], reference.bracket[0]),
  };
}

/**
 * The guide's throughput targets judged on a capacity: "HTTP requests/sec > 1000" is the latency
 * scenario's capacity at its SLO, "Orders/sec > 100" the batch scenario's, each on the claim's
 * variant (optimized when searched, else the last). A target whose scenario was not searched, or
 * is not a rate (ws msgs/s is a feed, not a capacity), has no row.
 */
export function capacityTargets(
  searches: readonly CapacitySearchRecord[],
  targets: readonly TableTarget[],
  throughputMetric: (scenario: string) => string | undefined,
): CapacityTargetRow[] {
  const rows: CapacityTargetRow[] = [];
  for (const t of targets) {
    if (t.above === undefined || throughputMetric(t.scenario) !== t.metric) continue;
    const of = searches.filter((s) => s.scenario === t.scenario && s.level === "rate");
    const s = of.find((x) => x.variant === "optimized") ?? of.at(-1);
    if (!s) continue;
    const atLeast = s.lowerBound || s.ended === "at-max";
    const measured = s.capacity ?? (s.ended === "below-min" ? 0 : undefined);
    rows.push({
      id: t.id,
      label: t.label,
      scenario: t.scenario,
      variant: s.variant,
      definition: `capacity: the highest offered rate (open model) at which ${s.slo.label} < ${s.slo.maxMs} ms held`,
      requirement: `> ${t.above} ${t.unit} (stretch > ${t.stretch})`,
      ...(measured !== undefined ? { measured } : {}),
      atLeast,
      status:
        measured === undefined
          ? "not-measured"
          : measured > t.stretch
            ? "stretch-met"
            : measured > t.above
              ? "pass"
              : atLeast
                ? "not-measured"
                : "fail",
    });
  }
  return rows;
}

/**
 * Across a step's windows: the median achieved rate, each percentile's interval (as the rule's, on
 * logs), the median CPU per unit, and N = X·R (Little's law: the concurrency the USL fit reads).
 */
export function stepSummary(windows: readonly WindowRecord[], confidence = STEP_RULE.confidence): StepSummary {
  const pick = (f: (w: WindowRecord) => number | undefined) =>
    windows.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const interval = (xs: number[]) => (xs.length ? logInterval(xs, confidence) : undefined);
  const achieved = pick((w) => w.achieved);
  const cpu = pick((w) => w.cpuPerUnit);
  const mean = pick((w) => w.meanMs);
  const x = achieved.length ? median(achieved) : 0;
  return {
    achieved: x,
    p50: interval(pick((w) => w.p50Ms)),
    p95: interval(pick((w) => w.p95Ms)),
    p99: interval(pick((w) => w.p99Ms)),
    ...(cpu.length ? { cpuPerUnit: median(cpu) } : {}),
    ...(mean.length ? { concurrency: (x * median(mean)) / 1000 } : {}),
  };
}

/** The USL's points: every window of the steps below saturation, N = X·R (Little's law) against X. */
export function uslPoints(steps: readonly CapacityStepRecord[], rule = STEP_RULE): Array<{ n: number; x: number }> {
  return steps
    .filter((s) => s.call.call !== "fail" || s.call.achievedShare >= 1 - rule.achievedTolerance)
    .flatMap((s) => s.windows)
    .filter((w) => w.meanMs !== undefined && w.achieved > 0)
    .map((w) => ({ n: (w.achieved * w.meanMs!) / 1000, x: w.achieved }));
}

/** The search's last step, when it ended at the line at a level tried only once: try it again. */
export function retryOf(r: CapacitySearchRecord): CapacityStepRecord | undefined {
  const last = r.steps.at(-1);
  if (!last || last.call.call !== "at-line" || last.pooledWith !== undefined) return undefined;
  return r.steps.filter((s) => s.level === last.level).length === 1 ? last : undefined;
}

/** Each level's latest step (a retried level's, whose call read both tries). */
function latestByLevel(r: CapacitySearchRecord): CapacityStepRecord[] {
  const byLevel = new Map<number, CapacityStepRecord>();
  for (const s of r.steps) byLevel.set(s.level, s);
  return [...byLevel.values()];
}

/** What the search state machine reads: each level once, with its latest call. */
export function searchSteps(r: CapacitySearchRecord) {
  return latestByLevel(r).map((s) => ({ rate: s.level, call: s.call.call, generatorBound: s.call.generatorBound }));
}

/**
 * Once bracketed, both ends are confirmed: the highest pass, then the first level above it that
 * did not pass, are each tried once more (their windows pooled with the first try's), symmetric so
 * as not to favour a higher or a lower capacity. A flipped end sends the search on. A level whose
 * load could not be applied at all is not tried again.
 */
export function confirmOf(r: CapacitySearchRecord): CapacityStepRecord | undefined {
  const latest = latestByLevel(r);
  const top = latest.filter((s) => s.call.call === "pass").sort((a, b) => b.level - a.level)[0];
  if (!top) return undefined;
  const first = latest
    .filter((s) => s.level > top.level && s.call.call !== "pass")
    .sort((a, b) => a.level - b.level)[0];
  const triedOnce = (s: CapacityStepRecord | undefined) =>
    s !== undefined && s.windows.length > 0 && r.steps.filter((x) => x.level === s.level).length === 1;
  return [top, first].find(triedOnce);
}
