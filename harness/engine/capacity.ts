/**
 * The services of a capacity search, under its load: one stack per variant (its own exchange, so
 * that one variant's saturation never slows another's upstream), started once per scenario and
 * kept from step to step, loaded one window at a time at a level (an offered rate, or a number of
 * subscribers). What to try and when to stop is the search's (api/capacity.ts, verdict/capacity.ts).
 */
import { checkHealth, checkRoutes } from "./preflight.js";
import { measure, type MeasureArm } from "./measure.js";
import { serviceEnv, startRig, type Death, type Rig, type RigArm } from "./rig.js";
import { serviceCommand } from "./systems.js";
import { openStepScenario, type StepStream } from "../load/capacity-step.js";
import { harnessOf, type Variant } from "../plan/variants.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import type { LiveRequest } from "../load/request.js";
import { procEntry } from "../../services/common/src/proc.js";
import type { Scenario, SeriesPoint } from "../../scenarios/contract.js";

export interface CapacityRigOptions {
  scenario: Scenario;
  variants: readonly Variant[];
  requests: Readonly<Record<string, LiveRequest>>;
  env: Readonly<NodeJS.ProcessEnv>;
  readyTimeoutMs: number;
  stopGraceMs: number;
  /** The generator's connections at the lowest levels (--connections); a step at a high rate gets more. */
  connections: number;
  /** Subscribers of a "rate" scenario's windows (unused), and the ws feed rate. */
  wsClients: number;
  wsRate: number | undefined;
  /** The SLO's quantile: each window reports it as `<prefix>_slo_ms`. */
  sloQuantile: number;
  /** The SLO's line (ms): a rate step opens enough connections to carry the rate at that latency (Little's law). */
  sloMs: number;
  log(line: string): void;
}

/** Most connections a step opens: past this, a rate that needs more is beyond what loopback sockets on this generator can carry honestly. */
const MAX_CONNECTIONS = 2048;

/** Idle: the services together under a tenth of a core over a quarter second, waited for at most 15 s. */
const QUIET = { maxCores: 0.1, sampleMs: 250, timeoutMs: 15_000 };
/** Linux's USER_HZ: /proc's CPU times are in these ticks per second. */
const CLOCK_TICKS = 100;
const cpuTicks = (pid: number): number => {
  const e = procEntry(pid);
  return e ? e.utime + e.stime : 0;
};

/** What a wait for idle services found. */
export interface Idle {
  waitedS: number;
  idle: boolean;
  /** The processes' CPU over the last sample, in cores. */
  cores: number;
}

/**
 * Samples the processes' CPU (from /proc) until together they use under `o.maxCores` over a
 * sample, or `o.timeoutMs` has passed, or `signal` aborts.
 */
export async function waitIdle(pids: readonly number[], signal: AbortSignal, o = QUIET): Promise<Idle> {
  const t0 = performance.now();
  const ticks = () => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  let cores = Infinity;
  while (!signal.aborted) {
    const before = ticks();
    const at = performance.now();
    await new Promise((r) => setTimeout(r, o.sampleMs));
    cores = (ticks() - before) / CLOCK_TICKS / ((performance.now() - at) / 1000);
    if (cores < o.maxCores || performance.now() - t0 >= o.timeoutMs) break;
  }
  return { waitedS: (performance.now() - t0) / 1000, idle: cores < o.maxCores, cores };
}

/** A variant's stack, checked and ready for load. */
interface Loaded {
  rig: Rig;
  arm: MeasureArm;
  death: { readonly death: Death | undefined };
  ac: AbortController;
}

export class CapacityRigs {
  private readonly loaded: Loaded[] = [];

  private constructor(private readonly o: CapacityRigOptions) {
    if (!o.scenario.capacity) throw new Error(`the ${o.scenario.name} scenario has no capacity search`);
  }

  /** Every variant's services, started one after the other (a failure stops those already up). */
  static async start(o: CapacityRigOptions, signal: AbortSignal): Promise<CapacityRigs> {
    const rigs = new CapacityRigs(o);
    try {
      for (const v of o.variants) {
        signal.throwIfAborted();
        rigs.loaded.push(await rigs.startOne(v, signal));
      }
    } catch (err) {
      await rigs.stop(signal.aborted);
      throw err;
    }
    return rigs;
  }

  private async startOne(v: Variant, signal: AbortSignal): Promise<Loaded> {
    const { executorEnv, link } = harnessOf(v);
    const arm: RigArm = { name: v.name, toggles: v.env, executorEnv, link, system: v.system };
    const env = serviceEnv(this.o.env);
    env.PERFPACK_VARIANT = v.name;
    const rig = await startRig({
      arms: [arm],
      exchangeArgs: this.o.scenario.exchangeArgs({ durationS: 60, wsClients: this.o.wsClients, wsRate: this.o.wsRate }),
      baseEnv: env,
      readyTimeoutMs: this.o.readyTimeoutMs,
    });
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    ac.signal.addEventListener("abort", () => signal.removeEventListener("abort", onAbort), { once: true });
    const death = rig.watch(ac);
    try {
      const unchecked = { ...rig.arms[0]!, connections: this.o.connections, wsClients: this.o.wsClients };
      const checked =
        serviceCommand(v.system) !== undefined
          ? await checkRoutes(unchecked, this.o.scenario, this.o.requests)
          : await checkHealth(unchecked, true);
      return { rig, arm: checked, death, ac };
    } catch (err) {
      await rig.stop(this.o.stopGraceMs);
      throw err;
    }
  }

  /**
   * Variant i on fresh services: its stack stopped and started again. After an overload the
   * reference executor ran slower than before it for the rest of its life: on the reference
   * machine the optimized variant, having carried 3,620 req/s under the line for 12 s and then
   * collapsed, saturated at 2,500 req/s in the steps that followed, so a search that went on on
   * those services found a capacity that depended on the order of its steps. A failure to start
   * again is thrown (the variant's search ends).
   */
  async restart(i: number, signal: AbortSignal): Promise<void> {
    const old = this.loaded[i]!;
    // its services' exits from here on are the restart's, not deaths
    old.ac.abort(new Error("restarted on fresh services"));
    await old.rig.stop(this.o.stopGraceMs);
    this.loaded[i] = await this.startOne(this.o.variants[i]!, signal);
  }

  /** The variant's service that died under load, if one did. */
  death(i: number): Death | undefined {
    return this.loaded[i]?.death.death;
  }

  /** The last lines of variant i's executor log. */
  logTail(i: number, lines = 25): string | undefined {
    return this.loaded[i]?.rig.arms[0]?.stack?.executor.logTail(lines);
  }

  /**
   * A signal for one window, aborted with variant i's (a death, Ctrl-C): each window listens to its
   * own, so that listeners do not pile up on the variant's over hundreds of windows.
   */
  private async windowSignal<T>(i: number, f: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { ac } = this.loaded[i]!;
    // a variant whose service died (or Ctrl-C) between windows: no window starts
    ac.signal.throwIfAborted();
    const w = new AbortController();
    const on = () => w.abort(ac.signal.reason);
    ac.signal.addEventListener("abort", on, { once: true });
    try {
      return await f(w.signal);
    } finally {
      ac.signal.removeEventListener("abort", on);
    }
  }

  /** A short closed-model window (the run's own load): its throughput, in the scenario's unit, seeds the search. */
  async probe(i: number, durationS: number): Promise<Record<string, number>> {
    const { arm } = this.loaded[i]!;
    const [m] = await this.windowSignal(i, (signal) =>
      measure(this.o.scenario, signal, [arm], {
        load: { durationS, warmupS: Math.min(1, durationS / 2), rate: undefined, requests: this.o.requests },
        generatorBoundCores: RUN_DEFAULTS.generatorBoundCores,
        sharedExchange: false,
        log: this.o.log,
      }),
    );
    return m!.metrics;
  }

  /**
   * A "rate" step of variant i: one continuous stream at `rate`, cut into windows (load/capacity-step.ts);
   * the whole step's metrics (its CPU per unit) and each window's figures.
   */
  async stream(
    i: number,
    rate: number,
    stream: StepStream,
  ): Promise<{ metrics: Record<string, number>; windows: SeriesPoint[] }> {
    const { arm } = this.loaded[i]!;
    // Little's law: rate × the SLO's latency requests in flight, with room; a step's connections never cap its rate below the SLO
    const connections = Math.min(
      MAX_CONNECTIONS,
      Math.max(this.o.connections, Math.ceil(rate * (this.o.sloMs / 1000) * 2)),
    );
    const maxS = stream.warmupS + (stream.maxWindows + 1) * stream.windowS;
    const [m] = await this.windowSignal(i, (signal) =>
      measure(openStepScenario(this.o.scenario, stream), signal, [{ ...arm, connections, wsClients: 0 }], {
        load: { durationS: maxS, warmupS: 0, rate, requests: this.o.requests, sloQuantile: this.o.sloQuantile },
        generatorBoundCores: RUN_DEFAULTS.generatorBoundCores,
        sharedExchange: false,
        log: this.o.log,
      }),
    );
    return { metrics: { ...m!.metrics, step_connections: connections }, windows: m!.series ?? [] };
  }

  /** A "subscribers" step's window of variant i: `subscribers` connected, the scenario's own measurement. */
  async window(i: number, subscribers: number, durationS: number): Promise<Record<string, number>> {
    const { arm } = this.loaded[i]!;
    const [m] = await this.windowSignal(i, (signal) =>
      measure(this.o.scenario, signal, [{ ...arm, wsClients: subscribers }], {
        load: { durationS, warmupS: 0, rate: undefined, requests: this.o.requests, sloQuantile: this.o.sloQuantile },
        generatorBoundCores: RUN_DEFAULTS.generatorBoundCores,
        sharedExchange: false,
        log: this.o.log,
      }),
    );
    return m!.metrics;
  }

  /**
   * Waits until the services of every variant are idle: together under `maxCores` of CPU over a
   * sample, or `timeoutMs` passed. A step's load is abandoned when it ends, but a service goes on
   * answering the requests it had read (and its upstream the orders it was sent), and that backlog
   * must not run into the next step, of either variant (they share the cores). On the reference
   * machine the wait was a quarter to half a second after a failed step: the executor and the mock
   * digest an overload quickly. Returns how long it waited and whether the services were idle.
   */
  async quiet(signal: AbortSignal): Promise<Idle> {
    const pids = this.loaded.flatMap((l) => l.rig.arms.flatMap((a) => Object.values(a.pids)));
    return waitIdle(
      pids.filter((p) => p !== undefined),
      signal,
    );
  }

  /** Stops every variant's services (after Ctrl-C: at once) and returns their logs by variant. */
  async stop(interrupt = false): Promise<void> {
    await Promise.all(
      this.loaded.map((l) =>
        interrupt ? l.rig.interrupt(RUN_DEFAULTS.interruptGraceMs) : l.rig.stop(this.o.stopGraceMs),
      ),
    );
  }

  /** Variant i's services' logs, by service name. */
  logs(i: number): Record<string, string> {
    const rig = this.loaded[i]?.rig;
    return Object.fromEntries((rig?.services ?? []).map((s) => [s.name, s.log()]));
  }
}
