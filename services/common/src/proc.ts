/** The process table as Linux shows it in /proc: the one reader of /proc/<pid>/stat. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/** Every listening TCP socket (IPv4 and IPv6), per /proc/net: its port and its inode. */
export function listeningSockets(): Array<{ port: number; inode: string }> {
  const out: Array<{ port: number; inode: string }> = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local address "IP:PORT" in hex, state 0A is LISTEN, inode in the tenth column
      if (f.length > 9 && f[3] === "0A") out.push({ port: Number.parseInt(f[1]!.split(":")[1]!, 16), inode: f[9]! });
    }
  }
  return out;
}

/** The inodes of the sockets `pid` holds open; empty when it is gone or not ours to read. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone, or not ours to read
  }
  return inodes;
}
