/**
 * perfpack as a library: `import { run, resume, capacity, compare, gate, gateRevision, report, profile, init, history } from "perfpack"`.
 * Each function is its command's job (harness/api/) without the process: no exit, no signal
 * handlers, no printing. It returns documents; progress comes as events to `onEvent`, and an
 * AbortSignal cancels. Errors are PerfpackError with the command's exit code (UsageError: 2,
 * run failures: 3).
 */
import type { JobContext, JobEvent } from "./api/context.js";
import { gateRevision as gateRevisionJob, gateRuns, type GateDocument, type RevisionGateDocument } from "./api/gate.js";
import { profile as profileJob } from "./api/profile.js";
import { init as initJob, type InitDocument } from "./api/init.js";
import { historyTrendJob, type HistoryTrendJob, type HistoryTrendOptions } from "./api/history-view.js";
import { compareFiles, renderReports, type CompareDocument } from "./api/report.js";
import { run as runJob, type RunDocument } from "./api/run.js";
import { capacity as capacityJob, type CapacityJob } from "./api/capacity.js";
import { prepareResume, resumeRun } from "./api/resume.js";
import { flagsFromObject } from "./plan/file.js";
import type { RunOptionKey } from "./plan/options.js";
import { GATE_MAX_REGRESSION } from "./plan/defaults.js";
import type { ProfileResult } from "./profile/profiler.js";
import type { ProfileFlags } from "./api/profile.js";
import { readResultsFile } from "./results/file.js";
import type { Results } from "./results/schema.js";
import { SCENARIOS } from "../scenarios/index.js";
import { packageVersion } from "../services/common/src/project.js";

export { EXIT, PerfpackError, UsageError } from "./errors.js";
export type { Comparison, Results, Summary, TargetVerdict, TrialRecord } from "./results/schema.js";
export type { CompareDocument, GateDocument, InitDocument, JobEvent, ProfileResult, RevisionGateDocument, RunDocument };
export type { CapacityJob };
export type { HistoryTrendJob, HistoryTrendOptions };
export type { HistoryDocument, TrendSeries, TrendChangePoint, StandingRegression } from "./verdict/trend.js";
export type { CapacityDocument, CapacitySearchRecord, CapacityStepRecord } from "./results/capacity.js";

/** The run options, as in perfpack.config.json: numbers as numbers, lists as arrays or comma-separated strings. */
export type RunOptions = Partial<
  Record<Exclude<RunOptionKey, "config" | "json">, string | number | boolean | string[]>
>;

export interface CallOptions {
  /** The environment the launched services inherit (the executor's own variables are always removed). Default: none. */
  env?: Readonly<NodeJS.ProcessEnv>;
  /** Where relative paths, perfpack.config.json and reports/ resolve. Default: the process's working directory. */
  cwd?: string;
  /** Cancels the job: the current trial's services stop, and the finished trials are kept. */
  signal?: AbortSignal;
  /** Progress, warnings and the gate's looks, as they happen. */
  onEvent?: (e: JobEvent) => void;
}

const contextOf = (o: CallOptions): JobContext => ({
  cwd: o.cwd ?? process.cwd(),
  env: o.env ?? {},
  signal: o.signal,
  events: o.onEvent,
  version: packageVersion(),
});

/**
 * `perfpack run`: the plan's trials, results.json and the reports. `capacity: true` is
 * `run --capacity`: the capacity search of its latency and batch scenarios after the trials.
 */
export async function run(
  { capacity, ...options }: RunOptions & { capacity?: boolean } = {},
  call: CallOptions = {},
): Promise<RunDocument> {
  return runJob({ ...flagsFromObject(options, "run options"), capacity }, SCENARIOS, contextOf(call));
}

/**
 * `perfpack run --resume FOLDER`: an interrupted run continued where it stopped, with its own plan
 * and options; its recorded trials are kept and only the missing ones run. A folder that cannot be
 * resumed (another version, a gate, changed code …) is a UsageError saying why, and is left as it is.
 */
export async function resume(folder: string, call: CallOptions = {}): Promise<RunDocument> {
  const ctx = contextOf(call);
  return resumeRun(prepareResume(folder, {}, SCENARIOS, ctx), SCENARIOS, ctx);
}

/** `perfpack capacity`'s options: the run options it takes, the SLO and the search's bounds. */
export type CapacityOptions = RunOptions & {
  slo?: string;
  resolution?: number;
  /** Seconds (or "5m") each scenario's search may take. */
  budget?: string | number;
  /** Seconds (or "2s") of one measured window. */
  window?: string | number;
  maxRate?: number;
};

/**
 * `perfpack capacity`: per scenario and variant, the highest offered level at which the SLO holds;
 * capacity.json and the reports in the run folder. A run option capacity does not take is a UsageError.
 */
export async function capacity(options: CapacityOptions = {}, call: CallOptions = {}): Promise<CapacityJob> {
  const { budget, window, maxRate, ...rest } = options;
  const str = (v: string | number | undefined) => (v === undefined ? undefined : String(v));
  return capacityJob(
    { ...flagsFromObject(rest, "capacity options"), budget: str(budget), window: str(window), maxRate: str(maxRate) },
    SCENARIOS,
    contextOf(call),
  );
}

/** `perfpack compare a.json b.json`: B against A for every variant and scenario in both. */
export function compare(a: string, b: string, call: Pick<CallOptions, "cwd"> = {}): CompareDocument {
  return compareFiles(a, b, call.cwd ?? process.cwd());
}

/** `perfpack gate --baseline … --current …`: the decision on two runs (paths to results.json, or results). */
export function gate(o: {
  baseline: string | Results;
  current: string | Results;
  maxRegression?: number;
  strict?: boolean;
}): GateDocument {
  const load = (x: string | Results, what: string) => (typeof x === "string" ? readResultsFile(x, what) : x);
  return gateRuns(
    load(o.baseline, "baseline"),
    load(o.current, "current run"),
    o.maxRegression ?? GATE_MAX_REGRESSION.stored,
    o.strict === true,
  );
}

/**
 * `perfpack gate --baseline-ref REV`: REV's executor built in a cached tree and run beside this
 * checkout's, interleaved in one run; `doc` is the decision (absent when a trial failed or the
 * gate was cancelled), `doc.outcome` pass, regression or inconclusive; on a regression `doc.cause`
 * says where the time went (both arms profiled before it returns).
 */
export async function gateRevision(
  o: {
    ref: string;
    options?: RunOptions;
    maxRegression?: number;
    seed?: number;
    candidateEnv?: Record<string, string>;
    budgetS?: number;
    strict?: boolean;
    /** A regression is not profiled (default: both arms under cpuprof at once, `doc.cause`). */
    noProfile?: boolean;
    /** The seconds that profile may take (default 20). */
    profileCapS?: number;
  },
  call: CallOptions = {},
): Promise<{ run?: RunDocument; doc?: RevisionGateDocument }> {
  return gateRevisionJob(
    flagsFromObject(o.options ?? {}, "run options"),
    {
      ref: o.ref,
      maxRegression: o.maxRegression ?? GATE_MAX_REGRESSION.revision,
      seed: o.seed ?? Date.now() % 1_000_000,
      strict: o.strict === true,
      budgetS: o.budgetS,
      candidateEnv: o.candidateEnv,
      noProfile: o.noProfile,
      profileCapS: o.profileCapS,
    },
    SCENARIOS,
    contextOf(call),
  );
}

/** `perfpack report results.json [--out DIR]`: every report format again; returns the files written. */
export function report(
  file: string,
  o: { out?: string } & Pick<CallOptions, "cwd" | "env"> = {},
): { results: Results; written: string[]; errors: string[] } {
  return renderReports(file, o.out, { cwd: o.cwd ?? process.cwd(), env: o.env ?? {} });
}

/** `perfpack profile`: each variant's executor under a profiler; `ok` is false when a profiler recorded too few samples. */
export async function profile(options: ProfileFlags = {}, call: CallOptions = {}): Promise<ProfileResult> {
  return profileJob(options, SCENARIOS, contextOf(call));
}

/**
 * `perfpack init`: perfpack.config.json in `cwd`, the workflow at the top of its repository (pull
 * requests gated, the default branch's gates kept in the history, a weekly history job) and
 * `.perfpack/` in its .gitignore; never overwrites (UsageError).
 */
export function init(o: { executorCmd?: string } = {}, call: Pick<CallOptions, "cwd"> = {}): InitDocument {
  return initJob(o, { cwd: call.cwd ?? process.cwd() });
}

/**
 * `perfpack history`: the run history's document (each series' points, change points and chained
 * trend, and the regressions that stand: the command exits 1 when `doc.standing` is not empty);
 * history.md and history.html are written into `out` (default reports/history; null: none).
 */
export async function history(
  o: HistoryTrendOptions = {},
  call: Pick<CallOptions, "cwd" | "env"> = {},
): Promise<HistoryTrendJob> {
  return historyTrendJob(o, { cwd: call.cwd ?? process.cwd(), env: call.env ?? {} });
}
