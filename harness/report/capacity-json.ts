import type { CapacityDocument, SearchEnd } from "../results/capacity.js";

/** What `perfpack capacity --json` prints: per scenario and variant its capacity and bracket, and the ratios. */
export interface CapacitySummary {
  schema: "perfpack/capacity-summary@1";
  runId: string;
  interrupted: boolean;
  results: Array<{
    scenario: string;
    variant: string;
    unit: string;
    slo: string;
    /** The highest offered level that passed (the scenario's unit); null when none did. */
    capacity: number | null;
    /** [last pass, first fail]; null where the search did not reach one. */
    bracket: [number | null, number | null];
    /** A generator-bound step decided it, or the search reached --max-rate passing: at least this. */
    lowerBound: boolean;
    ended: SearchEnd | null;
    steps: number;
  }>;
  ratios: Array<{
    scenario: string;
    candidate: string;
    reference: string;
    ratio: number | null;
    lo: number | null;
    hi: number | null;
  }>;
}

export function capacitySummary(doc: CapacityDocument): CapacitySummary {
  return {
    schema: "perfpack/capacity-summary@1",
    runId: doc.runId,
    interrupted: doc.interrupted,
    results: doc.searches.map((s) => ({
      scenario: s.scenario,
      variant: s.variant,
      unit: s.unit,
      slo: `${s.slo.label}<${s.slo.maxMs}ms,errors<${Number((s.slo.maxErrorShare * 100).toPrecision(3))}%`,
      capacity: s.capacity ?? null,
      bracket: [s.bracket[0] ?? null, s.bracket[1] ?? null],
      lowerBound: s.lowerBound || s.ended === "at-max",
      ended: s.ended ?? null,
      steps: s.steps.length,
    })),
    ratios: doc.ratios.map((r) => ({
      scenario: r.scenario,
      candidate: r.candidate,
      reference: r.reference,
      ratio: r.ratio ?? null,
      lo: r.lo ?? null,
      hi: r.hi ?? null,
    })),
  };
}
