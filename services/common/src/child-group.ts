import { spawn } from "node:child_process";

export interface GroupOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting ends the whole group with SIGTERM: the command and whatever it started (npm's scripts, Artillery's workers). */
  signal: AbortSignal;
  /** Each complete line of stdout and stderr, as it comes, with the child's pid. */
  onLine?: (line: string, pid: number) => void;
  /** Characters of output kept for the result (the tail); default 20,000. */
  keep?: number;
}

/**
 * Runs a command in a process group of its own and resolves, once its output has ended, with its
 * exit code (null when a signal ended it) and the tail of its output (stdout and stderr as they
 * interleaved). A command that cannot start (not found) rejects. Already aborted: nothing starts,
 * and it resolves with code null.
 */
export function runGroup(
  command: string,
  args: readonly string[],
  o: GroupOptions,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    if (o.signal.aborted) return resolve({ code: null, output: "" });
    const keep = o.keep ?? 20_000;
    const child = spawn(command, args, {
      env: o.env,
      cwd: o.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    let partial = "";
    const onData = (d: Buffer) => {
      const text = d.toString();
      output = (output + text).slice(-keep);
      if (!o.onLine) return;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const l of lines) o.onLine(l, child.pid!);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const stop = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // the group is gone already
      }
    };
    o.signal.addEventListener("abort", stop, { once: true });
    child.on("error", (err) => {
      o.signal.removeEventListener("abort", stop);
      reject(err);
    });
    child.on("close", (code) => {
      o.signal.removeEventListener("abort", stop);
      resolve({ code, output });
    });
  });
}
