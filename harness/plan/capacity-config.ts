import { CAPACITY_DEFAULTS } from "./defaults.js";
import { Given, type Sources } from "./file.js";
import { CAPACITY_OPTIONS, durationValue, numberValue, type CapacityFlags } from "./options.js";
import { parseSlo, type Slo } from "./slo.js";

/** The capacity search, validated: the SLO (when given; each scenario has its own default), its resolution and bounds. */
export interface CapacityConfig {
  /** --slo: every scenario's objective; undefined: each scenario's guide target. */
  slo: Slo | undefined;
  /** --slo names its error line; otherwise the line is --max-errors (default 1%). */
  sloNamesErrors: boolean;
  resolution: number;
  budgetS: number;
  windowS: number;
  warmupS: number;
  /** --max-rate: the highest level tried (undefined: 50,000/s, or 5,000 subscribers). */
  maxLevel: number | undefined;
}

/**
 * capacity's own flags (over the config file's --slo and --resolution) → its config, once, at the
 * edge; every message names the flag, or the file and key, and what it accepts.
 */
export function resolveCapacityConfig(f: CapacityFlags, from?: Sources): CapacityConfig {
  const g = new Given(f, from);
  const slo = f.slo === undefined ? undefined : g.check("slo", () => parseSlo(f.slo!));
  const budget = f.budget === undefined ? undefined : durationValue(CAPACITY_OPTIONS.budget, f.budget);
  const window = f.window === undefined ? undefined : durationValue(CAPACITY_OPTIONS.window, f.window);
  return {
    slo,
    sloNamesErrors: /errors/i.test(f.slo ?? ""),
    resolution: g.number("resolution") ?? CAPACITY_DEFAULTS.resolution,
    budgetS: budget ?? CAPACITY_DEFAULTS.budgetS,
    windowS: window ?? CAPACITY_DEFAULTS.windowS,
    warmupS: Math.min(CAPACITY_DEFAULTS.warmupS, window ?? CAPACITY_DEFAULTS.windowS),
    maxLevel: f.maxRate === undefined ? undefined : numberValue(CAPACITY_OPTIONS.maxRate, f.maxRate),
  };
}
