import { readdirSync, readFileSync } from "node:fs";
import { procStat } from "../../harness/engine/launcher.js";
import { watchdogPid } from "../../services/common/src/children.js";

/** Every live descendant of `pid`, from the process table (/proc); of this process, not its watchdog (children.ts), which lives as long as it does. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const s = procStat(Number(d)); // undefined: gone while we looked
    if (s) parent.set(Number(d), s.ppid);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(pid);
  return pid === process.pid ? out.filter((p) => p !== watchdogPid()) : out;
}

/** true while `pid` is in the process table and not a zombie. */
export function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== "Z";
}

/** Polls `find` until it returns a value; fails after `timeoutMs` or once `owner` has exited. */
export async function waitFor<T>(
  find: () => T | undefined,
  owner: { exitCode: number | null },
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = find();
    if (v !== undefined) return v;
    if (owner.exitCode !== null) throw new Error(`gave up waiting for ${what}: the process exited (${owner.exitCode})`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first descendant of `pid` whose command line contains every one of `parts`. */
export function descendantWith(pid: number, ...parts: string[]): number | undefined {
  for (const d of descendants(pid)) {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (parts.every((p) => cmd.includes(p))) return d;
    } catch {
      // gone
    }
  }
  return undefined;
}
