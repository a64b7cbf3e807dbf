import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { tempPathOf, writeFileAtomic } from "../../../services/common/src/atomic-file.js";
import { procEntry } from "../../../services/common/src/proc.js";
import { seededRandom } from "../../../services/common/src/rng.js";

// A kill in the middle of a rewrite: a child rewrites a results-like document of a few MB through
// writeFileAtomic in a loop (each version carries its generation and the sha256 of its body),
// and is SIGKILLed again and again. After every kill the file must be one whole version.

const MODULE = new URL("../../../services/common/src/atomic-file.js", import.meta.url).href;

// The child: continues from the file's generation, says "writing N" before and "wrote N" after each
// rewrite (stdout to a pipe is synchronous on Linux: a line said is a line the parent gets).
const CHILD = `
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
const [url, target] = process.argv.slice(1);
const { writeFileAtomic } = await import(url);
let gen = 0;
try { gen = JSON.parse(readFileSync(target, "utf8")).generation; } catch {}
const trials = Array.from({ length: 16000 }, (_, i) => ({
  variant: i % 2 ? "baseline" : "optimized", scenario: "latency", round: i, status: "ok",
  metrics: { rps: i * 1.5, latency_p95_ms: i / 7, latency_p50_ms: i / 13 }, log: "x".repeat(120),
}));
for (;;) {
  gen++;
  const body = JSON.stringify({ generation: gen, trials });
  const sha256 = createHash("sha256").update(body).digest("hex");
  process.stdout.write("writing " + gen + "\\n");
  writeFileAtomic(target, '{"generation":' + gen + ',"sha256":"' + sha256 + '","body":' + body + "}\\n");
  process.stdout.write("wrote " + gen + "\\n");
}
`;

/** One writer child, and what it has said so far. */
class Writer {
  readonly child: ChildProcess;
  wrote = 0;
  writing = 0;
  /** Set when the child ended other than by our SIGKILL. */
  failure: string | undefined;
  readonly closed: Promise<void>;
  private exited = false;
  private wake: () => void = () => {};

  constructor(target: string) {
    this.child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, MODULE, target], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    this.child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const [word, n] = line.split(" ");
      if (word === "writing") this.writing = Number(n);
      if (word === "wrote") this.wrote = Number(n);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      this.child.on("close", (code, signal) => {
        this.exited = true;
        if (signal !== "SIGKILL") this.failure = `the writer ended on its own (${code ?? signal}): ${stderr}`;
        this.wake();
        resolve();
      }),
    );
  }

  /** Resolves once `pred` holds, after a line from the child; rejects if it ended first. */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.exited) throw new Error(this.failure ?? "the writer ended");
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** true when the child, stopped, holds its temp file open: it is inside a write (before the rename). */
  insideWrite(tmp: string): boolean {
    const fds = `/proc/${this.child.pid}/fd`;
    try {
      return readdirSync(fds).some((fd) => {
        try {
          return readlinkSync(join(fds, fd)) === tmp;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  }
}

/** The file as one whole version: it parses, and its body is the one its checksum names. */
function readVersion(target: string): number {
  const doc = JSON.parse(readFileSync(target, "utf8")) as { generation: number; sha256: string; body: unknown };
  const sha = createHash("sha256").update(JSON.stringify(doc.body)).digest("hex");
  assert.equal(sha, doc.sha256, `generation ${doc.generation}: its body is not the one it was written with`);
  assert.equal((doc.body as { generation: number }).generation, doc.generation);
  return doc.generation;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills the child at a random moment: after 1 to 3 more rewrites have begun, then 0 to 30 ms on. */
async function killAnywhere(w: Writer, random: () => number): Promise<void> {
  const k = w.writing + 1 + Math.floor(random() * 3);
  await w.until(() => w.writing >= k);
  await pause(random() * 30);
  w.child.kill("SIGKILL");
}

/**
 * Resolves once `pid` is stopped (state T): SIGSTOP is delivered when the process next runs, and
 * until then (on a busy machine, a while) it may still pass its rename. A bound, not a measurement.
 */
async function stopped(pid: number, boundMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (procEntry(pid)?.state !== "T") {
    assert.ok(procEntry(pid) !== undefined, `the writer ${pid} is gone`);
    assert.ok(Date.now() - t0 < boundMs, `the writer ${pid} did not stop within ${boundMs} ms`);
    await pause(1);
  }
}

/** Kills the child inside a write: stopped, it holds its temp file open; else it goes on and is stopped again. */
async function killInsideWrite(w: Writer, tmp: string, random: () => number): Promise<void> {
  for (let tries = 0; ; tries++) {
    assert.ok(tries < 2000, "never caught the writer inside a write");
    w.child.kill("SIGSTOP");
    // the event: stopped, it cannot close or rename while its open files are read
    await stopped(w.child.pid!);
    if (w.insideWrite(tmp)) return void w.child.kill("SIGKILL");
    w.child.kill("SIGCONT");
    await pause(random() * 5);
  }
}

const dir = mkdtempSync(join(tmpdir(), "perfpack-atomic-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  "SIGKILL in the middle of rewrites: the document is always one whole version, and the temp files killed writers leave are cleared by the next write",
  { skip: process.platform !== "linux" ? "reads /proc" : false },
  async (t) => {
    const target = join(dir, "results.json");
    const random = seededRandom(33);
    const KILLS = 20;
    let last = 0;
    let stale: string | undefined;
    let leftTemp = 0;
    for (let i = 0; i < KILLS; i++) {
      const w = new Writer(target);
      const tmp = tempPathOf(target, w.child.pid);
      // the event, not a time: this child has rewritten the file at least once
      await w.until(() => w.wrote >= 1);
      if (stale) assert.equal(existsSync(stale), false, "the dead writer's temp file is removed by the next write");
      assert.ok(readVersion(target) >= w.wrote, "a reader beside the writer sees a whole version");
      // every other kill is made to land inside a write (the temp file open, not yet renamed)
      const inside = i % 2 === 1;
      await (inside ? killInsideWrite(w, tmp, random) : killAnywhere(w, random));
      await w.closed;
      assert.equal(w.failure, undefined);
      const gen = readVersion(target);
      // the last rewrite it finished, or the one it had begun if the rename was done when it died
      assert.ok(
        gen === w.wrote || (gen === w.writing && w.writing === w.wrote + 1),
        `generation ${gen}: wrote ${w.wrote}, writing ${w.writing}`,
      );
      if (inside) {
        assert.equal(gen, w.wrote, "killed before its rename: the previous version stands");
        assert.ok(existsSync(tmp), "killed inside a write, it left its temp file");
      }
      assert.ok(gen >= last, "never an older version than one already written");
      last = gen;
      stale = existsSync(tmp) ? tmp : undefined;
      if (stale) leftTemp++;
    }
    t.diagnostic(`${KILLS} kills, ${leftTemp} inside a write (a temp file left); the last generation ${last}`);
    // a later write does not trip over what the last killed writer left, and clears it
    writeFileAtomic(target, JSON.stringify({ generation: last + 1 }));
    assert.deepEqual(readdirSync(dir), ["results.json"]);
  },
);
