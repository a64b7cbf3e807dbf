/** A results document before its first trial: how a run starts one, and how an import starts a results file. */
import { RESULTS_SCHEMA, type Machine, type PlanRecord, type Results } from "./schema.js";

export function newResults(o: {
  runId: string;
  startedAt: string;
  version: string;
  machine: Machine;
  plan: PlanRecord;
}): Results {
  return {
    schema: RESULTS_SCHEMA,
    runId: o.runId,
    startedAt: o.startedAt,
    finishedAt: null,
    interrupted: false,
    perfpack: o.version,
    machine: o.machine,
    plan: o.plan,
    trials: [],
    // the verdict is computed once, from the trials, after the run (harness/verdict)
    summary: { medians: {}, failedTrials: 0 },
  };
}
