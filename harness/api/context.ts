/**
 * What every job of the application layer takes besides its options: where the user is, the
 * environment its services inherit, a signal that cancels it, and a sink for what it has to tell.
 * A job never prints, exits or reads the process: the CLI (or a library caller) builds this.
 */
import type { RunnerEvent } from "../engine/runner.js";
import type { Results } from "../results/schema.js";
import type { LookRecord } from "./gate-loop.js";
import type { ProfileEvent } from "../profile/profiler.js";

export type JobEvent =
  | RunnerEvent
  /** The profiler's account of a variant (run --profile, perfpack profile). */
  | ProfileEvent
  /** Something the user should know that does not stop the job (a setting passed through unchecked, a budget overrun). */
  | { type: "warning"; text: string }
  /** A line of a job's own result as it is measured (the guide's lines, which the CLI prints on stdout). */
  | { type: "line"; text: string }
  /** A line of a step's own account: the revision build, the allocation pass. */
  | { type: "note"; text: string }
  /** The run's trials are analysed: the verdict is in; profiling and the reports follow. */
  | { type: "analyzed"; results: Results }
  /** One look of the sequential gate. */
  | {
      type: "look";
      look: LookRecord;
      maxLooks: number;
      undecided: number;
      batchRounds: number;
      outcome?: "pass" | "regression" | "inconclusive";
    };

export interface JobContext {
  /** Where relative paths, perfpack.config.json and the default reports/ resolve: the user's directory. */
  cwd: string;
  /** The environment the launched services inherit (the executor's own variables are always removed). */
  env: Readonly<NodeJS.ProcessEnv>;
  /** Cancels the job: the current trial's services stop and every finished trial is kept. */
  signal?: AbortSignal;
  events?: (e: JobEvent) => void;
  /** perfpack's version, recorded in results.json. */
  version: string;
}

export const tell = (ctx: Pick<JobContext, "events">, e: JobEvent): void => ctx.events?.(e);
