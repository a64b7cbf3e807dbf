import type {
  CapacityDocument,
  CapacitySearchRecord,
  CapacityStepRecord,
  Interval,
  StepCall,
  WindowRecord,
} from "../../harness/results/capacity.js";

const SLO = { percentile: 0.95, label: "p95", maxMs: 100, maxErrorShare: 0.01 };

const interval = (estimate: number, spread: number): Interval => ({
  estimate,
  lo: estimate * (1 - spread),
  hi: estimate * (1 + spread),
});

/** A step of three windows around the given p95 (p50 a quarter of it, p99 twice it), achieving `share` of its rate. */
function step(
  seq: number,
  level: number,
  call: StepCall["call"],
  p95: number,
  o: { share?: number; cpu?: number; generatorBound?: boolean; reason?: string } = {},
): CapacityStepRecord {
  const share = o.share ?? 0.99;
  const windows: WindowRecord[] = [0.9, 1, 1.1].map((k) => ({
    offered: level,
    achieved: level * share,
    latencyMs: p95 * k,
    errorShare: 0,
    generatorBound: o.generatorBound ?? false,
    lateShare: 0,
    p50Ms: (p95 * k) / 4,
    p95Ms: p95 * k,
    p99Ms: p95 * k * 2,
    meanMs: (p95 * k) / 3,
    cpuPerUnit: o.cpu ?? 180,
  }));
  return {
    level,
    seq,
    startedAt: `2026-01-02T10:${String(seq).padStart(2, "0")}:00.000Z`,
    windows,
    call: {
      call,
      reason: o.reason ?? `${call}: p95 ${p95} ms against the line 100 ms`,
      latency: interval(p95, 0.1),
      achievedShare: share,
      errorShare: seq === 5 ? 0.002 : 0,
      generatorBound: o.generatorBound ?? false,
    },
    summary: {
      achieved: level * share,
      p50: interval(p95 / 4, 0.1),
      p95: interval(p95, 0.1),
      p99: interval(p95 * 2, 0.15),
      cpuPerUnit: o.cpu ?? 180,
      concurrency: (level * share * p95) / 3000,
    },
  };
}

const search = (variant: string, rest: Partial<CapacitySearchRecord>): CapacitySearchRecord => ({
  scenario: "latency",
  variant,
  level: "rate",
  unit: "req/s",
  slo: SLO,
  steps: [],
  bracket: [undefined, undefined],
  lowerBound: false,
  ...rest,
});

/**
 * A finished capacity job on the latency scenario: baseline bracketed at 1,250 req/s (a fail by
 * saturation and an at-line among its steps, and a USL fit whose peak lies below that), optimized
 * at 3,000 req/s when its budget ended (no fit: too few points). Their steps interleave.
 */
export function sampleCapacity(): CapacityDocument {
  const baseline = search("baseline", {
    probe: { throughput: 1000, p95Ms: 9 },
    seed: 500,
    steps: [
      step(1, 500, "pass", 12, { cpu: 210 }),
      step(3, 1000, "pass", 30, { cpu: 200 }),
      step(5, 2000, "fail", 900, {
        share: 0.85,
        cpu: 230,
        reason: "saturated: achieved 85% of the offered rate (more than 5% short)",
      }),
      step(7, 1500, "at-line", 100, { cpu: 220, reason: "at the line: the p95 interval 90–110 ms straddles 100 ms" }),
      step(9, 1250, "pass", 70, { cpu: 205 }),
    ],
    ended: "bracketed",
    capacity: 1250,
    bracket: [1250, 1500],
    usl: {
      lambda: 52,
      sigma: 0.05,
      kappa: 0.001,
      se: { lambda: 3, sigma: 0.01, kappa: 0.0002 },
      peakN: 30.8,
      peakX: 1000,
      r2: 0.972,
      points: 12,
    },
  });
  const optimized = search("optimized", {
    probe: { throughput: 2000, p95Ms: 4 },
    seed: 1000,
    steps: [
      step(2, 1000, "pass", 5, { cpu: 90 }),
      step(4, 2000, "pass", 9, { cpu: 80 }),
      step(6, 4000, "fail", 400, { share: 0.97, cpu: 85 }),
      step(8, 3000, "pass", 60, { cpu: 82 }),
    ],
    ended: "budget",
    capacity: 3000,
    bracket: [3000, 4000],
    usl: { reason: "6 points are needed below saturation; 4 were measured" },
  });
  const searches = [baseline, optimized];
  const order = searches
    .flatMap((r) => r.steps.map((s) => ({ seq: s.seq, scenario: "latency", variant: r.variant, level: s.level })))
    .sort((a, b) => a.seq - b.seq)
    .map(({ seq: _seq, ...o }) => o);
  return {
    schema: "perfpack/capacity@1",
    runId: "2026-01-02T10-00-00-capacity",
    startedAt: "2026-01-02T10:00:00.000Z",
    finishedAt: "2026-01-02T10:12:00.000Z",
    perfpack: "0.1.0",
    pid: 4242,
    machine: {
      cpuModel: "Test CPU @ 3.0GHz",
      cores: 2,
      memoryGb: 8,
      node: "v20.19.0",
      platform: "linux",
      hostname: "testbed",
    },
    plan: {
      variants: [
        {
          name: "baseline",
          env: { HTTP_KEEPALIVE: "false", BATCH_ENABLED: "false", JSON_STRINGIFIER: "native", WS_COMPRESS: "false" },
        },
        {
          name: "optimized",
          env: { HTTP_KEEPALIVE: "true", BATCH_ENABLED: "true", JSON_STRINGIFIER: "fast", WS_COMPRESS: "true" },
        },
      ],
      scenarios: ["latency"],
      reference: "baseline",
      resolution: 0.05,
      budgetS: 300,
      windowS: 2,
      warmupS: 1,
      minWindows: 3,
      maxWindows: 8,
    },
    order,
    searches,
    ratios: [{ scenario: "latency", candidate: "optimized", reference: "baseline", ratio: 2.4, lo: 2, hi: 3.2 }],
    targets: [],
    interrupted: false,
  };
}
