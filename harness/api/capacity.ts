/**
 * `perfpack capacity` as a job: its flags (the run options it takes, over perfpack.config.json,
 * and the search's own) → a run's config and the search's → the search (api/capacity-search.ts).
 */
import { UsageError } from "../errors.js";
import { resolveCapacityConfig, type CapacityConfig } from "../plan/capacity-config.js";
import { CAPACITY_DEFAULTS } from "../plan/defaults.js";
import { layeredFlags } from "../plan/file.js";
import {
  CAPACITY_OPTIONS,
  CAPACITY_RUN_OPTIONS,
  flagOf,
  RUN_OPTIONS,
  type CapacityFlags,
  type RunFlags,
} from "../plan/options.js";
import type { RunConfig } from "../plan/config.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { JobContext } from "./context.js";
import { searchCapacity, type CapacityDocument, type CapacityJob } from "./capacity-search.js";
import { prepareRun } from "./run.js";

export type { CapacityDocument, CapacityJob };

/** The capacity job's flags → the run's config (variants, requests, a team's command) and the search's. */
function prepareCapacity(
  flags: RunFlags & CapacityFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: Pick<JobContext, "cwd" | "env">,
): { cfg: RunConfig; cap: CapacityConfig; json: boolean } {
  const { slo, resolution, budget, window, maxRate, ...run } = flags;
  // a library caller can pass any run option: the ones that are not capacity's are refused, as the CLI would
  for (const k of Object.keys(run) as Array<keyof RunFlags>)
    if (!(k in CAPACITY_RUN_OPTIONS) && run[k] !== undefined && !(Array.isArray(run[k]) && run[k].length === 0))
      throw new UsageError(
        `${k in RUN_OPTIONS ? flagOf(RUN_OPTIONS[k]) : k} is an option capacity does not take: it takes ${[...Object.values(CAPACITY_RUN_OPTIONS), ...Object.values(CAPACITY_OPTIONS)].map((o) => flagOf(o!)).join(", ")}`,
      );
  const { cfg, json } = prepareRun(run, scenarios, ctx, { scenarios: CAPACITY_DEFAULTS.scenarios });
  const none = cfg.scenarios.filter((s) => !scenarios.get(s)?.capacity);
  if (none.length)
    throw new UsageError(
      `--scenarios: ${none.join(", ")} has no capacity search; capacity searches ${[...scenarios.values()]
        .filter((s) => s.capacity)
        .map((s) => s.name)
        .join(", ")}`,
    );
  const { flags: merged, from } = layeredFlags(ctx.cwd, { slo, resolution, config: run.config });
  return { cfg, cap: resolveCapacityConfig({ ...merged, budget, window, maxRate }, from), json };
}

/** The job: its flags validated, then the search. */
export async function capacity(
  flags: RunFlags & CapacityFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<CapacityJob> {
  const { cfg, cap } = prepareCapacity(flags, scenarios, ctx);
  return searchCapacity(cfg, cap, scenarios, ctx);
}
