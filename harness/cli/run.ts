/** `perfpack run`: the job (api/run.ts), shown as it goes, its summary printed, its exit code picked. */
import { EXIT, UsageError } from "../errors.js";
import { executeRun, prepareRun, withCapacity, type RunDocument } from "../api/run.js";
import { prepareResume, resumeRun } from "../api/resume.js";
import type { JobContext, JobEvent } from "../api/context.js";
import { summaryDocument } from "../report/json.js";
import { mediansTables } from "../report/tables.js";
import { runCapacityDimensions } from "../report/format.js";
import { verdictText } from "../report/terminal.js";
import type { RunFlags } from "../plan/config.js";
import type { RunOnlyFlags } from "../plan/options.js";
import type { Results } from "../results/schema.js";
import type { Scenario } from "../../scenarios/contract.js";
import { join } from "node:path";
import type { IO, Output } from "./io.js";
import { progressListener } from "./progress.js";
import { isProfileEvent, profileText } from "./profile.js";
import type { ProfileEvent } from "../profile/profiler.js";

/** A job's context from the CLI's IO: Ctrl-C (or SIGTERM) cancels it after saying `onInterrupt`. */
export function jobContext(io: IO, onInterrupt?: string): JobContext {
  const ac = new AbortController();
  io.onInterrupt(() => {
    if (onInterrupt) io.err.write(onInterrupt);
    ac.abort();
  });
  return { cwd: io.cwd, env: io.env, signal: ac.signal, version: io.version };
}

/** The medians tables, the generator-bound warning and (not for a gate) the verdict, once the trials are analysed. */
function runSummary(results: Results, io: IO, o: { verdict: boolean }): string {
  const paint = io.paint;
  let text = "\nmedians over rounds (per variant), and each variant's ratio against the reference:\n";
  text += mediansTables(results, (better, t) => (better ? paint.green(t) : paint.red(t))) + "\n";
  const bound = results.trials.filter((t) => t.generatorBound).length;
  if (bound > 0)
    text += paint.yellow(
      `⚠ ${bound} trial(s) were generator-bound: the load generator used about a full core, so those figures understate the executor.\n`,
    );
  text += capacityLines(results);
  if (o.verdict) text += "\n" + verdictText(results, paint) + "\n\n";
  return text;
}

/** `run --capacity`: each search's capacity at the SLO, in the capacity table's own words. */
function capacityLines(results: Results): string {
  const c = results.capacity;
  if (!c) return "";
  const [, , cap, bracket, slo] = runCapacityDimensions;
  const rows = c.searches.map(
    (s) => `  ${s.scenario} · ${s.variant}: ${cap!.format(s)} (bracket ${bracket!.format(s)}; ${slo!.format(s)})`,
  );
  return `\ncapacity at the SLO (open model; ${c.folder}/report.html has the curve):\n${rows.join("\n")}\n`;
}

/**
 * What a run shows: progress and warnings on stderr, the summary on `human` when the trials are
 * analysed. `verdict: false` for the gate, which prints its own decision (the run's verdict would contradict it).
 */
export function runView(io: IO, human: Output, o: { verdict: boolean; warningPrefix?: string }): (e: JobEvent) => void {
  const progress = progressListener(io.err, io.paint);
  return (e) => {
    switch (e.type) {
      case "warning":
        io.err.write(`${o.warningPrefix ?? "perfpack run"}: warning: ${e.text}\n`);
        break;
      case "note":
        io.err.write(e.text + "\n");
        break;
      case "analyzed":
        human.write(runSummary(e.results, io, o));
        break;
      case "look":
        break;
      default:
        if (isProfileEvent(e)) printProfile(e, io);
        else progress(e);
    }
  };
}

/** The profiler's lines on stderr; a sample warning is its own yellow line. */
function printProfile(e: ProfileEvent, io: IO): void {
  const { lines, warning } = profileText(e);
  for (const l of lines) io.err.write(l + "\n");
  if (warning) io.err.write(io.paint.yellow(warning + "\n"));
}

/** The run's closing lines: where its files are, and what failed after the trials. */
export function runPaths(doc: RunDocument, io: IO, human: Output): void {
  if (doc.profileError)
    io.err.write(
      io.paint.red(`perfpack run: profiling failed: ${doc.profileError.message}\n${doc.profileError.output ?? ""}\n`),
    );
  for (const e of doc.exportErrors) io.err.write(io.paint.red(`perfpack run: a report could not be written: ${e}\n`));
  human.write(`results: ${doc.resultsFile}\n`);
  for (const f of doc.written) human.write(`report:  ${f}\n`);
  const cap = doc.results.capacity;
  if (cap) human.write(`capacity: ${join(doc.outDir, cap.folder)}/{capacity.json,report.md,report.html}\n`);
  if (doc.latest) human.write(`latest:  ${doc.latest}\n`);
  if (doc.history) historyLine(doc.history, io, human);
}

/** --history: where the run went, or why it could not (in red, on stderr; the exit is 3). */
export function historyLine(h: NonNullable<RunDocument["history"]>, io: IO, human: Output): void {
  if ("error" in h) io.err.write(io.paint.red(`perfpack: the run could not be added to the history: ${h.error}\n`));
  else
    human.write(
      `history: ${h.added ? "added" : "already held"} run ${h.runId} (${h.points} points, commit ${h.commit.slice(0, 12)}${h.branch ? ` on ${h.branch}` : ""}${h.parent ? `, parent ${h.parent.slice(0, 12)}` : ""}) ${h.added ? "to" : "in"} ${h.store}\n`,
    );
}

/** 130 interrupted, 3 a failed trial, 1 a failed verdict, else 0. */
export function runExit(doc: RunDocument, io: IO): number {
  if (doc.interrupted) return EXIT.interrupted;
  if (doc.results.summary.failedTrials > 0) {
    io.err.write(
      io.paint.red(
        `perfpack run: ${doc.results.summary.failedTrials} trial(s) failed; see their error and log tail in results.json and ${doc.outDir}/logs\n`,
      ),
    );
    return EXIT.runFailure;
  }
  if (doc.results.summary.verdict?.pass === false) return EXIT.gateFailed;
  // asked to record the run and could not: a job that keeps the history must not pass silently
  return doc.history && "error" in doc.history ? EXIT.runFailure : EXIT.ok;
}

/** What Ctrl-C prints at once, for the job it stops. */
export const interruptedLine = (job: "run" | "gate") =>
  `\nperfpack ${job}: interrupted; stopping what it started and keeping the finished trials\n`;

/** A run shown as it goes, its summary on `human` (stdout, or stderr when stdout carries a JSON document). */
export async function shownRun(
  { resume, capacity, ...flags }: RunFlags & RunOnlyFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
  human?: Output,
): Promise<{ doc: RunDocument; json: boolean; human: Output }> {
  const ctx = jobContext(io, interruptedLine("run"));
  // --resume: the plan and options are the run folder's, checked before anything runs
  if (resume !== undefined && capacity)
    throw new UsageError(
      "--capacity cannot be given beside --resume: a run made with --capacity searches again when resumed, and one made without it does not",
    );
  const resumed = resume !== undefined ? prepareResume(resume, flags, scenarios, ctx) : undefined;
  const fresh = () => prepareRun(flags, scenarios, ctx);
  const prepared = resumed ?? (capacity ? withCapacity(fresh(), scenarios, ctx, flags.config) : fresh());
  const to = human ?? (prepared.json ? io.err : io.out);
  const job = { ...ctx, events: runView(io, to, { verdict: true }) };
  const doc = resumed ? await resumeRun(resumed, scenarios, job) : await executeRun(prepared.cfg, scenarios, job);
  runPaths(doc, io, to);
  return { doc, json: prepared.json, human: to };
}

/** `perfpack run`: flags → config → plan → runner → stats → exporters. Returns the exit code. */
export async function runCommand(
  flags: RunFlags & RunOnlyFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<number> {
  const { doc, json } = await shownRun(flags, scenarios, io);
  if (json) io.out.write(summaryDocument(doc.results));
  if (doc.interrupted) io.err.write(`perfpack run: continue it with: perfpack run --resume ${doc.outDir}\n`);
  return runExit(doc, io);
}
