/**
 * What `profile` writes across its variants once each is profiled: their folded stacks, the
 * hot-path table of the first two (hot-path-diff.md), and a differential flamegraph of each variant
 * against the first, the reference (diff.html for two variants; diff-<variant>.html for more). All
 * from the same samples: each variant's folded stacks, read once.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import type { WorkUnit } from "../report/flame-diff-html.js";
import { fileSafe, writeDiffFlamegraph } from "./diff.js";
import { foldedOf, foldedText, selfTimesOfFolded, type FoldedProfile, type LoadWindow } from "./folded.js";
import { hotPathDiff, hotPathMarkdown } from "./hotpath.js";

/** A profiled variant as the comparisons need it. */
export interface ProfiledArm {
  variant: string;
  samplesFile: string | undefined;
  /** The units of work its load completed, when the scenario counted them. */
  work?: { units: number; unit: WorkUnit };
  /** The load's window on the monotonic clock (µs): a .cpuprofile keeps only its samples. */
  window?: LoadWindow;
}

/** A differential flamegraph written, as profile.json lists it (file relative to flame/). */
export interface DiffRecord {
  reference: string;
  candidate: string;
  file: string;
  unit: WorkUnit;
}

/** What the comparisons tell as they go (the profiler passes them on as its events). */
export type ComparisonEvent =
  | { type: "profile-hot-path"; file: string }
  | { type: "profile-no-hot-path"; reason: string }
  | { type: "profile-diff"; reference: string; candidate: string; file: string; unit: WorkUnit }
  | { type: "profile-no-diff"; reason: string };

export interface ComparisonInput {
  tool: string;
  /** The tool records stacks (cpuprof, 0x, clinic flame; not clinic doctor). */
  stacks: boolean;
  /** What the samples are, for the tables' and the page's notes. */
  source: string;
  /** <out>/flame */
  flame: string;
  arms: readonly ProfiledArm[];
  events(e: ComparisonEvent): void;
}

export interface ComparisonOutput {
  hotPath: string | undefined;
  diffs: DiffRecord[];
}

/** Each arm's folded stacks, written as flame/<variant>.folded, and the hot-path table and flamegraph diffs across them. */
export function writeComparisons(c: ComparisonInput): ComparisonOutput {
  if (!c.stacks) {
    if (c.arms.length >= 2)
      c.events({
        type: "profile-no-hot-path",
        reason: `no hot-path diff and no differential flamegraph: ${c.tool} records no stacks (use --tool cpuprof, 0x or clinic-flame)`,
      });
    return { hotPath: undefined, diffs: [] };
  }
  const folded = new Map<string, FoldedProfile>();
  for (const a of c.arms) {
    if (!a.samplesFile) continue;
    const f = foldedOf(a.samplesFile, a.window);
    folded.set(a.variant, f);
    writeFileAtomic(join(c.flame, `${fileSafe(a.variant)}.folded`), foldedText(f.stacks));
  }
  return { hotPath: writeHotPath(c, folded), diffs: writeDiffs(c, folded) };
}

/** The hot-path table of the first two variants, from their folded stacks. */
function writeHotPath(c: ComparisonInput, folded: ReadonlyMap<string, FoldedProfile>): string | undefined {
  const [a, b] = c.arms;
  if (!a || !b) return undefined;
  const [fa, fb] = [folded.get(a.variant), folded.get(b.variant)];
  if (!fa || !fb) {
    c.events({ type: "profile-no-hot-path", reason: `no samples for ${fa ? b.variant : a.variant}: no hot-path diff` });
    return undefined;
  }
  const [sa, sb] = [selfTimesOfFolded(fa.stacks), selfTimesOfFolded(fb.stacks)];
  const window =
    (fa.windowed && fb.windowed ? ", from the load's window (start-up and shutdown left out)" : "") +
    (fa.scaled && fb.scaled ? ", scaled to each arm's main-thread CPU time measured over it" : "");
  const file = join(c.flame, "hot-path-diff.md");
  writeFileAtomic(file, hotPathMarkdown(hotPathDiff(sa, sb), a.variant, b.variant, sa, sb, c.source + window));
  c.events({ type: "profile-hot-path", file });
  return file;
}

/** Why a variant has no diff against the reference, if it has none. */
function missing(arm: ProfiledArm, folded: ReadonlyMap<string, FoldedProfile>): string | undefined {
  if (!folded.has(arm.variant)) return `no samples for ${arm.variant}`;
  if (!arm.work || !(arm.work.units > 0)) return `${arm.variant}'s load completed no unit of work to divide by`;
  return undefined;
}

/** Each variant's differential flamegraph against the first. */
function writeDiffs(c: ComparisonInput, folded: ReadonlyMap<string, FoldedProfile>): DiffRecord[] {
  const [ref, ...rest] = c.arms;
  if (!ref || !rest.length) return [];
  const out: DiffRecord[] = [];
  for (const cand of rest) {
    const why = missing(ref, folded) ?? missing(cand, folded);
    if (why) {
      c.events({ type: "profile-no-diff", reason: `no differential flamegraph of ${cand.variant}: ${why}` });
      continue;
    }
    const file = rest.length === 1 ? "diff.html" : `diff-${fileSafe(cand.variant)}.html`;
    const unit = ref.work!.unit;
    const input = (a: ProfiledArm) => ({
      name: a.variant,
      samples: folded.get(a.variant)!,
      units: a.work!.units,
      unit,
    });
    const w = writeDiffFlamegraph(input(ref), input(cand), c.flame, { file, source: c.source });
    c.events({ type: "profile-diff", reference: ref.variant, candidate: cand.variant, file: w.html, unit });
    out.push({ reference: ref.variant, candidate: cand.variant, file, unit });
  }
  return out;
}
