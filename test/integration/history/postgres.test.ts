import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { cliPath } from "../../../harness/engine/systems.js";
import { compareRecords, type HistoryRecord } from "../../../harness/history/record.js";
import { recordsOf } from "../../../harness/history/records.js";
import { openStore } from "../../../harness/history/open.js";
import { HistoryStoreError, type HistoryStore } from "../../../harness/history/store.js";
import type { HistoryDocument } from "../../../harness/verdict/trend.js";
import type { GateReport, Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { answersOf, appendInChild, syntheticHistory } from "../../helpers/history.js";
import { trendHistory } from "../../helpers/history-trend.js";
import { hasPostgres, startPostgres } from "../../helpers/postgres.js";

const json = <T>(...p: string[]): T => JSON.parse(readFileSync(fixturePath(...p), "utf8")) as T;

/** The sample gate and run as records: real results, through recordsOf. */
function fixtureRecords(): HistoryRecord[] {
  const gate = recordsOf(json<Results>("sample-gate", "results.json"), json<GateReport>("sample-gate", "gate.json"), {
    branch: "main",
    parent: "a1",
    source: "fixtures/sample-gate",
  });
  const run = recordsOf(json<Results>("sample-baseline.json"), undefined, { commit: "c0ffee", branch: "main" });
  return [...gate, ...run];
}

async function using<T>(spec: string, f: (s: HistoryStore) => Promise<T>): Promise<T> {
  const s = await openStore(spec, mkdtempSync(join(tmpdir(), "perfpack-history-")));
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

test("the Postgres store, against a real server (Debian's postgresql)", async (t) => {
  if (!hasPostgres(t)) return;
  const server = await startPostgres();
  t.after(() => server.stop());

  await t.test("the same records give the same answers as the embedded SQLite store", async () => {
    const records = [...syntheticHistory(15), ...fixtureRecords()];
    const url = await server.createDb("same");
    const file = join(mkdtempSync(join(tmpdir(), "perfpack-history-")), "h.db");
    const fromPg = await using(url, async (s) => {
      assert.equal(s.engine, "postgres");
      assert.equal((await s.append(records)).added.length, 2 * 15 + 3 + 2);
      return answersOf(s);
    });
    const fromSqlite = await using(file, async (s) => {
      await s.append(records);
      return answersOf(s);
    });
    assert.deepEqual(fromPg, fromSqlite);
    assert.deepEqual(fromPg.records, [...records].sort(compareRecords), "and the records are the ones given");
    assert.ok(fromPg.runs.some((r) => r.dirty === true && r.kind === "gate"));
  });

  await t.test("perfpack history gives the same document from Postgres as from the embedded file", async () => {
    const { records } = trendHistory();
    const url = await server.createDb("trend");
    const dir = mkdtempSync(join(tmpdir(), "perfpack-history-"));
    const file = join(dir, "h.db");
    await using(url, async (s) => void (await s.append(records)));
    await using(file, async (s) => void (await s.append(records)));
    const read = (store: string) => {
      const r = spawnSync(process.execPath, [cliPath(), "history", "--history", store, "--json", "--no-write"], {
        cwd: dir,
        encoding: "utf8",
      });
      assert.equal(r.status, 1, r.stderr); // the synthetic history holds a step and a creep
      const { store: _s, generatedAt: _g, ...doc } = JSON.parse(r.stdout) as HistoryDocument;
      return doc;
    };
    const fromPg = read(url);
    assert.deepEqual(fromPg, read(file));
    assert.ok(fromPg.standing.length >= 2 && fromPg.series.every((x) => x.points.length === 20));
  });

  await t.test("a run already stored is skipped; an append that fails stores none of its runs", async () => {
    const url = await server.createDb("dedupe");
    const records = syntheticHistory(3);
    await using(url, async (s) => {
      const first = await s.append(records);
      assert.deepEqual(first.skipped, []);
      assert.deepEqual(await s.append(records), { added: [], skipped: [...first.added].sort() });
      const fresh = syntheticHistory(4).filter((r) => r.runId.endsWith("-4"));
      await assert.rejects(s.append([...fresh, fresh[0]!]), /duplicate key/);
      assert.deepEqual([await s.has("main-a-4"), await s.has("main-b-4")], [false, false]);
    });
    const other = url.replace(/^postgres:/, "postgresql:");
    assert.equal(await using(other, async (s) => s.engine === "postgres" && s.has("main-a-1")), true, other);
  });

  await t.test("two processes appending at once, to a database with no tables yet, lose nothing", async () => {
    const url = await server.createDb("concurrent");
    const [a, b] = await Promise.all([appendInChild(url, "a", 120, 40), appendInChild(url, "b", 120, 40)]);
    assert.equal(a.added.filter((r) => r.startsWith("a-")).length, 120);
    assert.equal(b.added.filter((r) => r.startsWith("b-")).length, 120);
    const shared = [...a.added, ...b.added].filter((r) => r.startsWith("shared-"));
    assert.equal(new Set(shared).size, 40);
    assert.equal(shared.length, 40, "each shared run added once");
    assert.equal(a.skipped.length + b.skipped.length, 40);
    await using(url, async (s) => {
      const runs = await s.runs();
      assert.equal(runs.length, 280);
      assert.ok(runs.every((r) => r.points === 3));
    });
    const meta = await sql<{ n: string }>(url, "SELECT COUNT(*) AS n FROM perfpack_meta");
    assert.equal(meta[0]!.n, "2", "the schema was created once");
  });

  await t.test("a database written by a newer schema is refused, and nothing in it changes", async () => {
    const url = await server.createDb("newer");
    await using(url, (s) => s.append(syntheticHistory(2)));
    await sql(url, "UPDATE perfpack_meta SET value = '9' WHERE key = 'schema_version'");
    const snapshot = () =>
      sql(
        url,
        "SELECT (SELECT COUNT(*) FROM perfpack_runs) AS runs, (SELECT COUNT(*) FROM perfpack_points) AS points, (SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM perfpack_meta) AS meta",
      );
    const before = await snapshot();
    await assert.rejects(
      openStore(url, "/"),
      (e: unknown) =>
        e instanceof HistoryStoreError &&
        e.problem === "newer-schema" &&
        e.message.includes(url) &&
        /schema version 9; this perfpack reads up to 1/.test(e.message),
    );
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(before, [{ runs: "7", points: "21", meta: "format=perfpack/history,schema_version=9" }]);
  });

  await t.test("a store filled faster than autovacuum wakes has its planner statistics refreshed", async () => {
    const url = await server.createDb("analyze");
    await using(url, (s) => s.append(syntheticHistory(200))); // 403 runs, 1,209 points
    const rows = await sql<{ relname: string; analyzed: boolean }>(
      url,
      "SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname IN ('perfpack_runs', 'perfpack_points') ORDER BY relname",
    );
    assert.deepEqual(rows, [
      { relname: "perfpack_points", analyzed: true },
      { relname: "perfpack_runs", analyzed: true },
    ]);
  });

  await t.test("a history to read must exist: a database without one is refused, and nothing is created", async () => {
    const url = await server.createDb("empty");
    await assert.rejects(
      openStore(url, "/", { mustExist: true }),
      (e: unknown) => e instanceof HistoryStoreError && e.problem === "missing" && e.message.includes(url),
    );
    assert.deepEqual(await sql(url, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'perfpack_%'"), []);
  });

  await t.test("a server that does not answer is a clear error, with the password kept out of it", async () => {
    const url = server.url("nope").replace("perfpack@", "perfpack:sekret@");
    await assert.rejects(
      openStore(url, "/"),
      (e: unknown) =>
        e instanceof HistoryStoreError &&
        e.problem === "unreachable" &&
        /history store postgres:\/\/perfpack:\*\*\*@127\.0\.0\.1:\d+\/nope cannot be used: .*nope/.test(e.message) &&
        !e.message.includes("sekret"),
    );
  });
});
