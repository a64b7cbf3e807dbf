/**
 * capacity.json: what `perfpack capacity` measured, rewritten (atomically) after every step, so
 * that an interrupted search keeps every finished step. Its schema is `perfpack/capacity@1`.
 */
import type { Machine, PlanRecord } from "./schema.js";

/** A service-level objective: a latency percentile under a line, and a failure share under another. */
export interface Slo {
  /** 0.5 … 0.999. */
  percentile: number;
  /** How it reads: "p95", "p99.9". */
  label: string;
  maxMs: number;
  /** Failed share of requests (non-2xx and transport failures), 0 … 1. */
  maxErrorShare: number;
}

/** An estimate with its interval. */
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

/** One measured window of a step, as the step rule reads it. */
export interface StepWindow {
  /** The offered level's work per second (a rate step: its rate; a subscribers step: feed × subscribers). */
  offered: number;
  /** Answered (or delivered) per second. */
  achieved: number;
  /** The SLO's percentile of this window, ms (coordinated-omission corrected on a rate step). */
  latencyMs: number;
  errorShare: number;
  generatorBound: boolean;
  /** Share of requests the generator sent late against its schedule. */
  lateShare: number;
}

/** What the step rule made of a step's windows. */
export interface StepCall {
  call: "pass" | "fail" | "at-line" | "more";
  /** A plain sentence naming the cause. */
  reason: string;
  latency: Interval | undefined;
  achievedShare: number;
  errorShare: number;
  generatorBound: boolean;
}

/** A window's figures beside the rule's: the percentiles, CPU, the generator. */
export interface WindowRecord extends StepWindow {
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  meanMs?: number;
  /** Executor CPU µs per unit of work. */
  cpuPerUnit?: number;
  generatorCores?: number;
  connections?: number;
}

export interface CapacityStepRecord {
  /** The offered rate (or subscribers). */
  level: number;
  /** Its place in the job's order of steps, from 1 (every scenario and variant). */
  seq: number;
  startedAt: string;
  windows: WindowRecord[];
  /** A level tried again after it ended at the line: the seq of its first try, whose windows the call also read. */
  pooledWith?: number;
  /**
   * Before the step, the services were waited for until idle (the previous step's backlog
   * digested): how long, and whether they were (false: the wait's cap ended it).
   */
  quiet?: { waitedS: number; idle: boolean };
  /** The step ran on services started after the probe or the variant's last step that did not pass. */
  freshServices?: boolean;
  call: StepCall;
  /** Across the windows: median achieved, each percentile's interval, CPU per unit, and N = X·R (Little's law). */
  summary: {
    achieved: number;
    p50?: Interval;
    p95?: Interval;
    p99?: Interval;
    cpuPerUnit?: number;
    concurrency?: number;
  };
}

/** The Universal Scalability Law fitted to a search's steps below saturation. */
export interface UslFit {
  lambda: number;
  sigma: number;
  kappa: number;
  se: { lambda: number; sigma: number; kappa: number };
  /** The concurrency of the predicted peak; undefined when κ is 0 (no retrograde region). */
  peakN: number | undefined;
  peakX: number | undefined;
  r2: number;
  points: number;
}

export type SearchEnd = "bracketed" | "below-min" | "at-max" | "budget" | "interrupted" | "failed";

/** One variant's search on one scenario. */
export interface CapacitySearchRecord {
  scenario: string;
  variant: string;
  /** What a step sets, and its unit in reports. */
  level: "rate" | "subscribers";
  unit: string;
  slo: Slo;
  /** The closed-model probe that seeded the search: its throughput and p95. */
  probe?: { throughput: number; p95Ms?: number };
  seed?: number;
  steps: CapacityStepRecord[];
  /** Undefined while it runs. */
  ended?: SearchEnd;
  /** Why it failed (a service died, a route is missing), with the service's log tail. */
  error?: string;
  logTail?: string;
  /** The highest offered level that passed; undefined when none did. */
  capacity?: number;
  /** The last pass and the first fail (or at-line) above it. */
  bracket: [number | undefined, number | undefined];
  /** A generator-bound step decided the capacity: it is a lower bound. */
  lowerBound: boolean;
  usl?: UslFit | { reason: string };
}

/** A candidate's capacity against the reference's, with the range their brackets allow. */
export interface CapacityRatio {
  scenario: string;
  candidate: string;
  reference: string;
  ratio?: number;
  lo?: number;
  hi?: number;
}

/** A throughput target of the guide judged on a capacity: what it was measured as, and how it fared. */
export interface CapacityTargetRow {
  id: string;
  label: string;
  scenario: string;
  variant: string;
  /** Which definition of the figure the row uses (the capacity at the SLO, open model). */
  definition: string;
  requirement: string;
  measured?: number;
  /** The capacity is a lower bound (generator-bound, or the search reached --max-rate). */
  atLeast: boolean;
  status: "stretch-met" | "pass" | "fail" | "not-measured";
}

export interface CapacityDocument {
  schema: "perfpack/capacity@1";
  runId: string;
  startedAt: string;
  finishedAt?: string;
  perfpack: string;
  pid: number;
  machine: Machine;
  plan: {
    variants: Array<{ name: string; env: Record<string, string>; system?: PlanRecord["variants"][number]["system"] }>;
    scenarios: string[];
    /** The reference of the ratios (the first variant). */
    reference: string;
    resolution: number;
    budgetS: number;
    windowS: number;
    warmupS: number;
    minWindows: number;
    maxWindows: number;
  };
  /** Every step in the order measured: the variants' steps interleave, so drift hits each alike. */
  order: Array<{ scenario: string; variant: string; level: number }>;
  searches: CapacitySearchRecord[];
  ratios: CapacityRatio[];
  /** The guide's throughput targets (HTTP requests/sec, orders/sec) judged on the capacities. */
  targets: CapacityTargetRow[];
  interrupted: boolean;
}
