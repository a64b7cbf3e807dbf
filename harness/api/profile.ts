/** `perfpack profile` as a job: each variant's executor under a profiler while a scenario drives it. */
import { profile as profileVariants, resolveProfilePlan, type ProfileFlags, type ProfileResult } from "../profile/profiler.js";
import type { Scenario } from "../../scenarios/contract.js";
import { findConfigFile, readConfigFile } from "../plan/file.js";
import { tell, type JobContext } from "./context.js";

/**
 * The team's service may come from perfpack.config.json (executorCmd, readyPath), as for run and
 * gate, and so may what it is sent (requests, header); flags win.
 */
function withConfigFile(flags: ProfileFlags, cwd: string): ProfileFlags {
  const file = findConfigFile(cwd, undefined);
  if (!file) return flags;
  const { executorCmd, readyPath, requests, header } = readConfigFile(file);
  const own = flags.executorCmd !== undefined;
  return {
    ...flags,
    ...(executorCmd !== undefined && !own ? { executorCmd } : {}),
    ...(readyPath !== undefined && !own && flags.readyPath === undefined ? { readyPath } : {}),
    ...(requests !== undefined ? { requests } : {}),
    ...(header !== undefined && !flags.header?.length ? { header } : {}),
  };
}

export async function profile(flags: ProfileFlags, scenarios: ReadonlyMap<string, Scenario>, ctx: JobContext): Promise<ProfileResult> {
  return profileVariants(resolveProfilePlan(withConfigFile(flags, ctx.cwd), scenarios, ctx.cwd, ctx.env), { events: (e) => tell(ctx, e), env: { ...ctx.env } });
}
