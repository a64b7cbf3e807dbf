/** `perfpack profile` as a job: each variant's executor under a profiler while a scenario drives it. */
import { profile as profileVariants, resolveProfilePlan, type ProfileFlags, type ProfileResult } from "../profile/profiler.js";
import type { Scenario } from "../../scenarios/contract.js";
import { findConfigFile, Given, readConfigFile, type Sources } from "../plan/file.js";
import { tell, type JobContext } from "./context.js";

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
  const taken = {
    ...(executorCmd !== undefined && !own ? { executorCmd } : {}),
    ...(readyPath !== undefined && !own && flags.readyPath === undefined ? { readyPath } : {}),
    ...(requests !== undefined ? { requests } : {}),
    ...(header !== undefined && !flags.header?.length ? { header } : {}),
  };
  return { flags: { ...flags, ...taken }, from: Object.fromEntries(Object.keys(taken).map((k) => [k, file])) };
}

export async function profile(flags: ProfileFlags, scenarios: ReadonlyMap<string, Scenario>, ctx: JobContext): Promise<ProfileResult> {
  const { flags: f, from } = withConfigFile(flags, ctx.cwd);
  // a bad value taken from the file names the file and the key
  const plan = new Given(f, from).check(FROM_FILE, () => resolveProfilePlan(f, scenarios, ctx.cwd, ctx.env));
  return profileVariants(plan, { events: (e) => tell(ctx, e), env: { ...ctx.env } });
}
