import type { Variant } from "./variants.js";

/** One trial to run: one fresh executor (with the variant's env) running one scenario once. */
export interface TrialSpec {
  index: number;
  variant: Variant;
  scenario: string;
  round: number;
}

export interface Plan {
  variants: Variant[];
  scenarios: string[];
  rounds: number;
  trials: TrialSpec[];
}

/** `xs` rotated left by `k`: rotate([A,B,C], 1) = [B,C,A]. */
export const rotate = <T>(xs: readonly T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

/**
 * Trials in run order: round by round; within a round, scenario by scenario; within a
 * scenario, every variant, in an order rotated by one each round (A B, B A, …). The arms of a
 * comparison run next to each other and take turns going first, so machine drift hits them alike.
 */
export function buildPlan(variants: Variant[], scenarios: string[], rounds: number): Plan {
  const trials: TrialSpec[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      for (const variant of rotate(variants, round - 1)) trials.push({ index: trials.length, variant, scenario, round });
    }
  }
  return { variants, scenarios, rounds, trials };
}
