/**
 * A team's shared history store: a Postgres database named by a `postgres://` URL, through the
 * `pg` package (pure JavaScript, runs on Node 20). The same tables as the embedded store
 * (harness/history/sql.ts, prefixed `perfpack_` so they sit beside the team's own), the same
 * answers on the same records.
 *
 * Concurrency: an append is one transaction; a run is inserted with ON CONFLICT DO NOTHING on its
 * primary key, so two jobs appending the same run at once store it once (the second waits for the
 * first to commit, then skips it), and different runs never wait on each other but for a new
 * testbed row. Runs are written in run-id order, so two appends never lock in opposite orders.
 * Creating the schema takes a transaction-scoped advisory lock, so two first appends create it once.
 *
 * A database whose perfpack_meta says a newer schema version is refused, and left as it is.
 */
import pg from "pg";
import { HISTORY_FORMAT, HISTORY_SCHEMA_VERSION, type HistoryRecord, type Testbed } from "./record.js";
import {
  META_ROWS,
  POINT_COLUMNS,
  POINT_SELECT,
  RUN_COLUMNS,
  RUN_FACTS_SELECT,
  RUN_SELECT,
  SERIES_SELECT,
  T,
  TESTBED_COLUMNS,
  pointRow,
  runRow,
  runFilter,
  runsOf,
  schemaStatements,
  joinedRecords,
  sortedRuns,
  sortedSeries,
  testbedOfRow,
  testbedRow,
  whereOf,
  type RecordFilter,
  type RunEntry,
} from "./sql.js";
import {
  checkRecords,
  HistoryStoreError,
  missingStoreError,
  newerSchemaError,
  type OpenOptions,
  type AppendResult,
  type HistoryStore,
  type SeriesKey,
} from "./store.js";

/** The advisory lock key that serializes schema creation (any fixed 64-bit number; "perfpack" in ASCII). */
const SCHEMA_LOCK = "8098535004431803243";

/**
 * Planner statistics: a table that grew by this many rows, and by a fifth or more, since it was
 * last analysed is analysed before it is read. Without it, a store filled faster than autovacuum
 * wakes (a backfill, a new database) is planned as if empty, and a series query joins by nested
 * loops: 75 ms instead of 2 for one metric over 1,000 commits.
 */
const ANALYZE_AFTER_ROWS = 1000;

/** Points per INSERT statement: 21 columns each, well under Postgres' 65,535 parameters. */
const POINTS_PER_INSERT = 500;

/** The URL with its password replaced, for messages. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

/** Connects to the database `url` names, checks it and creates the tables when missing. */
export async function openPostgresStore(url: string, o: OpenOptions = {}): Promise<HistoryStore> {
  const location = redactedUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 15_000 });
  // an idle connection that the server drops must not crash the process; the next query reports it
  pool.on("error", () => {});
  try {
    await initialize(pool, location, o);
    await analyzeIfStale(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw storeError(location, err);
  }
  return new PostgresStore(pool, location);
}

/**
 * Whether a pg error means the store could not be reached or logged into (a system error such as
 * ECONNREFUSED, a connection exception 08…, an authorization failure 28…, a missing database
 * 3D000, a server shutting down 57P…), rather than a statement that failed.
 */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return /^(E[A-Z]+|08|28|3D|57P)/.test(code);
  return /Connection terminated|timeout|connect/i.test((err as Error).message ?? "");
}

/** pg's errors as the store's: an unreachable store as a HistoryStoreError, a failed statement with the store named. */
function storeError(location: string, err: unknown): Error {
  if (err instanceof HistoryStoreError) return err;
  if (isConnectionError(err)) return unreachable(location, err);
  return new Error(`history store ${location}: ${(err as Error).message}`, { cause: err });
}

function unreachable(location: string, err: unknown): HistoryStoreError {
  const e = err as { code?: string; message?: string };
  return new HistoryStoreError(
    "unreachable",
    `history store ${location} cannot be used: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ""}`,
  );
}

/**
 * The store's schema version, from its meta table: undefined when the database has none (a new
 * store). Its format must be ours and its version no newer than this perfpack's.
 */
async function storedVersion(c: pg.PoolClient, location: string): Promise<number | undefined> {
  const exists = await c.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [T.meta]);
  if (!exists.rows[0]?.t) return undefined;
  const rows = await c.query<{ key: string; value: string }>(`SELECT key, value FROM ${T.meta}`);
  const meta = new Map(rows.rows.map((r) => [r.key, r.value]));
  if (meta.get("format") !== HISTORY_FORMAT)
    throw new HistoryStoreError(
      "not-a-store",
      `history store ${location} has a ${T.meta} table of something else (format ${JSON.stringify(meta.get("format"))}, not ${HISTORY_FORMAT}): nothing was written to it`,
    );
  const version = Number(meta.get("schema_version"));
  if (!Number.isInteger(version))
    throw new HistoryStoreError("corrupt", `history store ${location} has no valid schema_version in ${T.meta}`);
  if (version > HISTORY_SCHEMA_VERSION) throw newerSchemaError(location, version, HISTORY_SCHEMA_VERSION);
  return version;
}

/**
 * Checks the store, then creates its tables when they are missing (or migrates an older schema)
 * under an advisory lock. A current store is only read: a read-only role can open it.
 */
async function initialize(pool: pg.Pool, location: string, o: OpenOptions): Promise<void> {
  const c = await pool.connect();
  try {
    const version = await storedVersion(c, location); // before any write: a newer store is refused untouched
    if (version === undefined && o.mustExist) throw missingStoreError(location);
    if (version === HISTORY_SCHEMA_VERSION) return;
    await c.query("BEGIN");
    await c.query("SELECT pg_advisory_xact_lock($1::bigint)", [SCHEMA_LOCK]);
    await storedVersion(c, location);
    for (const s of schemaStatements("postgres")) await c.query(s);
    for (const [k, v] of META_ROWS)
      await c.query(`INSERT INTO ${T.meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [k, v]);
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/** ANALYZE the store's tables that changed much since their last analysis (see ANALYZE_AFTER_ROWS). */
async function analyzeIfStale(pool: pg.Pool): Promise<void> {
  const stale = await pool.query<{ relname: string }>(
    `SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1) AND n_mod_since_analyze >= $2 AND n_mod_since_analyze * 5 >= n_live_tup`,
    [[T.runs, T.points], ANALYZE_AFTER_ROWS],
  );
  if (stale.rows.length) await analyze(pool);
}

/** Best effort: a user who does not own the tables gets a warning from Postgres, not an error. */
async function analyze(pool: pg.Pool): Promise<void> {
  await pool.query(`ANALYZE ${T.runs}, ${T.points}`).catch(() => {});
}

/** `INSERT INTO table (columns) VALUES ($1, …), (…)` for `rows` rows. */
function insertSql(table: string, columns: readonly string[], rows: number, tail = ""): string {
  const values = Array.from(
    { length: rows },
    (_, i) => `(${columns.map((_c, j) => `$${i * columns.length + j + 1}`).join(", ")})`,
  );
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values.join(", ")} ${tail}`;
}

class PostgresStore implements HistoryStore {
  readonly engine = "postgres" as const;
  /** Points appended through this store since it last analysed the tables (the server's counters lag). */
  private unanalyzed = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  async append(records: readonly HistoryRecord[]): Promise<AppendResult> {
    checkRecords(records);
    const runs = runsOf(records).sort((a, b) => (a.facts.runId < b.facts.runId ? -1 : 1));
    const addedAt = new Date().toISOString();
    const result = await this.transaction((c) => this.write(c, runs, addedAt));
    this.unanalyzed += runs
      .filter((r) => result.added.includes(r.facts.runId))
      .reduce((n, r) => n + r.points.length, 0);
    if (this.unanalyzed >= ANALYZE_AFTER_ROWS) {
      this.unanalyzed = 0;
      await analyze(this.pool);
    }
    return result;
  }

  /** The runs' rows in one transaction: testbeds, then each run not stored yet, with its points. */
  private async write(c: pg.PoolClient, runs: ReturnType<typeof runsOf>, addedAt: string): Promise<AppendResult> {
    const result: AppendResult = { added: [], skipped: [] };
    const testbeds = new Map(runs.map((r) => [r.facts.testbed.id, r.facts.testbed]));
    for (const id of [...testbeds.keys()].sort())
      await c.query(
        insertSql(T.testbeds, TESTBED_COLUMNS, 1, "ON CONFLICT (id) DO NOTHING"),
        testbedRow(testbeds.get(id)!),
      );
    for (const { facts, points } of runs) {
      const inserted = await c.query(
        insertSql(T.runs, RUN_COLUMNS, 1, "ON CONFLICT (run_id) DO NOTHING RETURNING run_id"),
        runRow(facts, addedAt, "postgres"),
      );
      if (inserted.rowCount === 0) {
        result.skipped.push(facts.runId);
        continue;
      }
      for (let i = 0; i < points.length; i += POINTS_PER_INSERT) {
        const batch = points.slice(i, i + POINTS_PER_INSERT);
        await c.query(insertSql(T.points, POINT_COLUMNS, batch.length), batch.flatMap(pointRow));
      }
      result.added.push(facts.runId);
    }
    return result;
  }

  async has(runId: string): Promise<boolean> {
    const r = await this.query(`SELECT 1 FROM ${T.runs} WHERE run_id = $1`, [runId]);
    return r.length > 0;
  }

  async runs(filter: Pick<RecordFilter, "testbed" | "branch" | "commit"> = {}): Promise<RunEntry[]> {
    const w = whereOf(filter, "postgres");
    return sortedRuns(await this.query(`${RUN_SELECT} ${w.sql}`, w.params));
  }

  async records(filter: RecordFilter = {}): Promise<HistoryRecord[]> {
    const wr = whereOf(runFilter(filter), "postgres");
    const wp = whereOf(filter, "postgres");
    // runs first: a run committed between the two queries has no facts read, and is left out whole
    const runs = await this.query(`${RUN_FACTS_SELECT} ${wr.sql}`, wr.params);
    return joinedRecords(runs, await this.query(`${POINT_SELECT} ${wp.sql}`, wp.params));
  }

  async series(key: SeriesKey): Promise<HistoryRecord[]> {
    return this.records({ ...key, branch: key.branch ?? null });
  }

  async seriesKeys(filter: Pick<RecordFilter, "testbed" | "branch"> = {}): Promise<SeriesKey[]> {
    const w = whereOf(filter, "postgres");
    return sortedSeries(await this.query(`${SERIES_SELECT} ${w.sql}`, w.params));
  }

  async testbeds(): Promise<Testbed[]> {
    return (await this.query(`SELECT * FROM ${T.testbeds}`)).map(testbedOfRow).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async query(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    try {
      return (await this.pool.query(sql, params)).rows as Array<Record<string, unknown>>;
    } catch (err) {
      throw storeError(this.location, err);
    }
  }

  private async transaction<R>(f: (c: pg.PoolClient) => Promise<R>): Promise<R> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw unreachable(this.location, err);
    }
    try {
      await c.query("BEGIN");
      const r = await f(c);
      await c.query("COMMIT");
      return r;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      throw storeError(this.location, err);
    } finally {
      c.release();
    }
  }
}
