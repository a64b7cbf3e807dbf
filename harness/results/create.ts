/** A results document before its first trial: how a run starts one, and how an import starts a results file. */
import { RESULTS_SCHEMA, type Machine, type PlanRecord, type Results } from "./schema.js";

export function newResults(o: {
  runId: string;
  startedAt: string;
  version: string;
  machine: Machine;
  plan: PlanRecord;
  /** The process writing the file (a run that records it can be told apart from a dead one). */
  pid?: number;
}): Results {
  return {
    schema: RESULTS_SCHEMA,
    runId: o.runId,
    startedAt: o.startedAt,
    finishedAt: null,
    interrupted: false,
    ...(o.pid !== undefined ? { pid: o.pid } : {}),
    perfpack: o.version,
    machine: o.machine,
    plan: o.plan,
    trials: [],
    // the verdict is computed once, from the trials, after the run (harness/verdict)
    summary: { medians: {}, failedTrials: 0 },
  };
}

/**
 * A resumed run's document before its first new trial: the recorded one, with every trial it
 * holds, marked as running again (not interrupted, not finished) and the resume recorded; the
 * summary is the analysis's to fill again, over all the trials, when the run ends.
 */
export function resumedResults(from: Results, o: { at: string; hostname: string; pid?: number }): Results {
  const resume = {
    at: o.at,
    kept: from.trials.length,
    ...(o.hostname !== from.machine.hostname ? { hostname: o.hostname } : {}),
  };
  return {
    ...from,
    finishedAt: null,
    interrupted: false,
    resumed: [...(from.resumed ?? []), resume],
    pid: o.pid,
    trials: [...from.trials],
    summary: { medians: {}, failedTrials: from.trials.filter((t) => t.status === "failed").length },
  };
}
