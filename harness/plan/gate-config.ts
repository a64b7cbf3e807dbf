import { UsageError } from "../errors.js";
import { GATE_MAX_REGRESSION } from "./defaults.js";
import { Given, type Sources } from "./file.js";
import type { GateFlags } from "./options.js";
import { parseEnvArg } from "./variants.js";

/** The gate, validated: against a revision (sequential, paired by round) or against a stored run. */
export type GateConfig =
  | {
      kind: "revision";
      ref: string;
      maxRegression: number;
      seed: number;
      candidateEnv?: Record<string, string>;
      /** --candidate-ref: the candidate side is this revision, built, instead of this checkout. */
      candidateRef?: string;
      budgetS?: number;
      strict: boolean;
      buildCmd?: string;
      /** --no-profile: a regression is not profiled. */
      noProfile?: true;
      /** --profile-cap, seconds. */
      profileCapS?: number;
    }
  | { kind: "stored"; baseline: string; current?: string; maxRegression: number; strict: boolean };

/**
 * The gate's flags (over the config file's) → its config, once, at the edge; every message names
 * the flag, or the config file and key (`from`: where each value came from), and what it accepts.
 * `soak`: the run flag the gate refuses. `now`: the clock that seeds the trial order when --seed is not given.
 */
export function resolveGateConfig(f: GateFlags, o: { soak?: string; now?: number; from?: Sources } = {}): GateConfig {
  const g = new Given(f, o.from);
  if ((f.baseline === undefined) === (f.baselineRef === undefined))
    throw new UsageError(
      "the gate needs one baseline: --baseline-ref REV (a git revision, run beside this checkout) or --baseline results.json (a stored run)",
    );
  const max = g.number("maxRegression") ?? GATE_MAX_REGRESSION[f.baselineRef !== undefined ? "revision" : "stored"];
  if (o.soak !== undefined)
    throw new UsageError(
      "--soak is not for the gate: the gate tests throughput, p95 and CPU of the scenarios, and a soak has none it gates; run `perfpack run --soak` on its own",
    );
  const strict = f.strict === true;
  if (f.baseline !== undefined) {
    if (f.budget !== undefined)
      throw g.error("budget", "--budget goes with --baseline-ref: it steers its sequential sampling");
    if (f.candidateEnv?.length)
      throw g.error(
        "candidateEnv",
        "--candidate-env goes with --baseline-ref: it changes this checkout's side of one run",
      );
    if (f.seed !== undefined)
      throw g.error("seed", "--seed goes with --baseline-ref: it orders the trials of the gate's own run");
    if (f.buildCmd !== undefined)
      throw g.error("buildCmd", "--build-cmd goes with --baseline-ref: it builds your repository at that revision");
    if (f.candidateRef !== undefined)
      throw g.error("candidateRef", "--candidate-ref goes with --baseline-ref: it builds the other side of that gate");
    if (f.profileCap !== undefined)
      throw g.error(
        "profileCap",
        "--profile-cap goes with --baseline-ref: it bounds the profile of both arms that a failed gate takes",
      );
    return {
      kind: "stored",
      baseline: f.baseline,
      current: f.current,
      maxRegression: max,
      strict,
    };
  }
  if (f.current !== undefined)
    throw g.error("current", "--current goes with --baseline; with --baseline-ref the gate runs both sides itself");
  const seed = g.number("seed") ?? (o.now ?? Date.now()) % 1_000_000;
  const candidateEnv = f.candidateEnv?.length
    ? Object.fromEntries(g.check("candidateEnv", () => f.candidateEnv!.map(parseEnvArg)))
    : undefined;
  const budgetS = g.duration("budget");
  const profileCapS = g.duration("profileCap");
  return {
    kind: "revision",
    ref: f.baselineRef!,
    maxRegression: max,
    seed,
    strict,
    // absent, not undefined: unit tests compare this config with deepStrictEqual
    ...(candidateEnv ? { candidateEnv } : {}),
    ...(budgetS !== undefined ? { budgetS } : {}),
    ...(f.buildCmd !== undefined ? { buildCmd: f.buildCmd } : {}),
    ...(f.candidateRef !== undefined ? { candidateRef: f.candidateRef } : {}),
    ...(f.noProfile === true ? { noProfile: true as const } : {}),
    ...(profileCapS !== undefined ? { profileCapS } : {}),
  };
}
