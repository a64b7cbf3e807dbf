/** Every default of `perfpack run`, in one place. */
export const RUN_DEFAULTS = {
  rounds: 3,
  durationS: 3,
  warmupS: 1,
  connections: 32,
  wsClients: 20,
  scenarios: ["latency", "batch", "json", "ws"],
  variants: ["baseline", "optimized"],
  /** Readiness timeout of a launched service; see README "Launcher". */
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
