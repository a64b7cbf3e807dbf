/**
 * What the run history keeps: one record per measured point (a run's variant × scenario × metric),
 * flat, with the run's own facts (commit, branch, testbed, …) repeated on each. Flat because the
 * history is read a series at a time (one metric along a branch on one testbed), and a series is
 * then a plain list of these. The stores keep the run's facts once (a runs table) and the points
 * beside them. Types and small pure helpers only.
 */
import { createHash } from "node:crypto";
import type { MetricCall, RatioEstimate } from "../results/schema.js";

/**
 * The stores' schema version. A store written by a newer one is refused with a clear error (and
 * left as it is); an older one is migrated forward when this number grows.
 */
export const HISTORY_SCHEMA_VERSION = 1;

/** What the stores call themselves, so a file or database of something else is told apart. */
export const HISTORY_FORMAT = "perfpack/history";

/**
 * The machine a run was measured on. Runs from different testbeds are never put in one series:
 * between machines the level moves by more than most regressions.
 */
export interface Testbed {
  /** A stable hash of the three fields below (the same machine type gives the same id on any host). */
  id: string;
  cpuModel: string;
  cores: number;
  /** Node.js version (`v20.20.2`): the runtime is part of the machine the service ran on. */
  node: string;
}

/** A gate's paired ratio of one metric: this commit's arm against the baseline commit's, in one run. */
export interface PairedLink {
  /** candidate / baseline (this commit over the baseline commit), paired by round. */
  ratio: number;
  lo: number;
  hi: number;
  /** Two-sided confidence level of [lo, hi] (the gate's last look's level for its gate metrics, else 0.95). */
  level: number;
  /** Paired rounds. */
  n: number;
  method: RatioEstimate["method"];
  /** Two-sided p-value for "the ratio is 1". */
  p: number;
  /** The baseline arm's median, in the metric's unit. */
  baselineMedian: number;
  /** The gate's call on this metric at its last look (gate metrics only). */
  call?: MetricCall;
}

/** The run-level facts of a record: the same on every record of one run. */
export interface RunFacts {
  /** results.json's runId: a run already stored is not added again. */
  runId: string;
  kind: "run" | "gate";
  /** The commit measured (for a gate: the candidate's). */
  commit: string;
  /** Its first parent, when known (`history add --commit` or the CI job gives it). */
  parent?: string;
  branch?: string;
  /** When the run started (ISO 8601, UTC, milliseconds). */
  time: string;
  /** The checkout had uncommitted changes: the commit does not name the code that was measured. */
  dirty?: boolean;
  testbed: Testbed;
  /** The results.json or gate folder the run was read from, as given. */
  source?: string;
  /** The perfpack version that measured it. */
  perfpack?: string;
  /** A gate against a revision: what it was gated against, and its decision. */
  gate?: {
    baselineCommit: string;
    /** The revision as the user named it (`HEAD^`, `origin/main`). */
    baselineRef: string;
    outcome: "pass" | "regression" | "inconclusive";
    maxRegression: number;
  };
}

/** One metric of one variant and scenario in one run. */
export interface MetricPoint {
  variant: string;
  scenario: string;
  metric: string;
  /** The scenario's words for it (`req/s`), when it is a headline. */
  label?: string;
  better?: "higher" | "lower";
  /** `share` for a fraction, else absent (the unit is in the metric's name: `_ms`, `_mb`, `rps`). */
  unit?: "share";
  /** Median over the run's ok rounds. */
  median: number;
  /** A distribution-free interval on the median (order statistics), at `level`. */
  lo: number;
  hi: number;
  level: number;
  /** Rounds (ok trials) behind the median. */
  n: number;
  /** A gate: this metric's paired ratio against the baseline commit. */
  link?: PairedLink;
}

export type HistoryRecord = RunFacts & MetricPoint;

/** The stable id of a testbed: the first 12 hex digits of a SHA-256 of its fields. */
export function testbedId(cpuModel: string, cores: number, node: string): string {
  return createHash("sha256").update(`${cpuModel}\n${cores}\n${node}`).digest("hex").slice(0, 12);
}

export const testbedOf = (m: { cpuModel: string; cores: number; node: string }): Testbed => ({
  id: testbedId(m.cpuModel, m.cores, m.node),
  cpuModel: m.cpuModel,
  cores: m.cores,
  node: m.node,
});

/** A record's run facts alone (the fields a runs table holds). */
export function runFactsOf(r: HistoryRecord): RunFacts {
  const { runId, kind, commit, parent, branch, time, dirty, testbed, source, perfpack, gate } = r;
  return omitUndefined({ runId, kind, commit, parent, branch, time, dirty, testbed, source, perfpack, gate });
}

/** A copy without the keys whose value is undefined, so that records compare equal across stores. */
export function omitUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The order every store returns records in: by time, then run, variant, scenario and metric (code-unit order). */
export function compareRecords(a: HistoryRecord, b: HistoryRecord): number {
  return (
    cmp(a.time, b.time) ||
    cmp(a.runId, b.runId) ||
    cmp(a.variant, b.variant) ||
    cmp(a.scenario, b.scenario) ||
    cmp(a.metric, b.metric)
  );
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
