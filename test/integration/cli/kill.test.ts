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

/** SIGKILLs perfpack once its descendants are what `want` waits for (the trial's services); returns them. */
async function killWhen(run: CliRun, want: (d: number[]) => boolean): Promise<number[]> {
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
    await waitForOutput(run, /✓ \[1\//);
    const kids = await killWhen(run, (d) => d.length >= 3);
    const left = await gone(kids);
    assert.deepEqual(left, [], `outlived perfpack: ${describePids(left)}`);
  });

  test("a team's service, what it spawned in its group, and a child that left the group (setsid) die with it", async () => {
    const dir = join(tmp, "team");
    const log = join(tmp, "watchdog.log");
    const svc = join(tmp, "svc.mjs");
    const loaded = join(tmp, "team-loaded");
    // a service that starts a worker (same process group) and a daemon in a session of its own, and
    // notes when the trial's load reaches it (its 10th request past the ready probe on /)
    writeFileSync(
      svc,
      `import http from "node:http";
import { writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
const idle = "setInterval(() => {}, 1000)";
spawn(process.execPath, ["-e", idle, "perfpack-test-worker"], { stdio: "ignore" });
spawn(process.execPath, ["-e", idle, "perfpack-test-daemon"], { stdio: "ignore", detached: true }).unref();
let load = 0;
const server = http.createServer((req, res) => {
  if (req.url !== "/" && ++load === 10) writeFileSync(${JSON.stringify(loaded)}, String(process.pid));
  res.end(JSON.stringify({ ok: true }));
});
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
        // one long trial, which the test kills long before it ends: everything it waits for (the
        // load, the daemon, the watchdog's note of it, which comes within a second) happens within
        // it however busy the machine (with 1 s trials, a trial could end first and take its daemon along)
        "--rounds",
        "1",
        "--duration",
        "300",
        "--warmup",
        "0",
        "--out",
        dir,
      ],
      { ...process.env, PERFPACK_WATCHDOG_LOG: log },
    );
    // ended here if the test fails before it kills it (the watchdog then ends the rest)
    started.push(run.child.pid!);
    // mid-trial: the load under way (the service's note of it), never a fixed time
    await waitFor(() => (existsSync(loaded) ? true : undefined), run.child, "the trial's load on the service", 120_000);
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
    const kids = await killWhen(
      run,
      (d) => d.some((p) => descendantWith(run.child.pid!, "perfpack-test-worker") === p) && d.includes(daemon),
    );
    const left = await gone(kids);
    assert.deepEqual(left, [], `outlived perfpack: ${describePids(left)}`);
  });
});
