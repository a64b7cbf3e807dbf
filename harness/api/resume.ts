/**
 * `perfpack run --resume <folder>` as a job: an interrupted run continues where it stopped. Its
 * plan and options are the folder's (results.json), checked against this perfpack, this machine
 * and this checkout before anything runs; the recorded trials are kept and only the missing ones
 * run, into the same results.json; the analysis and the reports then cover them all.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { describeMachine } from "../engine/probes.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import type { RunFlags } from "../plan/options.js";
import { buildPlan } from "../plan/order.js";
import { defaultRequests } from "../plan/requests.js";
import {
  checkoutChange,
  clashingFlags,
  planDiff,
  recordedConfig,
  remainingTrials,
  resumeRefusal,
} from "../plan/resume.js";
import { validateVariants } from "../plan/variants.js";
import { readResultsFile } from "../results/file.js";
import type { Results } from "../results/schema.js";
import type { Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";
import { renderReports } from "./report.js";
import { executeRun, planRecordOf, type PreparedRun, type RunDocument, type RunSteering } from "./run.js";

/** A recorded run, checked and ready to continue. */
export interface PreparedResume extends PreparedRun {
  /** The order's and the duet's seeds, and the recorded results. */
  steer: RunSteering & { resumed: Results };
  /** The plan's trials, and those still to run. */
  total: number;
  remaining: number;
}

/** The run folder that --resume names (its results.json is accepted too). */
function runFolder(arg: string, cwd: string): string {
  const p = resolve(cwd, arg);
  const isFile = existsSync(p) && statSync(p).isFile();
  if (isFile && basename(p) === "results.json") return dirname(p);
  if (!existsSync(p) || isFile) throw new UsageError(`--resume ${arg}: no such run folder (${p})`);
  return p;
}

/** Whether the process that wrote the run is still a live perfpack on this host (/proc, else any live process). */
function stillRunning(r: Results): number | undefined {
  const host = r.resumed?.at(-1)?.hostname ?? r.machine.hostname;
  const pid = r.pid;
  if (pid === undefined || pid === process.pid || host !== hostname() || r.finishedAt !== null) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  if (!existsSync("/proc/self/cmdline")) return pid;
  try {
    return /perfpack|harness\/cli\.js/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8")) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Refused with exit 2, naming the folder and why; results.json is left as it is. */
const refuse = (dir: string, why: string) => new UsageError(`cannot resume ${dir}: ${why}`);

/** `f` with its usage errors said of the folder. */
function about<T>(dir: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof UsageError) throw refuse(dir, err.message);
    throw err;
  }
}

/**
 * The recorded run, checked: the flags beside --resume (only --json), results.json (present,
 * perfpack's, this version's, not a gate's, from this machine, not still being written), the plan
 * this perfpack makes of its options (the recorded one), the checkout under test (the same code),
 * and its trials (each the plan's, once). Nothing is written.
 */
export function prepareResume(
  folder: string,
  flags: RunFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: Pick<JobContext, "cwd" | "version">,
): PreparedResume {
  const clash = clashingFlags(flags);
  if (clash.length)
    throw new UsageError(
      `--resume takes the plan and every option from the run folder's results.json: ${clash.join(", ")} cannot be given beside it (only --json can)`,
    );
  const dir = runFolder(folder, ctx.cwd);
  const r = readResultsFile(join(dir, "results.json"), `cannot resume ${dir}: its results file`);
  const gate = existsSync(join(dir, "gate.json"));
  const why = resumeRefusal(r, {
    version: ctx.version,
    machine: describeMachine(),
    gate,
    scenarios: [...scenarios.keys()],
  });
  if (why) throw refuse(dir, why);
  const pid = stillRunning(r);
  if (pid !== undefined)
    throw refuse(dir, `perfpack (pid ${pid}) is still running it: let it finish, or stop it, then resume`);
  const cfg = about(dir, () => {
    const c = recordedConfig(r, {
      outDir: dir,
      cwd: ctx.cwd,
      updateLatest: dir === resolve(ctx.cwd, RUN_DEFAULTS.outRoot, r.runId),
      requestDefaults: defaultRequests(scenarios.values()),
    });
    validateVariants(c.variants);
    return c;
  });
  const seeds = { seed: r.plan.seed, duetSeed: r.plan.duetSeed };
  const plan = buildPlan(cfg.variants, cfg.scenarios, cfg.rounds, seeds.seed);
  const rebuilt = planRecordOf(cfg, plan, scenarios, ctx.cwd, seeds);
  const diff = planDiff(r.plan, rebuilt);
  if (diff.length)
    throw refuse(
      dir,
      `the plan this perfpack makes of its recorded options differs from the recorded one in ${diff.join(", ")}, so the remaining trials would not be the same run's`,
    );
  const code = checkoutChange(r.plan.checkout, rebuilt.checkout);
  if (code.refusal) throw refuse(dir, code.refusal);
  const { remaining } = about(dir, () => remainingTrials(plan, r.trials));
  const warnings = code.warning ? [code.warning] : [];
  if (r.machine.hostname !== hostname())
    warnings.push(`the run began on ${r.machine.hostname}; this is ${hostname()} (the same CPU and Node version)`);
  return {
    cfg: { ...cfg, warnings },
    json: flags.json === true,
    steer: { ...seeds, resumed: r },
    total: plan.trials.length,
    remaining: remaining.length,
  };
}

/**
 * Continues a prepared resume: the missing trials (results.json rewritten after each, from the
 * recorded trials on), then what follows the trials in a run (the allocation pass, profiles, the
 * analysis over every trial, the reports). A run that had finished runs nothing: its reports are
 * written again from results.json, which is left as it is.
 */
export async function resumeRun(
  p: PreparedResume,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<RunDocument> {
  const r = p.steer.resumed;
  if (p.remaining > 0 || r.finishedAt === null) return executeRun(p.cfg, scenarios, ctx, p.steer);
  const file = join(p.cfg.outDir, "results.json");
  tell(ctx, {
    type: "note",
    text: `perfpack run: ${p.cfg.outDir} finished at ${r.finishedAt} with all ${p.total} of its trials: nothing to resume; its reports are written again from results.json`,
  });
  const { results, written, errors } = renderReports(file, undefined, ctx);
  tell(ctx, { type: "analyzed", results });
  return { results, outDir: p.cfg.outDir, resultsFile: file, written, exportErrors: errors, interrupted: false };
}
