/**
 * perfpack as a library: `import { run, compare, gate, report } from "perfpack"`. Each function is
 * what its command does, without the process: no exit, no signal handlers, silent unless given
 * streams. Errors are PerfpackError with the command's exit code (UsageError: 2, run failures: 3).
 */
import { makeIO, type Output } from "./cli/io.js";
import { compareFiles, gateRuns, renderReports, runRevisionGate, type CompareDocument, type GateDocument, type RevisionGateDocument } from "./cli/report.js";
import { runAndReport } from "./cli/run.js";
import { flagsFromObject } from "./plan/file.js";
import type { RunOptionKey } from "./plan/options.js";
import { readResultsFile } from "./results/file.js";
import type { Results } from "./results/schema.js";
import { SCENARIOS } from "../scenarios/index.js";

export { EXIT, PerfpackError, UsageError } from "./errors.js";
export type { Comparison, Results, Summary, TargetVerdict, TrialRecord } from "./results/schema.js";
export type { CompareDocument, GateDocument, RevisionGateDocument };

/** The run options, as in perfpack.config.json: numbers as numbers, lists as arrays or comma-separated strings. */
export type RunOptions = Partial<Record<Exclude<RunOptionKey, "config" | "json">, string | number | boolean | string[]>>;

export interface CallOptions {
  /** The environment the launched services inherit (the executor's own variables are always removed). Default: none. */
  env?: Readonly<NodeJS.ProcessEnv>;
  /** Where progress (err) and the terminal summary (out) go. Default: nowhere. */
  out?: Output;
  err?: Output;
  /** Where relative paths resolve. Default: the process's working directory. */
  cwd?: string;
}

const ioOf = (o: CallOptions) => makeIO({ ...(o.env ? { env: o.env } : {}), cwd: o.cwd ?? process.cwd(), ...(o.out ? { out: o.out } : {}), ...(o.err ? { err: o.err } : {}), version: "0.1.0" });

/** `perfpack run`: the plan's trials, results.json and the reports; `code` is the CLI's exit code. */
export async function run(options: RunOptions = {}, call: CallOptions = {}): Promise<{ results: Results; code: number }> {
  return runAndReport(flagsFromObject(options, "run options"), SCENARIOS, ioOf(call));
}

/** `perfpack compare a.json b.json`: B against A for every variant and scenario in both. */
export function compare(a: string, b: string): CompareDocument {
  return compareFiles(a, b);
}

/** `perfpack gate --baseline … --current …`: the decision on two runs (paths to results.json, or results). */
export function gate(o: { baseline: string | Results; current: string | Results; maxRegression?: number; strict?: boolean }): GateDocument {
  const load = (x: string | Results, what: string) => (typeof x === "string" ? readResultsFile(x, what) : x);
  return gateRuns(load(o.baseline, "baseline"), load(o.current, "current run"), o.maxRegression ?? 0.1, o.strict === true);
}

/**
 * `perfpack gate --baseline-ref REV`: REV's executor built in a cached tree and run beside this
 * checkout's, interleaved in one run; `doc` is the decision (absent when the run failed or was interrupted).
 */
export async function gateRevision(
  o: { ref: string; options?: RunOptions; maxRegression?: number; seed?: number; candidateEnv?: Record<string, string>; budgetS?: number; strict?: boolean },
  call: CallOptions = {},
): Promise<{ code: number; results?: Results; doc?: RevisionGateDocument }> {
  return runRevisionGate(
    flagsFromObject(o.options ?? {}, "run options"),
    {
      ref: o.ref,
      maxRegression: o.maxRegression ?? 0.05,
      seed: o.seed ?? Date.now() % 1_000_000,
      strict: o.strict === true,
      ...(o.budgetS !== undefined ? { budgetS: o.budgetS } : {}),
      ...(o.candidateEnv ? { candidateEnv: o.candidateEnv } : {}),
    },
    SCENARIOS,
    ioOf(call),
  );
}

/** `perfpack report results.json [--out DIR]`: every report format again; returns the files written. */
export function report(file: string, o: { out?: string } = {}): { results: Results; written: string[]; errors: string[] } {
  return renderReports(file, o.out);
}
