/**
 * The sequential gate's loop, on top of a run: after the minimum rounds, then after every batch of
 * GATE_SEQUENTIAL.batchRounds more, every gate metric is called against the line; the loop stops
 * at a regression, when every metric is clear, or when the looks the budget allows are used.
 * The rule itself is pure (harness/verdict/sequential.ts); this holds its state across the looks.
 */
import { GATE_SEQUENTIAL } from "../plan/defaults.js";
import { gateMetricKey, type LookRecord, type Results } from "../results/schema.js";
import { compareRevisions } from "../verdict/compare.js";
import { decideRevisionGate, type RevisionGateDecision } from "../verdict/gate.js";
import { headlinesOf } from "../verdict/analysis.js";
import { lookLevel, looksWithin, type SequentialDesign } from "../verdict/sequential.js";

export type { LookRecord };

export class SequentialGate {
  readonly looks: LookRecord[] = [];
  /** Fixed at the first look: its number of looks from the budget left. */
  design: SequentialDesign | undefined;
  /** The decision at the last look taken. */
  last: RevisionGateDecision | undefined;
  readonly batchRounds = GATE_SEQUENTIAL.batchRounds;

  constructor(
    private readonly o: {
      maxRegression: number;
      budgetS: number;
      /** Seconds since the gate began (the build included). */
      elapsedS: () => number;
      onLook?: (look: LookRecord, maxLooks: number, decision: RevisionGateDecision, last: boolean) => void;
    },
  ) {}

  /** The run's hook: more rounds after this look (a batch), or 0 when the gate is decided or out of looks. */
  readonly moreRounds = (sofar: Results): number => {
    // a failed trial fails the run (exit 3): no more rounds for it
    if (sofar.summary.failedTrials > 0) return 0;
    const k = this.looks.length + 1;
    const rounds = sofar.plan.rounds;
    const headlines = headlinesOf(sofar);
    // the measured pace: seconds of trials per round so far (a duet slice's wall time is every
    // arm's trial's, so it counts once per slice)
    const roundS = sofar.trials.reduce((a, t) => a + t.wallS / (t.duet?.arms.length ?? 1), 0) / rounds;
    const elapsed = this.o.elapsedS();
    // fixed before the first interval is read: how many looks the time left allows at that pace
    this.design ??= {
      alpha: GATE_SEQUENTIAL.alpha,
      minRounds: rounds,
      batchRounds: this.batchRounds,
      metrics: Math.max(1, compareRevisions(sofar, headlines).length),
      maxLooks: looksWithin(this.o.budgetS, elapsed, this.batchRounds * roundS),
    };
    const level = lookLevel(this.design, k);
    // the last look: none left in the design, or the next batch would end past the budget
    const lastLook = k >= this.design.maxLooks || elapsed + this.batchRounds * roundS > this.o.budgetS;
    const d = decideRevisionGate(sofar, headlines, this.o.maxRegression, { level, lastLook });
    this.last = d;
    const look: LookRecord = {
      look: k,
      rounds,
      level,
      elapsedS: elapsed,
      calls: Object.fromEntries(d.comparisons.map((c, i) => [gateMetricKey(c), d.calls[i]!])),
      intervals: Object.fromEntries(
        d.comparisons.map((c) => [gateMetricKey(c), { ratio: c.estimate.ratio, lo: c.estimate.lo, hi: c.estimate.hi }]),
      ),
    };
    this.looks.push(look);
    const more = !lastLook && d.outcome === "inconclusive";
    this.o.onLook?.(look, this.design.maxLooks, d, !more);
    return more ? this.batchRounds : 0;
  };

  /** The decision: the last look's, or (no look happened: nothing to sample) one on what there is. */
  decision(results: Results): { decision: RevisionGateDecision; design: SequentialDesign } {
    const decision = this.last ?? decideRevisionGate(results, headlinesOf(results), this.o.maxRegression);
    return {
      decision,
      design: this.design ?? {
        alpha: GATE_SEQUENTIAL.alpha,
        minRounds: results.plan.rounds,
        batchRounds: this.batchRounds,
        metrics: decision.comparisons.length,
        maxLooks: 1,
      },
    };
  }
}
