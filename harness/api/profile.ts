/** `perfpack profile` as a job: each variant's executor under a profiler while a scenario drives it. */
import { join, resolve } from "node:path";
import {
  profile as profileVariants,
  type ProfilePlan,
  type ProfileResult,
  type ProfileTool,
} from "../profile/profiler.js";
import { serviceCommandOf, unwrappable } from "../engine/systems.js";
import { UsageError } from "../errors.js";
import { newRunId, pickVariants } from "../plan/config.js";
import { PROFILE_TOOLS } from "../plan/options.js";
import { defaultRequests, resolveRequests } from "../plan/requests.js";
import { ablation, presets } from "../plan/variants.js";
import type { Scenario } from "../../scenarios/contract.js";
import { findConfigFile, Given, readConfigFile, type Sources } from "../plan/file.js";
import { tell, type JobContext } from "./context.js";

/** `perfpack profile`'s flags as commander hands them over: strings, unvalidated. */
export interface ProfileFlags {
  tool?: string;
  variants?: string;
  scenario?: string;
  duration?: string;
  out?: string;
  /** The team's own service instead of the bundled executor (as `run --executor-cmd`). */
  executorCmd?: string;
  readyPath?: string;
  /** --header, and the config file's `requests`: what the scenario sends (as `run`). */
  header?: string[];
  requests?: unknown;
  /** --config: the config file those come from (default: perfpack.config.json in the working directory, when there is one). */
  config?: string;
}

/**
 * `perfpack profile`'s flags → a plan; every message names the flag and what it accepts. `cwd`: where
 * a relative --out, and the default reports/profile-<id>, resolve (the user's directory); `env`:
 * where the headers' `${env:…}` values come from.
 */
export function resolveProfilePlan(
  f: ProfileFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  cwd: string,
  env: Readonly<NodeJS.ProcessEnv>,
): ProfilePlan {
  const tool = (f.tool ?? "cpuprof") as ProfileTool;
  if (!PROFILE_TOOLS.includes(tool))
    throw new UsageError(
      `unknown profiling tool ${JSON.stringify(f.tool)}: valid tools are ${PROFILE_TOOLS.join(", ")}`,
    );
  const variants = pickVariants(f.variants ?? "baseline,optimized", [...presets(), ...ablation()]);
  const scenario = scenarios.get(f.scenario ?? "latency");
  if (!scenario)
    throw new UsageError(
      `unknown scenario ${JSON.stringify(f.scenario)}: valid scenarios are ${[...scenarios.keys()].join(", ")}`,
    );
  const durationS = f.duration === undefined ? 10 : Number(f.duration);
  if (!(durationS > 0 && durationS <= 3600))
    throw new UsageError(`--duration ${JSON.stringify(f.duration)} is not valid: expected seconds above 0, up to 3600`);
  const command = serviceCommandOf(f, cwd);
  const refused = command && unwrappable(tool, command.cmd);
  if (refused) throw new UsageError(`--tool ${refused}`);
  const requests = resolveRequests(f.requests, f.header ?? [], defaultRequests(scenarios.values()), env);
  return {
    tool,
    variants,
    scenario,
    durationS,
    out: resolve(cwd, f.out ?? join("reports", `profile-${newRunId()}`)),
    requests,
    command,
  };
}

/** The config file's keys that profile reads. */
const FROM_FILE = ["executorCmd", "readyPath", "requests", "header"] as const;

/**
 * The team's service may come from the config file (--config, else perfpack.config.json in the
 * working directory), as for run and gate: executorCmd, readyPath, and what it is sent (requests,
 * header); flags win. `from`: the file each value taken from it came from.
 */
function withConfigFile(flags: ProfileFlags, cwd: string): { flags: ProfileFlags; from: Sources } {
  const file = findConfigFile(cwd, flags.config);
  if (!file) return { flags, from: {} };
  const { executorCmd, readyPath, requests, header } = readConfigFile(file);
  const own = flags.executorCmd !== undefined;
  // a readyPath in the file belongs to the file's executorCmd, not to one given as a flag
  // absent, not undefined: taken goes over the flags, and its keys name what came from the file
  const taken = {
    ...(executorCmd !== undefined && !own ? { executorCmd } : {}),
    ...(readyPath !== undefined && !own && flags.readyPath === undefined ? { readyPath } : {}),
    ...(requests !== undefined ? { requests } : {}),
    ...(header !== undefined && !flags.header?.length ? { header } : {}),
  };
  return { flags: { ...flags, ...taken }, from: Object.fromEntries(Object.keys(taken).map((k) => [k, file])) };
}

export async function profile(
  flags: ProfileFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<ProfileResult> {
  const { flags: f, from } = withConfigFile(flags, ctx.cwd);
  // a bad value taken from the file names the file and the key
  const plan = new Given(f, from).check(FROM_FILE, () => resolveProfilePlan(f, scenarios, ctx.cwd, ctx.env));
  return profileVariants(plan, { events: (e) => tell(ctx, e), env: { ...ctx.env }, signal: ctx.signal });
}
