/**
 * The run history's store: one interface, two engines. The embedded default is one SQLite file
 * (harness/history/sqlite.ts), which needs no server; a team shares a Postgres database
 * (harness/history/postgres.ts) named by a `postgres://` URL. Both keep the same tables and give
 * the same answers on the same records (harness/history/sql.ts). `openStore` (open.ts) picks one.
 */
import { UsageError } from "../errors.js";
import type { HistoryRecord, Testbed } from "./record.js";
import type { RecordFilter, RunEntry } from "./sql.js";

export type { RecordFilter, RunEntry } from "./sql.js";

/** One series: a metric of a variant and scenario, along a branch, on one testbed. */
export interface SeriesKey {
  testbed: string;
  /** Absent: the runs recorded without a branch. */
  branch?: string;
  variant: string;
  scenario: string;
  metric: string;
}

export interface AppendResult {
  /** Runs written by this call. */
  added: string[];
  /** Runs already in the store (by run id), left as they were. */
  skipped: string[];
}

export interface HistoryStore {
  readonly engine: "sqlite" | "postgres";
  /** The file, or the URL without its password: for messages. */
  readonly location: string;
  /**
   * Appends the records of one or more runs in one transaction: all of them, or none (on an
   * error). A run already stored (by run id) is skipped whole, so that appending the same run
   * twice, or from two jobs at once, stores it once.
   */
  append(records: readonly HistoryRecord[]): Promise<AppendResult>;
  has(runId: string): Promise<boolean>;
  /** The runs, oldest first, with how many points each holds. */
  runs(filter?: Pick<RecordFilter, "testbed" | "branch" | "commit">): Promise<RunEntry[]>;
  /** Records by time, then run, variant, scenario and metric. */
  records(filter?: RecordFilter): Promise<HistoryRecord[]>;
  /** One series, oldest first. Runs recorded without a branch form their own series (branch absent). */
  series(key: SeriesKey): Promise<HistoryRecord[]>;
  /** Every series there is (with at least one point), in a stable order. */
  seriesKeys(filter?: Pick<RecordFilter, "testbed" | "branch">): Promise<SeriesKey[]>;
  testbeds(): Promise<Testbed[]>;
  close(): Promise<void>;
}

/** Why a store cannot be used as it is. */
export type StoreProblem = "newer-schema" | "not-a-store" | "corrupt" | "unreachable" | "missing";

export interface OpenOptions {
  /**
   * Only an existing store will do (to read a history): a missing one is a HistoryStoreError
   * ("missing"), not a new empty store, and nothing is created.
   */
  mustExist?: boolean;
}

/**
 * A store that cannot be read or written as it is. Nothing in it was changed: the engines check
 * a store before they write to it, and never rewrite what they cannot read. Exit 2.
 */
export class HistoryStoreError extends UsageError {
  constructor(
    readonly problem: StoreProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The error for a store that holds no history yet, when one was expected. */
export function missingStoreError(location: string): HistoryStoreError {
  return new HistoryStoreError(
    "missing",
    `no history store at ${location}: nothing was recorded there yet (run or gate with --history, or perfpack history add)`,
  );
}

/** The error for a store whose schema version is newer than this perfpack's. */
export function newerSchemaError(location: string, found: number, supported: number): HistoryStoreError {
  return new HistoryStoreError(
    "newer-schema",
    `history store ${location} was written by a newer perfpack (schema version ${found}; this perfpack reads up to ${supported}): upgrade perfpack to use it; nothing in it was changed`,
  );
}

/**
 * Checks records before a store writes them: the fields a series is keyed by are there, the
 * numbers are finite, the time is ISO 8601 UTC. A bad record is a usage error naming its run.
 */
export function checkRecords(records: readonly HistoryRecord[]): void {
  for (const r of records) {
    const where = `history record ${r.runId ?? "(no run id)"} · ${r.variant} · ${r.scenario} · ${r.metric}`;
    for (const k of ["runId", "commit", "variant", "scenario", "metric"] as const)
      if (typeof r[k] !== "string" || r[k] === "") throw new UsageError(`${where}: ${k} is missing`);
    if (r.kind !== "run" && r.kind !== "gate") throw new UsageError(`${where}: kind must be "run" or "gate"`);
    if (typeof r.time !== "string" || Number.isNaN(Date.parse(r.time)) || new Date(r.time).toISOString() !== r.time)
      throw new UsageError(`${where}: time ${JSON.stringify(r.time)} is not ISO 8601 UTC (as toISOString writes it)`);
    if (!r.testbed?.id) throw new UsageError(`${where}: testbed is missing`);
    const numbers = [r.median, r.lo, r.hi, r.level, r.n, ...(r.link ? [r.link.ratio, r.link.lo, r.link.hi] : [])];
    if (!numbers.every(Number.isFinite)) throw new UsageError(`${where}: a value is not a finite number`);
  }
}
