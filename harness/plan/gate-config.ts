import { UsageError } from "../errors.js";
import { parseDuration } from "./config.js";
import type { GateFlags } from "./options.js";
import { parseEnvArg } from "./variants.js";

/** The gate, validated: against a revision (sequential, paired by round) or against a stored run. */
export type GateConfig =
  | { kind: "revision"; ref: string; maxRegression: number; seed: number; candidateEnv?: Record<string, string>; budgetS?: number; strict: boolean; buildCmd?: string }
  | { kind: "stored"; baseline: string; current?: string; maxRegression: number; strict: boolean };

/**
 * The gate's flags (over the config file's) → its config, once, at the edge; every message names
 * the flag and what it accepts. `soak`: the run flag the gate refuses. `now`: the clock that seeds
 * the trial order when --seed is not given.
 */
export function resolveGateConfig(f: GateFlags, o: { soak?: string; now?: number } = {}): GateConfig {
  if ((f.baseline === undefined) === (f.baselineRef === undefined))
    throw new UsageError("the gate needs one baseline: --baseline-ref REV (a git revision, run beside this checkout) or --baseline results.json (a stored run)");
  const max = Number(f.maxRegression ?? (f.baselineRef !== undefined ? "0.05" : "0.10"));
  if (!(max >= 0 && max < 10)) throw new UsageError(`--max-regression ${JSON.stringify(f.maxRegression)} is not valid: expected a share such as 0.05 for 5%`);
  if (o.soak !== undefined)
    throw new UsageError("--soak is not for the gate: the gate tests throughput, p95 and CPU of the scenarios, and a soak has none it gates; run `perfpack run --soak` on its own");
  const strict = f.strict === true;
  if (f.baseline !== undefined) {
    if (f.budget !== undefined) throw new UsageError("--budget goes with --baseline-ref: it steers its sequential sampling");
    if (f.candidateEnv?.length) throw new UsageError("--candidate-env goes with --baseline-ref: it changes this checkout's side of one run");
    if (f.seed !== undefined) throw new UsageError("--seed goes with --baseline-ref: it orders the trials of the gate's own run");
    if (f.buildCmd !== undefined) throw new UsageError("--build-cmd goes with --baseline-ref: it builds your repository at that revision");
    return { kind: "stored", baseline: f.baseline, ...(f.current !== undefined ? { current: f.current } : {}), maxRegression: max, strict };
  }
  if (f.current !== undefined) throw new UsageError("--current goes with --baseline; with --baseline-ref the gate runs both sides itself");
  const seed = f.seed === undefined ? (o.now ?? Date.now()) % 1_000_000 : Number(f.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed ${JSON.stringify(f.seed)} is not valid: expected a whole number`);
  const candidateEnv = f.candidateEnv?.length ? Object.fromEntries(f.candidateEnv.map(parseEnvArg)) : undefined;
  const budgetS = f.budget === undefined ? undefined : parseDuration("--budget", f.budget, 10, 24 * 3600);
  return {
    kind: "revision",
    ref: f.baselineRef!,
    maxRegression: max,
    seed,
    strict,
    ...(candidateEnv ? { candidateEnv } : {}),
    ...(budgetS !== undefined ? { budgetS } : {}),
    ...(f.buildCmd !== undefined ? { buildCmd: f.buildCmd } : {}),
  };
}
