/** The results file's schema (perfpack/results@1): what a run records and what the verdict adds. Types only. */
import type { AnswersRecord, Chart, RequestSpec, SeriesPoint } from "../../scenarios/contract.js";

export const RESULTS_SCHEMA = "perfpack/results@1";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  hostname: string;
}

/** A finished trial: ok, or failed with why. */
export type TrialRecord = {
  index: number;
  variant: string;
  scenario: string;
  round: number;
  /** The executor's toggles for this trial (the variant's env plus --env). */
  env: Record<string, string>;
  startedAt: string;
  wallS: number;
  /** Flat named numbers; only what was measured. */
  metrics: Record<string, number>;
  /** The load generator used about a full core: its figures measure the generator, not the executor. */
  generatorBound: boolean;
  /** Executor spark_* counters and histogram parts over the measured window (after − before). */
  executorDelta?: Record<string, number>;
  /** Samples over the window, for scenarios that keep them (soak: RSS, GC share, latency per interval). */
  series?: SeriesPoint[];
  /** --design duet: the slice's arms in the order their load started, whether this arm went first, and its share of the connections. */
  duet?: { arms: string[]; first: boolean; connections: number };
  /** The window's answers, counted apart (HTTP scenarios): successes, non-2xx by code, transport failures, the first failing answer. */
  answers?: AnswersRecord;
} & (
  | { status: "ok" }
  | {
      status: "failed";
      error: string;
      service?: string;
      exit?: { code: number | null; signal: string | null };
      logTail?: string;
    }
);

export interface PlanRecord {
  variants: Array<{
    name: string;
    kind: string;
    env: Record<string, string>;
    system?:
      | { kind: "reference" }
      /** candidate: the candidate side of a gate between two revisions (--candidate-ref); else a baseline arm. */
      | { kind: "revision"; ref: string; commit: string; cmd?: string; candidate?: true }
      /** readyPath: --ready-path, when not /health. */
      | { kind: "command"; cmd: string; readyPath?: string };
  }>;
  /** The checkout perfpack ran from (the reference system): its commit, and whether it had uncommitted changes. */
  checkout?: { commit: string; dirty: boolean };
  /** --warm: each variant's services ran from its first trial to the end of the run; trials were slices of load. */
  warm?: boolean;
  /** --capacity: a capacity search followed the trials, with this SLO (absent: each scenario's guide target) and resolution; a resumed run runs it too. */
  capacity?: { slo?: string; resolution: number };
  /** The trials came from reports made elsewhere (`perfpack import artillery`): no machine or load shape of ours. */
  imported?: "artillery";
  /** Seed of the trial order, when it was random (the gate against a revision). */
  seed?: number;
  /** --design duet: seed of the slices' randomization (start order, the split's remainder), so a resumed run makes the same choices. */
  duetSeed?: number;
  /** The requests the scenarios sent (`${env:…}` references kept, secret-looking literal header values redacted). */
  requests?: Record<string, RequestSpec>;
  /** --design duet: the variants of a round and scenario ran at once on one exchange (absent: alternate). */
  design?: "duet";
  /** --duet-exchange each: every duet arm had its own mock exchange (absent: they shared one). */
  duetExchange?: "each";
  /** --max-errors: the failure share over which a trial failed (absent in older files: 0.01). */
  maxErrors?: number;
  /** --ready-timeout, when not the default 15 s. */
  readyTimeoutS?: number;
  /** --stop-grace, when not the default 5 s. */
  stopGraceS?: number;
  /** --skip-allocation was given. */
  skipAllocation?: true;
  /** --profile: the tool that profiled each variant after the trials. */
  profile?: string;
  scenarios: string[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  rate: number | null;
  wsClients: number;
  /** --ws-rate, when set: the ws scenario's feed, msg/s. */
  wsRate?: number;
  quick: boolean;
  target: string | null;
  order: Array<{ variant: string; scenario: string; round: number }>;
  /** Each scenario's headline metrics and which way is better, so the file explains itself. */
  headlines?: Record<
    string,
    Array<{ metric: string; label: string; better: "higher" | "lower"; gate?: true; unit?: "share" }>
  >;
  /** Each scenario's charts, as it declared them, so the reports draw them without knowing the scenario. */
  charts?: Record<string, readonly Chart[]>;
}

export interface Results {
  schema: typeof RESULTS_SCHEMA;
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  /** true when the run was interrupted (SIGINT/SIGTERM): the trials here are the finished ones. */
  interrupted: boolean;
  /**
   * `run --resume`: each time the run was continued, when, and how many trials were recorded then
   * (the trials after them in `trials` were measured after that resume, later than the ones before).
   */
  resumed?: ResumeRecord[];
  /** The perfpack process writing this file while it runs (a resume refuses a run that is still alive). */
  pid?: number;
  perfpack: string;
  machine: Machine;
  plan: PlanRecord;
  trials: TrialRecord[];
  /** The allocation pass after the trials (objects allocated per request and per second), when it ran. */
  allocation?: AllocationRecord;
  /** `run --capacity`: the capacity search after the trials (its own capacity.json in `folder`), when it ran. */
  capacity?: RunCapacityRecord;
  summary: Summary;
}

/**
 * What a run keeps of its capacity search: per scenario and variant the capacity at the SLO, which
 * the targets table judges the throughput targets on ("HTTP requests/sec" is latency's http_rps).
 */
export interface RunCapacityRecord {
  /** The search's folder, relative to the run folder: capacity.json, report.md, report.html. */
  folder: string;
  interrupted: boolean;
  searches: Array<{
    scenario: string;
    variant: string;
    /** The run's metric that the capacity answers in the targets table (the scenario's throughput headline). */
    metric: string;
    unit: string;
    /** "p95 < 100 ms, errors < 1%". */
    slo: string;
    capacity?: number;
    bracket: [number | null, number | null];
    /** Only "at least": the search never failed above its capacity, or a generator-bound step decided it. */
    atLeast: boolean;
    ended?: string;
  }>;
}

/** One `run --resume` of a run. */
export interface ResumeRecord {
  at: string;
  /** Trials recorded when it resumed: the first `kept` of `trials`. */
  kept: number;
  /** The host it resumed on, when another than the run's (machine.hostname). */
  hostname?: string;
}

export interface AllocationRecord {
  /** How the figures were measured, and their error, in words (the reports print it). */
  method: string;
  /** The scenario whose load ran during the count. */
  scenario: string;
  durationS: number;
  /** By variant: the figures, or why the pass failed. */
  variants: Record<string, AllocationVariant | { error: string }>;
}

export interface AllocationVariant {
  /** JavaScript heap objects allocated in the counted window, and their bytes. */
  objects: number;
  bytes: number;
  /** Requests answered in the window. */
  requests: number;
  windowS: number;
  /** Requests/s during the pass (under the tracker, so lower than the trials'). */
  passRps: number;
  /** Objects/s with no load (the idle window): the service's own timers, metrics, streams. */
  backgroundObjectsPerS: number;
  /** Beyond the background. */
  objectsPerRequest: number;
  bytesPerRequest: number;
  /** The variant's median requests/s in the trials, and objects/s at that rate (with the range over the trials' rounds). */
  trialRps?: number;
  objectsPerS?: number;
  objectsPerSRange?: [number, number];
  /** The functions that allocated the most objects (self, not their callees). */
  top: { fn: string; script: string; line?: number; objects: number; bytes: number }[];
}

export interface Summary {
  /** median over rounds of each metric, by variant then scenario, over ok trials. */
  medians: Record<string, Record<string, Record<string, number>>>;
  failedTrials: number;
  /** Every other variant against the reference, paired by round (filled when the run ends). */
  comparisons?: Comparison[];
  targets?: TargetVerdict[];
  verdict?: { pass: boolean; reasons: string[] };
}

// The verdict's output, as results.json stores it (computed by harness/verdict).

export interface RatioEstimate {
  /** candidate / baseline: the geometric mean of per-round ratios (paired) or of the arms (unpaired). */
  ratio: number;
  /** The interval of the ratio, at `level` (95% when absent). */
  lo: number;
  hi: number;
  /** Two-sided p-value for "the ratio is 1". */
  p: number;
  n: number;
  paired: boolean;
  /** How the interval was made: a bootstrap over rounds, or Student's t on log ratios when rounds are few. */
  method: "bootstrap" | "t";
  /** Two-sided confidence level of [lo, hi], when not 95% (the sequential gate's per-look level). */
  level?: number;
}

/** One metric of one scenario, candidate against reference. */
export interface Comparison {
  scenario: string;
  metric: string;
  label: string;
  better: "higher" | "lower";
  reference: string;
  candidate: string;
  referenceMedian: number;
  candidateMedian: number;
  estimate: RatioEstimate;
  /** Holm-adjusted p over the comparisons of one family (two-sided; one-sided "worse" in the gate). */
  pAdjusted: number;
  significant: boolean;
  /** better / worse: significant and in that direction; same: not significant. */
  direction: "better" | "worse" | "same";
  gate: boolean;
  /**
   * The arms' failure shares (over all their trials) differ by more than --max-errors: they did
   * different work, so the ratio is not a speed change (never significant; the gate calls it
   * against the candidate when it fails more).
   */
  failuresDiffer?: { reference: number; candidate: number };
}

/** A gate metric's call at a look of the sequential gate, against the line. */
export type MetricCall = "regression" | "clear" | "undecided";

/** One look of the sequential gate: its rounds, its intervals' level, and each gate metric's interval and call. */
export interface LookRecord {
  look: number;
  rounds: number;
  level: number;
  elapsedS: number;
  /** By metric key (`candidate · scenario · metric`). */
  calls: Record<string, MetricCall>;
  /** The same keys: the ratio (candidate / reference) and its interval at this look's level. */
  intervals: Record<string, { ratio: number; lo: number; hi: number }>;
}

/** What a report shows of a gate against a revision (gate.json holds it, with more). */
export interface GateReport {
  baseline: string;
  outcome: "pass" | "regression" | "inconclusive";
  reasons: string[];
  maxRegression: number;
  strict: boolean;
  budgetS: number;
  wallS: number;
  design: { maxLooks: number; alpha: number };
  looks: LookRecord[];
  /** The gate metrics at the last look (their keys are the looks' keys). */
  comparisons: Comparison[];
  /** A regression's cause: both arms profiled at once after the decision (absent: not a regression, or --no-profile). */
  cause?: GateCause;
}

/** One function's time per unit of work in each arm of a failed gate's profile, and its change (µs per unit). */
export interface GrewRow {
  /** The function's name ("(anonymous)" when it has none). */
  fn: string;
  /** Where it is: a short path and line ("svc.mjs:9", "undici/lib/api/readable.js:520"); empty for a built-in. */
  location: string;
  referenceUs: number;
  candidateUs: number;
  deltaUs: number;
}

/** One arm of a failed gate's profile: its service under cpuprof, and the work it did meanwhile. */
export interface CauseArm {
  variant: string;
  /** Its .cpuprofile, relative to the run folder (flame/reference.cpuprofile, flame/candidate.cpuprofile). */
  profile: string;
  /** Units of work the arm completed while profiled (requests, orders or messages). */
  units: number;
  samples: number;
  /** Busy (non-idle) time per unit of work, µs, as the differential flamegraph counts it (absent when it could not be drawn). */
  busyUsPerUnit?: number;
}

/**
 * Where a failed gate's extra time went: the regressed scenario with both arms under cpuprof at once
 * (a duet), self time per unit of work in each, and what grew most. Or, when that could not be
 * done, why, in one line (the gate's exit code stands either way).
 */
export type GateCause =
  | {
      status: "profiled";
      scenario: string;
      tool: "cpuprof";
      unit: "request" | "order" | "message";
      /** Seconds of load, both arms at once. */
      loadS: number;
      /** Wall time from the gate's decision to the profiles written and read, seconds. */
      wallS: number;
      reference: CauseArm;
      candidate: CauseArm;
      /** The functions whose time per unit grew most, the largest growth first. */
      grew: GrewRow[];
      /** The differential flamegraph (flame/diff.html), relative to the run folder, once written. */
      diff?: string;
      /** Why there is no differential flamegraph, when there is none. */
      diffNote?: string;
    }
  | {
      status: "not-profiled";
      /** One line: why the arms were not profiled (a service that is not Node, a failure, the cap, Ctrl-C). */
      reason: string;
      wallS: number;
    };

/** The key of a gate metric in a look's calls and intervals. */
export const gateMetricKey = (c: Pick<Comparison, "candidate" | "scenario" | "metric">): string =>
  `${c.candidate} · ${c.scenario} · ${c.metric}`;

export type TargetStatus = "pass" | "stretch-met" | "fail" | "not-measured";

export interface TargetVerdict {
  id: string;
  label: string;
  kind: "headline" | "table";
  status: TargetStatus;
  /** The measured value (a ratio for headline targets), when measured. */
  measured?: number;
  /** What it must reach, in words: "≥ 2×", "< 100 ms (stretch < 50)". */
  requirement: string;
  variant: string;
  gate: boolean;
  note?: string;
}
