/**
 * What a service process runs: its executable and command line, from /proc (Linux), so that a
 * profiler that only works on Node.js (cpuprof, 0x, clinic) is refused before any load is sent to
 * a Python, Go or Java service, with the profiler that would work named instead.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";

export interface ProcessRuntime {
  pid: number;
  /** The executable's path (/proc/PID/exe), e.g. /usr/bin/python3.11. */
  exe: string;
  /** The command line, space-joined. */
  cmdline: string;
  kind: "node" | "python" | "other";
}

/** The runtime of `pid`, or undefined where /proc cannot say (not Linux, or the process is gone). */
export function processRuntime(pid: number): ProcessRuntime | undefined {
  let exe: string;
  let argv: string[];
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
  const names = [basename(exe), basename(argv[0] ?? "")];
  const kind = names.some((n) => /^(node|nodejs)(\d+(\.\d+)*)?$/.test(n))
    ? "node"
    : names.some((n) => /^python(\d+(\.\d+)*)?$/.test(n))
      ? "python"
      : "other";
  return { pid, exe, cmdline: argv.join(" "), kind };
}

/** What would profile a service that is not Node.js: py-spy for Python, Linux perf for anything. */
function profilerFor(rt: ProcessRuntime): string {
  const perf = `Linux perf (perf record -g -p ${rt.pid})`;
  return rt.kind === "python" ? `py-spy (py-spy record -o flame.svg --pid ${rt.pid}) or ${perf}` : perf;
}

/** The one line that says a Node-only profiler cannot profile this service, and what would. */
export function notNodeMessage(tool: string, rt: ProcessRuntime, url: string): string {
  return `--tool ${tool} profiles Node.js services only: the process listening on ${url} (pid ${rt.pid}) runs ${rt.exe} (${rt.cmdline}); nothing was loaded. To profile it, use ${profilerFor(rt)}`;
}
