import Table from "cli-table3";
import { dirname, resolve } from "node:path";
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
import { GATE_DEFAULTS } from "../plan/defaults.js";
import type { RunFlags } from "../plan/options.js";
import { decideRevisionGate } from "../verdict/gate.js";
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

function comparisonTable(rows: readonly Comparison[], arms: "runs" | "revision" = "runs"): string {
  if (arms === "revision") {
    const t = new Table({ head: comparisonDimensions.map((d) => d.label), style: { head: [], border: [], compact: true } });
    for (const c of rows) t.push(comparisonDimensions.map((d) => d.format(c)));
    return t.toString();
  }
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
}

export interface RevisionGateDocument extends GateDecision {
  schema: "perfpack/gate@1";
  baseline: string;
  current: string;
  maxRegression: number;
  seed: number;
}

/** The gate against a revision, without printing its decision: the run's code, and the decision when the run finished. */
export async function runRevisionGate(
  flags: RunFlags,
  o: RevisionGateOptions,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<{ code: number; results?: Results; doc?: RevisionGateDocument }> {
  const ac = new AbortController();
  io.onInterrupt(() => ac.abort());
  const baseline = await prepareRevision(projectRoot(), o.ref, io.env, (l) => io.err.write(l + "\n"), ac.signal);
  if (ac.signal.aborted) return { code: EXIT.interrupted };
  // the run's own --json would be a second document on stdout: the gate prints its decision instead
  const r = await runAndReport({ ...flags, json: false }, scenarios, o.json ? { ...io, out: io.err } : io, {
    baseline,
    seed: o.seed,
    defaults: GATE_DEFAULTS,
    ...(o.candidateEnv ? { candidateEnv: o.candidateEnv } : {}),
  });
  if (r.code === EXIT.interrupted || r.code === EXIT.runFailure) return { code: r.code, results: r.results };
  const d = decideRevisionGate(r.results, headlinesOf(r.results), o.maxRegression);
  const doc: RevisionGateDocument = {
    schema: "perfpack/gate@1",
    baseline: `${o.ref} (${baseline.kind === "revision" ? baseline.commit.slice(0, 10) : ""})`,
    current: r.results.runId,
    maxRegression: o.maxRegression,
    seed: o.seed,
    ...d,
  };
  return { code: d.pass ? EXIT.ok : EXIT.gateFailed, results: r.results, doc };
}

/**
 * `perfpack gate --baseline-ref REV`: builds REV's executor, runs it beside this checkout's in one
 * interleaved run (each round in a seeded random order), and gates on the paired comparison.
 */
export async function gateRevisionCommand(flags: RunFlags, o: RevisionGateOptions, scenarios: ReadonlyMap<string, Scenario>, io: IO): Promise<number> {
  const { code, doc } = await runRevisionGate(flags, o, scenarios, io);
  if (!doc) return code;
  const human = o.json ? io.err : io.out;
  human.write(
    `gate: this checkout against ${doc.baseline}, interleaved in one run (seed ${o.seed}), paired by round; ${doc.comparisons.length} comparisons (throughput, p95 and CPU per unit of work), max regression ${(o.maxRegression * 100).toFixed(0)}%\n`,
  );
  human.write(comparisonTable(doc.comparisons, "revision") + "\n");
  if (doc.pass) human.write(io.paint.green.bold("gate: PASS") + " — no gate metric is significantly worse than on the baseline revision by more than the threshold\n");
  else human.write(io.paint.red.bold("gate: FAIL\n") + doc.reasons.map((x) => `  - ${x}`).join("\n") + "\n");
  if (o.json) io.out.write(JSON.stringify(doc, null, 2) + "\n");
  return code;
}
