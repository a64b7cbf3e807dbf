/** perfpack's documented exit codes, and errors that carry theirs (k6's errext: one lookup at the entry point). */
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

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that knows how the process should end; `detail` (a log tail, a tool's output) is printed after it. */
export class PerfpackError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Bad input: a flag, a config file, a toggle value, a results file. Exit 2. */
export class UsageError extends PerfpackError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The exit code an error asks for; anything unexpected is a run failure. */
export const exitCodeOf = (err: unknown): ExitCode => (err instanceof PerfpackError ? err.exitCode : EXIT.runFailure);
