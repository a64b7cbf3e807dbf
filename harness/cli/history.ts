/**
 * `perfpack history` and its subcommands: the trend (api/history-view.ts) printed with its exit
 * code, the runs listed, one run's points shown, a stored run added (api/history.ts), and a
 * suspected change confirmed by gating a commit against its parent in one run.
 */
import { historyAdd, type HistoryAddOptions } from "../api/history.js";
import {
  historyRuns,
  historyShow,
  historyTrendJob,
  type HistoryReadOptions,
  type HistoryTrendOptions,
} from "../api/history-view.js";
import { EXIT, UsageError } from "../errors.js";
import type { HistoryRecord } from "../history/record.js";
import type { RunEntry } from "../history/store.js";
import { fmt } from "../report/format.js";
import { historyTerminal, shortSha } from "../report/history-text.js";
import type { FileFlags } from "../plan/file.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { IO } from "./io.js";
import { historyLine } from "./run.js";

/** 0 when the run is in the store (added now, or held already); a bad path, commit or store is a usage error (2). */
export async function historyAddCommand(
  path: string,
  o: HistoryAddOptions & { json?: boolean },
  io: IO,
): Promise<number> {
  const h = await historyAdd(path, o, { cwd: io.cwd, env: io.env });
  if (o.json) io.out.write(JSON.stringify(h, null, 2) + "\n");
  else historyLine(h, io, io.out);
  return EXIT.ok;
}

/** The trend flags as commander gives them (strings) → the job's options; a bad number is a usage error naming it. */
function trendOptions(
  f: HistoryReadOptions & { since?: string; last?: string; maxRegression?: string; out?: string; write?: boolean },
): HistoryTrendOptions {
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} ${JSON.stringify(v)} is not a number`);
    return n;
  };
  const { last, maxRegression, out, write, ...rest } = f;
  return {
    ...rest,
    ...(last !== undefined ? { last: num("--last", last) } : {}),
    ...(maxRegression !== undefined ? { maxRegression: num("--max-regression", maxRegression) } : {}),
    out: write === false ? null : out,
  };
}

/**
 * `perfpack history`: exit 1 when a regression stands (a change point worse than the line that a
 * later level has not undone, or a creep, proven or suspected), so that a scheduled job can alert;
 * 0 otherwise; 2 for a missing store or bad flags.
 */
export async function historyTrendCommand(
  f: Parameters<typeof trendOptions>[0] & { json?: boolean },
  io: IO,
): Promise<number> {
  const { doc, written } = await historyTrendJob(trendOptions(f), { cwd: io.cwd, env: io.env });
  const human = f.json ? io.err : io.out;
  human.write(historyTerminal(doc, io.paint) + "\n");
  for (const w of written) human.write(`history: wrote ${w}\n`);
  if (f.json) io.out.write(JSON.stringify(doc, null, 2) + "\n");
  return doc.standing.length > 0 ? EXIT.gateFailed : EXIT.ok;
}

function runLine(r: RunEntry): string {
  const gate = r.gate ? ` gate vs ${shortSha(r.gate.baselineCommit)}: ${r.gate.outcome}` : "";
  return `${r.time}  ${shortSha(r.commit)}${r.dirty ? "+dirty" : ""}  ${r.branch ?? "(no branch)"}  ${r.kind}${gate}  testbed ${r.testbed.id}  ${r.points} points  ${r.runId}`;
}

/** `perfpack history list`: the runs, oldest first, one per line (or --json). */
export async function historyListCommand(o: HistoryReadOptions & { json?: boolean }, io: IO): Promise<number> {
  const { store, runs } = await historyRuns(o, { cwd: io.cwd, env: io.env });
  if (o.json) io.out.write(JSON.stringify({ store, runs }, null, 2) + "\n");
  else {
    io.out.write(`${store}: ${runs.length} run${runs.length === 1 ? "" : "s"}\n`);
    for (const r of runs) io.out.write(runLine(r) + "\n");
  }
  return EXIT.ok;
}

function pointLine(r: HistoryRecord): string {
  const value = `${fmt(r.median)} (${fmt(r.lo)}–${fmt(r.hi)}, n ${r.n})`;
  const link = r.link
    ? `  vs ${shortSha(r.gate?.baselineCommit ?? "?")}: ${r.link.ratio.toFixed(3)}× (${r.link.lo.toFixed(3)}–${r.link.hi.toFixed(3)})${r.link.call ? ` ${r.link.call}` : ""}`
    : "";
  return `  ${r.scenario} · ${r.variant} · ${r.label ?? r.metric}: ${value}${link}`;
}

/** `perfpack history show <commit | run id>`: that run's points (or each run of that commit). */
export async function historyShowCommand(
  which: string,
  o: HistoryReadOptions & { json?: boolean },
  io: IO,
): Promise<number> {
  const { store, records } = await historyShow(which, o, { cwd: io.cwd, env: io.env });
  if (o.json) {
    io.out.write(JSON.stringify({ store, records }, null, 2) + "\n");
    return EXIT.ok;
  }
  let run = "";
  for (const r of records) {
    if (r.runId !== run) {
      run = r.runId;
      io.out.write(
        `${r.runId}: ${r.kind} of ${r.commit}${r.branch ? ` on ${r.branch}` : ""} at ${r.time}, testbed ${r.testbed.id}\n`,
      );
    }
    io.out.write(pointLine(r) + "\n");
  }
  return EXIT.ok;
}

/**
 * `perfpack history confirm <commit> [--against REV]`: a suspected change checked as Pinpoint's
 * bisect does, by measuring the two commits against each other in one interleaved run: the gate
 * with `--candidate-ref commit` and `--baseline-ref` its first parent (or REV). The gate's exit codes.
 */
export async function historyConfirmCommand(
  commit: string,
  flags: FileFlags & { against?: string; resume?: string },
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<number> {
  const { against, ...rest } = flags;
  for (const k of ["baselineRef", "baseline", "candidateRef", "current"] as const)
    if ((rest as Record<string, unknown>)[k] !== undefined)
      throw new UsageError(
        `history confirm sets both sides itself: ${commit} against ${against ?? `${commit}^`}; give --against REV for another baseline, not --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
      );
  const { gateCommand } = await import("./gate.js");
  return gateCommand({ ...rest, candidateRef: commit, baselineRef: against ?? `${commit}^` }, scenarios, io);
}
