/**
 * The CI gate as a client of the run. Against a revision: the revision's executor is built, each
 * variant runs on it beside the same variant on this checkout, in one seeded run, and the
 * sequential loop (gate-loop.ts) adds rounds until it decides. Against a stored run: one decision
 * on two results files.
 */
import { join } from "node:path";
import { gitTop, prepareRevision, serviceCommand, type RevisionBuild, type System } from "../engine/systems.js";
import { UsageError } from "../errors.js";
import { relative } from "node:path";
import { GATE_CAUSE, GATE_DEFAULTS, GATE_SEQUENTIAL } from "../plan/defaults.js";
import type { RunConfig, RunFlags } from "../plan/config.js";
import { withHarness } from "../plan/variants.js";
import type { GateCause, Results } from "../results/schema.js";
import { decideGate, type GateDecision, type RevisionGateDecision } from "../verdict/gate.js";
import type { SequentialDesign } from "../verdict/sequential.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import { projectRoot } from "../../services/common/src/project.js";
import type { Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";
import { gateCause } from "./gate-cause.js";
import { SequentialGate, type LookRecord } from "./gate-loop.js";
import { analyzed } from "./report.js";
import { executeRun, prepareRun, type RunDocument } from "./run.js";

export interface GateDocument extends GateDecision {
  schema: "perfpack/gate@1";
  baseline: string;
  current: string;
  maxRegression: number;
  strict: boolean;
}

/** The gate's decision on two runs, pure apart from analysing their trials. */
export function gateRuns(base: Results, current: Results, maxRegression: number, strict = false): GateDocument {
  const b = analyzed(base);
  const c = analyzed(current);
  return {
    schema: "perfpack/gate@1",
    baseline: b.runId,
    current: c.runId,
    maxRegression,
    strict,
    ...decideGate(b, c, c.plan.headlines ?? {}, maxRegression),
  };
}

export interface RevisionGateOptions {
  ref: string;
  maxRegression: number;
  seed: number;
  /** --candidate-env: this checkout's side only (a calibrated burn, to measure the gate). */
  candidateEnv?: Record<string, string>;
  /** --budget: seconds the whole gate may take, the build included; no batch starts that would not end within it. */
  budgetS?: number;
  /** --strict: an inconclusive gate fails (recorded; the caller picks the exit code). */
  strict?: boolean;
  /** --build-cmd: how to build the team's repository at the revision (undefined: the default; "": none). */
  buildCmd?: string;
  /** --candidate-ref: the candidate side is this revision, built like the baseline, not this checkout. */
  candidateRef?: string;
  /** --no-profile: a regression is not profiled before the gate returns. */
  noProfile?: boolean;
  /** --profile-cap: the seconds a regression's profile may take (default GATE_CAUSE.capS). */
  profileCapS?: number;
}

/**
 * Which repository the revision is of, and what to build there. With --executor-cmd: the team's
 * repository that holds the working directory, its service built there and started by the same
 * command, in the same folder of that tree (a monorepo's package). Without: perfpack's own
 * checkout and its bundled executor, which needs perfpack to be a git checkout of its own.
 */
function revisionSource(
  cfg: RunConfig,
  cwd: string,
  buildCmd: string | undefined,
): { root: string; build: RevisionBuild } {
  const command = serviceCommand(cfg.variants[0]?.system);
  if (command) {
    const root = gitTop(cwd);
    if (!root)
      throw new UsageError(
        `--baseline-ref needs a git repository: ${cwd} is not inside one (git rev-parse --show-toplevel failed)`,
      );
    return {
      root,
      build: {
        kind: "team",
        sub: relative(root, cwd),
        buildCmd,
        command: { cmd: command.cmd, readyPath: command.readyPath },
      },
    };
  }
  if (buildCmd !== undefined)
    throw new UsageError(
      "--build-cmd builds your repository at the revision: it goes with --executor-cmd (the bundled executor builds itself)",
    );
  const own = projectRoot();
  if (gitTop(own) !== own)
    throw new UsageError(
      "gate --baseline-ref without --executor-cmd gates perfpack's bundled executor at a revision of perfpack's own repository, and this perfpack is not a git checkout of its own; to gate your service, give --executor-cmd CMD (or executorCmd in perfpack.config.json)",
    );
  return { root: own, build: { kind: "perfpack" } };
}

export interface RevisionGateDocument extends RevisionGateDecision {
  schema: "perfpack/gate@1";
  baseline: string;
  current: string;
  maxRegression: number;
  seed: number;
  strict: boolean;
  budgetS: number;
  /** The sequential design: fixed at the first look (its number of looks from the budget left). */
  design: SequentialDesign;
  looks: LookRecord[];
  wallS: number;
  /** A regression's cause: both arms profiled after the decision, or why not (absent: no regression, or --no-profile). */
  cause?: GateCause;
}

/** How the baseline arm's variants are named: `optimized@<ref>`. */
const baselineTag = (s: System): string => (s.kind === "revision" ? s.ref : "reference");

/**
 * Every variant twice: on the baseline system (`name@ref`), and on this checkout (or the candidate
 * revision, --candidate-ref) with `candidateEnv` added.
 */
const withArms = (
  cfg: RunConfig,
  baseline: System,
  candidateEnv: Record<string, string> = {},
  candidate?: System,
): RunConfig => ({
  ...cfg,
  variants: cfg.variants.flatMap((v) => [
    { ...v, name: `${v.name}@${baselineTag(baseline)}`, system: baseline },
    withHarness({ ...v, env: { ...v.env, ...candidateEnv }, ...(candidate ? { system: candidate } : {}) }),
  ]),
});

/**
 * The gate's minimum rounds run whatever its budget: when their estimate is past the time left,
 * the warning to give before they start (undefined when they fit).
 */
export function budgetOverrun(rounds: number, minimumS: number, leftS: number): string | undefined {
  if (minimumS <= leftS) return undefined;
  return `the first ${rounds} rounds (the minimum before the first look) take about ${Math.ceil(minimumS)} s, past the ${Math.max(0, Math.floor(leftS))} s left of --budget: the gate will run over it; give fewer --rounds, a shorter --duration or a larger --budget`;
}

/** Beside results.json: what the gate decided, look by look (atomic: never half a decision). */
const writeGate = (outDir: string, doc: RevisionGateDocument): void =>
  writeFileAtomic(join(outDir, "gate.json"), JSON.stringify(doc, null, 2) + "\n");

/** A regression's cause, profiled before the gate returns (api/gate-cause.ts), and gate.json again with it. */
async function withCause(
  doc: RevisionGateDocument,
  armed: RunConfig,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
  o: RevisionGateOptions,
): Promise<RevisionGateDocument> {
  const cause = await gateCause(armed, doc, scenarios, ctx, { capS: o.profileCapS ?? GATE_CAUSE.capS, seed: o.seed });
  const withIt = { ...doc, cause };
  writeGate(armed.outDir, withIt);
  return withIt;
}

/**
 * `perfpack gate --baseline-ref REV` as a job. `doc` is absent when the run has no decision to
 * give: a trial failed, or the gate was cancelled.
 */
export async function gateRevision(
  flags: RunFlags,
  o: RevisionGateOptions,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<{ run?: RunDocument; doc?: RevisionGateDocument }> {
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const budgetS = o.budgetS ?? GATE_SEQUENTIAL.budgetS;
  // the config first: a bad flag is refused before anything is built
  const { cfg } = prepareRun({ ...flags, json: false }, scenarios, ctx, GATE_DEFAULTS);
  const source = revisionSource(cfg, ctx.cwd, o.buildCmd);
  const neverAborted = new AbortController().signal;
  const build = (ref: string) =>
    prepareRevision(
      source.root,
      ref,
      ctx.env,
      (l) => tell(ctx, { type: "note", text: l }),
      ctx.signal ?? neverAborted,
      source.build,
    );
  const baseline = await build(o.ref);
  if (ctx.signal?.aborted) return {};
  const candidate =
    o.candidateRef === undefined ? undefined : { ...(await build(o.candidateRef)), candidate: true as const };
  if (ctx.signal?.aborted) return {};
  const loop = new SequentialGate({
    maxRegression: o.maxRegression,
    budgetS,
    elapsedS,
    onLook: (look, maxLooks, d, last) =>
      tell(ctx, {
        type: "look",
        look,
        maxLooks,
        undecided: d.calls.filter((c) => c === "undecided").length,
        batchRounds: GATE_SEQUENTIAL.batchRounds,
        outcome: last ? d.outcome : undefined,
      }),
  });
  const events = (e: Parameters<NonNullable<JobContext["events"]>>[0]) => {
    // the minimum rounds are planned: warn before they start when they cannot fit the budget
    if (e.type === "start") {
      const overrun = budgetOverrun(e.plan.rounds, e.estimateS, budgetS - elapsedS());
      if (overrun) tell(ctx, { type: "warning", text: overrun });
    }
    tell(ctx, e);
  };
  let doc: RevisionGateDocument | undefined;
  const armed = withArms(cfg, baseline, o.candidateEnv, candidate);
  // the decision, once the loop has ended and before the reports are written: they show it, look
  // by look, and a regression's cause, profiled before the gate returns
  const gateReport = async (results: Results): Promise<RevisionGateDocument | undefined> => {
    if (results.summary.failedTrials > 0 || ctx.signal?.aborted) return undefined;
    const { decision, design } = loop.decision(results);
    doc = {
      schema: "perfpack/gate@1",
      baseline: `${o.ref} (${baseline.kind === "revision" ? baseline.commit.slice(0, 10) : ""})`,
      current: results.runId,
      maxRegression: o.maxRegression,
      seed: o.seed,
      strict: o.strict === true,
      budgetS,
      design,
      looks: loop.looks,
      wallS: elapsedS(),
      ...decision,
    };
    writeGate(cfg.outDir, doc);
    if (doc.outcome === "regression" && !o.noProfile) doc = await withCause(doc, armed, scenarios, ctx, o);
    return doc;
  };
  const run = await executeRun(
    armed,
    scenarios,
    { ...ctx, events },
    { seed: o.seed, moreRounds: loop.moreRounds, gateReport },
  );
  if (run.interrupted || run.results.summary.failedTrials > 0 || !doc) return { run };
  return { run, doc };
}
