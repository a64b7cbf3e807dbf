/**
 * Folded stacks (`root;caller;callee count`, Brendan Gregg's format, which flamegraph.pl,
 * speedscope and Pyroscope read) from the samples behind the hot-path table: a .cpuprofile, or the
 * tick stacks of 0x and clinic flame. Frames are named as in that table (function, short
 * file:line), so equal frames match across two profiles. Pure, apart from foldedOf's read.
 */
import { readFileSync } from "node:fs";
import { frameName, type CpuProfile, type SelfTimes } from "./hotpath.js";
import { frameKey, IDLE_TOP, V8_SAMPLE_MS, type TickStack } from "./samples.js";

/** A stack's weight: its samples (what a folded file counts) and the time they stand for. */
export interface StackWeight {
  samples: number;
  ms: number;
}

/** Stacks (frames root first, joined by ";") to their weight. Idle samples are left out: idle time is no unit's work. */
export type Folded = Map<string, StackWeight>;

/** The load's window on the monotonic clock (process.hrtime's, which V8's profiler stamps samples with), µs. */
export interface LoadWindow {
  startUs: number;
  endUs: number;
  /** The profiled thread's CPU time over the window, ms, when it was measured (Linux: its /proc stat). */
  cpuMs?: number;
}

export interface FoldedProfile {
  stacks: Folded;
  /** Only the samples inside the load's window were kept (a .cpuprofile with a window); else the whole profile, start-up included. */
  windowed: boolean;
  /**
   * The samples' time was scaled to the thread's CPU time over the window: V8 charges the wall time
   * between two samples to the second, so a thread that waited for a core (a busy machine) looks
   * busier than it was. sampledMs: their time before; cpuMs: the CPU time they now add up to.
   */
  scaled?: { sampledMs: number; cpuMs: number };
}

// a ";" inside a name would split the frame in every reader of the format
const clean = (name: string): string => name.replace(/[;\r\n]/g, ",");

const add = (f: Folded, stack: string, ms: number): void => {
  const w = f.get(stack);
  if (w) {
    w.samples++;
    w.ms += ms;
  } else f.set(stack, { samples: 1, ms });
};

/**
 * A frame's script named from the code's own folder: the same file of two arms that run from
 * different folders (a revision built in a cached tree, this checkout) is then one frame.
 */
function fromRoot(url: string, root: string | undefined): string {
  if (!root) return url;
  const path = url.replace(/^file:\/\//, "");
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : url;
}

/** Each node's stack, root first, without V8's "(root)"; scripts under `root` named from it. */
function stackNames(p: CpuProfile, root?: string): Map<number, string> {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const names = new Map<number, string>();
  const nameOf = (id: number): string => {
    const known = names.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const own =
      node && node.callFrame.functionName !== "(root)"
        ? clean(frameName({ ...node.callFrame, url: fromRoot(node.callFrame.url, root) }))
        : "";
    const above = up !== undefined ? nameOf(up) : "";
    const s = above && own ? `${above};${own}` : above || own;
    names.set(id, s);
    return s;
  };
  for (const n of p.nodes) nameOf(n.id);
  return names;
}

/**
 * A .cpuprofile's samples as folded stacks; each sample weighs its time delta, as in the hot-path
 * table. With a window that the profile's clock overlaps, only the samples inside it are kept,
 * so the process's start-up and shutdown are not charged to the load's units of work.
 */
export function foldCpuProfile(p: CpuProfile, window?: LoadWindow, root?: string): FoldedProfile {
  const names = stackNames(p, root);
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  const windowed = window !== undefined && p.startTime !== undefined && p.startTime <= window.endUs;
  const stacks: Folded = new Map();
  let t = p.startTime ?? 0;
  p.samples.forEach((id, i) => {
    const delta = p.timeDeltas[i] ?? 0;
    t += delta;
    if (idle.has(id) || (windowed && (t < window.startUs || t > window.endUs))) return;
    const s = names.get(id);
    if (s) add(stacks, s, delta / 1000);
  });
  return windowed && window.cpuMs !== undefined ? scaledTo(stacks, window.cpuMs) : { stacks, windowed };
}

/** A windowed profile's stacks with their time scaled to the CPU time measured over the window (each in proportion). */
function scaledTo(stacks: Folded, cpuMs: number): FoldedProfile {
  const sampledMs = [...stacks.values()].reduce((s, w) => s + w.ms, 0);
  if (!(sampledMs > 0 && cpuMs > 0)) return { stacks, windowed: true };
  const k = cpuMs / sampledMs;
  for (const w of stacks.values()) w.ms *= k;
  return { stacks, windowed: true, scaled: { sampledMs, cpuMs } };
}

/** Tick stacks (root first) as folded stacks; each tick weighs the sampling interval, as in the hot-path table. */
export function foldTicks(ticks: readonly TickStack[], intervalMs = V8_SAMPLE_MS): Folded {
  const stacks: Folded = new Map();
  for (const stack of ticks) {
    const top = stack.at(-1);
    if (!top || IDLE_TOP.test(top.name)) continue;
    add(stacks, stack.map((f) => clean(frameKey(f))).join(";"), intervalMs);
  }
  return stacks;
}

/** The folded file: one `stack count` line per stack, heaviest first. */
export function foldedText(f: Folded): string {
  const lines = [...f].sort((a, b) => b[1].samples - a[1].samples || (a[0] < b[0] ? -1 : 1));
  return lines.map(([stack, w]) => `${stack} ${w.samples}\n`).join("");
}

/** A folded file read back: each line's count, as samples of `intervalMs` each. */
export function parseFolded(text: string, intervalMs = V8_SAMPLE_MS): Folded {
  const f: Folded = new Map();
  for (const line of text.split("\n")) {
    const m = /^(.*) (\d+)$/.exec(line.trimEnd());
    if (!m) continue;
    const w = f.get(m[1]!) ?? { samples: 0, ms: 0 };
    w.samples += Number(m[2]);
    w.ms += Number(m[2]) * intervalMs;
    f.set(m[1]!, w);
  }
  return f;
}

/** The folded stacks of whichever samples a tool left: a .cpuprofile (windowed when a window is given) or tick stacks. */
export function foldedOf(file: string, window?: LoadWindow, root?: string): FoldedProfile {
  const json: unknown = JSON.parse(readFileSync(file, "utf8"));
  return file.endsWith(".cpuprofile")
    ? foldCpuProfile(json as CpuProfile, window, root)
    : { stacks: foldTicks(json as TickStack[]), windowed: false };
}

/** Self time per function (the top frame of each stack) from folded stacks: the hot-path table from the same samples as the flamegraph. */
export function selfTimesOfFolded(f: Folded): SelfTimes {
  const byFunction = new Map<string, number>();
  let busyMs = 0;
  for (const [stack, w] of f) {
    const fn = stack.slice(stack.lastIndexOf(";") + 1);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + w.ms);
    busyMs += w.ms;
  }
  return { byFunction, busyMs };
}
