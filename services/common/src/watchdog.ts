/**
 * perfpack's watchdog (children.ts starts it): `node watchdog.js <perfpack's pid>`, in a session
 * of its own, reading lines from a pipe whose other end perfpack holds:
 *   +PGID   a process group perfpack started (its leader's pid)
 *   -PGID   that group is over
 * Every second, while a group is open, it notes perfpack's descendants (pid and start time), so
 * that one that left its group (setsid) is known too. When the pipe closes (perfpack exited or was
 * killed: the kernel closes it either way) or it is sent SIGTERM, it sends SIGTERM to every open
 * group and every noted descendant still alive as the same process, SIGKILL to what remains after
 * 1 s, and exits. It never signals a process it did not see descend from perfpack.
 */
import { appendFileSync } from "node:fs";
import { descendantsIn, procEntry, processTable } from "./proc.js";

const parent = Number(process.argv[2]);
/** PERFPACK_WATCHDOG_LOG: a file where it notes each descendant it sees (tests wait for that event). */
const logFile = process.env.PERFPACK_WATCHDOG_LOG;
/** Open groups: leader pid → the leader's start time (a reused pid has another). */
const groups = new Map<number, string | undefined>();
/** perfpack's descendants seen: pid → start time. */
const seen = new Map<number, string>();

function note(): void {
  const t = processTable();
  // forget the ones that ended (a long gate starts many builds)
  for (const [pid, start] of seen) if (t.get(pid)?.start !== start) seen.delete(pid);
  for (const pid of descendantsIn(t, parent)) {
    if (pid === process.pid || seen.has(pid)) continue;
    seen.set(pid, t.get(pid)!.start);
    if (logFile) appendFileSync(logFile, `seen ${pid}\n`);
  }
}

/** Sends `sig` (0: only asks whether they live) to every open group and every noted descendant; how many got it. */
function send(sig: NodeJS.Signals | 0): number {
  const t = processTable();
  let sent = 0;
  const kill = (target: number) => {
    try {
      process.kill(target, sig);
      sent++;
    } catch {
      // gone
    }
  };
  const members = new Set([...t.values()].map((p) => p.pgrp));
  for (const [pgid, start] of groups) {
    const leader = t.get(pgid);
    // the leader's pid now names another process: its group is over (Linux does not reuse a live group's id)
    if (leader && start !== undefined && leader.start !== start) continue;
    if (members.has(pgid)) kill(-pgid);
  }
  for (const [pid, start] of seen) if (t.get(pid)?.start === start) kill(pid);
  return sent;
}

let reaping = false;
/** SIGTERM to what is left, then (every 50 ms) SIGKILL to what still is once 1 s has passed; exits when nothing is. */
function reap(): void {
  if (reaping) return;
  reaping = true;
  clearInterval(timer);
  const t0 = Date.now();
  if (send("SIGTERM") === 0) process.exit(0);
  const check = setInterval(() => {
    // a process that SIGKILL cannot end (stuck in the kernel) does not keep the watchdog for ever
    if (send(Date.now() - t0 < 1000 ? 0 : "SIGKILL") > 0 && Date.now() - t0 < 5000) return;
    clearInterval(check);
    process.exit(0);
  }, 50);
}

let partial = "";
process.stdin.on("data", (chunk: Buffer) => {
  const lines = (partial + chunk.toString()).split("\n");
  partial = lines.pop()!;
  for (const line of lines) {
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === "+") groups.set(pgid, procEntry(pgid)?.start);
    else if (line[0] === "-") groups.delete(pgid);
  }
});
process.stdin.on("end", reap);
process.stdin.on("error", reap);
process.on("SIGTERM", reap);
process.on("SIGINT", () => {}); // a terminal's Ctrl-C is perfpack's to handle; the pipe tells this one
process.on("SIGHUP", () => {});
const timer = setInterval(() => groups.size > 0 && note(), 1000);
