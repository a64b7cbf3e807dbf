import { redactEnv } from "../results/redact.js";
import { existsSync, lstatSync, rmSync, symlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import { EXIT } from "../errors.js";
import { buildPlan } from "../plan/order.js";
import { attachProgress } from "./progress.js";
import { mediansTables } from "../report/tables.js";
import { exportAll } from "../report/exporter.js";
import { EXPORTERS } from "../report/index.js";
import { verdictText } from "../report/terminal.js";
import type { Results } from "../results/schema.js";
import { profileArtifacts } from "../profile/artifacts.js";
import type { PlanRecord } from "../results/schema.js";
import type { IO } from "./io.js";
import { UsageError } from "../errors.js";
import { findConfigFile, inFile, mergeFlags, readConfigFile } from "../plan/file.js";
import { summaryDocument } from "../report/json.js";
import { resolveRunConfig, type RunConfig, type RunFlags } from "../plan/config.js";
import { Runner, type RunnerEvent } from "../engine/runner.js";
import { checkoutCommit, describeSystem, type System } from "../engine/systems.js";
import { projectRoot } from "../../services/common/src/project.js";
import { ResultsWriter } from "../results/writer.js";
import { analyze, headlinesOf } from "../verdict/analysis.js";
import type { Scenario } from "../../scenarios/contract.js";

/** reports/latest → the newest run folder (a relative symlink). */
function pointLatest(outDir: string): void {
  const latest = join(dirname(outDir), "latest");
  try {
    if (existsSync(latest) || lstatSync(latest, { throwIfNoEntry: false })) rmSync(latest, { recursive: true, force: true });
    symlinkSync(basename(outDir), latest, "dir");
  } catch {
    // a file system without symlinks: the run folder is still complete; only the shortcut is missing
  }
}

/** --executor-cmd: every variant runs the user's service instead of the bundled executor. */
function withUserService(cfg: RunConfig, f: RunFlags, cwd: string): RunConfig {
  if (f.executorCmd === undefined) {
    if (f.readyPath !== undefined) throw new UsageError("--ready-path goes with --executor-cmd: the bundled executor's readiness is its /health");
    return cfg;
  }
  if (!f.executorCmd.trim()) throw new UsageError('--executor-cmd is empty: expected the shell command that starts your service, e.g. "node server.js"');
  if (cfg.target) throw new UsageError("--executor-cmd launches your service per trial; --target drives one that is already running: use one of them");
  if (cfg.profile) throw new UsageError("--profile profiles the bundled executor; it cannot apply to --executor-cmd");
  const readyPath = f.readyPath ?? "/health";
  if (!readyPath.startsWith("/")) throw new UsageError(`--ready-path ${JSON.stringify(readyPath)} is not valid: expected a path such as /health`);
  const system: System = { kind: "command", cmd: f.executorCmd, cwd, readyPath };
  return { ...cfg, variants: cfg.variants.map((v) => ({ ...v, system })) };
}

/** How the baseline arm's variants are named: `optimized@<ref>`. */
const baselineTag = (s: System): string => (s.kind === "revision" ? s.ref : "reference");

const planRecord = (cfg: RunConfig, plan: ReturnType<typeof buildPlan>, scenariosRegistry: ReadonlyMap<string, Scenario>, checkout: { commit: string; dirty: boolean } | undefined): PlanRecord => ({
  variants: cfg.variants.map((v) => ({ name: v.name, kind: v.kind, env: redactEnv(v.env), ...(v.system ? { system: describeSystem(v.system) } : {}) })),
  ...(checkout ? { checkout } : {}),
  scenarios: cfg.scenarios,
  rounds: cfg.rounds,
  durationS: cfg.durationS,
  warmupS: cfg.warmupS,
  connections: cfg.connections,
  rate: cfg.rate ?? null,
  wsClients: cfg.wsClients,
  quick: cfg.quick,
  ...(cfg.warm ? { warm: true } : {}),
  target: cfg.target ?? null,
  order: plan.trials.map((t) => ({ variant: t.variant.name, scenario: t.scenario, round: t.round })),
  headlines: Object.fromEntries(cfg.scenarios.map((s) => [s, [...(scenariosRegistry.get(s)?.headline ?? [])]])),
  charts: Object.fromEntries(cfg.scenarios.map((s) => [s, [...(scenariosRegistry.get(s)?.charts ?? [])]])),
});

/** `perfpack run`: flags → config → plan → runner → stats → exporters. Returns the exit code. */
export async function runCommand(flags: RunFlags, scenarios: ReadonlyMap<string, Scenario>, io: IO): Promise<number> {
  return (await runAndReport(flags, scenarios, io)).code;
}

/** The run itself, for `run` and for `gate` without --current. */
/** The gate's two arms: every variant on the baseline revision beside the same variant on this checkout. */
export interface Arms {
  baseline: System;
  /** Seed of the trial order (recorded in results.json). */
  seed: number;
  /** The gate's own defaults, under the config file and the flags. */
  defaults: RunFlags;
  /** Added to this checkout's variants only: a calibrated regression, to measure the gate itself. */
  candidateEnv?: Record<string, string>;
  /**
   * Sequential sampling: when the planned rounds are done, `next` sees the trials so far and
   * says whether to run `batchRounds` more (in the same seeded order).
   */
  sequential?: { batchRounds: number; next: (results: Results) => boolean; budgetLeftS?: () => number };
}

/**
 * The gate's minimum rounds run whatever its budget: when their estimate is past the time left,
 * the warning to print before they start (undefined when they fit).
 */
export function budgetOverrun(rounds: number, minimumS: number, leftS: number): string | undefined {
  if (minimumS <= leftS) return undefined;
  return `the first ${rounds} rounds (the minimum before the first look) take about ${Math.ceil(minimumS)} s, past the ${Math.max(0, Math.floor(leftS))} s left of --budget: the gate will run over it; give fewer --rounds, a shorter --duration or a larger --budget`;
}

export async function runAndReport(flags: RunFlags, scenarios: ReadonlyMap<string, Scenario>, io: IO, arms?: Arms): Promise<{ results: Results; code: number; outDir: string }> {
  const names = [...scenarios.keys()];
  // flags > perfpack.config.json > defaults; a bad value in the file names the file and the key
  const file = findConfigFile(io.cwd, flags.config);
  const fromFile = file ? readConfigFile(file) : {};
  if (file) {
    try {
      resolveRunConfig(fromFile, names, { cwd: io.cwd });
    } catch (err) {
      throw err instanceof UsageError ? inFile(file, err) : err;
    }
  }
  const merged = mergeFlags(mergeFlags(arms?.defaults ?? {}, fromFile), flags);
  const resolved = withUserService(resolveRunConfig(merged, names, { cwd: io.cwd }), merged, io.cwd);
  const cfg = arms
    ? {
        ...resolved,
        variants: resolved.variants.flatMap((v) => [
          { ...v, name: `${v.name}@${baselineTag(arms.baseline)}`, system: arms.baseline },
          { ...v, env: { ...v.env, ...arms.candidateEnv } },
        ]),
      }
    : resolved;
  for (const w of cfg.warnings) io.err.write(`perfpack run: warning: ${w}\n`);
  const plan = buildPlan(cfg.variants, cfg.scenarios, cfg.rounds, arms?.seed);
  const runner = new Runner({
    plan,
    scenarios,
    planRecord: { ...planRecord(cfg, plan, scenarios, checkoutCommit(projectRoot())), ...(arms ? { seed: arms.seed } : {}) },
    runId: cfg.runId,
    outDir: cfg.outDir,
    durationS: cfg.durationS,
    warmupS: cfg.warmupS,
    connections: cfg.connections,
    rate: cfg.rate,
    wsClients: cfg.wsClients,
    target: cfg.target,
    baseEnv: io.env,
    readyTimeoutMs: cfg.readyTimeoutMs,
    stopGraceMs: RUN_DEFAULTS.stopGraceMs,
    generatorBoundCores: RUN_DEFAULTS.generatorBoundCores,
    version: io.version,
    warm: cfg.warm,
    ...(arms?.sequential
      ? {
          more: async (sofar: Results) => {
            if (!arms.sequential!.next(sofar)) return [];
            const have = sofar.plan.rounds;
            return buildPlan(cfg.variants, cfg.scenarios, have + arms.sequential!.batchRounds, arms.seed).trials.filter((t) => t.round > have);
          },
        }
      : {}),
  });
  const left = arms?.sequential?.budgetLeftS?.();
  const overrun =
    left === undefined
      ? undefined
      : budgetOverrun(
          cfg.rounds,
          plan.trials.reduce((a, t) => a + runner.estimateTrialS(t), 0),
          left,
        );
  if (overrun) io.err.write(`perfpack gate: warning: ${overrun}\n`);
  const writer = new ResultsWriter(cfg.outDir);
  runner.on("event", writer.listener);
  attachProgress((l) => runner.on("event", (e: RunnerEvent) => l(e)), writer.file, io.err, io.paint);
  io.onInterrupt(() => {
    io.err.write("\nperfpack run: interrupted; stopping the current trial's services and keeping the finished trials\n");
    runner.abort();
  });
  const ran = await runner.run();
  // the analysis, once: from the trials, with the headlines the results file records
  const results: Results = { ...ran, summary: analyze(ran, headlinesOf(ran)) };
  writer.finish(results);
  if (cfg.updateLatest) pointLatest(cfg.outDir);

  // the human summary goes to stdout, unless stdout carries the --json document
  const human = merged.json ? io.err : io.out;
  const paint = io.paint;
  human.write("\nmedians over rounds (per variant), and each variant's ratio against the reference:\n");
  human.write(mediansTables(results, (better, t) => (better ? paint.green(t) : paint.red(t))) + "\n");
  const bound = results.trials.filter((t) => t.generatorBound).length;
  if (bound > 0) human.write(paint.yellow(`⚠ ${bound} trial(s) were generator-bound: the load generator used about a full core, so those figures understate the executor.\n`));
  // a gate run: the gate prints its own decision; the run's verdict (targets, headline) would contradict it
  if (!arms) human.write("\n" + verdictText(results, paint) + "\n\n");
  if (cfg.profile && !runner.wasAborted) {
    const { profile } = await import("../profile/profiler.js");
    io.err.write(`profiling each variant with ${cfg.profile} (${cfg.scenarios[0]}, ${cfg.durationS} s), after the measured trials …\n`);
    try {
      await profile(
        { tool: cfg.profile, variants: cfg.variants, scenario: scenarios.get(cfg.scenarios[0]!)!, durationS: cfg.durationS, out: cfg.outDir },
        {
          write: (t) => io.err.write(t),
          warn: (t) => io.err.write(paint.yellow(t)),
          env: io.env,
        },
      );
    } catch (err) {
      io.err.write(paint.red(`perfpack run: profiling failed: ${(err as Error).message}\n${(err as { output?: string }).output ?? ""}\n`));
    }
  }
  const { written, errors } = exportAll(results, { headlines: results.plan.headlines ?? {}, ...profileArtifacts(cfg.outDir) }, cfg.outDir, EXPORTERS, {
    GITHUB_STEP_SUMMARY: io.env.GITHUB_STEP_SUMMARY,
  });
  for (const e of errors) io.err.write(paint.red(`perfpack run: a report could not be written: ${e}\n`));
  human.write(`results: ${writer.file}\n`);
  for (const f of written) human.write(`report:  ${f}\n`);
  if (cfg.updateLatest) human.write(`latest:  ${join(dirname(cfg.outDir), "latest")}\n`);
  if (merged.json) io.out.write(summaryDocument(results));
  if (runner.wasAborted) return { results, code: EXIT.interrupted, outDir: cfg.outDir };
  if (results.summary.failedTrials > 0) {
    io.err.write(paint.red(`perfpack run: ${results.summary.failedTrials} trial(s) failed; see their error and log tail in results.json and ${join(cfg.outDir, "logs")}\n`));
    return { results, code: EXIT.runFailure, outDir: cfg.outDir };
  }
  return { results, code: results.summary.verdict?.pass === false ? EXIT.gateFailed : EXIT.ok, outDir: cfg.outDir };
}
