// Process helpers shared by the benchmark scripts: start a service and wait for `listening <url>`,
// read a process's CPU from /proc, stop what was started (by PID, never by name).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds of a process so far; with `children`, those of its waited-for children. */
export function cpuS(pid, children = false) {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (children ? Number(f[13]) + Number(f[14]) : Number(f[11]) + Number(f[12])) / TICKS;
}

/** CPU seconds of the waited-for children recorded in a /proc stat line (a shell's, read at its end). */
export function childrenCpuS(statLine) {
  const f = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / TICKS;
}

const started = [];
/** Starts a service; resolves with { name, pid, url, child } once it prints `listening <url>`. */
export function start(name, command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    started.push(child);
    let log = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not print "listening <url>" within 15 s:\n${log}`)), 15_000);
    child.stderr.on("data", (d) => (log += d));
    child.stdout.on("data", (d) => {
      log += d;
      const m = /listening (\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ name, pid: child.pid, url: m[1], child });
      }
    });
    child.on("exit", (code) => reject(new Error(`${name} exited ${code}:\n${log}`)));
  });
}

/** Stops one started service (SIGTERM) and waits for it. */
export function stop(service) {
  const c = service.child;
  return c.exitCode === null && c.signalCode === null ? new Promise((r) => (c.once("exit", r), c.kill("SIGTERM"))) : Promise.resolve();
}

export const stopAll = () => Promise.all(started.map((child) => stop({ child })));
process.on("SIGINT", () => stopAll().then(() => process.exit(130)));

/** Median of numbers (mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  const mid = s.length / 2;
  return s.length % 2 ? s[Math.floor(mid)] : (s[mid - 1] + s[mid]) / 2;
}

/** Median µs per call of fn: `runs` runs of ~300 ms each, each run's mean per call. */
export function usPerCall(fn, runs = 7) {
  const each = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 300) {
      fn();
      n++;
    }
    each.push(((performance.now() - t0) * 1000) / n);
  }
  return median(each);
}
