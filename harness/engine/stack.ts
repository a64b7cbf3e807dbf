import { createServer } from "node:net";
import { ENV_SPECS } from "../../services/executor/src/config.js";
import { launch, type Service } from "./launcher.js";
import { tlsFixture } from "../../services/common/src/project.js";
import { cliPath, executorCli, shellLine, type System } from "./systems.js";
import { startLink, type Link } from "./link.js";

const EXECUTOR_KEYS = new Set(Object.keys(ENV_SPECS));

/** The caller's environment without the executor's own variables: the variant alone decides those. */
export function serviceEnv(env: Readonly<NodeJS.ProcessEnv>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !EXECUTOR_KEYS.has(k)));
}

export { cliPath };

export interface StackOptions {
  /** Extra flags for `perfpack exchange` (e.g. ["--fault-5xx", "0.1"]). */
  exchangeArgs?: string[];
  /** The executor's environment on top of the inherited one: the variant's toggles. */
  executorEnv?: Record<string, string>;
  /** Base environment of both services (default: none; the caller passes serviceEnv(io.env) to inherit). */
  baseEnv?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** The executor to start (default: this checkout's). */
  system?: System;
  /** Fixed ports (default 0: a free port each). */
  exchangePort?: number;
  executorPort?: number;
  /** A user-space link between executor and exchange (--upstream-rtt): the executor's upstream is the link. */
  link?: { rttMs: number; jitterMs: number; bandwidthMbps?: number };
}

export interface Stack {
  exchange: Service;
  executor: Service;
  /** The link between them, when the run emulates a round trip. */
  link?: Link;
  /** Stops the executor first (so it drains), then the exchange. */
  stop(): Promise<void>;
}

export function startExchangeService(args: string[] = [], env: NodeJS.ProcessEnv = {}, readyTimeoutMs?: number, port = 0): Promise<Service> {
  return launch({
    name: "exchange",
    command: process.execPath,
    args: [cliPath(), "exchange", "--port", String(port), ...args],
    env,
    ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
  });
}

export function startExecutorService(exchangeUrl: string, toggles: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}, readyTimeoutMs?: number, port = 0, system?: System): Promise<Service> {
  if (system?.kind === "command") return startCommandService(system, exchangeUrl, toggles, env, readyTimeoutMs, port);
  return launch({
    name: "executor",
    command: process.execPath,
    args: [executorCli(system), "executor", "--port", String(port)],
    env: { ...env, ...toggles, EXCHANGE_URL: exchangeUrl },
    ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
  });
}

/**
 * A user's own service (`--executor-cmd`), by the contract in docs/cli.md: it gets PORT, HOST,
 * EXCHANGE_URL, EXCHANGE_CA_FILE and the variant's env; it is ready when it prints `listening <url>`
 * or its ready path answers below 500.
 */
async function startCommandService(
  system: Extract<System, { kind: "command" }>,
  exchangeUrl: string,
  toggles: Record<string, string>,
  env: NodeJS.ProcessEnv,
  readyTimeoutMs: number | undefined,
  port: number,
): Promise<Service> {
  const p = port || (await freePort());
  return launch({
    name: "executor",
    command: "sh",
    args: ["-c", shellLine(system.cmd)],
    cwd: system.cwd,
    env: { ...env, ...toggles, PORT: String(p), HOST: "127.0.0.1", EXCHANGE_URL: exchangeUrl, EXCHANGE_CA_FILE: tlsFixture.ca() },
    readyUrl: `http://127.0.0.1:${p}${system.readyPath}`,
    group: true,
    ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
  });
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

/**
 * A fresh exchange and an executor wired to it, both on free loopback ports. They start in
 * parallel: the exchange's port is chosen first, and the executor connects to it lazily
 * (its market-stream client retries until the exchange answers).
 */
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const env = o.baseEnv ?? {};
  const port = o.exchangePort || (await freePort());
  const scheme = o.exchangeArgs?.includes("--http") ? "http" : "https";
  // the link listens before either service starts: the executor connects to it lazily, and it to the exchange per connection
  const link = o.link ? await startLink({ host: "127.0.0.1", port, ...o.link }) : undefined;
  const [ex, exe] = await Promise.allSettled([
    startExchangeService(o.exchangeArgs, env, o.readyTimeoutMs, port),
    startExecutorService(`${scheme}://127.0.0.1:${link ? link.port : port}`, o.executorEnv, env, o.readyTimeoutMs, o.executorPort, o.system),
  ]);
  if (ex.status === "rejected" || exe.status === "rejected") {
    if (ex.status === "fulfilled") await ex.value.stop();
    if (exe.status === "fulfilled") await exe.value.stop();
    await link?.close();
    throw ex.status === "rejected" ? ex.reason : (exe as PromiseRejectedResult).reason;
  }
  const exchange = ex.value;
  const executor = exe.value;
  return {
    exchange,
    executor,
    ...(link ? { link } : {}),
    stop: async () => {
      await executor.stop();
      await exchange.stop();
      await link?.close();
    },
  };
}
