/**
 * The one place that puts services under a scenario's load (hyperfine's `Executor` seam): it
 * starts the services of one arm, of a duet on a shared exchange, or of each arm on its own;
 * gives each arm the ScenarioContext a scenario runs in; watches for a service that dies while it
 * is loaded; and stops them and keeps their logs. The runner, the profiler and the allocation
 * pass all start services here; capacity search and run history will too.
 */
import { writeFileSync } from "node:fs";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import type { Service } from "./launcher.js";
import {
  freePort,
  settle,
  startExchangeService,
  startExecutorService,
  startLinkService,
  type ArmOptions,
  type ExchangeOptions,
  type SharedStack,
  type Stack,
  type StackOptions,
} from "./stack.js";
import type { ScenarioContext, ScenarioTarget } from "../../scenarios/contract.js";

export { serviceEnv, type ExecutorWrap, type Stack, type StartCommand } from "./stack.js";

/** One arm to start: its executor's settings, and what the scenario is told of them. */
export interface RigArm extends ArmOptions {
  /** The variant's name: a duet prefixes its arms' log lines with it. */
  name: string;
  /** The variant's settings as the scenario sees them (its target's toggles, until /health says otherwise). */
  toggles: Record<string, unknown>;
}

export interface RigOptions extends ExchangeOptions {
  arms: readonly RigArm[];
  /** Several arms: one exchange for every arm (shared, the default) or one each. */
  exchange?: "shared" | "each";
}

/** One arm, ready for load: where its load goes and which processes serve it. */
export interface LoadedArm {
  name: string;
  target: ScenarioTarget;
  pids: { executor?: number; exchange?: number; link?: number };
  /** Its processes, when perfpack started them (none under --target). */
  stack?: Stack;
}

/** A service that exited while it was under load. */
export interface Death {
  service: string;
  code: number | null;
  signal: string | null;
}

/** The load a scenario puts on one arm: the run's settings, with the arm's share of connections and subscribers. */
export type LoadShape = Pick<
  ScenarioContext,
  "durationS" | "warmupS" | "connections" | "rate" | "wsClients" | "requests" | "sloQuantile"
>;

/** What the caller of a scenario hears from it: the measured window's marks, its log lines, and its abort. */
export type WindowHooks = Pick<ScenarioContext, "signal" | "log" | "measureStart" | "measureEnd" | "artillery">;

/**
 * One mock exchange and every arm's executor wired to it, all on free loopback ports, started at
 * once: the ports are chosen first, the executor connects to its upstream lazily (its
 * market-stream client retries until the exchange answers), and a link to the exchange once per
 * connection. Each arm may have its own link (--upstream-rtt is per variant). An arm's view stops
 * only its own processes; the shared stack stops them all, executors first.
 */
async function startSharedStack(o: ExchangeOptions & { arms: readonly ArmOptions[] }): Promise<SharedStack> {
  const env = o.baseEnv ?? {};
  const port = o.exchangePort || (await freePort());
  const scheme = o.plainHttp ? "http" : "https";
  const linkPorts = await Promise.all(o.arms.map((a) => (a.link ? freePort() : Promise.resolve(undefined))));
  const exchangeArgs = [...(o.exchangeArgs ?? []), ...(o.plainHttp ? ["--http"] : [])];
  const starts: Array<Promise<Service>> = [startExchangeService(exchangeArgs, env, o.readyTimeoutMs, port)];
  for (const [i, a] of o.arms.entries()) {
    const upstream = `${scheme}://127.0.0.1:${linkPorts[i] ?? port}`;
    starts.push(startExecutorService(upstream, a.executorEnv, env, o.readyTimeoutMs, a.executorPort, a.system, a.wrap));
    if (a.link) starts.push(startLinkService(port, a.link, linkPorts[i]!, env, o.readyTimeoutMs));
  }
  const [exchange, ...rest] = await settle(starts, (s) => s.stop());
  const arms = o.arms.map((a): Stack => {
    const executor = rest.shift()!;
    const link = a.link ? rest.shift() : undefined;
    return {
      exchange: exchange!,
      executor,
      link,
      services: [executor, ...(link ? [link] : [])],
      stop: async (graceMs) => {
        await executor.stop(graceMs);
        await link?.stop(graceMs);
      },
    };
  });
  return {
    exchange: exchange!,
    arms,
    services: [...arms.flatMap((a) => a.services), exchange!],
    // the caller's grace is for its executors (a profiler's short one); the exchange keeps the default
    stop: async (graceMs) => {
      await Promise.all(arms.map((a) => a.stop(graceMs)));
      await exchange!.stop();
    },
  };
}

/** A fresh exchange and an executor wired to it (a shared stack of one arm). */
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const shared = await startSharedStack({ ...o, arms: [o] });
  return { ...shared.arms[0]!, services: shared.services, stop: (graceMs) => shared.stop(graceMs) };
}

/** The services of one slice or one pass, an arm each, started together. */
export class Rig {
  constructor(
    readonly arms: readonly LoadedArm[],
    private readonly groups: readonly SharedStack[],
  ) {}

  /** Every process of the rig. */
  get services(): Service[] {
    return this.groups.flatMap((g) => g.services);
  }

  /** Several arms on one exchange: its counters cannot be split between them. */
  get sharedExchange(): boolean {
    return this.groups.length === 1 && this.arms.length > 1;
  }

  /** Stops every service: executors first (so they drain), then links, then exchanges; `graceMs` is the executors' and links'. */
  async stop(graceMs?: number): Promise<void> {
    await Promise.all(this.groups.map((g) => g.stop(graceMs)));
  }

  /**
   * After Ctrl-C: every service at once, SIGKILL after the interrupt grace (or `graceMs` when
   * shorter); nobody waits for a drain.
   */
  async interrupt(graceMs: number): Promise<void> {
    const grace = Math.min(graceMs, RUN_DEFAULTS.interruptGraceMs);
    await Promise.all(this.services.map((s) => s.stop(grace)));
  }

  /** Each service's log beside its arm's trial (<base>.executor.log, .link.log); an exchange's beside the first arm on it. */
  writeLogs(bases: readonly string[], scrub: (log: string) => string): void {
    let i = 0;
    for (const g of this.groups) {
      writeFileSync(`${bases[i]}.exchange.log`, scrub(g.exchange.log()));
      for (const arm of g.arms) {
        for (const s of arm.services) writeFileSync(`${bases[i]}.${s.name}.log`, scrub(s.log()));
        i++;
      }
    }
  }

  /** Aborts `ac` when a service exits while `ac` is live; `death` then says which, and how. */
  watch(ac: AbortController): { readonly death: Death | undefined } {
    const seen: { death: Death | undefined } = { death: undefined };
    for (const s of this.services) {
      void s.exited.then((e) => {
        if (ac.signal.aborted) return;
        seen.death = { service: s.name, code: e.code, signal: e.signal };
        ac.abort(new Error(`${s.name} exited during the trial`));
      });
    }
    return seen;
  }
}

/**
 * --warm: a rig per key (a slice's variants and scenario), started on first use and kept from slice
 * to slice until one of its services dies or it is stopped; its logs go under its first trial's names.
 */
export class WarmRigs {
  private readonly rigs = new Map<string, { rig: Rig; logBases: readonly string[]; dead: boolean }>();

  constructor(
    private readonly graceMs: number,
    private readonly scrub: (log: string) => string,
  ) {}

  /** The key's rig, or a fresh one when it has none or its rig lost a service. */
  async get(key: string, logBases: readonly string[], start: () => Promise<Rig>): Promise<Rig> {
    const have = this.rigs.get(key);
    if (have && !have.dead) return have.rig;
    if (have) await this.stop(key);
    const rig = await start();
    const entry = { rig, logBases, dead: false };
    for (const s of rig.services) void s.exited.then(() => (entry.dead = true));
    this.rigs.set(key, entry);
    return rig;
  }

  /** Stops one key's rig, or every rig (`interrupt`: all at once, as Rig.interrupt), and writes their logs. */
  async stop(key?: string, interrupt = false): Promise<void> {
    const stopping = [...this.rigs].filter(([k]) => key === undefined || k === key);
    for (const [k] of stopping) this.rigs.delete(k);
    await Promise.all(
      stopping.map(async ([, { rig, logBases }]) => {
        await (interrupt ? rig.interrupt(this.graceMs) : rig.stop(this.graceMs));
        rig.writeLogs(logBases, this.scrub);
      }),
    );
  }
}

/** Starts every arm's services: on one exchange, or with `exchange: "each"` a whole stack per arm. */
export async function startRig(o: RigOptions): Promise<Rig> {
  const { arms, exchange, ...shared } = o;
  const groups =
    exchange === "each" && arms.length > 1
      ? await settle(
          arms.map((a) => startSharedStack({ ...shared, arms: [a] })),
          (g) => g.stop(),
        )
      : [await startSharedStack({ ...shared, arms })];
  const stacks = groups.flatMap((g) => g.arms);
  const loaded = arms.map((a, i): LoadedArm => {
    const st = stacks[i]!;
    return {
      name: a.name,
      target: {
        executorUrl: st.executor.url,
        exchangeUrl: st.exchange.url,
        toggles: a.toggles,
        executorPid: st.executor.servicePid,
      },
      // the service's own process: under a profiler, not the tool in front of it
      pids: { executor: st.executor.servicePid, exchange: st.exchange.pid, link: st.link?.pid },
      stack: st,
    };
  });
  return new Rig(loaded, groups);
}

/** --target: a service perfpack did not start and will not stop; what it runs, its health says. */
export function targetRig(name: string, url: string): Rig {
  return new Rig([{ name, target: { executorUrl: url, exchangeUrl: undefined, toggles: {} }, pids: {} }], []);
}

/** The context a scenario runs in on one arm: where, how much load, and the caller's hooks. */
export function scenarioContext(arm: Pick<LoadedArm, "target">, load: LoadShape, hooks: WindowHooks): ScenarioContext {
  return { target: arm.target, ...load, ...hooks };
}
