/**
 * A stored run (results.json, and gate.json beside it for a gate against a revision) as history
 * records: one per candidate variant × scenario × headline metric, with the median over the run's
 * ok rounds and an interval on it; for a gate, each metric's paired ratio against the baseline
 * commit. Reads nothing on its own but in `readStoredRun`.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { readGateReport, readResultsFile } from "../results/file.js";
import {
  gateMetricKey,
  type Comparison,
  type GateReport,
  type PlanRecord,
  type Results,
  type TrialRecord,
} from "../results/schema.js";
import { omitUndefined, testbedOf, type HistoryRecord, type PairedLink, type RunFacts } from "./record.js";

/** What the stored run does not say: the commit's place in git, and where the run was read from. */
export interface RecordContext {
  /** The commit measured; default: the checkout's commit that results.json records. */
  commit?: string;
  parent?: string;
  branch?: string;
  source?: string;
}

type Variant = PlanRecord["variants"][number];

/** A revision gate's baseline arm: a variant run on the system at another commit (`name@ref`). */
const baselineArm = (v: Variant): { ref: string; commit: string } | undefined =>
  v.system?.kind === "revision" && !v.system.candidate ? { ref: v.system.ref, commit: v.system.commit } : undefined;

/**
 * The history records of a stored run. `gate` is the gate.json of a gate against a revision: the
 * run's baseline arms (`name@ref`, run on the baseline commit) are then links, not points of this
 * commit. Without it, baseline arms are left out too: they measured another commit.
 */
export function recordsOf(results: Results, gate?: GateReport, ctx: RecordContext = {}): HistoryRecord[] {
  const facts = runFactsOfResults(results, gate, ctx);
  const arms = results.plan.variants.filter((v) => !baselineArm(v));
  const base = results.plan.variants.map(baselineArm).find((b) => b !== undefined);
  const out: HistoryRecord[] = [];
  for (const v of arms)
    for (const scenario of results.plan.scenarios) {
      const trials = results.trials.filter((t) => t.status === "ok" && t.variant === v.name && t.scenario === scenario);
      for (const m of metricsOf(results.plan, scenario, trials)) {
        const values = trials.map((t) => t.metrics[m.metric]).filter((x): x is number => Number.isFinite(x));
        if (values.length === 0) continue;
        const link =
          base && gate ? linkOf(results, gate, `${v.name}@${base.ref}`, v.name, scenario, m.metric) : undefined;
        out.push(omitUndefined({ ...facts, variant: v.name, scenario, ...m, ...medianInterval(values), link }));
      }
    }
  return out;
}

function runFactsOfResults(results: Results, gate: GateReport | undefined, ctx: RecordContext): RunFacts {
  const checkout = results.plan.checkout;
  const commit = ctx.commit ?? checkout?.commit;
  if (!commit)
    throw new UsageError(
      `run ${results.runId} records no commit (it did not run from a git checkout): give the commit it measured (--commit SHA)`,
    );
  const time = new Date(results.startedAt);
  if (Number.isNaN(time.getTime()))
    throw new UsageError(
      `run ${results.runId} has no valid start time (startedAt ${JSON.stringify(results.startedAt)})`,
    );
  const base = results.plan.variants.map(baselineArm).find((b) => b !== undefined);
  return omitUndefined({
    runId: results.runId,
    kind: gate && base ? "gate" : "run",
    commit,
    parent: ctx.parent,
    branch: ctx.branch,
    time: time.toISOString(),
    dirty: checkout && checkout.commit === commit ? checkout.dirty : undefined,
    testbed: testbedOf(results.machine),
    source: ctx.source,
    perfpack: results.perfpack,
    gate:
      gate && base
        ? {
            baselineCommit: base.commit,
            baselineRef: base.ref,
            outcome: gate.outcome,
            maxRegression: gate.maxRegression,
          }
        : undefined,
  });
}

/** The metrics to keep of a scenario: its headlines (with their words and direction), else every measured one. */
function metricsOf(
  plan: PlanRecord,
  scenario: string,
  trials: readonly TrialRecord[],
): Array<{ metric: string; label?: string; better?: "higher" | "lower"; unit?: "share" }> {
  const headlines = plan.headlines?.[scenario];
  if (headlines?.length)
    return headlines.map((h) => ({ metric: h.metric, label: h.label, better: h.better, unit: h.unit }));
  const names = new Set(trials.flatMap((t) => Object.keys(t.metrics)));
  return [...names].sort().map((metric) => ({ metric }));
}

/**
 * A metric's paired ratio in a gate: the gate's own comparison for its gate metrics (at its last
 * look's level, with its call), else the run's summary comparison of the same two arms (95%).
 */
function linkOf(
  results: Results,
  gate: GateReport,
  reference: string,
  candidate: string,
  scenario: string,
  metric: string,
): PairedLink | undefined {
  const same = (c: Comparison) =>
    c.reference === reference && c.candidate === candidate && c.scenario === scenario && c.metric === metric;
  const fromGate = gate.comparisons.find(same);
  const c = fromGate ?? results.summary.comparisons?.find(same);
  if (!c || !c.estimate.paired) return undefined;
  const e = c.estimate;
  const call = fromGate ? gate.looks.at(-1)?.calls[gateMetricKey(c)] : undefined;
  return omitUndefined({
    ratio: e.ratio,
    lo: e.lo,
    hi: e.hi,
    level: e.level ?? 0.95,
    n: e.n,
    method: e.method,
    p: e.p,
    baselineMedian: c.referenceMedian,
    call,
  });
}

/** Two-sided coverage of [x(k), x(n+1−k)] for the median of n values: 1 − 2·P(Binomial(n, ½) < k). */
function orderCoverage(n: number, k: number): number {
  let tail = 0;
  let logP = -n * Math.LN2; // log P(X = 0)
  for (let i = 0; i < k; i++) {
    tail += Math.exp(logP);
    logP += Math.log((n - i) / (i + 1));
  }
  return Math.max(0, 1 - 2 * tail);
}

/**
 * The median (type 7, as the run's summary computes it) with a distribution-free interval: the
 * order statistics x(k) and x(n+1−k) with the largest k whose coverage is still ≥ 95%, so no
 * assumption on the shape of the rounds' spread. Under 6 rounds no pair reaches 95%: the range is
 * given, with the coverage it has (`level`: 94% at 5 rounds, 0 for one round).
 */
export function medianInterval(values: readonly number[]): {
  median: number;
  lo: number;
  hi: number;
  level: number;
  n: number;
} {
  const xs = [...values].sort((a, b) => a - b);
  const n = xs.length;
  const h = (n - 1) / 2;
  const median = xs[Math.floor(h)]! + (h - Math.floor(h)) * (xs[Math.ceil(h)]! - xs[Math.floor(h)]!);
  let k = 1;
  while (k + 1 <= (n + 1) / 2 && orderCoverage(n, k + 1) >= 0.95) k++;
  return { median, lo: xs[k - 1]!, hi: xs[n - k]!, level: orderCoverage(n, k), n };
}

/** A run as stored on disk: a results.json, or a run folder holding one (and gate.json for a gate). */
export interface StoredRun {
  results: Results;
  gate?: GateReport;
  /** The results.json read. */
  source: string;
}

/**
 * Reads a stored run for `history add`: a results.json, or a folder with one (a run's or a gate's
 * report folder); gate.json beside it makes it a gate. Missing or invalid files are usage errors.
 */
export function readStoredRun(path: string): StoredRun {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const file = isDir ? join(path, "results.json") : path;
  if (isDir && !existsSync(file))
    throw new UsageError(`${path} holds no results.json: give a results file or a run's report folder`);
  const results = readResultsFile(file);
  // gate.json beside it, when it is this run's decision (a gate names the run it decided)
  const gate = readGateReport(dirname(file)) as (GateReport & { current?: string }) | undefined;
  const ours = gate && (gate.current === undefined || gate.current === results.runId);
  return { results, gate: ours ? gate : undefined, source: file };
}
