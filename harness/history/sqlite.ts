/**
 * The embedded history store: one SQLite file through better-sqlite3 (12.x, the last major that
 * runs on Node 20).
 *
 * Why SQLite, and why this package: a history is appended to by CI jobs that may run at once, and
 * read a series at a time; SQLite gives transactions, file locking between processes and indexed
 * queries in one file with no server. better-sqlite3 is the maintained, synchronous binding; it
 * installs with no download: its install script tries a prebuilt binary first and, when that
 * cannot be fetched (as offline), compiles its bundled SQLite against Node's headers (about a
 * minute on two cores, once per `npm ci`). sql.js (SQLite in WebAssembly) needs no compiler, but
 * keeps the database in memory and writes the whole file back: concurrent appends would need a
 * lock of our own, and a crash mid-write could lose the file. Node's own node:sqlite needs Node 22.
 *
 * Concurrency: every append is one `BEGIN IMMEDIATE` transaction (the write lock first), and a
 * busy store is waited for (busy timeout), so two jobs appending at once are serialized by SQLite
 * and lose nothing; a run already stored is skipped inside that transaction.
 *
 * The journal stays in rollback mode (DELETE), not WAL: at rest the store is one file, so a CI
 * cache or artifact that keeps the file keeps everything (WAL keeps committed pages in a -wal file
 * beside it until a checkpoint).
 *
 * Damage: the file's header is read before SQLite opens it, and an existing store is checked
 * (quick_check, its meta table, its schema version) before anything is written, so a file of
 * something else, a damaged one or one written by a newer perfpack gets an error naming it, and
 * is left as it was.
 */
import Database from "better-sqlite3";
import { closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
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

/** How long an append waits for another process's write to end before it gives up. */
const BUSY_TIMEOUT_MS = 30_000;

const SQLITE_MAGIC = "SQLite format 3\0";

type Db = Database.Database;
type Row = Record<string, unknown>;

/** Opens (or creates) the store in `file`; see the module's comment for the checks. */
export function openSqliteStore(file: string, o: OpenOptions = {}): HistoryStore {
  const existed = checkHeader(file);
  if (!existed && o.mustExist) throw missingStoreError(file);
  if (!existed) mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw sqliteError(file, err);
  }
  try {
    if (existed) checkIntegrity(db, file);
    const version = storedVersion(db, file);
    if (version === undefined && o.mustExist) throw missingStoreError(file);
    db.pragma("foreign_keys = ON");
    // a current store is only read here: a read-only file or folder is enough to read it
    if (version !== HISTORY_SCHEMA_VERSION) initialize(db, file);
  } catch (err) {
    db.close();
    throw sqliteError(file, err);
  }
  return new SqliteStore(db, file);
}

/**
 * Whether `file` holds a store to check (a non-empty file), after checking that it is an SQLite
 * database at all: its first 16 bytes are SQLite's header. A missing or empty file is a new store.
 */
function checkHeader(file: string): boolean {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return false;
  if (!st.isFile()) throw new HistoryStoreError("not-a-store", `history store ${file} is not a file`);
  if (st.size === 0) return false;
  const head = Buffer.alloc(16);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString("latin1") !== SQLITE_MAGIC)
    throw new HistoryStoreError(
      "not-a-store",
      `history store ${file} is not an SQLite database (it begins ${JSON.stringify(head.toString("latin1").replace(/\0+$/, ""))}, not SQLite's header): not a perfpack history, or overwritten; nothing was written to it`,
    );
  return true;
}

/** An existing file is undamaged (SQLite's quick_check). */
function checkIntegrity(db: Db, file: string): void {
  let problems: string[];
  try {
    problems = (db.prepare("PRAGMA quick_check(5)").all() as Array<{ quick_check: string }>).map((r) => r.quick_check);
  } catch (err) {
    throw sqliteError(file, err);
  }
  if (problems.join() !== "ok")
    throw new HistoryStoreError(
      "corrupt",
      `history store ${file} is damaged (SQLite's quick_check: ${problems.join("; ")}); nothing was written to it: restore it from a copy, or move it away to start a new one`,
    );
}

/**
 * The store's schema version, from its meta table: undefined for an empty database (a new store).
 * Its format must be ours and its version no newer than ours; a database with tables but no meta
 * table is something else's.
 */
function storedVersion(db: Db, file: string): number | undefined {
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>
  ).map((r) => r.name);
  if (!tables.includes(T.meta)) {
    if (tables.length === 0) return undefined; // an empty database: a new store
    throw new HistoryStoreError(
      "not-a-store",
      `history store ${file} is an SQLite database of something else (tables ${tables.slice(0, 5).join(", ")}; no ${T.meta}): nothing was written to it`,
    );
  }
  const meta = new Map(
    (db.prepare(`SELECT key, value FROM ${T.meta}`).all() as Array<{ key: string; value: string }>).map((r) => [
      r.key,
      r.value,
    ]),
  );
  if (meta.get("format") !== HISTORY_FORMAT)
    throw new HistoryStoreError(
      "not-a-store",
      `history store ${file} has a ${T.meta} table but its format is ${JSON.stringify(meta.get("format"))}, not ${HISTORY_FORMAT}: nothing was written to it`,
    );
  const version = Number(meta.get("schema_version"));
  if (!Number.isInteger(version))
    throw new HistoryStoreError("corrupt", `history store ${file} has no valid schema_version in ${T.meta}`);
  if (version > HISTORY_SCHEMA_VERSION) throw newerSchemaError(file, version, HISTORY_SCHEMA_VERSION);
  return version;
}

/**
 * Creates the tables when they are missing (and, when the schema grows, migrates an older store),
 * under the write lock, checking the meta again inside it: two processes creating a new store at
 * once create it once.
 */
function initialize(db: Db, file: string): void {
  try {
    db.transaction(() => {
      storedVersion(db, file);
      for (const s of schemaStatements("sqlite")) db.exec(s);
      const put = db.prepare(`INSERT OR IGNORE INTO ${T.meta} (key, value) VALUES (?, ?)`);
      for (const [k, v] of META_ROWS) put.run(k, v);
    }).immediate();
  } catch (err) {
    throw sqliteError(file, err);
  }
}

/** SQLite's own errors as the store's: damage and foreign files named, a busy store explained. */
function sqliteError(file: string, err: unknown): Error {
  if (err instanceof HistoryStoreError) return err;
  const code = (err as { code?: string }).code ?? "";
  const msg = (err as Error).message;
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")
    return new HistoryStoreError(
      "corrupt",
      `history store ${file} is damaged (SQLite: ${msg}); nothing was written to it: restore it from a copy, or move it away to start a new one`,
    );
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return new HistoryStoreError(
      "unreachable",
      `history store ${file} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s (SQLite: ${msg})`,
    );
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_IOERR"))
    return new HistoryStoreError("unreachable", `history store ${file} cannot be written (SQLite: ${msg})`);
  return err as Error;
}

const insertSql = (table: string, columns: readonly string[], conflict = ""): string =>
  `INSERT ${conflict} INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;

class SqliteStore implements HistoryStore {
  readonly engine = "sqlite" as const;
  private readonly insertTestbed;
  private readonly insertRun;
  private readonly insertPoint;
  private readonly hasRun;

  constructor(
    private readonly db: Db,
    readonly location: string,
  ) {
    this.insertTestbed = db.prepare(insertSql(T.testbeds, TESTBED_COLUMNS, "OR IGNORE"));
    this.insertRun = db.prepare(insertSql(T.runs, RUN_COLUMNS));
    this.insertPoint = db.prepare(insertSql(T.points, POINT_COLUMNS));
    this.hasRun = db.prepare(`SELECT 1 FROM ${T.runs} WHERE run_id = ?`).pluck();
  }

  async append(records: readonly HistoryRecord[]): Promise<AppendResult> {
    checkRecords(records);
    const runs = runsOf(records).sort((a, b) => (a.facts.runId < b.facts.runId ? -1 : 1));
    const addedAt = new Date().toISOString();
    const write = this.db.transaction(() => {
      const result: AppendResult = { added: [], skipped: [] };
      for (const { facts, points } of runs) {
        if (this.hasRun.get(facts.runId) !== undefined) {
          result.skipped.push(facts.runId);
          continue;
        }
        this.insertTestbed.run(...testbedRow(facts.testbed));
        this.insertRun.run(...runRow(facts, addedAt, "sqlite"));
        for (const p of points) this.insertPoint.run(...pointRow(p));
        result.added.push(facts.runId);
      }
      return result;
    });
    return this.guard(() => write.immediate());
  }

  async has(runId: string): Promise<boolean> {
    return this.guard(() => this.hasRun.get(runId) !== undefined);
  }

  async runs(filter: Pick<RecordFilter, "testbed" | "branch" | "commit"> = {}): Promise<RunEntry[]> {
    const w = whereOf(filter, "sqlite");
    return this.guard(() => sortedRuns(this.db.prepare(`${RUN_SELECT} ${w.sql}`).all(...w.params) as Row[]));
  }

  async records(filter: RecordFilter = {}): Promise<HistoryRecord[]> {
    const wr = whereOf(runFilter(filter), "sqlite");
    const wp = whereOf(filter, "sqlite");
    // one read transaction: both statements see the same store
    const read = this.db.transaction(() =>
      joinedRecords(
        this.db.prepare(`${RUN_FACTS_SELECT} ${wr.sql}`).all(...wr.params) as Row[],
        this.db.prepare(`${POINT_SELECT} ${wp.sql}`).all(...wp.params) as Row[],
      ),
    );
    return this.guard(() => read.deferred());
  }

  async series(key: SeriesKey): Promise<HistoryRecord[]> {
    return this.records({ ...key, branch: key.branch ?? null });
  }

  async seriesKeys(filter: Pick<RecordFilter, "testbed" | "branch"> = {}): Promise<SeriesKey[]> {
    const w = whereOf(filter, "sqlite");
    return this.guard(() => sortedSeries(this.db.prepare(`${SERIES_SELECT} ${w.sql}`).all(...w.params) as Row[]));
  }

  async testbeds(): Promise<Testbed[]> {
    return this.guard(() =>
      (this.db.prepare(`SELECT * FROM ${T.testbeds} ORDER BY id`).all() as Row[]).map(testbedOfRow),
    );
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private guard<R>(f: () => R): R {
    try {
      return f();
    } catch (err) {
      throw sqliteError(this.location, err);
    }
  }
}
