/** The process table as Linux shows it in /proc: the one reader of /proc/<pid>/stat. */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcEntry {
  /** R, S, D, Z (zombie) … */
  state: string;
  ppid: number;
  /** Process group. */
  pgrp: number;
  /** utime and stime: CPU time in clock ticks (10 ms). */
  utime: number;
  stime: number;
  /** Start time after boot, in clock ticks: with the pid, it names one process (a pid is reused, the pair is not). */
  start: string;
}

/**
 * One process's entry (or one of its threads': /proc/<pid>/task/<thread>/stat), undefined when it
 * is gone (or not Linux). The command name may hold spaces and parentheses, so the fields start
 * after the last ")".
 */
export function procEntry(pid: number, thread?: number): ProcEntry | undefined {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      state: f[0]!,
      ppid: Number(f[1]),
      pgrp: Number(f[2]),
      utime: Number(f[11]),
      stime: Number(f[12]),
      start: f[19]!,
    };
  } catch {
    return undefined;
  }
}

/** Every process but zombies: pid → entry. */
export function processTable(): Map<number, ProcEntry> {
  const t = new Map<number, ProcEntry>();
  let names: string[] = [];
  try {
    names = readdirSync("/proc");
  } catch {
    return t; // not Linux
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const e = procEntry(Number(name));
    if (e && e.state !== "Z") t.set(Number(name), e);
  }
  return t;
}

/** The descendants of `root` in `table`, nearest first. */
export function descendantsIn(table: ReadonlyMap<number, ProcEntry>, root: number): number[] {
  const out: number[] = [];
  for (let frontier = [root]; frontier.length;) {
    const next: number[] = [];
    for (const [pid, e] of table) if (frontier.includes(e.ppid)) next.push(pid);
    out.push(...next);
    frontier = next;
  }
  return out;
}
