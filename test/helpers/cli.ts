import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliPath } from "../../harness/engine/stack.js";

/**
 * Where the tests' perfpack runs: a scratch directory of this test process, never the repository,
 * so that a run without --out (reports/<run-id>, reports/latest) lands there and the repository's
 * reports/ is left alone. (The OS removes it with the rest of its temporary files.)
 */
export const SCRATCH = mkdtempSync(join(tmpdir(), "perfpack-cwd-"));

export interface CliRun {
  child: ChildProcess;
  output(): string;
  exit: Promise<number | null>;
}

/** Runs `perfpack …` as a real process, without a TTY, in `cwd` (default: the scratch directory). */
export function perfpack(args: string[], env: NodeJS.ProcessEnv = process.env, cwd = SCRATCH): CliRun {
  const child = spawn(process.execPath, [cliPath(), ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exit };
}

/** Resolves once the output matches. */
export async function waitForOutput(run: CliRun, re: RegExp, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(run.output())) {
    if (run.child.exitCode !== null)
      throw new Error(`perfpack exited (${run.child.exitCode}) before printing ${re}:\n${run.output()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`no ${re} within ${timeoutMs} ms:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
