/** `perfpack guide CHECK`: the job (api/guide.ts); the guide's lines on stdout, as runtime/perf_* print them, its commentary on stderr. */
import { EXIT } from "../errors.js";
import { guide } from "../api/guide.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { IO } from "./io.js";
import { isProfileEvent, profileText } from "./profile.js";

/** 0, or 3 when profile-http drew no flamegraph (or too few samples). */
export async function guideCommand(check: string, scenarios: ReadonlyMap<string, Scenario>, io: IO): Promise<number> {
  const doc = await guide(check, scenarios, {
    cwd: io.cwd,
    env: io.env,
    events: (e) => {
      // the guide's lines as they are measured, so a check that fails later has printed what it measured
      if (e.type === "line") io.out.write(e.text + "\n");
      if (e.type === "note" || e.type === "warning") io.err.write(e.text + "\n");
      if (!isProfileEvent(e)) return;
      // the profiler's account as commentary, as the runtime scripts print theirs
      const { lines, warning } = profileText(e);
      for (const l of lines) io.err.write(`# ${l.trim()}\n`);
      if (warning) io.err.write(warning + "\n");
    },
  });
  return doc.ok ? EXIT.ok : EXIT.runFailure;
}
