/** Every default of `perfpack run`, in one place. */
export const RUN_DEFAULTS = {
  rounds: 3,
  durationS: 3,
  warmupS: 1,
  connections: 32,
  wsClients: 20,
  /** Readiness timeout of a launched service (docs/cli.md, "A trial"). */
  readyTimeoutMs: 15_000,
  /** --stop-grace: SIGTERM → SIGKILL grace when stopping a service at the end of its trial. */
  stopGraceMs: 5_000,
  /**
   * The grace after Ctrl-C (or when the stop grace is shorter, that one): every child gets SIGTERM at
   * once and SIGKILL this long after, so that the prompt is back within a second; nobody waits for a drain.
   */
  interruptGraceMs: 500,
  /** Generator CPU (cores) at or above which a trial is flagged as generator-bound. */
  generatorBoundCores: 0.9,
  /** --max-errors: the failed share of requests over which a trial fails. */
  maxErrors: 0.01,
  /** --design and --duet-exchange. */
  design: "alternate",
  duetExchange: "shared",
  outRoot: "reports",
} as const;

/**
 * `perfpack gate --baseline-ref`: what a run measures unless flags or the config file say
 * otherwise. `rounds` is the minimum before the first look (GATE_SEQUENTIAL). A duet of warm
 * services in short slices: the noise study in docs/statistics.md measured a paired SD per slice
 * 3–6× lower for the duet than for alternating arms, at half the seconds per slice, and the same
 * SD at 3 s as at 5 s, so the shortest window that keeps it gives the most rounds per budget.
 */
export const GATE_DEFAULTS = {
  variants: "optimized",
  scenarios: "latency",
  rounds: "6",
  duration: "3",
  warmup: "0.5",
  warm: true,
  design: "duet",
  skipAllocation: true,
} as const;

/** The gate's line (--max-regression): against a revision (paired by round), or against a stored run (unpaired, with the drift between runs). */
export const GATE_MAX_REGRESSION = { revision: 0.05, stored: 0.1 } as const;

/**
 * The sequential gate (harness/verdict/sequential.ts): after the minimum rounds (`--rounds`), a
 * look every `batchRounds` (2: the seeded order pairs each random round with its reverse, so each
 * arm goes first equally often within a batch), until every gate metric is decided or `budgetS`
 * (the whole gate, the build included) runs out. `alpha`: the one-sided false-alarm rate at the
 * line, over all looks and metrics.
 */
export const GATE_SEQUENTIAL = { batchRounds: 2, budgetS: 180, alpha: 0.05 } as const;

/**
 * A gate that ends in a regression profiles both arms before it exits (api/gate-cause.ts):
 * `capS` (--profile-cap) bounds that step's wall time, start-up and the profiles' writing
 * included, and the load gets what is left (about 16 s: two services under cpuprof start in about
 * a second). At V8's 1 ms sampling that is some 5,000 samples or more per arm on two cores, so a
 * function with 1% of an arm's time has about 50 samples (±14%); a failed CI gate pays 20 s more.
 * `rows`: the functions that grew most, in report.md.
 */
export const GATE_CAUSE = { capS: 20, rows: 5 } as const;

/** `--quick`: the CI smoke preset; finishes within 60 s on the 2-core reference machine. */
export const QUICK = {
  rounds: 2,
  durationS: 1,
  warmupS: 0.5,
  connections: 32,
  wsClients: 10,
} as const;

/**
 * `perfpack capacity`: each scenario's search (api/capacity.ts) in steps of a warm-up window and
 * then 3 to 8 measured windows; levels double from half the probe's closed-model throughput until
 * a step fails, then bisect to the resolution. The default budget finds baseline's and
 * optimized's latency capacity to 5% on the 2-core reference machine.
 */
export const CAPACITY_DEFAULTS = {
  scenarios: "latency",
  windowS: 2,
  /** A step's unjudged warm-up: its first half climbs to the rate (load/open.ts `dueTimes` says why), the second holds it. */
  warmupS: 2,
  budgetS: 300,
  resolution: 0.05,
  minWindows: 3,
  maxWindows: 8,
  /** The warm-up after the probe or a failed step is this many times as long (api/capacity.ts says why). */
  settleFactor: 3,
  /** The closed-model probe that seeds each variant's search. */
  probeS: 2,
  factor: 2,
  maxRate: 50_000,
  maxSubscribers: 5_000,
} as const;
