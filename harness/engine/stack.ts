import { createServer } from "node:net";
import { ENV_SPECS } from "../../services/executor/src/config.js";
import { launch, type Service } from "./launcher.js";
import { tlsFixture } from "../../services/common/src/project.js";
import { cliPath, executorCli, serviceCommand, shellLine, type ServiceCommand, type System } from "./systems.js";
import type { LinkSpec } from "../plan/variants.js";

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
  link?: LinkSpec;
}

export interface Stack {
  exchange: Service;
  executor: Service;
  /** The link between them, a process of its own, when the run emulates a round trip. */
  link?: Service;
  /** Every process of the stack: executor, exchange, and the link when there is one. */
  services: Service[];
  /** Stops the executor first (so it drains), then the link, then the exchange. */
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

/** `perfpack link` in front of the exchange's port: its own process, so its CPU is measured apart. */
function startLinkService(to: number, link: NonNullable<StackOptions["link"]>, port = 0, env: NodeJS.ProcessEnv = {}, readyTimeoutMs?: number): Promise<Service> {
  return launch({
    name: "link",
    command: process.execPath,
    args: [cliPath(), "link", "--to", `127.0.0.1:${to}`, "--port", String(port), "--rtt", `${link.rttMs}:${link.jitterMs}`, ...(link.bandwidthMbps ? ["--bandwidth", String(link.bandwidthMbps)] : [])],
    env,
    tcp: true,
    ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
  });
}

export function startExecutorService(exchangeUrl: string, toggles: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}, readyTimeoutMs?: number, port = 0, system?: System): Promise<Service> {
  const command = serviceCommand(system);
  if (command) return startCommandService(command, exchangeUrl, toggles, env, readyTimeoutMs, port);
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
  system: ServiceCommand,
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
  // all three start at once on ports chosen first: the executor connects to the link lazily, and
  // the link to the exchange once per connection
  const linkPort = o.link ? await freePort() : undefined;
  const started = await Promise.allSettled([
    startExchangeService(o.exchangeArgs, env, o.readyTimeoutMs, port),
    startExecutorService(`${scheme}://127.0.0.1:${linkPort ?? port}`, o.executorEnv, env, o.readyTimeoutMs, o.executorPort, o.system),
    ...(o.link ? [startLinkService(port, o.link, linkPort!, env, o.readyTimeoutMs)] : []),
  ]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    for (const r of started) if (r.status === "fulfilled") await r.value.stop();
    throw failed.reason;
  }
  const [exchange, executor, link] = started.map((r) => (r as PromiseFulfilledResult<Service>).value) as [Service, Service, Service | undefined];
  return {
    exchange,
    executor,
    ...(link ? { link } : {}),
    services: [executor, exchange, ...(link ? [link] : [])],
    stop: async () => {
      await executor.stop();
      await link?.stop();
      await exchange.stop();
    },
  };
}

/**
 * `--design duet --duet-exchange each`: a whole stack per arm, started at once; when one fails to
 * start, the others are stopped and its error is thrown.
 */
export async function startStacks(all: readonly StackOptions[]): Promise<Stack[]> {
  const started = await Promise.allSettled(all.map((o) => startStack(o)));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return started.map((r) => (r as PromiseFulfilledResult<Stack>).value);
}

/** One arm of a duet: its executor (and its own link) beside the other arms', on one exchange. */
export type ArmOptions = Pick<StackOptions, "executorEnv" | "system" | "link">;

/** A duet's services: one exchange shared by every arm, and a Stack view per arm (its executor, its link, the shared exchange). */
export interface SharedStack {
  exchange: Service;
  arms: Stack[];
  /** Every process: each arm's executor and link, then the exchange. */
  services: Service[];
  stop(): Promise<void>;
}

/**
 * `--design duet`: one mock exchange and every arm's executor wired to it, all started at once
 * (as startStack starts one). Each arm may have its own link (--upstream-rtt is per variant).
 * An arm's view stops only its own processes; the shared stack stops them all, executors first.
 */
export async function startSharedStack(o: Omit<StackOptions, "executorEnv" | "system" | "link" | "executorPort"> & { arms: ArmOptions[] }): Promise<SharedStack> {
  const env = o.baseEnv ?? {};
  const port = o.exchangePort || (await freePort());
  const scheme = o.exchangeArgs?.includes("--http") ? "http" : "https";
  const linkPorts = await Promise.all(o.arms.map((a) => (a.link ? freePort() : Promise.resolve(undefined))));
  const exchangeP = startExchangeService(o.exchangeArgs, env, o.readyTimeoutMs, port);
  const armsP = o.arms.map((a, i) =>
    Promise.all([
      startExecutorService(`${scheme}://127.0.0.1:${linkPorts[i] ?? port}`, a.executorEnv, env, o.readyTimeoutMs, 0, a.system),
      a.link ? startLinkService(port, a.link, linkPorts[i]!, env, o.readyTimeoutMs) : Promise.resolve(undefined),
    ]),
  );
  const started = await Promise.allSettled([exchangeP, ...armsP]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    // what did start is stopped; an arm whose executor started but whose link did not is settled apart
    const stops: Array<Promise<unknown>> = [];
    for (const p of [exchangeP, ...armsP.flatMap((a) => [a.then(([e]) => e), a.then(([, l]) => l)])])
      stops.push(
        p.then(
          (s) => s?.stop(),
          () => undefined,
        ),
      );
    await Promise.all(stops);
    throw failed.reason;
  }
  const exchange = (started[0] as PromiseFulfilledResult<Service>).value;
  const arms: Stack[] = started.slice(1).map((r) => {
    const [executor, link] = (r as PromiseFulfilledResult<[Service, Service | undefined]>).value;
    return {
      exchange,
      executor,
      ...(link ? { link } : {}),
      services: [executor, ...(link ? [link] : [])],
      stop: async () => {
        await executor.stop();
        await link?.stop();
      },
    };
  });
  return {
    exchange,
    arms,
    services: [...arms.flatMap((a) => a.services), exchange],
    stop: async () => {
      await Promise.all(arms.map((a) => a.stop()));
      await exchange.stop();
    },
  };
}
