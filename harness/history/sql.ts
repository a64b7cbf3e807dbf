/**
 * The history's tables, shared by both engines (SQLite and Postgres): the same columns, the same
 * rows in and out, so that both stores give the same answers on the same records. Only the column
 * types and the placeholders differ by dialect.
 */
import {
  compareRecords,
  HISTORY_FORMAT,
  HISTORY_SCHEMA_VERSION,
  omitUndefined,
  runFactsOf,
  type HistoryRecord,
  type MetricPoint,
  type PairedLink,
  type RunFacts,
  type Testbed,
} from "./record.js";

export type Dialect = "sqlite" | "postgres";

/** Table names carry a prefix: in a team's shared database they sit beside the team's own tables. */
export const T = {
  meta: "perfpack_meta",
  testbeds: "perfpack_testbeds",
  runs: "perfpack_runs",
  points: "perfpack_points",
} as const;

/** The statements that create the schema (idempotent: IF NOT EXISTS), in order. */
export function schemaStatements(d: Dialect): string[] {
  const real = d === "postgres" ? "DOUBLE PRECISION" : "REAL";
  const time = d === "postgres" ? "TIMESTAMPTZ" : "TEXT";
  const bool = d === "postgres" ? "BOOLEAN" : "INTEGER";
  return [
    `CREATE TABLE IF NOT EXISTS ${T.meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${T.testbeds} (id TEXT PRIMARY KEY, cpu_model TEXT NOT NULL, cores INTEGER NOT NULL, node TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${T.runs} (
      run_id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('run', 'gate')),
      commit_sha TEXT NOT NULL, parent TEXT, branch TEXT, time ${time} NOT NULL, dirty ${bool},
      testbed TEXT NOT NULL REFERENCES ${T.testbeds}(id),
      source TEXT, perfpack TEXT,
      baseline_commit TEXT, baseline_ref TEXT, outcome TEXT, max_regression ${real},
      added_at ${time} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${T.points} (
      run_id TEXT NOT NULL REFERENCES ${T.runs}(run_id),
      variant TEXT NOT NULL, scenario TEXT NOT NULL, metric TEXT NOT NULL,
      label TEXT, better TEXT, unit TEXT,
      median ${real} NOT NULL, lo ${real} NOT NULL, hi ${real} NOT NULL, level ${real} NOT NULL, n INTEGER NOT NULL,
      link_ratio ${real}, link_lo ${real}, link_hi ${real}, link_level ${real}, link_n INTEGER,
      link_method TEXT, link_p ${real}, link_baseline_median ${real}, link_call TEXT,
      PRIMARY KEY (run_id, variant, scenario, metric))`,
    `CREATE INDEX IF NOT EXISTS perfpack_runs_series ON ${T.runs} (testbed, branch, time)`,
    `CREATE INDEX IF NOT EXISTS perfpack_points_metric ON ${T.points} (metric, scenario, variant)`,
  ];
}

/** The meta rows a new store starts with. */
export const META_ROWS: ReadonlyArray<[string, string]> = [
  ["format", HISTORY_FORMAT],
  ["schema_version", String(HISTORY_SCHEMA_VERSION)],
];

export const TESTBED_COLUMNS = ["id", "cpu_model", "cores", "node"] as const;
export const RUN_COLUMNS = [
  "run_id",
  "kind",
  "commit_sha",
  "parent",
  "branch",
  "time",
  "dirty",
  "testbed",
  "source",
  "perfpack",
  "baseline_commit",
  "baseline_ref",
  "outcome",
  "max_regression",
  "added_at",
] as const;
export const POINT_COLUMNS = [
  "run_id",
  "variant",
  "scenario",
  "metric",
  "label",
  "better",
  "unit",
  "median",
  "lo",
  "hi",
  "level",
  "n",
  "link_ratio",
  "link_lo",
  "link_hi",
  "link_level",
  "link_n",
  "link_method",
  "link_p",
  "link_baseline_median",
  "link_call",
] as const;

type Value = string | number | boolean | null;

export const testbedRow = (t: Testbed): Value[] => [t.id, t.cpuModel, t.cores, t.node];

export function runRow(f: RunFacts, addedAt: string, d: Dialect): Value[] {
  const dirty = f.dirty === undefined ? null : d === "postgres" ? f.dirty : f.dirty ? 1 : 0;
  return [
    f.runId,
    f.kind,
    f.commit,
    f.parent ?? null,
    f.branch ?? null,
    f.time,
    dirty,
    f.testbed.id,
    f.source ?? null,
    f.perfpack ?? null,
    f.gate?.baselineCommit ?? null,
    f.gate?.baselineRef ?? null,
    f.gate?.outcome ?? null,
    f.gate?.maxRegression ?? null,
    addedAt,
  ];
}

export function pointRow(r: HistoryRecord): Value[] {
  const l = r.link;
  return [
    r.runId,
    r.variant,
    r.scenario,
    r.metric,
    r.label ?? null,
    r.better ?? null,
    r.unit ?? null,
    r.median,
    r.lo,
    r.hi,
    r.level,
    r.n,
    l?.ratio ?? null,
    l?.lo ?? null,
    l?.hi ?? null,
    l?.level ?? null,
    l?.n ?? null,
    l?.method ?? null,
    l?.p ?? null,
    l?.baselineMedian ?? null,
    l?.call ?? null,
  ];
}

/** What a query asks for; every field given narrows it. */
export interface RecordFilter {
  testbed?: string;
  /** null: the runs recorded without a branch. */
  branch?: string | null;
  variant?: string;
  scenario?: string;
  metric?: string;
  runId?: string;
  commit?: string;
}

const FILTER_COLUMNS: Record<keyof RecordFilter, string> = {
  testbed: "r.testbed",
  branch: "r.branch",
  variant: "p.variant",
  scenario: "p.scenario",
  metric: "p.metric",
  runId: "r.run_id",
  commit: "r.commit_sha",
};

/** `WHERE …` for a filter, with the dialect's placeholders from `first` on, and its parameters. */
export function whereOf(filter: RecordFilter, d: Dialect, first = 1): { sql: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  for (const [key, column] of Object.entries(FILTER_COLUMNS) as Array<[keyof RecordFilter, string]>) {
    const v = filter[key];
    if (v === undefined) continue;
    if (v === null) {
      parts.push(`${column} IS NULL`);
      continue;
    }
    params.push(v);
    parts.push(`${column} = ${d === "postgres" ? `$${first + params.length - 1}` : "?"}`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params };
}

const RUN_FACT_COLUMNS = `r.run_id, r.kind, r.commit_sha, r.parent, r.branch, r.time, r.dirty, r.source, r.perfpack,
  r.baseline_commit, r.baseline_ref, r.outcome, r.max_regression, t.id AS testbed_id, t.cpu_model, t.cores, t.node`;

/** The runs' facts, from runs (r) and testbeds (t): filter with `runFilter`. */
export const RUN_FACTS_SELECT = `SELECT ${RUN_FACT_COLUMNS} FROM ${T.runs} r JOIN ${T.testbeds} t ON t.id = r.testbed`;

/** The runs' facts with how many points each holds. */
export const RUN_SELECT = `SELECT ${RUN_FACT_COLUMNS}, (SELECT COUNT(*) FROM ${T.points} p WHERE p.run_id = r.run_id) AS points
  FROM ${T.runs} r JOIN ${T.testbeds} t ON t.id = r.testbed`;

/** The points, from points (p) joined to runs (r) so that any filter applies. */
export const POINT_SELECT = `SELECT p.run_id, p.variant, p.scenario, p.metric, p.label, p.better, p.unit,
  p.median, p.lo, p.hi, p.level, p.n, p.link_ratio, p.link_lo, p.link_hi, p.link_level, p.link_n, p.link_method,
  p.link_p, p.link_baseline_median, p.link_call
  FROM ${T.points} p JOIN ${T.runs} r ON r.run_id = p.run_id`;

/** The part of a filter that the runs' own columns answer (for RUN_FACTS_SELECT). */
export const runFilter = (f: RecordFilter): RecordFilter => ({
  testbed: f.testbed,
  branch: f.branch,
  runId: f.runId,
  commit: f.commit,
});

type Row = Record<string, unknown>;

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;
/** Postgres' timestamptz comes back as a Date; SQLite's column is the ISO text itself. */
const isoOf = (v: unknown): string => (v instanceof Date ? v.toISOString() : (v as string));

function runFactsOfRow(row: Row): RunFacts {
  const f: RunFacts = {
    runId: row.run_id as string,
    kind: row.kind as RunFacts["kind"],
    commit: row.commit_sha as string,
    time: isoOf(row.time),
    testbed: {
      id: row.testbed_id as string,
      cpuModel: row.cpu_model as string,
      cores: Number(row.cores),
      node: row.node as string,
    },
  };
  if (!isNull(row.parent)) f.parent = row.parent as string;
  if (!isNull(row.branch)) f.branch = row.branch as string;
  if (!isNull(row.dirty)) f.dirty = Boolean(row.dirty);
  if (!isNull(row.source)) f.source = row.source as string;
  if (!isNull(row.perfpack)) f.perfpack = row.perfpack as string;
  if (!isNull(row.baseline_commit))
    f.gate = {
      baselineCommit: row.baseline_commit as string,
      baselineRef: row.baseline_ref as string,
      outcome: row.outcome as NonNullable<RunFacts["gate"]>["outcome"],
      maxRegression: Number(row.max_regression),
    };
  return f;
}

function linkOfRow(row: Row): PairedLink {
  const l: PairedLink = {
    ratio: Number(row.link_ratio),
    lo: Number(row.link_lo),
    hi: Number(row.link_hi),
    level: Number(row.link_level),
    n: Number(row.link_n),
    method: row.link_method as PairedLink["method"],
    p: Number(row.link_p),
    baselineMedian: Number(row.link_baseline_median),
  };
  if (!isNull(row.link_call)) l.call = row.link_call as PairedLink["call"];
  return l;
}

function pointOfRow(row: Row): MetricPoint {
  const p: MetricPoint = {
    variant: row.variant as string,
    scenario: row.scenario as string,
    metric: row.metric as string,
    median: Number(row.median),
    lo: Number(row.lo),
    hi: Number(row.hi),
    level: Number(row.level),
    n: Number(row.n),
  };
  if (!isNull(row.label)) p.label = row.label as string;
  if (!isNull(row.better)) p.better = row.better as MetricPoint["better"];
  if (!isNull(row.unit)) p.unit = row.unit as MetricPoint["unit"];
  if (!isNull(row.link_ratio)) p.link = linkOfRow(row);
  return p;
}

/**
 * Records from the runs' rows and the points' rows, in the stores' one order (done here: the
 * engines' collations differ). A point whose run is not among the runs read is left out: a run
 * appended between the two queries is not seen yet.
 */
export function joinedRecords(runRows: readonly Row[], pointRows: readonly Row[]): HistoryRecord[] {
  const facts = new Map(runRows.map((row) => [row.run_id as string, runFactsOfRow(row)]));
  const out: HistoryRecord[] = [];
  for (const row of pointRows) {
    const f = facts.get(row.run_id as string);
    // Object.assign, not a spread: a spread of this many keys is ten times slower in V8 (10,000 points: 100 ms)
    if (f) out.push(Object.assign({}, f, pointOfRow(row)));
  }
  return out.sort(compareRecords);
}

/** A run with the number of points it holds. */
export interface RunEntry extends RunFacts {
  points: number;
}

export const sortedRuns = (rows: readonly Row[]): RunEntry[] =>
  rows
    .map((row) => ({ ...runFactsOfRow(row), points: Number(row.points) }))
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));

/** Records grouped by run, each run's facts checked to be the same on all of its records. */
export function runsOf(records: readonly HistoryRecord[]): Array<{ facts: RunFacts; points: HistoryRecord[] }> {
  const byRun = new Map<string, { facts: RunFacts; key: string; points: HistoryRecord[] }>();
  for (const r of records) {
    const facts = runFactsOf(r);
    const key = canonical(facts);
    const seen = byRun.get(r.runId);
    if (!seen) byRun.set(r.runId, { facts, key, points: [r] });
    else if (seen.key !== key)
      throw new Error(`history records of run ${r.runId} disagree on the run's facts (commit, branch, testbed, …)`);
    else seen.points.push(r);
  }
  return [...byRun.values()].map(({ facts, points }) => ({ facts, points }));
}

/** JSON with object keys sorted, so that the same facts give the same text whatever the key order. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
}

/** The series there are, as a query (DISTINCT over runs and points) with its filter. */
export const SERIES_SELECT = `SELECT DISTINCT r.testbed, r.branch, p.variant, p.scenario, p.metric
  FROM ${T.points} p JOIN ${T.runs} r ON r.run_id = p.run_id`;

export interface SeriesRow {
  testbed: string;
  branch?: string;
  variant: string;
  scenario: string;
  metric: string;
}

/** Series keys in a stable order: testbed, branch (none first), variant, scenario, metric. */
export function sortedSeries(rows: readonly Row[]): SeriesRow[] {
  const keys = rows.map((row) =>
    omitUndefined({
      testbed: row.testbed as string,
      branch: isNull(row.branch) ? undefined : (row.branch as string),
      variant: row.variant as string,
      scenario: row.scenario as string,
      metric: row.metric as string,
    }),
  );
  const order = (k: SeriesRow) => [
    k.testbed,
    k.branch === undefined ? "" : `~${k.branch}`,
    k.variant,
    k.scenario,
    k.metric,
  ];
  return keys.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  });
}

export const testbedOfRow = (row: Row): Testbed => ({
  id: row.id as string,
  cpuModel: row.cpu_model as string,
  cores: Number(row.cores),
  node: row.node as string,
});
