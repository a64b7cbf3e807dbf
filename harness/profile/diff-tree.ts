/**
 * The differential flamegraph's data: two profiles' folded stacks merged into one tree of frames,
 * each with its self and total time per unit of work in both, and the page's two views of it.
 * Pure. Colours follow Brendan Gregg's flamegraph.pl --diff: a frame's change of self time, red for
 * more and blue for less, its depth scaled by the largest change of any frame.
 */
import type { Folded } from "./folded.js";
import type {
  FlameDiffArm,
  FlameDiffData,
  FlameDiffNode,
  FrameChange,
  FrameTime,
  WorkUnit,
} from "../report/flame-diff-html.js";

/** One side of the diff: its folded stacks and the units of work its load completed meanwhile. */
export interface DiffArm {
  name: string;
  stacks: Folded;
  units: number;
  /** The stacks are the load's window only (false: the whole profile). */
  windowed: boolean;
  /** Their time was scaled to the thread's CPU time over the window (profile/folded.ts). */
  scaled?: { sampledMs: number; cpuMs: number };
}

/** Frames narrower than this share of their view's root are left out: under a pixel on a wide screen. */
const MIN_SHARE = 0.0005;
/** How many functions the grew and shrank lists name. */
const TOP = 10;

interface Trie {
  name: string;
  a: FrameTime;
  b: FrameTime;
  children: Map<string, Trie>;
}

const trie = (name: string): Trie => ({
  name,
  a: { self: 0, total: 0 },
  b: { self: 0, total: 0 },
  children: new Map(),
});

/** Each stack's time per unit (µs) along its frames: total on every frame, self on the top one. */
function insert(root: Trie, arm: DiffArm, side: "a" | "b"): void {
  for (const [stack, w] of arm.stacks) {
    const us = (w.ms * 1000) / arm.units;
    root[side].total += us;
    let node = root;
    for (const name of stack.split(";")) {
      let next = node.children.get(name);
      if (!next) node.children.set(name, (next = trie(name)));
      next[side].total += us;
      node = next;
    }
    node[side].self += us;
  }
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const rounded = (t: FrameTime): FrameTime => ({ self: r3(t.self), total: r3(t.total) });

/** A frame's colour from its change of self time per unit: red more, blue less, grey none; deeper as |delta| nears maxDelta. */
export function diffColour(delta: number, maxDelta: number): string {
  if (!(maxDelta > 0) || delta === 0) return "rgb(220,220,220)";
  const v = Math.round(220 * (1 - Math.min(1, Math.abs(delta) / maxDelta)));
  return delta > 0 ? `rgb(255,${v},${v})` : `rgb(${v},${v},255)`;
}

/**
 * The change a frame is coloured by. An application (or dependency) frame: its own time's change
 * with that of the built-ins, native code and Node internals it calls (down to the next
 * application frame), the rule the lists use, so that a function that spins on performance.now is
 * itself red, not only the `now` on top of it. A built-in frame: its own time's change.
 */
function colourDelta(t: Trie): number {
  const own = t.b.self - t.a.self;
  if (!applicationFrame(t.name)) return own;
  let charged = own;
  const down = [...t.children.values()];
  while (down.length) {
    const c = down.pop()!;
    if (applicationFrame(c.name)) continue;
    charged += c.b.self - c.a.self;
    down.push(...c.children.values());
  }
  return charged;
}

/** The largest |colour change| of any frame. */
function maxDeltaOf(t: Trie): number {
  let m = Math.abs(colourDelta(t));
  for (const c of t.children.values()) m = Math.max(m, maxDeltaOf(c));
  return m;
}

/** A view of the tree: widths from one side's total time, frames under `minUs` left out. */
function view(t: Trie, side: "a" | "b", maxDelta: number, minUs: number): FlameDiffNode | undefined {
  const value = t[side].total;
  if (!(value > 0) || value < minUs) return undefined;
  const delta = colourDelta(t);
  const children = [...t.children.values()]
    .map((c) => view(c, side, maxDelta, minUs))
    .filter((c): c is FlameDiffNode => c !== undefined);
  return {
    name: t.name,
    value: r3(value),
    delta: r3(delta),
    colour: diffColour(delta, maxDelta),
    a: rounded(t.a),
    b: rounded(t.b),
    children,
  };
}

/** A frame of the application or its dependencies (`fn file:line`), as against a builtin, native code or Node's own (`node:…`). */
const applicationFrame = (frame: string): boolean => /\S:\d+$/.test(frame) && !/ node:\S*:\d+$/.test(frame);

/**
 * Who a stack's time is charged to in the lists: its top frame when that is the application's
 * (or a dependency's), else the nearest caller that is, so a loop that spins on performance.now,
 * or a write that ends in writev, is named by the function that runs it. A stack with no such
 * frame keeps its top frame.
 */
function chargedFrame(stack: string): string {
  const frames = stack.split(";");
  for (let i = frames.length - 1; i >= 0; i--) if (applicationFrame(frames[i]!)) return frames[i]!;
  return frames.at(-1)!;
}

/**
 * A function across the two arms: its name and file without the line, so that one the change
 * moved to other lines (code added above it) is one row of the lists, not a shrunk and a grown one.
 */
const functionKey = (frame: string): string => (applicationFrame(frame) ? frame.replace(/:\d+$/, "") : frame);

/** Per function (functionKey): self time per unit, what it runs of builtins, native code and Node's own counted to it, µs; and its frame names by weight. */
function selfPerUnit(arm: DiffArm): Map<string, { us: number; frames: Map<string, number> }> {
  const m = new Map<string, { us: number; frames: Map<string, number> }>();
  for (const [stack, w] of arm.stacks) {
    const frame = chargedFrame(stack);
    const us = (w.ms * 1000) / arm.units;
    const key = functionKey(frame);
    const f = m.get(key) ?? { us: 0, frames: new Map<string, number>() };
    f.us += us;
    f.frames.set(frame, (f.frames.get(frame) ?? 0) + us);
    m.set(key, f);
  }
  return m;
}

/** The frame name a function's row shows: where it spends most in the candidate (else the reference). */
const heaviest = (frames: Map<string, number> | undefined): string | undefined =>
  frames && [...frames].sort((x, y) => y[1] - x[1])[0]?.[0];

/** Every function's change of self time per unit, candidate against reference, biggest growth first. */
export function frameChanges(a: DiffArm, b: DiffArm): FrameChange[] {
  const sa = selfPerUnit(a);
  const sb = selfPerUnit(b);
  const keys = new Set([...sa.keys(), ...sb.keys()]);
  return [...keys]
    .map((key) => {
      const aPerUnit = sa.get(key)?.us ?? 0;
      const bPerUnit = sb.get(key)?.us ?? 0;
      const frame = heaviest(sb.get(key)?.frames) ?? heaviest(sa.get(key)?.frames) ?? key;
      return { frame, aPerUnit: r3(aPerUnit), bPerUnit: r3(bPerUnit), change: r3(bPerUnit - aPerUnit) };
    })
    .sort((x, y) => y.change - x.change || (x.frame < y.frame ? -1 : 1));
}

const armOf = (x: DiffArm, root: FrameTime): FlameDiffArm => ({
  name: x.name,
  units: x.units,
  samples: [...x.stacks.values()].reduce((s, w) => s + w.samples, 0),
  perUnit: r3(root.total),
  windowed: x.windowed,
  ...(x.scaled ? { scaled: { sampledMs: Math.round(x.scaled.sampledMs), cpuMs: Math.round(x.scaled.cpuMs) } } : {}),
});

/**
 * The page's data: the candidate's stacks at their widths (the diff view) and the reference's (the
 * negated view), both coloured by the candidate's change, per unit of work; the functions that
 * grew and shrank the most. Both arms need units > 0.
 */
export function diffData(reference: DiffArm, candidate: DiffArm, unit: WorkUnit, source?: string): FlameDiffData {
  for (const x of [reference, candidate])
    if (!(x.units > 0)) throw new RangeError(`${x.name}: no ${unit}s completed while it was profiled`);
  const root = trie("all");
  insert(root, reference, "a");
  insert(root, candidate, "b");
  const maxDelta = maxDeltaOf(root);
  const empty: FlameDiffNode = {
    name: "all",
    value: 0,
    delta: 0,
    colour: diffColour(0, 0),
    a: root.a,
    b: root.b,
    children: [],
  };
  const changes = frameChanges(reference, candidate);
  return {
    schema: "perfpack/flame-diff@1",
    reference: armOf(reference, root.a),
    candidate: armOf(candidate, root.b),
    unit,
    ...(source ? { source } : {}),
    maxDelta: r3(maxDelta),
    minShare: MIN_SHARE,
    views: {
      diff: view(root, "b", maxDelta, root.b.total * MIN_SHARE) ?? empty,
      negated: view(root, "a", maxDelta, root.a.total * MIN_SHARE) ?? empty,
    },
    grew: changes.filter((c) => c.change > 0).slice(0, TOP),
    shrank: changes
      .filter((c) => c.change < 0)
      .reverse()
      .slice(0, TOP),
  };
}
