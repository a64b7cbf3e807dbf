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

/** The sequential gate's table: each metric's interval at the last look's level, and its call against the line. */
function revisionTable(d: Pick<RevisionGateDecision, "comparisons" | "calls">): string {
  const level = d.comparisons[0]?.estimate.level ?? 0.95;
  const keep = comparisonDimensions.filter((x) => !["p (Holm)", "", "95% interval (unadjusted)"].includes(x.label));
  const t = new Table({ head: [...keep.map((x) => x.label), `${(level * 100).toFixed(2)}% interval`, "call"], style: { head: [], border: [], compact: true } });
  d.comparisons.forEach((c, i) => t.push([...keep.map((x) => x.format(c)), `${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}`, CALL_TEXT[d.calls[i]!]]));
  return t.toString();
}

function comparisonTable(rows: readonly Comparison[]): string {
  // across two runs the arms are one variant in A and in B
  const dims = comparisonDimensions
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
  const t = new Table({ head: ["variant", ...dims.map((d) => d.label)], style: { head: [], border: [], compact: true } });
  for (const c of rows) t.push([c.reference.replace(" (baseline run)", ""), ...dims.map((d) => d.format(c))]);
  return t.toString();
}

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
}

/** The gate's decision on two runs, pure apart from analysing their trials. */
export function gateRuns(base: Results, current: Results, maxRegression: number): GateDocument {
  const b = analyzed(base);
  const c = analyzed(current);
  return { schema: "perfpack/gate@1", baseline: b.runId, current: c.runId, maxRegression, ...decideGate(b, c, headlinesOf(c), maxRegression) };
}

/** `perfpack gate`: exit 1 on a significant regression beyond the threshold or a failed gating target. */
export function gateCommand(base: Results, current: Results, maxRegression: number, o: { json?: boolean }, io: IO): number {
  const d = gateRuns(base, current, maxRegression);
  const code = d.pass ? EXIT.ok : EXIT.gateFailed;
  const human = o.json ? io.err : io.out;
  human.write(
    `gate: current ${d.current} against baseline ${d.baseline}; ${d.comparisons.length} comparisons (throughput and p95 per variant and scenario), max regression ${(maxRegression * 100).toFixed(0)}%\n`,
  );
  human.write(comparisonTable(d.comparisons) + "\n");
  if (d.pass) human.write(io.paint.green.bold("gate: PASS") + " — no metric is significantly worse by more than the threshold, and every gating target holds\n");
  else human.write(io.paint.red.bold("gate: FAIL\n") + d.reasons.map((r) => `  - ${r}`).join("\n") + "\n");
  if (o.json) io.out.write(JSON.stringify(d, null, 2) + "\n");
  return code;
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
  const code = d.outcome === "regression" || (d.outcome === "inconclusive" && o.strict) ? EXIT.gateFailed : EXIT.ok;
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
  human.write(revisionTable(doc) + "\n");
  const list = doc.reasons.map((x) => `  - ${x}`).join("\n") + "\n";
  if (doc.outcome === "pass") human.write(io.paint.green.bold("gate: PASS") + ` — every gate metric's interval is wholly better than ${(o.maxRegression * 100).toFixed(0)}% worse\n`);
  else if (doc.outcome === "regression") human.write(io.paint.red.bold("gate: FAIL (regression)\n") + list);
  else
    human.write(
      (o.strict
        ? io.paint.red.bold("gate: FAIL (inconclusive, --strict)\n")
        : io.paint.yellow.bold("gate: INCONCLUSIVE") + ` — the budget ended before every metric was decided; exit 0 (--strict makes this exit 1)\n`) + list,
    );
  if (o.json) io.out.write(JSON.stringify(doc, null, 2) + "\n");
  return code;
}
