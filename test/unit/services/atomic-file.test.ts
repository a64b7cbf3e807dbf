import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { symlinkAtomic, tempPathOf, writeFileAtomic } from "../../../services/common/src/atomic-file.js";

const root = mkdtempSync(join(tmpdir(), "perfpack-atomic-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, `d${++n}`);
  mkdirSync(d);
  return d;
};

/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!;

test("writeFileAtomic writes and rewrites the file, and leaves nothing else in its folder", () => {
  const dir = freshDir();
  const file = join(dir, "results.json");
  writeFileAtomic(file, '{"a":1}\n');
  assert.equal(readFileSync(file, "utf8"), '{"a":1}\n');
  writeFileAtomic(file, new TextEncoder().encode('{"a":2}\n'));
  assert.equal(readFileSync(file, "utf8"), '{"a":2}\n');
  assert.deepEqual(readdirSync(dir), ["results.json"]);
  assert.equal(tempPathOf(file), join(dir, `.results.json.${process.pid}.tmp`));
});

test("writeFileAtomic keeps an existing file's mode, and writes through a symlink (the link stays)", () => {
  const dir = freshDir();
  const file = join(dir, "report.md");
  writeFileSync(file, "old");
  chmodSync(file, 0o640);
  writeFileAtomic(file, "new");
  assert.equal(statSync(file).mode & 0o777, 0o640);
  const link = join(dir, "link.md");
  symlinkSync("report.md", link);
  writeFileAtomic(link, "through the link");
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(file, "utf8"), "through the link");
  assert.deepEqual(readdirSync(dir).sort(), ["link.md", "report.md"]);
});

test("a failed write throws, leaves the target as it was and no temp file: missing folder, data that cannot be written, a folder in the way", () => {
  const dir = freshDir();
  assert.throws(() => writeFileAtomic(join(dir, "missing", "results.json"), "x"), { code: "ENOENT" });
  assert.deepEqual(readdirSync(dir), []);

  const file = join(dir, "results.json");
  writeFileSync(file, "before");
  // fails after the temp file is open: the write itself throws
  assert.throws(() => writeFileAtomic(file, 42 as unknown as string), TypeError);
  assert.equal(readFileSync(file, "utf8"), "before");
  assert.deepEqual(readdirSync(dir), ["results.json"]);

  // fails at the rename, after the temp file was written and fsynced
  mkdirSync(join(dir, "gate.json"));
  writeFileSync(join(dir, "gate.json", "inside"), "");
  assert.throws(() => writeFileAtomic(join(dir, "gate.json"), "{}"));
  assert.deepEqual(readdirSync(dir).sort(), ["gate.json", "results.json"]);
});

test(
  "a failed write into a read-only folder leaves no temp file",
  { skip: process.getuid?.() === 0 ? "root writes into a read-only folder" : false },
  () => {
    const dir = freshDir();
    writeFileSync(join(dir, "results.json"), "before");
    chmodSync(dir, 0o555);
    try {
      assert.throws(() => writeFileAtomic(join(dir, "results.json"), "after"), { code: "EACCES" });
    } finally {
      chmodSync(dir, 0o755);
    }
    assert.equal(readFileSync(join(dir, "results.json"), "utf8"), "before");
    assert.deepEqual(readdirSync(dir), ["results.json"]);
  },
);

test("a write removes the temp files dead writers of the same name left, and nothing else", () => {
  const dir = freshDir();
  const file = join(dir, "results.json");
  const dead = tempPathOf(file, deadPid());
  const live = tempPathOf(file, process.ppid); // the test runner: alive
  const other = tempPathOf(join(dir, "gate.json"), deadPid());
  const mine = tempPathOf(file); // a leftover under this very pid (a reused pid): overwritten, not in the way
  for (const f of [dead, live, other, mine]) writeFileSync(f, "half a docu");
  writeFileAtomic(file, "whole");
  assert.equal(readFileSync(file, "utf8"), "whole");
  assert.deepEqual(
    readdirSync(dir).sort(),
    [live, other, file].map((f) => f.slice(dir.length + 1)).sort(),
    "the dead writer's temp file and this process's own are gone; a live writer's and another name's stay",
  );
});

test("symlinkAtomic points a link at a new folder, over an old link or a real folder, and leaves no temp link", () => {
  const dir = freshDir();
  for (const run of ["run-1", "run-2", "run-3"]) {
    mkdirSync(join(dir, run));
    writeFileSync(join(dir, run, "results.json"), run);
  }
  const latest = join(dir, "latest");
  symlinkAtomic("run-1", latest);
  assert.equal(readFileSync(join(latest, "results.json"), "utf8"), "run-1");
  symlinkAtomic("run-2", latest);
  assert.equal(readlinkSync(latest), "run-2");
  rmSync(latest);
  mkdirSync(latest);
  writeFileSync(join(latest, "results.json"), "a copy");
  symlinkAtomic("run-3", latest);
  assert.equal(readFileSync(join(latest, "results.json"), "utf8"), "run-3");
  assert.deepEqual(readdirSync(dir).sort(), ["latest", "run-1", "run-2", "run-3"]);
});
