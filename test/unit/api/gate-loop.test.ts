import assert from "node:assert/strict";
import { test } from "node:test";
import { SequentialGate } from "../../../harness/api/gate-loop.js";
import { GATE_SEQUENTIAL } from "../../../harness/plan/defaults.js";
import type { Results, TrialRecord } from "../../../harness/results/schema.js";
import { rng } from "../../../harness/verdict/stats.js";

/**
 * The sequential gate under the duet design, on simulated slices: both arms of a slice run at once,
 * so the machine's state of that moment hits both; throughput is shared between them (what one arm
 * takes the other lacks); each arm's CPU per request carries its own noise. The loop, its look plan
 * and its calls are the real ones; only the measurements are drawn.
 */
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
const SLICE_S = 3.7;
const BUILD_S = 10;

const headlines = {
  latency: [
    { metric: "rps", label: "req/s", better: "higher" as const, gate: true },
    { metric: "latency_p95_ms", label: "p95 ms", better: "lower" as const, gate: true },
    { metric: "executor_cpu_us_per_request", label: "CPU µs/req", better: "lower" as const, gate: true },
  ],
};

function results(trials: TrialRecord[], rounds: number): Results {
  return {
    runId: "sim",
    trials,
    plan: {
      rounds,
      scenarios: ["latency"],
      variants: [
        { name: "optimized@base", env: {}, system: { kind: "revision", ref: "base", commit: "0".repeat(40) } },
        { name: "optimized", env: {} },
      ],
      headlines,
      design: "duet",
    },
    summary: { failedTrials: 0 },
  } as unknown as Results;
}

/** One simulated duet gate: the candidate's CPU per request is `burn` times the baseline's. */
function gate(
  burn: number,
  r: () => number,
): { outcome: string; rounds: number; looks: number; maxLooks: number; elapsed: number } {
  let slices = 0;
  const trials: TrialRecord[] = [];
  const slice = (round: number) => {
    slices++;
    const machine = 0.1 * gauss(r); // the moment's state: both arms see it
    const cost = [1, burn].map(() => Math.exp(machine + 0.025 * gauss(r)));
    cost[1]! *= burn;
    // a closed loop on a shared machine: each arm's throughput goes as the inverse of its cost, of one capacity
    const capacity = 2000 * Math.exp(-machine + 0.02 * gauss(r));
    const inv = cost.map((c) => 1 / c);
    const sum = inv[0]! + inv[1]!;
    ["optimized@base", "optimized"].forEach((variant, arm) => {
      const rps = (capacity * inv[arm]!) / sum;
      trials.push({
        index: trials.length,
        variant,
        scenario: "latency",
        round,
        status: "ok",
        wallS: SLICE_S,
        duet: { arms: ["optimized@base", "optimized"], first: arm === 0, connections: 16 },
        metrics: {
          rps,
          latency_p95_ms: 20 * Math.exp(0.5 * Math.log(cost[arm]!) + 0.035 * gauss(r)),
          executor_cpu_us_per_request: 550 * cost[arm]!,
        },
      } as unknown as TrialRecord);
    });
  };
  const loop = new SequentialGate({
    maxRegression: 0.05,
    budgetS: GATE_SEQUENTIAL.budgetS,
    elapsedS: () => BUILD_S + slices * SLICE_S,
  });
  let rounds = 6;
  for (let k = 1; k <= rounds; k++) slice(k);
  for (;;) {
    const more = loop.moreRounds(results(trials, rounds));
    if (more === 0) break;
    for (let k = rounds + 1; k <= rounds + more; k++) slice(k);
    rounds += more;
  }
  const { decision, design } = loop.decision(results(trials, rounds));
  return {
    outcome: decision.outcome,
    rounds,
    looks: loop.looks.length,
    maxLooks: design.maxLooks,
    elapsed: BUILD_S + slices * SLICE_S,
  };
}

test("duet gates: the look plan counts a slice's wall time once, and the gate stays within its budget", () => {
  const g = gate(1, rng(1));
  // 6 slices after a 10 s build: (180 − 32.2) / (2 × 3.7) = 19 more looks
  assert.equal(g.maxLooks, 1 + Math.floor((GATE_SEQUENTIAL.budgetS - (BUILD_S + 6 * SLICE_S)) / (2 * SLICE_S)));
  assert.ok(g.elapsed <= GATE_SEQUENTIAL.budgetS, `${g.elapsed} s`);
});

test("duet gates, simulated: a change exactly at the line is a false alarm at most alpha of the time, and a 10% burn is caught (400 gates each)", (t) => {
  const r = rng(23);
  const tally = (burn: number) => {
    const out: Record<string, number> = { pass: 0, regression: 0, inconclusive: 0 };
    for (let i = 0; i < 400; i++) out[gate(burn, r).outcome]!++;
    return out;
  };
  const atLine = tally(1.05);
  t.diagnostic(`CPU per request 5% worse (at the line): ${JSON.stringify(atLine)}`);
  assert.ok(atLine.regression! / 400 <= GATE_SEQUENTIAL.alpha + 0.02, JSON.stringify(atLine));
  const none = tally(1);
  t.diagnostic(`A/A: ${JSON.stringify(none)}`);
  assert.equal(none.regression, 0);
  const tenth = tally(1.1);
  t.diagnostic(`CPU per request 10% worse: ${JSON.stringify(tenth)}`);
  assert.ok(tenth.regression! / 400 >= 0.9, JSON.stringify(tenth));
  assert.equal(tenth.pass, 0);
});
