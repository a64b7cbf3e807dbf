/**
 * The run as a job: flags (over perfpack.config.json, over defaults) → a validated config → a
 * plan → the Runner, with results.json kept current → the analysis → profiles → the reports.
 * It returns what it made and tells what happens as it goes; the CLI prints it and picks the exit code.
 */
import { basename, dirname, join } from "node:path";
import { Runner, type RunnerEvent } from "../engine/runner.js";
import {
  checkoutCommit,
  describeSystem,
  serviceCommand,
  serviceCommandOf,
  unwrappable,
  type System,
} from "../engine/systems.js";
import { profileArtifacts } from "../profile/artifacts.js";
import { resolveRunConfig, type RunConfig, type RunFlags } from "../plan/config.js";
import { Given, layeredFlags } from "../plan/file.js";
import { resolveCapacityConfig, type CapacityConfig } from "../plan/capacity-config.js";
import { sloSpec, sloText } from "../plan/slo.js";
import { UsageError } from "../errors.js";
import { buildPlan } from "../plan/order.js";
import { defaultRequests, literalHeaderSecrets, recordedRequests } from "../plan/requests.js";
import { liveRequests } from "../load/request.js";
import { loadTargets } from "../plan/targets.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import { LOAD_GENERATORS } from "../load/generators.js";
import { exportAll } from "../report/exporter.js";
import { EXPORTERS } from "../report/index.js";
import { redactEnv } from "../results/redact.js";
import type { GateReport, PlanRecord, Results, RunCapacityRecord } from "../results/schema.js";
import { ResultsWriter } from "../results/writer.js";
import { analyze, headlinesOf } from "../verdict/analysis.js";
import { targetVariants } from "../verdict/targets.js";
import { symlinkAtomic } from "../../services/common/src/atomic-file.js";
import { projectRoot } from "../../services/common/src/project.js";
import type { LiveRequest, Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";
import { searchCapacity } from "./capacity-search.js";
import { appendRun, type HistoryAppend } from "./history.js";

/** A run's config, validated, and whether the caller asked for the --json document. */
export interface PreparedRun {
  cfg: RunConfig;
  json: boolean;
}

/** What a run made: its results (analysed), where they are, and what went wrong after the trials. */
export interface RunDocument {
  results: Results;
  outDir: string;
  resultsFile: string;
  /** reports/latest, when the run used the default location. */
  latest?: string;
  /** The report files written. */
  written: string[];
  /** Reports that could not be written. */
  exportErrors: string[];
  /** --profile failed after the trials (the run's results stand). */
  profileError?: { message: string; output?: string };
  /** Cancelled: the finished trials are kept. */
  interrupted: boolean;
  /** --history: what the append did, or why it failed (the run's results and reports stand). */
  history?: HistoryAppend | { error: string };
}

/**
 * reports/latest → the newest run folder (a relative symlink), swapped atomically (a new link
 * renamed over the old): it always resolves to a run folder, the previous one or this one.
 */
function pointLatest(outDir: string): string {
  const latest = join(dirname(outDir), "latest");
  try {
    symlinkAtomic(basename(outDir), latest);
  } catch {
    // a file system without symlinks: the run folder is still complete; only the shortcut is missing
  }
  return latest;
}

/** --executor-cmd: every variant runs the user's service instead of the bundled executor. */
function withUserService(cfg: RunConfig, g: Given<RunFlags>, cwd: string): RunConfig {
  const command = g.check(["executorCmd", "readyPath"], () => serviceCommandOf(g.f, cwd));
  if (!command) return cfg;
  if (cfg.target)
    throw g.error(
      "executorCmd",
      "--executor-cmd launches your service per trial; --target drives one that is already running: use one of them",
    );
  const refused = cfg.profile ? unwrappable(cfg.profile, command.cmd) : undefined;
  if (refused) throw g.error("profile", `--profile ${refused}`);
  const system: System = { kind: "command", ...command };
  return { ...cfg, variants: cfg.variants.map((v) => ({ ...v, system })) };
}

/**
 * The run's config: flags > perfpack.config.json (in ctx.cwd, or --config) > `defaults` (a
 * client's own, such as the gate's) > perfpack's; validated once. A bad value from the file names
 * the file and the key.
 */
export function prepareRun(
  flags: RunFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: Pick<JobContext, "cwd" | "env">,
  defaults: RunFlags = {},
): PreparedRun {
  const { flags: merged, from } = layeredFlags(ctx.cwd, flags, defaults);
  const cfg = resolveRunConfig(merged, [...scenarios.keys()], {
    cwd: ctx.cwd,
    env: ctx.env,
    requestDefaults: defaultRequests(scenarios.values()),
    from,
  });
  return { cfg: withUserService(cfg, new Given(merged, from), ctx.cwd), json: merged.json === true };
}

const planRecord = (
  cfg: RunConfig,
  plan: ReturnType<typeof buildPlan>,
  scenariosRegistry: ReadonlyMap<string, Scenario>,
  checkout: { commit: string; dirty: boolean } | undefined,
): PlanRecord => ({
  variants: cfg.variants.map((v) => ({
    name: v.name,
    kind: v.kind,
    env: redactEnv(v.env),
    system: v.system ? describeSystem(v.system) : undefined,
  })),
  checkout,
  scenarios: cfg.scenarios,
  rounds: cfg.rounds,
  durationS: cfg.durationS,
  warmupS: cfg.warmupS,
  connections: cfg.connections,
  rate: cfg.rate ?? null,
  wsClients: cfg.wsClients,
  wsRate: cfg.wsRate,
  quick: cfg.quick,
  warm: cfg.warm || undefined,
  capacity: cfg.capacity
    ? {
        ...(cfg.capacity.slo ? { slo: sloSpec(cfg.capacity.slo, cfg.capacity.sloNamesErrors) } : {}),
        resolution: cfg.capacity.resolution,
      }
    : undefined,
  target: cfg.target ?? null,
  requests: recordedRequests(
    Object.fromEntries(
      Object.entries(cfg.requests).filter(([name]) =>
        cfg.scenarios.some((s) => scenariosRegistry.get(s)?.uses.includes(name)),
      ),
    ),
  ),
  maxErrors: cfg.maxErrors,
  // what a resumed run needs besides: the options that are not their defaults
  readyTimeoutS: cfg.readyTimeoutMs !== RUN_DEFAULTS.readyTimeoutMs ? cfg.readyTimeoutMs / 1000 : undefined,
  stopGraceS: cfg.stopGraceMs !== RUN_DEFAULTS.stopGraceMs ? cfg.stopGraceMs / 1000 : undefined,
  skipAllocation:
    !cfg.allocation && cfg.scenarios.includes("latency") && !cfg.target && !cfg.scenarios.includes("soak")
      ? true
      : undefined,
  profile: cfg.profile,
  design: cfg.design === "duet" ? "duet" : undefined,
  duetExchange: cfg.design === "duet" && cfg.duetExchange === "each" ? "each" : undefined,
  order: plan.trials.map((t) => ({ variant: t.variant.name, scenario: t.scenario, round: t.round })),
  headlines: Object.fromEntries(cfg.scenarios.map((s) => [s, [...(scenariosRegistry.get(s)?.headline ?? [])]])),
  charts: Object.fromEntries(cfg.scenarios.map((s) => [s, [...(scenariosRegistry.get(s)?.charts ?? [])]])),
});

/** How a client steers a run it builds on (the gate, a resume): a seeded order, more rounds on demand, the trials so far. */
export interface RunSteering {
  /** Seed of the trial order (recorded in results.json); without it, rounds rotate. */
  seed?: number;
  /** --design duet: seed of the slices' randomization (default: the order's seed, else from the clock; recorded). */
  duetSeed?: number;
  /** `run --resume`: the recorded results the run continues (api/resume.ts checked that they are this plan's). */
  resumed?: Results;
  /** Asked when the planned rounds are done: how many more rounds to run (0: finish). It sees the trials so far. */
  moreRounds?: (sofar: Results) => number;
  /**
   * Called with the analysed results before the reports are written: the gate's decision (it writes
   * gate.json), which they show, and what it did after deciding (a failed gate's profile).
   */
  gateReport?: (results: Results) => GateReport | undefined | Promise<GateReport | undefined>;
}

/** Runs a prepared config: trials, results.json, the analysis, profiles (--profile), the reports. */
export async function executeRun(
  cfg: RunConfig,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
  steer: RunSteering = {},
): Promise<RunDocument> {
  for (const w of cfg.warnings) tell(ctx, { type: "warning", text: w });
  // header values that name the environment (${env:API_KEY}) are resolved now, and scrubbed from everything written
  const live = liveRequests(cfg.requests, ctx.env);
  const runner = newRunner(cfg, scenarios, ctx, steer, live);
  const writer = new ResultsWriter(cfg.outDir);
  runner.on("event", writer.listener);
  runner.on("event", (e: RunnerEvent) => tell(ctx, e));
  let ran = await untilAborted(runner, ctx.signal);
  if (cfg.allocation && !runner.wasAborted)
    ran = { ...ran, allocation: await runAllocationPass(cfg, ran, scenarios, live.requests, ctx) };
  if (cfg.capacity && !ctx.signal?.aborted)
    ran = { ...ran, capacity: await runCapacitySearch(cfg, cfg.capacity, scenarios, ctx) };
  // Ctrl-C during the allocation pass or the capacity search: the trials are whole, the run is not
  if (ctx.signal?.aborted) ran = { ...ran, interrupted: true };
  // the analysis, once: from the trials, with the headlines the results file records
  const results: Results = { ...ran, summary: analyze(ran, headlinesOf(ran), loadTargets()) };
  writer.finish(results);
  tell(ctx, { type: "analyzed", results });
  const profileError =
    cfg.profile && !ctx.signal?.aborted ? await runProfile(cfg, cfg.profile, scenarios, ctx) : undefined;
  const gate = await steer.gateReport?.(results);
  const extra = { headlines: results.plan.headlines ?? {}, ...profileArtifacts(cfg.outDir), gate };
  const summaryFile = { GITHUB_STEP_SUMMARY: ctx.env.GITHUB_STEP_SUMMARY };
  const { written, errors } = exportAll(results, extra, cfg.outDir, EXPORTERS, summaryFile);
  // moved once the folder holds the final results and its reports
  const latest = cfg.updateLatest ? pointLatest(cfg.outDir) : undefined;
  const interrupted = runner.wasAborted || ctx.signal?.aborted === true;
  // an interrupted run is not history: its trials are not the plan's
  const history =
    cfg.history && !interrupted
      ? await appendRun(cfg.history, { results, gate, source: writer.file }, {}, ctx).catch((err: unknown) => ({
          error: (err as Error).message,
        }))
      : undefined;
  return {
    results,
    outDir: cfg.outDir,
    resultsFile: writer.file,
    latest,
    written,
    exportErrors: errors,
    profileError,
    interrupted,
    ...(history ? { history } : {}),
  };
}

/** The plan record of a prepared config: what results.json records of its plan, seeds included. */
export function planRecordOf(
  cfg: RunConfig,
  plan: ReturnType<typeof buildPlan>,
  scenarios: ReadonlyMap<string, Scenario>,
  cwd: string,
  seeds: Pick<RunSteering, "seed" | "duetSeed">,
): PlanRecord {
  // the checkout under test: a built revision when it is the candidate side (gate --candidate-ref),
  // the team's repository when it runs its own service, else perfpack's
  const candidate = cfg.variants.map((v) => v.system).find((s) => s?.kind === "revision" && s.candidate);
  const checkout =
    candidate?.kind === "revision"
      ? { commit: candidate.commit, dirty: false }
      : checkoutCommit(cfg.variants.some((v) => v.system?.kind === "command") ? cwd : projectRoot());
  return { ...planRecord(cfg, plan, scenarios, checkout), seed: seeds.seed, duetSeed: seeds.duetSeed };
}

/** The Runner of a prepared config: its plan (seeded by the steering), what results.json records of it, the live requests. */
function newRunner(
  cfg: RunConfig,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
  steer: RunSteering,
  live: ReturnType<typeof liveRequests>,
): Runner {
  const plan = buildPlan(cfg.variants, cfg.scenarios, cfg.rounds, steer.seed);
  // a duet's slices are randomized from a seed that results.json keeps, so a resumed run draws the same
  const duetSeed = cfg.design === "duet" ? (steer.duetSeed ?? steer.seed ?? Date.now() % 2 ** 31) : undefined;
  return new Runner(
    {
      cfg,
      plan,
      planRecord: planRecordOf(cfg, plan, scenarios, ctx.cwd, { seed: steer.seed, duetSeed }),
      scenarios,
      requests: live.requests,
      secrets: [...live.secrets, ...literalHeaderSecrets(cfg.requests)],
      env: ctx.env,
      version: ctx.version,
      generators: LOAD_GENERATORS,
      resumed: steer.resumed,
    },
    { seed: duetSeed ?? steer.seed, more: steer.moreRounds && moreTrials(cfg, steer.moreRounds, steer.seed) },
  );
}

/** The runner's trials; the job's signal aborts it (the finished trials are kept). */
async function untilAborted(runner: Runner, signal: AbortSignal | undefined): Promise<Results> {
  const onAbort = () => runner.abort();
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await runner.run();
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** --profile: each variant's flamegraph after the measured trials; a failure is reported, and the run's results stand. */
async function runProfile(
  cfg: RunConfig,
  tool: NonNullable<RunConfig["profile"]>,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<RunDocument["profileError"]> {
  const { profile } = await import("../profile/profiler.js");
  const scenario = cfg.scenarios[0]!;
  tell(ctx, {
    type: "note",
    text: `profiling each variant with ${tool} (${scenario}, ${cfg.durationS} s), after the measured trials …`,
  });
  try {
    const plan = {
      tool,
      variants: cfg.variants,
      scenario: scenarios.get(scenario)!,
      durationS: cfg.durationS,
      out: cfg.outDir,
      requests: cfg.requests,
      command: serviceCommand(cfg.variants[0]?.system),
    };
    await profile(plan, { events: (e) => tell(ctx, e), env: ctx.env, signal: ctx.signal });
    return undefined;
  } catch (err) {
    return { message: (err as Error).message, output: (err as { output?: string }).output };
  }
}

/** The allocation pass on the variants the targets table is about, after the trials (a profiler's distortion stays out of them). */
async function runAllocationPass(
  cfg: RunConfig,
  ran: Results,
  scenarios: ReadonlyMap<string, Scenario>,
  requests: Readonly<Record<string, LiveRequest>>,
  ctx: JobContext,
) {
  const { allocationPass } = await import("../profile/allocation.js");
  const names = targetVariants(cfg.variants.map((v) => v.name));
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  ctx.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await allocationPass(
      {
        variants: cfg.variants.filter((v) => names.includes(v.name)),
        scenario: scenarios.get("latency")!,
        durationS: cfg.durationS,
        warmupS: cfg.warmupS,
        connections: cfg.connections,
        requests,
        baseEnv: ctx.env,
        readyTimeoutMs: cfg.readyTimeoutMs,
        signal: ac.signal,
        log: (text) => tell(ctx, { type: "note", text }),
      },
      ran,
    );
  } finally {
    ctx.signal?.removeEventListener("abort", onAbort);
  }
}

/** The run's scenarios that have a search of offered rates (latency, batch): the throughput targets' own. */
const rateSearches = (cfg: RunConfig, scenarios: ReadonlyMap<string, Scenario>): string[] =>
  cfg.scenarios.filter((s) => scenarios.get(s)?.capacity?.level === "rate");

/**
 * --capacity: the capacity search of the run's rate scenarios after its trials, in
 * <run folder>/capacity/, on the run's variants; what the run keeps of it is each capacity at the
 * SLO (the targets table judges the throughput targets on it). Ctrl-C keeps its finished steps.
 */
async function runCapacitySearch(
  cfg: RunConfig,
  cap: CapacityConfig,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<RunCapacityRecord> {
  const folder = "capacity";
  // withCapacity refused a run without them, and a resumed run has its recorded scenarios
  const searched = rateSearches(cfg, scenarios);
  tell(ctx, { type: "note", text: `capacity search after the trials: ${searched.join(", ")} …` });
  const { doc } = await searchCapacity(
    { ...cfg, scenarios: searched, outDir: join(cfg.outDir, folder) },
    cap,
    scenarios,
    ctx,
  );
  return {
    folder,
    interrupted: doc.interrupted,
    searches: doc.searches.map((s) => ({
      scenario: s.scenario,
      variant: s.variant,
      metric: scenarios.get(s.scenario)!.headline[0]!.metric,
      unit: s.unit,
      slo: sloText(s.slo),
      ...(s.capacity !== undefined ? { capacity: s.capacity } : {}),
      bracket: [s.bracket[0] ?? null, s.bracket[1] ?? null],
      atLeast: s.lowerBound || s.ended === "at-max",
      ...(s.ended ? { ended: s.ended } : {}),
    })),
  };
}

/**
 * --capacity on a prepared run: the search's SLO and resolution from the config file (`slo`,
 * `resolution`), else each scenario's guide target and 5%. A run with neither latency nor batch
 * is refused: the search would measure nothing.
 */
export function withCapacity(
  p: PreparedRun,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: Pick<JobContext, "cwd">,
  config?: string,
): PreparedRun {
  if (!rateSearches(p.cfg, scenarios).length)
    throw new UsageError(
      `--capacity searches the latency and batch scenarios, and this run has neither (--scenarios ${p.cfg.scenarios.join(",")})`,
    );
  const { flags, from } = layeredFlags(ctx.cwd, { config });
  const cap = resolveCapacityConfig({ slo: flags.slo, resolution: flags.resolution }, from);
  return { ...p, cfg: { ...p.cfg, capacity: cap } };
}

/** Sequential sampling: the next batch of trials, as the client's count of more rounds asks (0: finish). */
function moreTrials(cfg: RunConfig, moreRounds: (sofar: Results) => number, seed: number | undefined) {
  return async (sofar: Results) => {
    const n = moreRounds(sofar);
    if (n <= 0) return [];
    const have = sofar.plan.rounds;
    return buildPlan(cfg.variants, cfg.scenarios, have + n, seed).trials.filter((t) => t.round > have);
  };
}

/** `perfpack run` as a job. */
export async function run(
  { capacity, ...flags }: RunFlags & { capacity?: boolean },
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<RunDocument> {
  const prepared = prepareRun(flags, scenarios, ctx);
  const p = capacity ? withCapacity(prepared, scenarios, ctx, flags.config) : prepared;
  return executeRun(p.cfg, scenarios, ctx);
}
