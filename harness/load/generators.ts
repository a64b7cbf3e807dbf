/**
 * The load generators a trial can use, behind one interface: perfpack's own (in process) and
 * Artillery (a real `artillery run` child per trial). The runner is handed this table and never
 * imports a generator itself.
 */
import type { ScenarioContext } from "../../scenarios/contract.js";
import { ARTILLERY_OVERHEAD_S, EXPORTABLE } from "./artillery.js";

/** The load generators a variant may name (--generator, LOAD_GENERATOR). */
export const GENERATORS = ["perfpack", "artillery"] as const;
export type Generator = (typeof GENERATORS)[number];

export interface LoadGenerator {
  /** Seconds a trial of `scenario` costs beyond the scenario's own estimate. */
  overheadS(scenario: string, warmupS: number): number;
  /** What the scenario is given to hand its load over; undefined: perfpack's own generator, in process. */
  context(env: Readonly<NodeJS.ProcessEnv>, workDir: string): ScenarioContext["artillery"];
}

export const LOAD_GENERATORS: Readonly<Record<Generator, LoadGenerator>> = {
  perfpack: { overheadS: () => 0, context: () => undefined },
  artillery: {
    // each `artillery run` starts up and reports for ~16 s besides its phases (measured: 22 s for a 5 s run)
    overheadS: (scenario, warmupS) =>
      (EXPORTABLE as readonly string[]).includes(scenario) ? ARTILLERY_OVERHEAD_S * (warmupS > 0 ? 2 : 1) : 0,
    context: (env, workDir) => ({ env, workDir }),
  },
};
