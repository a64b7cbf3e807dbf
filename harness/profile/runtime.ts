/**
 * What a service's process runs, and whether cpuprof can profile it: a Node process can, anything
 * else cannot, and the line that says so names what would. Read from /proc/<pid>/exe and cmdline
 * (Linux), where the process that listens is known (a shell or npm in front of it is not the service).
 */
import { readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";

/** A process's executable and arguments, when /proc shows them. */
export interface ProcessImage {
  exe: string;
  argv: string[];
}

/** What `pid` runs, per /proc; undefined where there is no /proc, or the process is gone. */
export function processImage(pid: number): ProcessImage | undefined {
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    return { exe, argv };
  } catch {
    return undefined;
  }
}

/** Profilers for the runtimes a service is most often written in, by the executable's name; `cmd` is how it ran. */
const PROFILERS: ReadonlyArray<{ runtime: RegExp; what: string; use: (cmd: string) => string }> = [
  { runtime: /^python[\d.]*$|^pypy/, what: "Python", use: (cmd) => `py-spy (py-spy record -- ${cmd})` },
  { runtime: /^ruby/, what: "Ruby", use: (cmd) => `rbspy (rbspy record -- ${cmd})` },
  { runtime: /^java$/, what: "JVM", use: () => "async-profiler" },
  { runtime: /^php/, what: "PHP", use: (cmd) => `phpspy (phpspy -- ${cmd})` },
];

/** Whether an executable is Node's ("node", "nodejs", "node20" …). */
export const isNode = (exe: string): boolean => /^node(js)?[\d.]*$/.test(basename(exe));

/**
 * Why cpuprof cannot profile a service whose listening process runs `image`, in one line that names
 * what would; undefined when it is Node. Pure.
 */
export function notNodeReason(image: ProcessImage, tool = "cpuprof"): string | undefined {
  if (isNode(image.exe)) return undefined;
  const cmd = image.argv.length ? image.argv.join(" ") : image.exe;
  const known = PROFILERS.find((p) => p.runtime.test(basename(image.exe)));
  const instead = known
    ? `${known.use(cmd)} or Linux perf would profile this ${known.what} service`
    : `Linux perf (perf record -g -- ${cmd}) would profile it`;
  return `${tool} needs a Node service, and the service's listening process runs ${image.exe} (${cmd}); ${instead}`;
}
