/** perfpack's documented exit codes (README, "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** the gate found a significant regression, or a target failed */
  gateFailed: 1,
  /** bad flag, bad toggle value, bad config file */
  usage: 2,
  /** a service crashed, never became ready, or the target was unreachable */
  runFailure: 3,
  /** perfpack itself got SIGINT/SIGTERM (128 + SIGINT, as shells report Ctrl-C); finished trials are kept */
  interrupted: 130,
} as const;
