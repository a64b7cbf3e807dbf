import { EXIT, PerfpackError } from "../errors.js";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  descendantsIn,
  listeningSockets,
  procEntry,
  processTable,
  socketInodes,
} from "../../services/common/src/proc.js";
import { Agent, request } from "undici";
import { tlsFixture } from "../../services/common/src/project.js";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnTracked, terminate, type ExitInfo } from "../../services/common/src/children.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";

export type { ExitInfo };

/** How to start one service process. */
export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Give up on readiness after this long (default 15 s). */
  readyTimeoutMs?: number;
  /** Health path probed once the service says `listening <url>` (default /health). */
  healthPath?: string;
  cwd?: string;
  /**
   * Whether the pid in the health answer is the process we started. Default: the child itself;
   * a profiler (0x, clinic) runs the service as its own child, so there a descendant is ours.
   */
  acceptPid?: (healthPid: number, childPid: number) => boolean;
  /**
   * A service perfpack does not know (a user's own): ready when it prints `listening <url>` or when
   * this URL answers below 500, whichever comes first; no pid check, since its health says nothing of it.
   */
  readyUrl?: string;
  /** A TCP service (the link): ready at its `listening tcp://…` line; it has no health endpoint to ask. */
  tcp?: boolean;
}

export interface Service {
  readonly name: string;
  readonly pid: number;
  /** The pid that answered /health (the service itself, under a profiler its grandchild). */
  readonly servicePid: number;
  readonly url: string;
  /** The last `lines` lines of the service's stdout+stderr. */
  logTail(lines?: number): string;
  log(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM to its process group, then SIGKILL after `graceMs` (default: the run's stop grace); resolves once it is gone. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/** A service that did not become ready. A service that refused its configuration (exit 2) is a usage error. */
export class LaunchError extends PerfpackError {
  constructor(
    message: string,
    readonly service: string,
    readonly exit: ExitInfo | undefined,
    readonly logTail: string,
  ) {
    super(
      message,
      exit?.code === EXIT.usage ? EXIT.usage : EXIT.runFailure,
      `--- last lines of its log ---\n${logTail}`,
    );
  }
}

const LOG_LIMIT = 256 * 1024;
/** Polls `url` until it answers below 500 (true), or `go()` turns false (false). */
async function pollReady(url: string, go: () => boolean): Promise<boolean> {
  for (let attempt = 0; go(); attempt++) {
    try {
      if ((await getJson(url, 1000)).status < 500) return go();
    } catch {
      // not listening yet
    }
    await sleep(Math.min(10 * 2 ** attempt, 200));
  }
  return false;
}

let probeAgent: Agent | undefined;
function agent(): Agent {
  probeAgent ??= new Agent({ connect: { ca: readFileSync(tlsFixture.ca()) }, keepAliveTimeout: 10 });
  return probeAgent;
}

/** GET url and parse JSON; loopback fixture CA trusted for https. */
export async function getJson(url: string, timeoutMs = 2000): Promise<{ status: number; body: unknown }> {
  const res = await request(url, { dispatcher: agent(), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.statusCode, body };
}

/** A started child: its process, its exit, and the tail of what it printed (stdout and stderr, capped). */
class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private text = "";

  constructor(spec: ServiceSpec) {
    // a process group of its own, so that stopping it stops what it started (a shell's, npm's or a
    // profiler's children), and a watchdog that ends the group if perfpack dies
    const child = spawnTracked(spec.command, spec.args, {
      env: spec.env,
      cwd: spec.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process = child;
    child.stdout!.on("data", (c: Buffer) => this.append(c));
    child.stderr!.on("data", (c: Buffer) => this.append(c));
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    child.once("error", (err) => this.append(Buffer.from(`spawn failed: ${err.message}\n`)));
  }

  get log(): string {
    return this.text;
  }

  readonly tail = (n = 20): string =>
    this.text
      .split("\n")
      .slice(-n - 1)
      .join("\n")
      .trimEnd();

  get gone(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  private append(chunk: Buffer): void {
    this.text += chunk.toString("utf8");
    if (this.text.length > LOG_LIMIT) this.text = this.text.slice(-LOG_LIMIT / 2);
  }
}

/** The URL the service printed (`listening <url>`), or its ready URL's origin once that answers; its exit; or the timeout. */
function listening(c: Child, readyUrl: string | undefined, timeoutMs: number): Promise<string | ExitInfo | "timeout"> {
  let probing = readyUrl !== undefined;
  return new Promise<string | ExitInfo | "timeout">((resolve) => {
    const done = (r: string | ExitInfo | "timeout") => {
      probing = false;
      clearTimeout(timer);
      c.process.stdout!.off("data", onData);
      resolve(r);
    };
    if (readyUrl) void pollReady(readyUrl, () => probing).then((ok) => ok && done(new URL(readyUrl).origin));
    const onData = () => {
      const m = /listening ((?:https?|wss?|tcp):\/\/\S+)/.exec(c.log);
      if (m) done(m[1]!);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    c.process.stdout!.on("data", onData);
    void c.exited.then(done);
  });
}

/** Probes health until it answers 200 from our process (its pid), the child exits, or the deadline passes. */
async function healthyPid(
  c: Child,
  url: string,
  spec: ServiceSpec,
  deadline: number,
): Promise<{ pid: number } | { exit: ExitInfo } | { problem: string }> {
  let problem = "no answer";
  const ours = spec.acceptPid ?? ((p, child) => p === child);
  for (let attempt = 0; ; attempt++) {
    if (c.gone) return { exit: await c.exited };
    try {
      const r = await getJson(url + (spec.healthPath ?? "/health"));
      const pid = (r.body as { pid?: number })?.pid;
      if (r.status === 200 && pid !== undefined && ours(pid, c.process.pid!)) return { pid };
      problem =
        r.status !== 200
          ? `health answered ${r.status}`
          : `health answered for pid ${pid}, not ours (${c.process.pid})`;
    } catch (err) {
      problem = (err as Error).message;
    }
    // back off between probes: 10, 20, 40 … 200 ms; a probe is a request, not a sleep-for-readiness
    await sleep(Math.min(10 * 2 ** attempt, 200));
    if (Date.now() >= deadline) return { problem };
  }
}

/**
 * Starts a service and waits until it is ready: it printed `listening <url>`, its health
 * endpoint answers 200, and the answer carries the pid of the process we started (so a
 * stale process on the same port cannot pass for it). Never sleeps for readiness.
 */
export async function launch(spec: ServiceSpec): Promise<Service> {
  const c = new Child(spec);
  const timeoutMs = spec.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const fail = async (why: string, exit?: ExitInfo): Promise<never> => {
    const info = exit ?? (await terminate(c.process, 2000));
    throw new LaunchError(`${spec.name} ${why}`, spec.name, info, c.tail());
  };
  const service = (url: string, servicePid: number): Service => ({
    name: spec.name,
    pid: c.process.pid!,
    servicePid,
    url,
    logTail: c.tail,
    log: () => c.log,
    exited: c.exited,
    stop: (graceMs = RUN_DEFAULTS.stopGraceMs) => terminate(c.process, graceMs),
  });
  const timeout = "(the ready timeout; perfpack run --ready-timeout sets it)";

  // 1. the `listening <url>` line (or, for a user's service, its ready URL answering)
  const url = await listening(c, spec.readyUrl, timeoutMs);
  if (url === "timeout")
    return fail(
      spec.readyUrl
        ? `printed no 'listening <url>' line and ${spec.readyUrl} did not answer below 500 within ${timeoutMs} ms ${timeout}`
        : `printed no 'listening <url>' line within ${timeoutMs} ms ${timeout}`,
    );
  if (typeof url !== "string") return fail(`exited before it was ready (code ${url.code}, signal ${url.signal})`, url);
  if (spec.readyUrl || spec.tcp) return service(url, c.process.pid!);

  // 2. health answers, from our pid
  const h = await healthyPid(c, url, spec, deadline);
  if ("exit" in h) return fail(`exited before it was ready (code ${h.exit.code}, signal ${h.exit.signal})`, h.exit);
  if ("problem" in h) return fail(`did not become healthy within ${timeoutMs} ms ${timeout}: ${h.problem}`);
  return service(url, h.pid);
}

/** A process's state, parent and CPU time (utime, stime in clock ticks), from /proc (services/common/src/proc.ts). */
export { procEntry as procStat };

/** true when `pid` descends from `ancestor` (per /proc). */
export function isDescendant(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 16; hops++) {
    if (p === ancestor) return true;
    const s = procEntry(p);
    if (!s) return false;
    p = s.ppid;
  }
  return false;
}

/**
 * The process that listens on TCP `port`, among `root` and its descendants: a service started
 * through a shell, npm or a profiler is not the process perfpack started. Per /proc (Linux).
 */
export function listenerPid(port: number, root: number): number | undefined {
  const inodes = new Set(
    listeningSockets()
      .filter((s) => s.port === port)
      .map((s) => s.inode),
  );
  if (inodes.size === 0) return undefined;
  for (const pid of [root, ...descendantsIn(processTable(), root)])
    for (const inode of socketInodes(pid)) if (inodes.has(inode)) return pid;
  return undefined;
}
