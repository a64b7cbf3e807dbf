/**
 * Every process perfpack starts, in one place: each runs in a process group of its own (so that
 * what it starts in turn, a shell's or npm's children, a profiler's service, is stopped with it),
 * and each group is told to a watchdog, a small process that outlives perfpack for as long as it
 * takes to kill them. The watchdog holds the read end of a pipe; the kernel closes the write end
 * when perfpack dies, whatever kills it (SIGKILL included), and the watchdog then ends every group
 * it was told of and every descendant of perfpack it saw (docs/interruption.md says why a watchdog
 * and not the kernel's parent-death signal).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { descendantsIn, procEntry, processTable } from "./proc.js";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();

/** The watchdog's pipe (null: it could not start; perfpack then stops its children itself, as before). */
let dog: Socket | null | undefined;
let dogExited: Promise<void> | undefined;
let dogPid: number | undefined;

/** The watchdog's pid, once it runs (it is a child of perfpack, but not one perfpack stops). */
export const watchdogPid = (): number | undefined => dogPid;

function watchdog(): Socket | null {
  if (dog !== undefined) return dog;
  try {
    const w = spawn(process.execPath, [fileURLToPath(new URL("./watchdog.js", import.meta.url)), String(process.pid)], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    w.on("error", () => (dog = null));
    dogPid = w.pid;
    dogExited = new Promise((resolve) => w.once("exit", () => resolve()));
    w.unref();
    const pipe = w.stdin as Socket;
    pipe.on("error", () => (dog = null));
    pipe.unref();
    dog = pipe;
  } catch {
    dog = null;
  }
  return dog;
}

const tell = (line: string): void => {
  watchdog()?.write(line + "\n");
};

/** The child's exit (already over, or when it comes), without another listener per call once it is gone. */
const gone = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

/**
 * Starts a command in a process group of its own and tracks it until it exits: `stopAll` and the
 * watchdog know of it. Spawn errors come as the child's "error" event, as with `spawn`.
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid === undefined) return child; // it did not start: the "error" event says why
  live.add(child);
  tell(`+${child.pid}`);
  child.once("exit", () => {
    live.delete(child);
    // the leader is gone; whatever it started in its group goes too
    signalGroup(child, "SIGKILL");
    tell(`-${child.pid}`);
  });
  return child;
}

/** Sends `sig` to the child's whole process group. */
function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // the group is gone
  }
}

/**
 * The child's descendants that left its process group (a daemon that called setsid): the group's
 * signal misses them, so they are signalled one by one (as pid and start time, so that a reused pid is not).
 */
function strays(child: ChildProcess): Array<[number, string]> {
  const t = processTable();
  return descendantsIn(t, child.pid!)
    .filter((pid) => t.get(pid)!.pgrp !== child.pid)
    .map((pid) => [pid, t.get(pid)!.start]);
}

function signalStrays(list: ReadonlyArray<[number, string]>, sig: NodeJS.Signals): void {
  for (const [pid, start] of list)
    if (procEntry(pid)?.start === start)
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
}

/**
 * SIGTERM to the child's group (and to its descendants that left it), SIGKILL after `graceMs`;
 * resolves once the child has exited, and what it left is killed.
 */
export function terminate(child: ChildProcess, graceMs: number): Promise<ExitInfo> {
  return new Promise((resolve) => {
    const left = strays(child);
    const kill = () => {
      signalGroup(child, "SIGKILL");
      signalStrays(left, "SIGKILL");
    };
    if (gone(child)) {
      kill();
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(kill, graceMs);
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      kill();
      resolve({ code, signal: sig });
    });
    signalGroup(child, "SIGTERM");
    signalStrays(left, "SIGTERM");
  });
}

/** Stops every child this process started and still runs, all at once: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(graceMs: number): Promise<void> {
  await Promise.all([...live].map((c) => terminate(c, graceMs)));
}

/**
 * Before perfpack exits on its own: closes the watchdog's pipe and waits (at most `waitMs`) for it
 * to end what is left, so that it does not outlive perfpack either. Children still running are ended by it.
 */
export async function releaseWatchdog(waitMs = 1500): Promise<void> {
  if (!dog || !dogExited) return;
  dog.end();
  dog = null;
  await Promise.race([dogExited, new Promise((r) => setTimeout(r, waitMs).unref())]);
}

/** SIGKILL to every child's group at once (a second Ctrl-C). */
export function killAll(): void {
  for (const c of live) signalGroup(c, "SIGKILL");
}
