/**
 * Where a candidate's extra time went, per unit of work: each function's own time in each arm's
 * .cpuprofile, divided by the units of work that arm completed while it was profiled, and the
 * change. Per unit and not per second or per share, because two arms that serve different rates do
 * different amounts of work in the same seconds. Pure.
 *
 * A function's own time is its self time plus that of the Node and V8 built-ins it called
 * (performance.now, JSON.stringify, a socket write), charged to the nearest caller in the service's
 * code or its dependencies: measured on the bundled executor, 88% of the samples of its CPU burn
 * (a loop on performance.now()) were in `now` and other built-ins, 12% in the burn's own frame.
 *
 * Each sample counts as one sampling interval, not as its time delta: on shared cores a thread
 * that was descheduled carries the whole gap into its next sample. Measured in a failed gate's duet
 * (two cores, a 300 µs burn per request): by deltas the burn came out at 425 µs per request and the
 * candidate's busy time per request grew by 907 µs; by counts, 260 µs and 507 µs, against the
 * gate's own CPU per request, +486 µs.
 */
import type { GrewRow } from "../results/schema.js";
import { shortUrl, type CpuProfile } from "./hotpath.js";
import { V8_SAMPLE_MS } from "./samples.js";

export type { GrewRow };

type Frame = CpuProfile["nodes"][number]["callFrame"];

/** V8's own entries: no code ran in them (or all of it did, the root); they keep their samples. */
const PSEUDO = new Set(["(root)", "(program)", "(idle)", "(garbage collector)"]);

/** Node's own JavaScript (node:…) and V8's built-ins (no URL): their time is their caller's. */
const isRuntime = (f: Frame): boolean => f.url.startsWith("node:") || (f.url === "" && !PSEUDO.has(f.functionName));

/** One function's own time in one profile. */
export interface OwnTime {
  fn: string;
  location: string;
  ms: number;
}

/**
 * A frame's file as the table names it: a dependency's from its package on, the service's own
 * relative to `root` (the two arms of a gate run from two trees of one repository, and this names a
 * file alike in both), anything else by its last parts.
 */
export function codePath(url: string, root: string | undefined): string {
  const path = url.replace(/^file:\/\//, "");
  const prefix = root && (root.endsWith("/") ? root : `${root}/`);
  if (!prefix || !path.startsWith(prefix) || path.includes("/node_modules/")) return shortUrl(url);
  return path.slice(prefix.length);
}

/**
 * A function's key across two revisions: its name and file, so that one moved to other lines by the
 * change stays one row; an anonymous function also needs its line, or every one in a file would be one.
 */
function keyOf(f: Frame, root: string | undefined): { key: string; fn: string; location: string } {
  const fn = f.functionName || "(anonymous)";
  const file = codePath(f.url, root);
  const location = file ? `${file}:${f.lineNumber + 1}` : "";
  return { key: f.functionName ? `${fn} ${file}` : `${fn} ${location}`, fn, location };
}

/** Each node's owner: itself when it is code, else its nearest caller that is (a built-in called from none keeps its own). */
function owners(p: Pick<CpuProfile, "nodes">): Map<number, Frame> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map<number, Frame>();
  for (const n of p.nodes) {
    let at = n;
    while (isRuntime(at.callFrame)) {
      const up = byId.get(parent.get(at.id) ?? -1);
      if (!up || PSEUDO.has(up.callFrame.functionName)) {
        at = n;
        break;
      }
      at = up;
    }
    owner.set(n.id, at.callFrame);
  }
  return owner;
}

/** A .cpuprofile's samples, and the clock they were taken on (µs; V8 writes startTime, the Chrome format's). */
export type TimedProfile = CpuProfile & { startTime?: number };

/** The samples inside the window (the load's, on the profile's clock); all of them without one, or a profile without a clock. */
export function samplesIn(p: TimedProfile, window: { startUs: number; endUs: number } | undefined): number[] {
  if (!window || p.startTime === undefined) return p.samples;
  let t = p.startTime;
  return p.samples.filter((_, i) => {
    t += p.timeDeltas[i] ?? 0;
    return t >= window.startUs && t <= window.endUs;
  });
}

/**
 * Own time per function (built-ins charged to their callers), and the sampled time that was not
 * idle: `intervalMs` a sample. `root`: the folder of the service's code, which its files are named
 * from; `window`: the load's, whose samples alone are counted (start-up is no unit's work).
 */
export function ownTimes(
  p: TimedProfile,
  o: { root?: string; intervalMs?: number; window?: { startUs: number; endUs: number } } = {},
): { byFunction: Map<string, OwnTime>; busyMs: number } {
  const intervalMs = o.intervalMs ?? V8_SAMPLE_MS;
  const owner = owners(p);
  const byFunction = new Map<string, OwnTime>();
  let busyMs = 0;
  for (const id of samplesIn(p, o.window)) {
    const ms = intervalMs;
    const f = owner.get(id);
    const k = f ? keyOf(f, o.root) : { key: "(unknown)", fn: "(unknown)", location: "" };
    const row = byFunction.get(k.key) ?? { fn: k.fn, location: k.location, ms: 0 };
    row.ms += ms;
    byFunction.set(k.key, row);
    if (k.fn !== "(idle)") busyMs += ms;
  }
  return { byFunction, busyMs };
}

/** One arm: its own times and the units of work it completed meanwhile. */
export interface ArmTimes {
  times: ReturnType<typeof ownTimes>;
  units: number;
}

/** µs per unit of work of `ms` over `units`. */
export const usPerUnit = (ms: number, units: number): number => (units > 0 ? (ms * 1000) / units : 0);

/**
 * The functions whose own time per unit of work grew most from the reference to the candidate, the
 * largest growth first; those that did not grow are left out (the differential flamegraph shows them).
 */
export function grewPerUnit(reference: ArmTimes, candidate: ArmTimes, top = 5): GrewRow[] {
  const keys = new Set([...reference.times.byFunction.keys(), ...candidate.times.byFunction.keys()]);
  const rows: GrewRow[] = [];
  for (const k of keys) {
    const r = reference.times.byFunction.get(k);
    const c = candidate.times.byFunction.get(k);
    const named = (c ?? r)!;
    if (named.fn === "(idle)") continue;
    const referenceUs = usPerUnit(r?.ms ?? 0, reference.units);
    const candidateUs = usPerUnit(c?.ms ?? 0, candidate.units);
    rows.push({ fn: named.fn, location: named.location, referenceUs, candidateUs, deltaUs: candidateUs - referenceUs });
  }
  return rows
    .filter((row) => row.deltaUs > 0)
    .sort((a, b) => b.deltaUs - a.deltaUs)
    .slice(0, top);
}
