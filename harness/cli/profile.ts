/** What `perfpack profile` (and `run --profile`) shows of the profiler's events: a pure printer. */
import { describeCheck, type ProfileEvent } from "../profile/profiler.js";

/** The lines an event prints, and the warning the user must not miss (too few samples). */
export function profileText(e: ProfileEvent): { lines: string[]; warning?: string } {
  switch (e.type) {
    case "profile-start":
      return { lines: [`${e.variant}: ${e.tool} while ${e.scenario} runs for ${e.durationS} s …`] };
    case "profile-variant": {
      const { variant, artifacts, check } = e.profile;
      const lines = [...artifacts.map((a) => `  ${a}`), `  ${describeCheck(check)}`];
      if (check.ok) return { lines };
      const what = e.tool === "clinic-doctor" ? "report" : "flamegraph";
      return {
        lines,
        warning: `⚠ ${variant}: ${e.tool} recorded too few samples: ${describeCheck(check)}; its ${what} shows almost nothing`,
      };
    }
    case "profile-hot-path":
      return { lines: [`hot-path diff: ${e.file}`] };
    case "profile-no-hot-path":
    case "profile-no-diff":
      return { lines: [e.reason] };
    case "profile-diff":
      return { lines: [`differential flamegraph, ${e.candidate} against ${e.reference} per ${e.unit}: ${e.file}`] };
    case "profile-done":
      return { lines: [`profiles: ${e.dir}`] };
  }
}

export const isProfileEvent = (e: { type: string }): e is ProfileEvent => e.type.startsWith("profile-");
