/**
 * The differential flamegraph of two profiled arms, written beside their flamegraphs.
 *
 * Entry point (used by `profile`, `run --profile`, and the gate's profile of a regression):
 *
 *   writeDiffFlamegraph(reference: DiffInput, candidate: DiffInput, outDir: string, opts?: DiffOptions)
 *     → { html, grew, data }
 *
 * - `DiffInput`: the arm's name, its samples (a .cpuprofile, 0x's ticks.json, clinic flame's
 *   *.clinic-flame-samples; or a FoldedProfile already read), the units of work its load completed
 *   while it was profiled and their unit (request, order, message), and, for a .cpuprofile, the
 *   load's window on the monotonic clock (process.hrtime, µs), so start-up is not charged to the
 *   units.
 * - Writes `<outDir>/<name>.folded` for each arm it read from a samples file (`frame;frame;frame
 *   count`, root first; speedscope, flamegraph.pl and Pyroscope read it; an arm given folded was
 *   written by its caller) and `<outDir>/<opts.file ?? "diff.html">`.
 * - `grew`: the functions whose self time per unit grew the most, biggest first (µs per unit:
 *   aPerUnit, bPerUnit, change); `data`: everything the page draws (report/flame-diff-html.ts).
 * - Throws a RangeError when an arm completed no unit of work (nothing to divide by).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import { renderFlameDiffHtml, type FlameDiffData, type FrameChange, type WorkUnit } from "../report/flame-diff-html.js";
import { diffData } from "./diff-tree.js";
import { foldedOf, foldedText, type FoldedProfile, type LoadWindow } from "./folded.js";

export interface DiffInput {
  name: string;
  /** The tool's samples file, or its folded stacks already read (profile/folded.ts). */
  samples: string | FoldedProfile;
  /** The units of work the load completed while the profile recorded. */
  units: number;
  unit: WorkUnit;
  /** The load's window (monotonic µs): a .cpuprofile keeps only the samples inside it. */
  window?: LoadWindow;
  /** The folder the arm's code runs from: its scripts are named from it, so both arms' files match. */
  root?: string;
}

export interface DiffOptions {
  /** The page's file name in outDir (default diff.html). */
  file?: string;
  /** What the samples are, for the page's note ("V8's CPU profiler (--cpu-prof)"). */
  source?: string;
}

export interface DiffWritten {
  html: string;
  grew: FrameChange[];
  data: FlameDiffData;
}

/** A variant's name as a file name: a matrix value may hold a "/" or a space. */
export const fileSafe = (name: string): string => name.replace(/[^\w.+=,-]/g, "_");

const folded = (x: DiffInput): FoldedProfile =>
  typeof x.samples === "string" ? foldedOf(x.samples, x.window, x.root) : x.samples;

/** Both arms' folded stacks and their differential flamegraph, in outDir. */
export function writeDiffFlamegraph(
  reference: DiffInput,
  candidate: DiffInput,
  outDir: string,
  opts: DiffOptions = {},
): DiffWritten {
  const [fa, fb] = [folded(reference), folded(candidate)];
  const data = diffData(
    { name: reference.name, units: reference.units, ...fa },
    { name: candidate.name, units: candidate.units, ...fb },
    reference.unit,
    opts.source,
  );
  mkdirSync(outDir, { recursive: true });
  // the stacks read here from a samples file are written beside the page (given folded, the caller wrote them)
  for (const [x, f] of [
    [reference, fa],
    [candidate, fb],
  ] as const)
    if (typeof x.samples === "string")
      writeFileAtomic(join(outDir, `${fileSafe(x.name)}.folded`), foldedText(f.stacks));
  const html = join(outDir, opts.file ?? "diff.html");
  writeFileAtomic(html, renderFlameDiffHtml(data));
  return { html, grew: data.grew, data };
}
