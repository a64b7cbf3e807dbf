/** `perfpack profile` as a job: each variant's executor under a profiler while a scenario drives it. */
import { profile as profileVariants, resolveProfilePlan, type ProfileFlags, type ProfileResult } from "../profile/profiler.js";
import type { Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";

export async function profile(flags: ProfileFlags, scenarios: ReadonlyMap<string, Scenario>, ctx: JobContext): Promise<ProfileResult> {
  return profileVariants(resolveProfilePlan(flags, scenarios, ctx.cwd), {
    write: (t) => tell(ctx, { type: "note", text: t.replace(/\n$/, "") }),
    warn: (t) => tell(ctx, { type: "warning", text: t.replace(/\n$/, "") }),
    env: { ...ctx.env },
  });
}
