import { spawnTracked, terminate } from "./children.js";

export interface GroupOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting ends the whole group: the command and whatever it started (npm's scripts, Artillery's workers). */
  signal: AbortSignal;
  /** SIGTERM → SIGKILL grace once aborted (default 500 ms: nobody waits for an aborted build). */
  graceMs?: number;
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
    const child = spawnTracked(command, args, {
      env: o.env,
      cwd: o.cwd,
      stdio: ["ignore", "pipe", "pipe"],
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
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const stop = () => void terminate(child, o.graceMs ?? 500);
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
