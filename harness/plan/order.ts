import { seededRandom } from "../../services/common/src/rng.js";
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
export function buildPlan(variants: Variant[], scenarios: string[], rounds: number, seed?: number): Plan {
  const trials: TrialSpec[] = [];
  const rand = seed === undefined ? undefined : seededRandom(seed);
  let previous: Variant[] = variants;
  for (let round = 1; round <= rounds; round++) {
    // seeded (the gate): a random order in odd rounds, its reverse in the next, so each arm goes
    // first equally often and no fixed pattern lines up with anything periodic on the machine
    const order = !rand
      ? rotate(variants, round - 1)
      : round % 2 === 1
        ? shuffle(variants, rand)
        : [...previous].reverse();
    previous = order;
    for (const scenario of scenarios)
      for (const variant of order) trials.push({ index: trials.length, variant, scenario, round });
  }
  return { variants, scenarios, rounds, trials };
}

/** Fisher–Yates with the given generator. */
function shuffle<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** A duet slice's randomization: the order its arms' load starts in, and each arm's share of the load. */
export interface DuetSplit {
  order: string[];
  connections: number[];
  wsClients: number[];
}

/**
 * A duet slice's randomization, recorded in each trial: which arm's load starts first (a random
 * order), and the even split of the connections and WebSocket clients (a remainder goes to
 * randomly chosen arms; every arm gets at least one).
 */
export function duetSplit(
  arms: readonly string[],
  connections: number,
  wsClients: number,
  rand: () => number,
): DuetSplit {
  const order = shuffle(arms, rand);
  const split = (total: number): number[] => {
    const n = arms.length;
    const out = arms.map(() => Math.floor(total / n));
    const extra = shuffle([...out.keys()], rand).slice(0, total % n);
    for (const k of extra) out[k]!++;
    return out.map((x) => Math.max(1, x));
  };
  return { order, connections: split(connections), wsClients: split(wsClients) };
}
