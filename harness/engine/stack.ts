import { createServer } from "node:net";
import { ENV_SPECS } from "../../services/executor/src/config.js";
import { isDescendant, launch, listenerPid, type Service } from "./launcher.js";
import { tlsFixture } from "../../services/common/src/project.js";
import { cliPath, executorCli, serviceCommand, shellLine, type ServiceCommand, type System } from "./systems.js";
import type { LinkSpec } from "../plan/variants.js";

const EXECUTOR_KEYS = new Set(Object.keys(ENV_SPECS));

/** The caller's environment without the executor's own variables: the variant alone decides those. */
export function serviceEnv(env: Readonly<NodeJS.ProcessEnv>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !EXECUTOR_KEYS.has(k)));
}

export { cliPath };

/** How a process is started: what the stack would run, and what a wrap (a profiler, an agent) makes of it. */
export interface StartCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * A tool or agent around the executor's start: the profiler puts 0x or clinic in front of it, or
 * preloads an agent through NODE_OPTIONS. It gets the command the stack built (the bundled
 * executor, or a team's service under `sh -c`) and that service's own command, if any.
 */
export type ExecutorWrap = (start: StartCommand, service: ServiceCommand | undefined) => WrappedCommand;

/** A wrapped start may rename the service (in its errors) and wait longer for it (a profiler starts slowly). */
export type WrappedCommand = StartCommand & { name?: string; readyTimeoutMs?: number };

/** One executor of a stack: its variant's settings, and what sits around it. */
export interface ArmOptions {
  /** The executor's environment on top of the inherited one: the variant's toggles. */
  executorEnv?: Record<string, string>;
  /** The executor to start (default: this checkout's). */
  system?: System;
  /** A user-space link between executor and exchange (--upstream-rtt): the executor's upstream is the link. */
  link?: LinkSpec;
  /** A profiler or agent around the executor's start. */
  wrap?: ExecutorWrap;
  /** A fixed port (default 0: a free port). */
  executorPort?: number;
}

/** The exchange and what both services inherit. */
export interface ExchangeOptions {
  /** Extra flags for `perfpack exchange` (e.g. ["--fault-5xx", "0.1"]). */
  exchangeArgs?: string[];
  /** The exchange serves plain HTTP (`--http`) instead of HTTPS; the executor's upstream URL follows. */
  plainHttp?: boolean;
  /** Base environment of every service (default: none; the caller passes serviceEnv(io.env) to inherit). */
  baseEnv?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** A fixed port (default 0: a free port). */
  exchangePort?: number;
}

export type StackOptions = ExchangeOptions & ArmOptions;

export interface Stack {
  exchange: Service;
  executor: Service;
  /** The link between them, a process of its own, when the run emulates a round trip. */
  link?: Service;
  /** Its processes: executor, exchange and link (an arm's view of a shared stack: its executor and link only). */
  services: Service[];
  /**
   * Stops the executor first (so it drains), then the link, then the exchange (an arm's view leaves the shared
   * exchange running); SIGKILL after `graceMs` for the executor and the link, the default for the exchange.
   */
  stop(graceMs?: number): Promise<void>;
}

/** One exchange and every arm's executor on it: a Stack view per arm (its executor, its link, the shared exchange). */
export interface SharedStack {
  exchange: Service;
  arms: Stack[];
  /** Every process: each arm's executor and link, then the exchange. */
  services: Service[];
  stop(graceMs?: number): Promise<void>;
}

export function startExchangeService(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  readyTimeoutMs?: number,
  port = 0,
): Promise<Service> {
  return launch({
    name: "exchange",
    command: process.execPath,
    args: [cliPath(), "exchange", "--port", String(port), ...args],
    env,
    readyTimeoutMs,
  });
}

/** `perfpack link` in front of the exchange's port: its own process, so its CPU is measured apart. */
export function startLinkService(
  to: number,
  link: LinkSpec,
  port: number,
  env: NodeJS.ProcessEnv,
  readyTimeoutMs?: number,
): Promise<Service> {
  return launch({
    name: "link",
    command: process.execPath,
    args: [
      cliPath(),
      "link",
      "--to",
      `127.0.0.1:${to}`,
      "--port",
      String(port),
      "--rtt",
      `${link.rttMs}:${link.jitterMs}`,
      ...(link.bandwidthMbps ? ["--bandwidth", String(link.bandwidthMbps)] : []),
    ],
    env,
    tcp: true,
    readyTimeoutMs,
  });
}

export async function startExecutorService(
  exchangeUrl: string,
  toggles: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
  readyTimeoutMs?: number,
  port = 0,
  system?: System,
  wrap?: ExecutorWrap,
): Promise<Service> {
  const command = serviceCommand(system);
  if (command) return startCommandService(command, exchangeUrl, toggles, env, readyTimeoutMs, port, wrap);
  const base: StartCommand = {
    command: process.execPath,
    args: [executorCli(system), "executor", "--port", String(port)],
    env: { ...env, ...toggles, EXCHANGE_URL: exchangeUrl },
  };
  const w: WrappedCommand = wrap?.(base, undefined) ?? base;
  const timeout = w.readyTimeoutMs ?? readyTimeoutMs;
  return launch({
    name: w.name ?? "executor",
    command: w.command,
    args: w.args,
    env: w.env,
    readyTimeoutMs: timeout,
    // a profiler runs the executor as its own child: the pid that answers /health descends from ours
    acceptPid: wrap ? (pid, child) => isDescendant(pid, child) : undefined,
  });
}

/**
 * A user's own service (`--executor-cmd`), by the contract in docs/cli.md: it gets PORT, HOST,
 * EXCHANGE_URL, EXCHANGE_CA_FILE and the variant's env; it is ready when it prints `listening <url>`
 * or its ready path answers below 500.
 */
async function startCommandService(
  system: ServiceCommand,
  exchangeUrl: string,
  toggles: Record<string, string>,
  env: NodeJS.ProcessEnv,
  readyTimeoutMs: number | undefined,
  port: number,
  wrap: ExecutorWrap | undefined,
): Promise<Service> {
  const p = port || (await freePort());
  const base: StartCommand = {
    command: "sh",
    args: ["-c", shellLine(system.cmd)],
    env: {
      ...env,
      ...toggles,
      PORT: String(p),
      HOST: "127.0.0.1",
      EXCHANGE_URL: exchangeUrl,
      EXCHANGE_CA_FILE: tlsFixture.ca(),
    },
  };
  const w: WrappedCommand = wrap?.(base, system) ?? base;
  const timeout = w.readyTimeoutMs ?? readyTimeoutMs;
  const service = await launch({
    name: w.name ?? "executor",
    command: w.command,
    args: w.args,
    cwd: system.cwd,
    env: w.env,
    readyUrl: `http://127.0.0.1:${p}${system.readyPath}`,
    readyTimeoutMs: timeout,
  });
  if (!wrap) return service;
  // under a tool the process that serves the port is not the one started (a shell, npm, the tool): it is the one to signal
  const pid = listenerPid(p, service.pid);
  return pid === undefined ? service : { ...service, servicePid: pid };
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits for a group of starts; when one fails, stops those that started and throws its error. */
export async function settle<T>(
  starts: ReadonlyArray<Promise<T>>,
  stop: (started: T) => Promise<unknown>,
): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (!failed) return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  await Promise.all(settled.map((r) => (r.status === "fulfilled" ? stop(r.value) : undefined)));
  throw failed.reason;
}
