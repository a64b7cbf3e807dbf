/**
 * The capacity job's report as data (capacity.json → cells and sentences): the tables' columns as
 * Dimensions, and the sentences every format shares (Markdown, HTML and the terminal).
 */
import type {
  CapacityTargetRow,
  CapacityDocument,
  CapacityRatio,
  CapacitySearchRecord,
  CapacityStepRecord,
  Interval,
  SearchEnd,
  Slo,
} from "../results/capacity.js";
import { sloText } from "../plan/slo.js";
import { STEP_RULE } from "../verdict/capacity.js";
import { fmt, ratioText, shareText, STATUS_TEXT, type Dimension } from "./format.js";

/** One scenario of the job: its searches (a variant each, in the plan's order) and its ratios. */
export interface ScenarioView {
  scenario: string;
  unit: string;
  level: CapacitySearchRecord["level"];
  slo: Slo;
  searches: CapacitySearchRecord[];
  ratios: CapacityRatio[];
}

/** The scenarios that have searches (an interrupted job may not have reached the later ones). */
export function scenarioViews(doc: CapacityDocument): ScenarioView[] {
  const order = doc.plan.variants.map((v) => v.name);
  const rank = (r: CapacitySearchRecord) => order.indexOf(r.variant);
  return doc.plan.scenarios.flatMap((scenario) => {
    const searches = doc.searches.filter((s) => s.scenario === scenario).sort((a, b) => rank(a) - rank(b));
    const first = searches[0];
    if (!first) return [];
    const ratios = doc.ratios.filter((q) => q.scenario === scenario);
    return [{ scenario, unit: first.unit, level: first.level, slo: first.slo, searches, ratios }];
  });
}

/** The scenarios of the plan no search reached. */
export const unreachedScenarios = (doc: CapacityDocument): string[] =>
  doc.plan.scenarios.filter((s) => !doc.searches.some((r) => r.scenario === s));

/**
 * Levels in the scenario's unit per unit of achieved work: 1 on a rate step (offered = the level);
 * on a subscribers step, 1 / the feed rate, so that what was delivered reads as subscribers served.
 */
function unitPerWork(step: CapacityStepRecord): number {
  const offered = step.windows[0]?.offered;
  return offered && offered > 0 ? step.level / offered : 1;
}

/** A search's unit per unit of work, from its first measured step (1 before any). */
const searchUnitPerWork = (r: CapacitySearchRecord): number => {
  const step = r.steps.find((s) => s.windows.length > 0);
  return step ? unitPerWork(step) : 1;
};

/** What a step achieved, in the scenario's unit (a rate step: answered per second). */
export const achievedLevel = (step: CapacityStepRecord): number => step.summary.achieved * unitPerWork(step);

/** The capacity is a lower bound: a generator-bound step decided it, or the search reached the max level. */
export const isLowerBound = (r: CapacitySearchRecord): boolean => r.lowerBound || r.ended === "at-max";

export const capacityText = (r: CapacitySearchRecord): string =>
  r.capacity === undefined ? "none" : `${isLowerBound(r) ? "≥ " : ""}${fmt(r.capacity)} ${r.unit}`;

/** The last pass – the first fail above it. */
export const bracketText = (r: CapacitySearchRecord): string => {
  const [pass, fail] = r.bracket;
  if (pass === undefined && fail === undefined) return "–";
  return `${pass === undefined ? "none passed" : fmt(pass)} – ${fail === undefined ? "none failed" : fmt(fail)}`;
};

const ENDED: Record<SearchEnd, string> = {
  bracketed: "bracketed",
  budget: "budget ended",
  "below-min": "below the lowest level",
  "at-max": "at the max level",
  interrupted: "interrupted",
  failed: "failed",
};

const endedText = (r: CapacitySearchRecord): string =>
  r.ended === undefined
    ? "running"
    : r.ended === "failed"
      ? `failed: ${r.error ?? "no error recorded"}`
      : ENDED[r.ended];

/** What to say of a search that ended short of a bracket, or whose capacity is only a bound; undefined for neither. */
export const earlyText = (r: CapacitySearchRecord): string | undefined => {
  const parts = [
    ...(r.ended !== "bracketed" ? [endedText(r)] : []),
    ...(r.lowerBound ? ["a lower bound (a generator-bound step decided it)"] : []),
  ];
  return parts.length ? `${r.variant}: ${parts.join(", ")}` : undefined;
};

const pm = (v: number, se: number) => `${fmt(v)} ± ${fmt(se)}`;

/** The USL fit in one cell (λ and X(N*) in the scenario's unit), or why there is none. */
function uslText(r: CapacitySearchRecord): string {
  const u = r.usl;
  if (!u) return "–";
  if ("reason" in u) return `none: ${u.reason}`;
  const f = searchUnitPerWork(r);
  const peak =
    u.peakN === undefined || u.peakX === undefined
      ? "no peak (κ = 0: no retrograde region)"
      : `peak N* ${fmt(u.peakN)}, X(N*) ${fmt(u.peakX * f)} ${r.unit}`;
  return `σ ${pm(u.sigma, u.se.sigma)}, κ ${pm(u.kappa, u.se.kappa)}, λ ${pm(u.lambda * f, u.se.lambda * f)}; ${peak}; R² ${u.r2.toFixed(3)} (${u.points} points)`;
}

export const capacityDimensions: Dimension<CapacitySearchRecord>[] = [
  { label: "variant", format: (r) => r.variant },
  { label: "capacity", format: capacityText },
  { label: "bracket (last pass – first fail)", format: bracketText },
  { label: "search ended", format: endedText },
  { label: "steps", format: (r) => String(r.steps.length) },
  { label: "USL fit (σ, κ, λ ± s.e.; predicted peak; R²)", format: uslText },
];

/** The achieved rate at a search's capacity (the passing step's), in the scenario's unit. */
function achievedAtCapacity(r: CapacitySearchRecord): number | undefined {
  if (r.capacity === undefined) return undefined;
  const step = r.steps.find((s) => s.level === r.capacity && s.call.call === "pass");
  return step ? achievedLevel(step) : r.capacity;
}

/**
 * Where the USL's predicted peak and the measured capacity disagree: a peak throughput below the
 * capacity, or more than 1.5× above it. One sentence per such variant.
 */
export function uslDisagreements(searches: readonly CapacitySearchRecord[]): string[] {
  return searches.flatMap((r) => {
    const u = r.usl;
    const measured = achievedAtCapacity(r);
    if (!u || "reason" in u || u.peakX === undefined || measured === undefined) return [];
    const peak = u.peakX * searchUnitPerWork(r);
    const at = `${r.variant}: the USL's predicted peak throughput X(N*) = ${fmt(peak)} ${r.unit}`;
    const cap = `the measured capacity (${fmt(measured)} ${r.unit} achieved at ${fmt(r.capacity)} ${r.unit} offered)`;
    if (peak < measured)
      return [
        `${at} is below ${cap}: the fit does not describe the measured curve (too few points below saturation, or the knee lies beyond them), so the measured capacity stands and the fit does not.`,
      ];
    if (peak > 1.5 * measured)
      return [
        `${at} is ${(peak / measured).toFixed(1)}× ${cap}: latency crosses the SLO line long before throughput would peak, so the SLO, not the throughput ceiling, bounds the capacity (or the fit extrapolates far beyond its points).`,
      ];
    return [];
  });
}

const searchOf = (doc: CapacityDocument, scenario: string, variant: string) =>
  doc.searches.find((s) => s.scenario === scenario && s.variant === variant);

/** Against the guide's ">2×": above, below, or not settled by what the brackets allow. */
function twoTimes(q: CapacityRatio, candidateBound: boolean, referenceBound: boolean): string {
  // a lower bound on the candidate's capacity lifts the ratio's top without limit; on the reference's, lowers its bottom to 0
  const low = referenceBound ? 0 : (q.lo ?? q.ratio!);
  const high = candidateBound ? Infinity : (q.hi ?? q.ratio!);
  if (low > 2) return "more than 2× across that range";
  if (high < 2) return "less than 2× across that range";
  return "2× lies within that range: not settled";
}

/** The range of a ratio the brackets allow; one end when a search found no fail above its pass. */
const rangeText = (q: CapacityRatio): string =>
  q.lo !== undefined && q.hi !== undefined
    ? ` (${q.lo.toFixed(2)}–${q.hi.toFixed(2)}× the brackets allow)`
    : q.lo !== undefined
      ? ` (at least ${ratioText(q.lo)} the brackets allow; ${q.candidate} found no fail)`
      : q.hi !== undefined
        ? ` (at most ${ratioText(q.hi)} the brackets allow; ${q.reference} found no fail)`
        : "";

/** A candidate's capacity ratio over the reference with the range the brackets allow, or why there is none. */
export function ratioSentence(doc: CapacityDocument, q: CapacityRatio): string {
  const cand = searchOf(doc, q.scenario, q.candidate);
  const ref = searchOf(doc, q.scenario, q.reference);
  const name = `${q.candidate} / ${q.reference}`;
  if (q.ratio === undefined) {
    const missing = [cand, ref].filter((s): s is CapacitySearchRecord => s !== undefined && s.capacity === undefined);
    const why = missing.map((s) => `${s.variant} has no capacity (${endedText(s)})`).join(", and ");
    // the candidate's first fail over the reference's last pass still bounds it from above
    const most = q.hi !== undefined ? `; the brackets allow at most ${ratioText(q.hi)}` : "";
    return `${name}: no ratio: ${why || "it was not computed"}${most}`;
  }
  const cb = cand !== undefined && isLowerBound(cand);
  const rb = ref !== undefined && isLowerBound(ref);
  const mark = cb && !rb ? "≥ " : rb && !cb ? "≤ " : "";
  const range = rangeText(q);
  const bounds =
    cb && rb
      ? "; both capacities are lower bounds, so the ratio is bounded neither way"
      : cb || rb
        ? `; ${cb ? q.candidate : q.reference}'s capacity is a lower bound`
        : "";
  return `${name}: ${mark}${ratioText(q.ratio)}${range}${bounds}; ${twoTimes(q, cb, rb)}`;
}

/** What the ratio is: the honest form of the guide's claim. */
export const RATIO_NOTE =
  `The capacity ratio is the honest form of the guide's ">2× throughput at a lower p95": the ratio of the highest offered rates at which each variant holds the same SLO. ` +
  `Each capacity lies within its bracket (last pass – first fail), and the range is what the two brackets allow.`;

/** A step of a scenario's table, with its search. */
export interface StepRow {
  search: CapacitySearchRecord;
  step: CapacityStepRecord;
}

/** Every step of a scenario, in the order measured. */
export const stepRows = (v: ScenarioView): StepRow[] =>
  v.searches
    .flatMap((search) => search.steps.map((step) => ({ search, step })))
    .sort((a, b) => a.step.seq - b.step.seq);

const CALL_TEXT: Record<CapacityStepRecord["call"]["call"], string> = {
  pass: "✓ pass",
  fail: "✗ fail",
  "at-line": "~ at-line",
  more: "… more",
};

/** An interval as "estimate (lo–hi)"; one window's is its value. */
export const intervalText = (i: Interval | undefined): string =>
  i === undefined ? "–" : i.lo === i.hi ? fmt(i.estimate) : `${fmt(i.estimate)} (${fmt(i.lo)}–${fmt(i.hi)})`;

export const stepDimensions = (v: ScenarioView): Dimension<StepRow>[] => [
  { label: "#", format: (r) => String(r.step.seq) },
  { label: "variant", format: (r) => r.search.variant },
  { label: `level (${v.unit})`, format: (r) => fmt(r.step.level) },
  { label: "call", format: (r) => CALL_TEXT[r.step.call.call] },
  { label: `${v.slo.label} across windows (ms)`, format: (r) => intervalText(r.step.call.latency) },
  { label: "p50 ms", format: (r) => intervalText(r.step.summary.p50) },
  { label: "p95 ms", format: (r) => intervalText(r.step.summary.p95) },
  { label: "p99 ms", format: (r) => intervalText(r.step.summary.p99) },
  {
    label: `achieved (${v.unit}, share of offered)`,
    format: (r) => `${fmt(achievedLevel(r.step))} (${shareText(r.step.call.achievedShare)})`,
  },
  { label: "errors", format: (r) => shareText(r.step.call.errorShare) },
  { label: "CPU µs/unit", format: (r) => fmt(r.step.summary.cpuPerUnit) },
  { label: "generator-bound", format: (r) => (r.step.call.generatorBound ? "⚠ yes" : "") },
  { label: "windows", format: (r) => String(r.step.windows.length) },
  { label: "reason", format: (r) => r.step.call.reason },
];

/** The machine, the job's version and its times, in one sentence. */
export function machineText(doc: CapacityDocument): string {
  const m = doc.machine;
  const times = `started ${doc.startedAt}${doc.finishedAt ? `, finished ${doc.finishedAt}` : ", not finished"}`;
  return `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node} (${m.hostname}). perfpack ${doc.perfpack}, ${times}.`;
}

/** A variant's env (and its system), as one line. */
export const variantText = (v: CapacityDocument["plan"]["variants"][number]): string =>
  `${
    Object.entries(v.env)
      .map(([k, val]) => `${k}=${val}`)
      .join(" ") || "(the service's own settings)"
  }${systemText(v.system)}`;

/** Which service a variant ran: a team's command, a revision, or (nothing said) the bundled executor. */
function systemText(system: CapacityDocument["plan"]["variants"][number]["system"]): string {
  if (system?.kind === "command") return ` (service: \`${system.cmd}\`)`;
  if (system?.kind === "revision") return ` (revision ${system.ref}, ${system.commit.slice(0, 10)})`;
  return "";
}

/** A scenario's line of the plan: its SLO and what a step sets. */
export const scenarioText = (v: ScenarioView): string =>
  `${v.scenario}: SLO ${sloText(v.slo)}; each step sets the ${v.level === "rate" ? "offered rate" : "number of subscribers"} (${v.unit})`;

/** How the search went about it: the resolution, the budget and the windows. */
export const searchText = (doc: CapacityDocument): string => {
  const p = doc.plan;
  return (
    `Search: levels double from half a closed-model probe's throughput until a step fails, then bisect to a resolution of ${Number((p.resolution * 100).toPrecision(3))}% of the capacity, ` +
    `within a budget of ${p.budgetS} s per scenario; a step is a ${p.warmupS} s warm-up (not judged), then ${p.minWindows} to ${p.maxWindows} windows of ${p.windowS} s. Reference of the ratios: ${p.reference}.`
  );
};

/** Where each variant's search started: its seed and the closed-model probe behind it. */
export const seedText = (v: ScenarioView): string | undefined => {
  const parts = v.searches
    .filter((r) => r.seed !== undefined)
    .map(
      (r) =>
        `${r.variant} from ${fmt(r.seed)} ${r.unit}${r.probe ? ` (closed-model probe: ${fmt(r.probe.throughput)}/s${r.probe.p95Ms !== undefined ? `, p95 ${fmt(r.probe.p95Ms)} ms` : ""})` : ""}`,
    );
  return parts.length ? `Searches started: ${parts.join("; ")}.` : undefined;
};

/** How to read the report: what capacity is and how it was measured. */
export const capacityNotes = (): string[] => [
  `Capacity: the highest offered level at which the SLO held, under an open model: requests leave on a schedule whatever the answers, and latency counts from each request's scheduled send time (coordinated-omission corrected), so a queue in the service shows in its percentiles.`,
  `A step passes when the interval (${Number((STEP_RULE.confidence * 100).toPrecision(3))}%) of its SLO percentile across windows lies below the line and its error share is under its own line; it fails when the interval lies above the line; at-line: the interval still straddles the line after the most windows, which does not pass. The bracket is the last level that passed and the first above it that did not: the capacity lies between.`,
  `Saturation: a step whose achieved rate falls short of the offered one by more than ${Number((STEP_RULE.achievedTolerance * 100).toPrecision(3))}% fails, whatever its latency. Generator-bound: the load generator itself could not keep its schedule; a capacity decided by such a step is a lower bound (≥), as is one at the max level.`,
  `The variants' steps were interleaved (one step of each in turn) so that the machine's drift hits each alike; the order is capacity.json's \`order\`, and # in the steps table.`,
  `USL: the Universal Scalability Law X(N) = λN / (1 + σ(N − 1) + κN(N − 1)), fitted to the windows below saturation with N = X·R (Little's law): σ is contention, κ coherence, and N* = √((1 − σ)/κ) the concurrency of its predicted peak X(N*).`,
];

/** The guide's throughput targets judged on the capacities: which definition each row uses. */
export const capacityTargetDimensions: Dimension<CapacityTargetRow>[] = [
  { label: "target", format: (t) => t.label },
  { label: "measured", format: (t) => (t.measured === undefined ? "–" : `${t.atLeast ? "≥ " : ""}${fmt(t.measured)}`) },
  { label: "needs", format: (t) => t.requirement },
  { label: "status", format: (t) => STATUS_TEXT[t.status] },
  { label: "on", format: (t) => t.variant },
  { label: "definition", format: (t) => t.definition },
];

export const TARGETS_NOTE =
  "A run's `http_rps` row is the closed model's throughput at its connection count, where the service is saturated and its p95 is the queue those connections make; here the same target is judged on the capacity, the highest rate served while the SLO held.";
