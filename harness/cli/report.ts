import Table from "cli-table3";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { EXIT, UsageError } from "../errors.js";
import { profileArtifacts } from "../profile/artifacts.js";
import { exportAll } from "../report/exporter.js";
import { comparisonDimensions } from "../report/format.js";
import { EXPORTERS } from "../report/index.js";
import { verdictText } from "../report/terminal.js";
import { readResultsFile } from "../results/file.js";
import type { Comparison, Results } from "../results/schema.js";
import { analyze, headlinesOf } from "../verdict/analysis.js";
import { compareRuns } from "../verdict/compare.js";
import { decideGate, type GateDecision } from "../verdict/gate.js";
import type { IO } from "./io.js";
import { prepareRevision } from "../engine/systems.js";
import { GATE_DEFAULTS, GATE_SEQUENTIAL } from "../plan/defaults.js";
import type { RunFlags } from "../plan/options.js";
import { decideRevisionGate, type RevisionGateDecision } from "../verdict/gate.js";
import { compareRevisions } from "../verdict/compare.js";
import { lookLevel, looksWithin, type MetricCall, type SequentialDesign } from "../verdict/sequential.js";
import { projectRoot } from "../../services/common/src/project.js";
import type { Scenario } from "../../scenarios/contract.js";
import { runAndReport } from "./run.js";

/** The verdict, once, from the trials: results.json's trials are the source of truth. */
const analyzed = (r: Results): Results => ({ ...r, summary: analyze(r, headlinesOf(r)) });

/** Every report format from a results file, into `outDir` (default: beside it). */
export function renderReports(file: string, outDir: string | undefined, env: Readonly<NodeJS.ProcessEnv> = {}): { results: Results; written: string[]; errors: string[] } {
  const results = analyzed(readResultsFile(file));
  const dir = resolve(outDir ?? dirname(file));
  return { results, ...exportAll(results, { headlines: headlinesOf(results), ...profileArtifacts(dirname(resolve(file))) }, dir, EXPORTERS, { GITHUB_STEP_SUMMARY: env.GITHUB_STEP_SUMMARY }) };
}

/** `perfpack report <results.json> [--out DIR]`: every report format again, nothing re-run. */
export function reportCommand(file: string, outDir: string | undefined, io: IO): number {
  const { results: r, written, errors } = renderReports(file, outDir, io.env);
  io.out.write(verdictText(r, io.paint) + "\n");
  for (const f of written) io.out.write(`report: ${f}\n`);
  for (const e of errors) io.err.write(io.paint.red(`failed: ${e}\n`));
  return errors.length ? EXIT.runFailure : EXIT.ok;
}

const CALL_TEXT: Record<MetricCall, string> = { regression: "✗ regression: wholly beyond the line", clear: "✓ clear of the line", undecided: "? undecided: across the line" };

/** Across two runs the arms are one variant in A and in B: the comparison's columns, renamed. */
const acrossRuns = comparisonDimensions
  .filter((d) => d.label !== "candidate")
  .map((d) =>
    d.label === "reference median"
      ? { ...d, label: "A median" }
      : d.label === "candidate median"
        ? { ...d, label: "B median" }
        : d.label.startsWith("ratio")
          ? { ...d, label: "B / A (geo. mean)" }
          : d,
  );
const variantColumn = { label: "variant", format: (c: Comparison) => c.reference.replace(" (baseline run)", "") };
/** The columns a gate's calls replace: the 95% interval, the Holm p and its direction. */
const CALLED = ["p (Holm)", "", "95% interval (unadjusted)"];

function table(dims: ReadonlyArray<{ label: string; format: (c: Comparison) => string }>, rows: readonly Comparison[]): string {
  const t = new Table({ head: dims.map((d) => d.label), style: { head: [], border: [], compact: true } });
  for (const c of rows) t.push(dims.map((d) => d.format(c)));
  return t.toString();
}

/** A gate's table: each metric's interval at the gate's level, and its call against the line (`across`: two stored runs). */
function callTable(d: Pick<GateDecision, "comparisons" | "calls">, across: boolean): string {
  const level = d.comparisons[0]?.estimate.level ?? 0.95;
  const calls = new Map(d.comparisons.map((c, i) => [c, d.calls[i]!]));
  const keep = (across ? [variantColumn, ...acrossRuns] : comparisonDimensions).filter((x) => !CALLED.includes(x.label));
  return table(
    [...keep, { label: `${(level * 100).toFixed(2)}% interval`, format: (c) => `${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}` }, { label: "call", format: (c) => CALL_TEXT[calls.get(c)!] }],
    d.comparisons,
  );
}

const comparisonTable = (rows: readonly Comparison[]): string => table([variantColumn, ...acrossRuns], rows);

export interface CompareDocument {
  schema: "perfpack/compare@1";
  a: { file: string; runId: string; rounds: number };
  b: { file: string; runId: string; rounds: number };
  comparisons: Comparison[];
}

/** B against A for every variant and scenario in both runs (unpaired: the runs share no rounds). */
export function compareFiles(a: string, b: string): CompareDocument {
  const ra = analyzed(readResultsFile(a, "run A"));
  const rb = analyzed(readResultsFile(b, "run B"));
  const comparisons = compareRuns(ra, rb, headlinesOf(rb));
  if (comparisons.length === 0) throw new UsageError(`${a} and ${b} share no variant and scenario to compare`);
  return { schema: "perfpack/compare@1", a: { file: a, runId: ra.runId, rounds: ra.plan.rounds }, b: { file: b, runId: rb.runId, rounds: rb.plan.rounds }, comparisons };
}

/** `perfpack compare a.json b.json [--json]`. */
export function compareCommand(a: string, b: string, o: { json?: boolean }, io: IO): number {
  const d = compareFiles(a, b);
  if (o.json) {
    io.out.write(JSON.stringify(d, null, 2) + "\n");
    return EXIT.ok;
  }
  io.out.write(`A: ${a} (${d.a.runId}, ${d.a.rounds} rounds)\nB: ${b} (${d.b.runId}, ${d.b.rounds} rounds)\n`);
  io.out.write(comparisonTable(d.comparisons) + "\n");
  io.out.write("ratio = B / A: geometric mean of B's rounds over A's (the medians beside it are for reading); intervals unpaired (the runs share no rounds); p Holm-adjusted over the rows.\n");
  return EXIT.ok;
}

export interface GateDocument extends GateDecision {
  schema: "perfpack/gate@1";
  baseline: string;
  current: string;
  maxRegression: number;
  strict: boolean;
}

/** The gate's decision on two runs, pure apart from analysing their trials. */
export function gateRuns(base: Results, current: Results, maxRegression: number, strict = false): GateDocument {
  const b = analyzed(base);
  const c = analyzed(current);
  return { schema: "perfpack/gate@1", baseline: b.runId, current: c.runId, maxRegression, strict, ...decideGate(b, c, headlinesOf(c), maxRegression) };
}

/** The exit code of a gate's outcome: 1 for a regression, and for inconclusive under --strict. */
const gateExit = (d: Pick<GateDecision, "outcome">, strict: boolean): number => (d.outcome === "regression" || (d.outcome === "inconclusive" && strict) ? EXIT.gateFailed : EXIT.ok);

/** The closing lines of a gate: its outcome, what to do about an inconclusive one, and the reasons. */
function outcomeText(d: Pick<GateDecision, "outcome" | "reasons">, strict: boolean, line: number, io: IO, inconclusiveWhy: string, passAlso = ""): string {
  const list = d.reasons.map((x) => `  - ${x}`).join("\n") + "\n";
  if (d.outcome === "pass") return io.paint.green.bold("gate: PASS") + ` — every gate metric's interval is wholly better than ${(line * 100).toFixed(0)}% worse${passAlso}\n`;
  if (d.outcome === "regression") return io.paint.red.bold("gate: FAIL (regression)\n") + list;
  return (strict ? io.paint.red.bold("gate: FAIL (inconclusive, --strict)\n") : io.paint.yellow.bold("gate: INCONCLUSIVE") + ` — ${inconclusiveWhy}; exit 0 (--strict makes this exit 1)\n`) + list;
}

/**
 * `perfpack gate --baseline`: exit 1 on a regression wholly beyond the line or a failed gating
 * target; inconclusive (an interval across the line) exits 0 with a warning, 1 under --strict.
 */
export function gateCommand(base: Results, current: Results, maxRegression: number, o: { json?: boolean; strict?: boolean }, io: IO): number {
  const strict = o.strict === true;
  const d = gateRuns(base, current, maxRegression, strict);
  const human = o.json ? io.err : io.out;
  const level = d.comparisons[0]?.estimate.level ?? 0.95;
  human.write(
    `gate: current ${d.current} against baseline ${d.baseline}; ${d.comparisons.length} gate metrics (per variant and scenario), intervals at ${(level * 100).toFixed(2)}% (Bonferroni over them), line ${(maxRegression * 100).toFixed(0)}% worse\n`,
  );
  human.write(callTable(d, true) + "\n");
  human.write(
    outcomeText(d, strict, maxRegression, io, "too few rounds or too much noise to decide every metric: give both runs more --rounds, or use --baseline-ref", ", and every gating target holds"),
  );
  if (o.json) io.out.write(JSON.stringify(d, null, 2) + "\n");
  return gateExit(d, strict);
}

export interface RevisionGateOptions {
  ref: string;
  maxRegression: number;
  json?: boolean;
  seed: number;
  /** --candidate-env: this checkout's side only (a calibrated burn, to measure the gate). */
  candidateEnv?: Record<string, string>;
  /** --budget: seconds the whole gate may take, the build included; no batch starts that would not end within it. */
  budgetS?: number;
  /** --strict: an inconclusive gate exits 1 instead of 0. */
  strict?: boolean;
}

/** One look of the sequential gate: its rounds, its intervals' level, and the metrics' calls. */
export interface LookRecord {
  look: number;
  rounds: number;
  level: number;
  elapsedS: number;
  calls: Record<string, MetricCall>;
}

export interface RevisionGateDocument extends RevisionGateDecision {
  schema: "perfpack/gate@1";
  baseline: string;
  current: string;
  maxRegression: number;
  seed: number;
  strict: boolean;
  budgetS: number;
  /** The sequential design: fixed at the first look (its number of looks from the budget left). */
  design: SequentialDesign;
  looks: LookRecord[];
  wallS: number;
}

const metricKey = (c: Comparison) => `${c.candidate} · ${c.scenario} · ${c.metric}`;

/**
 * The gate against a revision, without printing its decision: the run's code, and the decision
 * when the run finished. Sequential: after the minimum rounds (--rounds), then after every batch
 * of GATE_SEQUENTIAL.batchRounds more, every gate metric is called against the line; the run
 * stops when one is a regression, when all are clear, or when the looks the budget allows are used.
 */
export async function runRevisionGate(
  flags: RunFlags,
  o: RevisionGateOptions,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<{ code: number; results?: Results; doc?: RevisionGateDocument }> {
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const budgetS = o.budgetS ?? GATE_SEQUENTIAL.budgetS;
  const ac = new AbortController();
  io.onInterrupt(() => ac.abort());
  const baseline = await prepareRevision(projectRoot(), o.ref, io.env, (l) => io.err.write(l + "\n"), ac.signal);
  if (ac.signal.aborted) return { code: EXIT.interrupted };
  const { batchRounds, alpha } = GATE_SEQUENTIAL;
  let design: SequentialDesign | undefined;
  let last: RevisionGateDecision | undefined;
  const looks: LookRecord[] = [];
  const next = (sofar: Results): boolean => {
    // a failed trial fails the run (exit 3): no more rounds for it
    if (sofar.summary.failedTrials > 0) return false;
    const k = looks.length + 1;
    const rounds = sofar.plan.rounds;
    const headlines = headlinesOf(sofar);
    // the measured pace: seconds of trials per round so far
    const roundS = sofar.trials.reduce((a, t) => a + t.wallS, 0) / rounds;
    // fixed before the first interval is read: how many looks the time left allows at that pace
    design ??= { alpha, minRounds: rounds, batchRounds, metrics: Math.max(1, compareRevisions(sofar, headlines).length), maxLooks: looksWithin(budgetS, elapsedS(), batchRounds * roundS) };
    const level = lookLevel(design, k);
    // the last look: none left in the design, or the next batch would end past the budget
    const lastLook = k >= design.maxLooks || elapsedS() + batchRounds * roundS > budgetS;
    last = decideRevisionGate(sofar, headlines, o.maxRegression, { level, lastLook });
    looks.push({ look: k, rounds, level, elapsedS: elapsedS(), calls: Object.fromEntries(last.comparisons.map((c, i) => [metricKey(c), last!.calls[i]!])) });
    const open = last.calls.filter((c) => c === "undecided").length;
    const verdict = lastLook || last.outcome !== "inconclusive" ? `: ${last.outcome}` : `; ${open} undecided, ${batchRounds} more rounds`;
    io.err.write(`gate: look ${k}/${design.maxLooks} after ${rounds} rounds (${elapsedS().toFixed(0)} s), intervals at ${(level * 100).toFixed(2)}%${verdict}\n`);
    return !lastLook && last.outcome === "inconclusive";
  };
  // the run's own --json would be a second document on stdout: the gate prints its decision instead
  const r = await runAndReport({ ...flags, json: false }, scenarios, o.json ? { ...io, out: io.err } : io, {
    baseline,
    seed: o.seed,
    defaults: GATE_DEFAULTS,
    ...(o.candidateEnv ? { candidateEnv: o.candidateEnv } : {}),
    sequential: { batchRounds, next, budgetLeftS: () => budgetS - elapsedS() },
  });
  if (r.code === EXIT.interrupted || r.code === EXIT.runFailure) return { code: r.code, results: r.results };
  // no look happened (the run had nothing to sample): decide once on what there is
  const d = last ?? decideRevisionGate(r.results, headlinesOf(r.results), o.maxRegression);
  const doc: RevisionGateDocument = {
    schema: "perfpack/gate@1",
    baseline: `${o.ref} (${baseline.kind === "revision" ? baseline.commit.slice(0, 10) : ""})`,
    current: r.results.runId,
    maxRegression: o.maxRegression,
    seed: o.seed,
    strict: o.strict === true,
    budgetS,
    design: design ?? { alpha, minRounds: r.results.plan.rounds, batchRounds, metrics: d.comparisons.length, maxLooks: 1 },
    looks,
    wallS: elapsedS(),
    ...d,
  };
  // beside results.json: what the gate decided, look by look
  writeFileSync(join(r.outDir, "gate.json"), JSON.stringify(doc, null, 2) + "\n");
  const code = gateExit(d, o.strict === true);
  return { code, results: r.results, doc };
}

/**
 * `perfpack gate --baseline-ref REV`: builds REV's executor, runs it beside this checkout's in one
 * interleaved run (each round in a seeded random order), and gates on the paired comparison.
 */
export async function gateRevisionCommand(flags: RunFlags, o: RevisionGateOptions, scenarios: ReadonlyMap<string, Scenario>, io: IO): Promise<number> {
  const { code, doc } = await runRevisionGate(flags, o, scenarios, io);
  if (!doc) return code;
  const human = o.json ? io.err : io.out;
  const rounds = doc.looks.at(-1)?.rounds ?? doc.design.minRounds;
  human.write(
    `gate: this checkout against ${doc.baseline}, interleaved in one run (seed ${o.seed}), paired by round; ${rounds} rounds in ${doc.looks.length} look(s) of at most ${doc.design.maxLooks}, ${doc.wallS.toFixed(0)} s of a ${doc.budgetS} s budget; line ${(o.maxRegression * 100).toFixed(0)}% worse\n`,
  );
  human.write(callTable(doc, false) + "\n");
  human.write(outcomeText(doc, o.strict === true, o.maxRegression, io, "the budget ended before every metric was decided"));
  if (o.json) io.out.write(JSON.stringify(doc, null, 2) + "\n");
  return code;
}
