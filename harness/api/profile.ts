/** `perfpack profile` as a job: each variant's executor under a profiler while a scenario drives it. */
import { profile as profileVariants, resolveProfilePlan, type ProfileFlags, type ProfileResult } from "../profile/profiler.js";
import type { Scenario } from "../../scenarios/contract.js";
import { findConfigFile, readConfigFile } from "../plan/file.js";
import { tell, type JobContext } from "./context.js";

/** The team's service may come from perfpack.config.json (executorCmd, readyPath), as for run and gate; flags win. */
function withConfigFile(flags: ProfileFlags, cwd: string): ProfileFlags {
  const file = findConfigFile(cwd, undefined);
  if (!file || flags.executorCmd !== undefined) return flags;
  const { executorCmd, readyPath } = readConfigFile(file);
  return { ...flags, ...(executorCmd !== undefined ? { executorCmd } : {}), ...(readyPath !== undefined && flags.readyPath === undefined ? { readyPath } : {}) };
}

export async function profile(flags: ProfileFlags, scenarios: ReadonlyMap<string, Scenario>, ctx: JobContext): Promise<ProfileResult> {
  return profileVariants(resolveProfilePlan(withConfigFile(flags, ctx.cwd), scenarios, ctx.cwd), {
    write: (t) => tell(ctx, { type: "note", text: t.replace(/\n$/, "") }),
    warn: (t) => tell(ctx, { type: "warning", text: t.replace(/\n$/, "") }),
    env: { ...ctx.env },
  });
}
