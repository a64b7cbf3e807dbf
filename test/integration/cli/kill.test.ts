import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { perfpack, waitForOutput, type CliRun } from "../../helpers/cli.js";
import { alive, descendants, descendantWith, waitFor } from "../../helpers/procs.js";

/**
 * Nothing perfpack starts outlives it, even when it is killed with SIGKILL (what a CI runner does
 * to a cancelled job): a watchdog on a pipe ends every process group perfpack started and every
 * descendant it saw. Each test waits for events (a trial's line, a process in /proc, the
 * watchdog's note), never a fixed time; the only bound is how long the leftovers may take to go.
 */
const tmp = mkdtempSync(join(tmpdir(), "perfpack-kill-"));
const started: number[] = [];
after(() => {
  // whatever this file saw start and is still there (a failed test): ended by its pid
  for (const pid of started)
    if (alive(pid))
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
});

/** Polls until none of `pids` is alive; the ones still alive after `boundMs` (a bound, not a measurement). */
async function gone(pids: readonly number[], boundMs = 20_000): Promise<number[]> {
  const t0 = Date.now();
  while (pids.some(alive) && Date.now() - t0 < boundMs) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

const describePids = (pids: readonly number[]) =>
  pids
    .map((p) => {
      try {
        return `${p} ${readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ")}`;
      } catch {
        return String(p);
      }
    })
    .join("; ");

async function killMidTrial(run: CliRun, want: (d: number[]) => boolean): Promise<number[]> {
  await waitForOutput(run, /✓ \[1\//);
  const kids = await waitFor(
    () => {
      const d = descendants(run.child.pid!);
      return want(d) ? d : undefined;
    },
    run.child,
    "the trial's services",
  );
  started.push(...kids);
  run.child.kill("SIGKILL");
  await run.exit;
  return kids;
}

describe("SIGKILL of perfpack", () => {
  test("the bundled exchange and executors die with it", async () => {
    const run = perfpack([
      "run",
      "--scenarios",
      "latency",
      "--rounds",
      "10",
      "--duration",
      "1",
      "--warmup",
      "0",
      "--out",
      join(tmp, "bundled"),
    ]);
    // the watchdog and both services of the second trial
    const kids = await killMidTrial(run, (d) => d.length >= 3);
    const left = await gone(kids);
    assert.deepEqual(left, [], `outlived perfpack: ${describePids(left)}`);
  });

  test("a team's service, what it spawned in its group, and a child that left the group (setsid) die with it", async () => {
    const dir = join(tmp, "team");
    const log = join(tmp, "watchdog.log");
    const svc = join(tmp, "svc.mjs");
    // a service that starts a worker (same process group) and a daemon in a session of its own
    writeFileSync(
      svc,
      `import http from "node:http";
import { spawn } from "node:child_process";
const idle = "setInterval(() => {}, 1000)";
spawn(process.execPath, ["-e", idle, "perfpack-test-worker"], { stdio: "ignore" });
spawn(process.execPath, ["-e", idle, "perfpack-test-daemon"], { stdio: "ignore", detached: true }).unref();
const server = http.createServer((req, res) => res.end(JSON.stringify({ ok: true })));
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log("listening http://" + process.env.HOST + ":" + server.address().port));
`,
    );
    const run = perfpack(
      [
        "run",
        "--executor-cmd",
        `node ${svc}`,
        "--ready-path",
        "/",
        "--scenarios",
        "latency",
        "--rounds",
        "10",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--out",
        dir,
      ],
      { ...process.env, PERFPACK_WATCHDOG_LOG: log },
    );
    await waitForOutput(run, /✓ \[1\//);
    const daemon = await waitFor(
      () => descendantWith(run.child.pid!, "perfpack-test-daemon"),
      run.child,
      "the service's daemon",
    );
    started.push(daemon);
    // the daemon left the service's process group: only the watchdog's note of it can end it
    await waitFor(
      () => (existsSync(log) && readFileSync(log, "utf8").includes(`seen ${daemon}\n`) ? true : undefined),
      run.child,
      "the watchdog's note of the daemon",
    );
    const kids = await killMidTrial(
      run,
      (d) => d.some((p) => descendantWith(run.child.pid!, "perfpack-test-worker") === p) && d.includes(daemon),
    );
    const left = await gone(kids);
    assert.deepEqual(left, [], `outlived perfpack: ${describePids(left)}`);
  });
});
