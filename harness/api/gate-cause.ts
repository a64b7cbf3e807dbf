/**
 * A failed gate shows its cause: once the gate has decided on a regression, and before it exits,
 * both arms of the regressed scenario run once more under cpuprof, at once (a duet, as the gate
 * measured them), within a time cap. What grew per unit of work goes into gate.json and the
 * reports, with the differential flamegraph. Whatever happens here, the gate's decision and exit
 * code stand: a profile that cannot be taken is said in one line.
 */
import { join, relative } from "node:path";
import { realpathSync } from "node:fs";
import { GATE_CAUSE } from "../plan/defaults.js";
import type { RunConfig } from "../plan/config.js";
import { liveRequests } from "../load/request.js";
import type { CauseArm, Comparison, GateCause, GrewRow } from "../results/schema.js";
import { improvement } from "../verdict/compare.js";
import type { RevisionGateDecision } from "../verdict/gate.js";
import { codeRoot, type System } from "../engine/systems.js";
import {
  DuetProfileError,
  profileDuet,
  type DuetArmProfile,
  type DuetProfile,
  type LoadWindow,
  type Role,
} from "../profile/duet.js";
import { writeDiffFlamegraph, type DiffInput } from "../profile/diff.js";
import type { FrameChange } from "../report/flame-diff-html.js";
import type { Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";

/** What the differential flamegraph is drawn from: both profiles, the work each arm did, and its load's window. */
export interface FlameDiffInput {
  /** The run folder's flame/: the page goes there as diff.html. */
  dir: string;
  reference: FlameDiffArm;
  candidate: FlameDiffArm;
  unit: "request" | "order" | "message";
}

export interface FlameDiffArm {
  variant: string;
  /** Its .cpuprofile. */
  profile: string;
  units: number;
  window: LoadWindow;
  /** The folder its code runs from (its scripts are named from it). */
  root?: string;
}

/** What the differential flamegraph gives the cause: its file, its rows of what grew, each arm's busy time per unit (µs). */
export interface FlameDiffDrawn {
  file: string;
  grew: GrewRow[];
  busyUsPerUnit: { reference: number; candidate: number };
}

/** Writes flame/diff.html from two profiles; its rows are the table's, so the page and report.md agree. */
export type FlameDiffWriter = (input: FlameDiffInput) => FlameDiffDrawn;

/** A frame's name ("fn file:line", profile/hotpath.ts) as the table's function and location. */
function grewRowOf(c: FrameChange): GrewRow {
  const at = /^(.*) (\S+:\d+)$/.exec(c.frame);
  return {
    fn: at ? at[1]! : c.frame,
    location: at ? at[2]! : "",
    referenceUs: c.aPerUnit,
    candidateUs: c.bPerUnit,
    deltaUs: c.change,
  };
}

/**
 * The differential flamegraph perfpack ships (profile/diff.ts): flame/diff.html and both arms'
 * folded stacks; the functions that grew per unit are its own, so the page and report.md agree.
 */
export const writeFlameDiff: FlameDiffWriter = (i) => {
  const arm = (a: FlameDiffArm): DiffInput => ({
    name: a.variant,
    samples: a.profile,
    units: a.units,
    unit: i.unit,
    window: a.window,
    ...(a.root ? { root: a.root } : {}),
  });
  const w = writeDiffFlamegraph(arm(i.reference), arm(i.candidate), i.dir, {
    source: "V8's CPU profiler (cpuprof), both arms at once in a duet",
  });
  return {
    file: w.html,
    grew: w.grew.slice(0, GATE_CAUSE.rows).map(grewRowOf),
    busyUsPerUnit: { reference: w.data.reference.perUnit, candidate: w.data.candidate.perUnit },
  };
};

export interface CauseOptions {
  /** --profile-cap: the profile's whole wall time, seconds. */
  capS: number;
  /** The gate's seed: the duet's split of the load. */
  seed: number;
  /** The differential flamegraph's writer (a test's stand-in; default: the one perfpack ships). */
  writeDiff?: FlameDiffWriter;
}

/**
 * The regression to explain: the gate metric that got worst, among the scenarios that can load two
 * services at once (json and soak run alone).
 */
export function worstRegression(
  d: Pick<RevisionGateDecision, "regressions">,
  scenarios: ReadonlyMap<string, Scenario>,
): Comparison | undefined {
  return d.regressions
    .filter((c) => scenarios.get(c.scenario)?.duet === undefined)
    .sort((a, b) => improvement(a) - improvement(b))[0];
}

/** The seconds a cause step may overrun its cap before it is abandoned (a profile being written, a service stopping). */
const OVERRUN_S = 15;

/** The cause of a gate that ended in a regression: both arms profiled, or why they were not. */
export async function gateCause(
  cfg: RunConfig,
  decision: Pick<RevisionGateDecision, "regressions">,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
  o: CauseOptions,
): Promise<GateCause> {
  const t0 = performance.now();
  const wallS = () => (performance.now() - t0) / 1000;
  const notProfiled = (reason: string): GateCause => ({ status: "not-profiled", reason, wallS: wallS() });
  const worst = worstRegression(decision, scenarios);
  if (!worst) return notProfiled("no regressed scenario can load both arms at once (json and soak run alone)");
  const variant = (name: string) => cfg.variants.find((v) => v.name === name);
  const reference = variant(worst.reference);
  const candidate = variant(worst.candidate);
  const scenario = scenarios.get(worst.scenario)!;
  if (!reference || !candidate)
    return notProfiled(`the arms ${worst.reference} and ${worst.candidate} are not in the run`);
  tell(ctx, {
    type: "note",
    text: `gate: profiling ${worst.candidate} and ${worst.reference} under cpuprof at once (${scenario.name}, at most ${o.capS} s) to show where the time went …`,
  });
  // Ctrl-C, or the cap overrun: the services stop at once
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  ctx.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => ac.abort(), (o.capS + OVERRUN_S) * 1000);
  try {
    const p = await profileDuet({
      reference,
      candidate,
      scenario,
      out: cfg.outDir,
      capS: o.capS,
      connections: cfg.connections,
      wsClients: cfg.wsClients,
      wsRate: cfg.wsRate,
      rate: cfg.rate,
      requests: liveRequests(cfg.requests, ctx.env).requests,
      readyTimeoutMs: cfg.readyTimeoutMs,
      seed: o.seed,
      env: ctx.env,
      signal: ac.signal,
      log: (text) => tell(ctx, { type: "note", text: `gate: ${text}` }),
    });
    const roots = { reference: realRoot(reference.system), candidate: realRoot(candidate.system) };
    return await causeFromProfiles(cfg.outDir, p, scenario.name, wallS, o.writeDiff ?? writeFlameDiff, roots);
  } catch (err) {
    if (ctx.signal?.aborted) return notProfiled("interrupted (Ctrl-C)");
    if (ac.signal.aborted)
      return notProfiled(`not finished within the ${o.capS} s cap and ${OVERRUN_S} s more (--profile-cap)`);
    if (err instanceof DuetProfileError) return notProfiled(err.message);
    return notProfiled(`profiling failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener("abort", onAbort);
  }
}

/** The folder of a system's code as its profile names it (a module's URL is its real path). */
const realRoot = (s: System | undefined): string | undefined => {
  try {
    return realpathSync(codeRoot(s));
  } catch {
    return undefined;
  }
};

/**
 * The profiles read: each arm's own time per unit of work, what grew, and the differential
 * flamegraph. `roots`: the folder of each arm's code, which its files are named from.
 */
export async function causeFromProfiles(
  outDir: string,
  p: DuetProfile,
  scenario: string,
  wallS: () => number,
  writeDiff: FlameDiffWriter,
  roots: Partial<Record<Role, string>> = {},
): Promise<GateCause> {
  const { busyUsPerUnit, ...drawnDiff } = drawn(outDir, p, writeDiff, roots);
  const arm = (a: DuetArmProfile): CauseArm => ({
    variant: a.variant,
    profile: relative(outDir, a.file),
    units: a.units,
    samples: a.check.samples,
    ...(busyUsPerUnit ? { busyUsPerUnit: busyUsPerUnit[a.role] } : {}),
  });
  return {
    status: "profiled",
    scenario,
    tool: "cpuprof",
    unit: p.candidate.unit,
    loadS: p.loadS,
    reference: arm(p.reference),
    candidate: arm(p.candidate),
    ...drawnDiff,
    wallS: wallS(),
  };
}

/** The differential flamegraph, or why there is none (its failure is the page's, not the cause's). */
function drawn(
  outDir: string,
  p: DuetProfile,
  writeDiff: FlameDiffWriter,
  roots: Partial<Record<Role, string>>,
): { diff?: string; diffNote?: string; grew: GrewRow[]; busyUsPerUnit?: FlameDiffDrawn["busyUsPerUnit"] } {
  const side = (a: DuetArmProfile): FlameDiffArm => ({
    variant: a.variant,
    profile: a.file,
    units: a.units,
    window: a.window,
    ...(roots[a.role] ? { root: roots[a.role] } : {}),
  });
  try {
    const { file, grew, busyUsPerUnit } = writeDiff({
      dir: join(outDir, "flame"),
      reference: side(p.reference),
      candidate: side(p.candidate),
      unit: p.candidate.unit,
    });
    return { diff: relative(outDir, file), grew, busyUsPerUnit };
  } catch (err) {
    return { diffNote: `the differential flamegraph failed: ${(err as Error).message}`, grew: [] };
  }
}
