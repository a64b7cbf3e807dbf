import assert from "node:assert/strict";
import Database from "better-sqlite3";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { compareRecords } from "../../../harness/history/record.js";
import { DEFAULT_HISTORY_FILE, openStore } from "../../../harness/history/open.js";
import { HistoryStoreError, type HistoryStore } from "../../../harness/history/store.js";
import {
  answersOf,
  appendInChild,
  syntheticHistory,
  syntheticRun,
  TESTBED_A,
  TESTBED_B,
} from "../../helpers/history.js";

const scratch = () => mkdtempSync(join(tmpdir(), "perfpack-history-"));
const digest = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

async function withStore<T>(file: string, f: (s: HistoryStore) => Promise<T>): Promise<T> {
  const s = await openStore(file, "/");
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

test("records go in and come out the same, by time then run; runs, series and testbeds are listed", async () => {
  const dir = scratch();
  const history = syntheticHistory(12);
  await withStore(join(dir, "h.db"), async (s) => {
    assert.equal(s.engine, "sqlite");
    const r = await s.append(history);
    assert.equal(r.added.length, 27);
    assert.deepEqual(r.skipped, []);
    const a = await answersOf(s);
    assert.deepEqual(a.records, [...history].sort(compareRecords));
    assert.deepEqual(a.oneRun, history.filter((x) => x.runId === "main-a-3").sort(compareRecords));
    assert.deepEqual(a.has, [true, false]);
    assert.deepEqual(
      a.runsOnMain.map((x) => [x.runId, x.points]),
      Array.from({ length: 12 }, (_, i) => [`main-a-${i + 1}`, 3]),
    );
    assert.deepEqual(
      a.testbeds.map((t) => t.id),
      [TESTBED_A.id, TESTBED_B.id].sort(),
    );
    // one series per testbed × branch × variant × scenario × metric; no branch is a series of its own
    assert.equal(a.keys.length, 3 * 4); // (A, main) (B, main) (A, feature/x) (A, none) × 3 metrics
    assert.deepEqual(
      a.keysOfB.map((k) => [k.branch, k.metric]),
      [
        ["main", "failure_share"],
        ["main", "latency_p95_ms"],
        ["main", "rps"],
      ],
    );
    const rps = await s.series({
      testbed: TESTBED_A.id,
      branch: "main",
      variant: "optimized",
      scenario: "latency",
      metric: "rps",
    });
    assert.deepEqual(
      rps.map((x) => x.runId),
      Array.from({ length: 12 }, (_, i) => `main-a-${i + 1}`),
      "testbed B's runs of the same commits are another series",
    );
    assert.ok(rps.every((x) => x.link && x.gate?.outcome === "pass"));
    const none = await s.series({ testbed: TESTBED_A.id, variant: "optimized", scenario: "latency", metric: "rps" });
    assert.deepEqual(
      none.map((x) => x.runId),
      ["artifact-1"],
    );
  });
});

test("a run already stored is not added again, alone or beside new ones", async () => {
  const dir = scratch();
  const file = join(dir, "h.db");
  const one = syntheticRun({ runId: "r1", commit: "c1", branch: "main", time: "2026-11-01T00:00:00.000Z" });
  const two = syntheticRun({ runId: "r2", commit: "c2", branch: "main", time: "2026-11-02T00:00:00.000Z" });
  await withStore(file, async (s) => assert.deepEqual(await s.append(one), { added: ["r1"], skipped: [] }));
  await withStore(file, async (s) => {
    assert.deepEqual(await s.append(one), { added: [], skipped: ["r1"] });
    assert.deepEqual(await s.append([...two, ...one]), { added: ["r2"], skipped: ["r1"] });
    assert.equal((await s.records()).length, 6);
  });
});

test("an append is all or nothing: a failure in its last run leaves none of its runs stored", async () => {
  const dir = scratch();
  await withStore(join(dir, "h.db"), async (s) => {
    const good = syntheticRun({ runId: "a", commit: "c1", time: "2026-11-01T00:00:00.000Z" });
    const twice = syntheticRun({ runId: "b", commit: "c2", time: "2026-11-02T00:00:00.000Z" });
    await assert.rejects(s.append([...good, ...twice, twice[0]!]), /UNIQUE|constraint/i);
    assert.deepEqual([await s.has("a"), await s.has("b")], [false, false]);
    assert.deepEqual(await s.append(good), { added: ["a"], skipped: [] }, "the store still takes appends");
  });
});

test("bad records are refused before anything is written, naming the run", async () => {
  const dir = scratch();
  await withStore(join(dir, "h.db"), async (s) => {
    const [r] = syntheticRun({ runId: "x", commit: "c", time: "2026-11-01T00:00:00.000Z" });
    await assert.rejects(s.append([{ ...r!, time: "yesterday" }]), /history record x .*time "yesterday"/);
    await assert.rejects(s.append([{ ...r!, median: NaN }]), /history record x .*finite/);
    await assert.rejects(s.append([r!, { ...r!, metric: "other", commit: "d" }]), /run x disagree/);
    assert.equal((await s.runs()).length, 0);
  });
});

test("the file: created with its folder; a folder names history.db in it; empty is .perfpack/history.db under cwd", async () => {
  const dir = scratch();
  const s1 = await openStore("", dir);
  assert.equal(s1.location, join(dir, DEFAULT_HISTORY_FILE));
  assert.equal(DEFAULT_HISTORY_FILE, join(".perfpack", "history.db"));
  await s1.close();
  mkdirSync(join(dir, "store"));
  const s2 = await openStore("store", dir);
  assert.equal(s2.location, join(dir, "store", "history.db"));
  await s2.close();
  const s3 = await openStore("deep/er/h.db", dir);
  assert.equal(s3.location, join(dir, "deep", "er", "h.db"));
  await s3.append(syntheticRun({ runId: "r", commit: "c", time: "2026-11-01T00:00:00.000Z" }));
  await s3.close();
  assert.deepEqual(
    readdirSync(join(dir, "deep", "er")),
    ["h.db"],
    "at rest the store is one file (rollback journal, no -wal beside it)",
  );
});

test("two processes appending at once to a new file lose nothing and store a shared run once", async () => {
  const dir = scratch();
  const file = join(dir, "h.db");
  const [a, b] = await Promise.all([appendInChild(file, "a", 120, 40), appendInChild(file, "b", 120, 40)]);
  assert.equal(a.added.filter((r) => r.startsWith("a-")).length, 120);
  assert.equal(b.added.filter((r) => r.startsWith("b-")).length, 120);
  const shared = [...a.added, ...b.added].filter((r) => r.startsWith("shared-"));
  assert.equal(shared.length, 40, "each shared run added by exactly one of them");
  assert.equal(new Set(shared).size, 40);
  assert.equal(a.skipped.length + b.skipped.length, 40, "and skipped by the other");
  await withStore(file, async (s) => {
    const runs = await s.runs();
    assert.equal(runs.length, 280);
    assert.ok(runs.every((r) => r.points === 3));
    assert.equal((await s.records()).length, 280 * 3);
  });
});

test("a writer killed mid-append leaves a store that opens, holds whole runs only, and takes appends", async () => {
  const dir = scratch();
  const file = join(dir, "h.db");
  let child: ChildProcess | undefined;
  const appending = appendInChild(file, "k", 100_000, 0, (c) => (child = c));
  // once it has written some runs (read through a second connection while it writes), kill it
  for (;;) {
    const n = existsSync(file) ? await withStore(file, async (s) => (await s.runs()).length).catch(() => 0) : 0;
    if (n >= 50) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child!.kill("SIGKILL");
  await assert.rejects(appending, /exited null/);
  await withStore(file, async (s) => {
    const runs = await s.runs();
    assert.ok(runs.length >= 50);
    assert.deepEqual(
      runs.filter((r) => r.points !== 3),
      [],
      "no run is half written",
    );
    assert.deepEqual(await s.append(syntheticRun({ runId: "after", commit: "c", time: "2026-11-01T00:00:00.000Z" })), {
      added: ["after"],
      skipped: [],
    });
  });
});

test("a history to read must exist: a missing or empty file is refused, and nothing is created", async () => {
  const dir = scratch();
  const file = join(dir, "sub", "h.db");
  await assert.rejects(
    openStore(file, "/", { mustExist: true }),
    (e: unknown) =>
      e instanceof HistoryStoreError &&
      e.problem === "missing" &&
      e.message ===
        `no history store at ${file}: nothing was recorded there yet (run or gate with --history, or perfpack history add)`,
  );
  assert.ok(!existsSync(join(dir, "sub")));
  const empty = join(dir, "empty.db");
  writeFileSync(empty, "");
  await assert.rejects(
    openStore(empty, "/", { mustExist: true }),
    (e: unknown) => e instanceof HistoryStoreError && e.problem === "missing",
  );
  assert.equal(statSync(empty).size, 0);
  await withStore(join(dir, "h.db"), (s) =>
    s.append(syntheticRun({ runId: "r", commit: "c", time: "2026-11-01T00:00:00.000Z" })),
  );
  const s = await openStore(join(dir, "h.db"), "/", { mustExist: true });
  assert.equal(await s.has("r"), true);
  await s.close();
});

test("a store written by a newer schema is refused with the file named, and left byte for byte as it was", async () => {
  const dir = scratch();
  const file = join(dir, "h.db");
  await withStore(file, (s) => s.append(syntheticRun({ runId: "r", commit: "c", time: "2026-11-01T00:00:00.000Z" })));
  const raw = new Database(file);
  raw.prepare("UPDATE perfpack_meta SET value = '7' WHERE key = 'schema_version'").run();
  raw.close();
  const before = digest(file);
  await assert.rejects(
    openStore(file, "/"),
    (e: unknown) =>
      e instanceof HistoryStoreError &&
      e.problem === "newer-schema" &&
      e.exitCode === 2 &&
      e.message.includes(file) &&
      /newer perfpack \(schema version 7; this perfpack reads up to 1\)/.test(e.message),
  );
  assert.equal(digest(file), before);
  assert.deepEqual(readdirSync(dir), ["h.db"]);
});

test("a file that is not an SQLite database, or another program's database, is refused untouched", async () => {
  const dir = scratch();
  const text = join(dir, "results.json");
  writeFileSync(text, '{"schema":"perfpack/results@1"}\n');
  await assert.rejects(
    openStore(text, "/"),
    (e: unknown) =>
      e instanceof HistoryStoreError &&
      e.problem === "not-a-store" &&
      e.message.includes(text) &&
      /not an SQLite database/.test(e.message),
  );
  assert.equal(readFileSync(text, "utf8"), '{"schema":"perfpack/results@1"}\n');
  const other = join(dir, "app.db");
  const raw = new Database(other);
  raw.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann')");
  raw.close();
  const before = digest(other);
  await assert.rejects(
    openStore(other, "/"),
    (e: unknown) => e instanceof HistoryStoreError && /database of something else \(tables users/.test(e.message),
  );
  assert.equal(digest(other), before);
});

test("a damaged store (pages overwritten, or cut short) is refused with the file named, and not written to", async () => {
  const dir = scratch();
  const file = join(dir, "h.db");
  await withStore(file, (s) => s.append(syntheticHistory(40)));
  const good = readFileSync(file);
  assert.ok(good.length > 8 * 4096, `a store of several pages (${good.length} bytes)`);
  const damaged = Buffer.from(good);
  damaged.fill(0xa5, 3 * 4096, 5 * 4096);
  for (const [name, bytes] of [
    ["overwritten.db", damaged],
    ["cut.db", good.subarray(0, Math.floor(good.length / 2))],
  ] as const) {
    const f = join(dir, name);
    writeFileSync(f, bytes);
    const before = digest(f);
    await assert.rejects(
      openStore(f, "/"),
      (e: unknown) =>
        e instanceof HistoryStoreError && e.problem === "corrupt" && e.message.includes(f) && /damaged/.test(e.message),
      name,
    );
    assert.equal(digest(f), before, name);
    assert.equal(statSync(f).size, bytes.length);
    assert.ok(!existsSync(`${f}-journal`), name);
  }
});
