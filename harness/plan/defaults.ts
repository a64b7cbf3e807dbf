/** Every default of `perfpack run`, in one place. */
export const RUN_DEFAULTS = {
  rounds: 3,
  durationS: 3,
  warmupS: 1,
  connections: 32,
  wsClients: 20,
  /** Readiness timeout of a launched service (docs/cli.md, "A trial"). */
  readyTimeoutMs: 15_000,
  /** SIGTERM → SIGKILL grace when stopping a service. */
  stopGraceMs: 5_000,
  /** Generator CPU (cores) at or above which a trial is flagged as generator-bound. */
  generatorBoundCores: 0.9,
  outRoot: "reports",
} as const;

/**
 * `perfpack gate --baseline-ref`: what a run measures unless flags say otherwise. Windows of 5 s
 * after 1 s of warm-up: the A/A series in issue 12 measured a paired SD of 0.06 (req/s) and 0.05
 * (CPU µs/request) at 6 s windows, against 0.17–0.19 at 2 s.
 */
export const GATE_DEFAULTS = { variants: "optimized", scenarios: "latency", rounds: "6", duration: "5", warmup: "1" } as const;

/** `--quick`: the CI smoke preset; finishes within 60 s on the 2-core reference machine. */
export const QUICK = {
  rounds: 2,
  durationS: 1,
  warmupS: 0.5,
  connections: 32,
  wsClients: 10,
} as const;
