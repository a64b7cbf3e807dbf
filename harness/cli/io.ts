import type { ChalkInstance } from "chalk";

/** A stream perfpack writes to. */
export interface Output {
  write(text: string): void;
  isTTY: boolean;
}

/**
 * Everything a command may take from the process (k6's GlobalState): env, streams, colours,
 * signals. Only cli.ts builds one from the real process; tests and the library API build their own.
 * stdout carries results (tables, the verdict, or the --json document); stderr carries progress and logs.
 */
export interface IO {
  env: Readonly<NodeJS.ProcessEnv>;
  /** Where relative paths and perfpack.config.json are found. */
  cwd: string;
  out: Output;
  err: Output;
  /** Colours for what goes to stderr and stdout; no escape codes when colour is off. */
  paint: ChalkInstance;
  /** Registers the handler for SIGINT/SIGTERM of perfpack itself. */
  onInterrupt(handler: () => void): void;
  version: string;
}

/**
 * Colour level: NO_COLOR (any non-empty value) turns colour off (no-color.org); FORCE_COLOR turns it
 * on (0/false off, 1–3 a level); otherwise colour only on a terminal. chalk 5 does not read NO_COLOR.
 */
export function colourLevel(env: Readonly<NodeJS.ProcessEnv>, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0;
  const force = env.FORCE_COLOR;
  if (force) {
    if (force === "false" || force === "0") return 0;
    const n = Number.parseInt(force, 10);
    return (Number.isFinite(n) ? Math.min(Math.max(n, 1), 3) : 1) as 1 | 2 | 3;
  }
  return isTTY ? 1 : 0;
}
