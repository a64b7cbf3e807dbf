/**
 * A capacity step's window on a "rate" scenario: its request at the offered rate, open model, its
 * latency counted from each request's due time (coordinated omission corrected). The scenario's
 * own derived metrics (batch flushes) still apply; what it does before its load (the latency
 * scenario's three cold requests, its closed warm-up) does not: a step's warm-up is a window of
 * its own at the step's rate.
 */
import { openLoad } from "./open.js";
import { loadTarget } from "./request.js";
import type { Scenario } from "../../scenarios/contract.js";

/** The scenario as a capacity step loads it: `ctx.rate` offered, `ctx.connections` at most. */
export function openStepScenario(base: Scenario): Scenario {
  const key = base.uses[0]!;
  return {
    ...base,
    async run(ctx) {
      if (ctx.rate === undefined) throw new Error(`a capacity step of ${base.name} needs a rate`);
      const target = loadTarget(ctx.target.executorUrl, ctx.requests[key]!);
      await ctx.measureStart();
      const r = await openLoad({
        ...target,
        rate: ctx.rate,
        durationS: ctx.durationS,
        connections: ctx.connections,
        signal: ctx.signal,
      });
      // answered per second of the schedule: short of the offered rate when requests failed or
      // the generator could not send them on time (its lateness is counted apart)
      const sendS = r.achievedRate > 0 ? r.sent / r.achievedRate : r.elapsedS;
      const slo = ctx.sloQuantile === undefined ? undefined : r.answers.okLatency.at(ctx.sloQuantile);
      const metrics: Record<string, number> = {
        offered_rate: ctx.rate,
        achieved_rate: r.ok / sendS,
        rps: r.ok / r.elapsedS,
        requests: r.responses,
        schedule_behind_share: r.behindShare,
        ...r.answers.metrics("latency"),
        ...(slo !== undefined ? { latency_slo_ms: slo } : {}),
      };
      return { metrics, work: r.ok, workUnit: base.capacity?.work ?? "request", answers: r.answers.record() };
    },
  };
}
