import { UsageError } from "../errors.js";
import { GATE_MAX_REGRESSION } from "./defaults.js";
import { durationValue, GATE_OPTIONS, numberValue, type GateFlags } from "./options.js";
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
  const max = f.maxRegression === undefined ? GATE_MAX_REGRESSION[f.baselineRef !== undefined ? "revision" : "stored"] : numberValue(GATE_OPTIONS.maxRegression, f.maxRegression);
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
  const seed = f.seed === undefined ? (o.now ?? Date.now()) % 1_000_000 : numberValue(GATE_OPTIONS.seed, f.seed);
  const candidateEnv = f.candidateEnv?.length ? Object.fromEntries(f.candidateEnv.map(parseEnvArg)) : undefined;
  const budgetS = f.budget === undefined ? undefined : durationValue(GATE_OPTIONS.budget, f.budget);
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
