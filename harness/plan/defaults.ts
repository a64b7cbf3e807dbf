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

/** `--quick`: the CI smoke preset; finishes within 60 s on the 2-core reference machine. */
export const QUICK = {
  rounds: 2,
  durationS: 1,
  warmupS: 0.5,
  connections: 32,
  wsClients: 10,
} as const;
