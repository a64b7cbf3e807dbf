import { redactEnv, scrub, secretValues } from "../results/redact.js";
import { EventEmitter, setMaxListeners } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getJson, LaunchError } from "./launcher.js";
import { shuffle, type Plan, type TrialSpec } from "../plan/order.js";
import { delta, describeMachine, exchangeStats, missingRoutes, ProcessSampler, scrape, sumOf, type Scrape } from "./probes.js";
import { RESULTS_SCHEMA, type PlanRecord, type Results, type TrialRecord } from "../results/schema.js";
import { requestsIn, type Scenario, type ScenarioContext, type ScenarioResult } from "../../scenarios/contract.js";
import { serviceEnv, startSharedStack, startStack, startStacks, type Stack } from "./stack.js";
import type { Service } from "./launcher.js";
import { seededRandom } from "../../services/common/src/rng.js";
import { serviceCommand } from "./systems.js";
import { harnessOf, type Generator } from "../plan/variants.js";
import type { LoadGenerator } from "../load/generators.js";
import { failureText, type AnswersRecord } from "../load/answers.js";
import type { LiveRequest } from "../load/request.js";

export interface RunnerOptions {
  plan: Plan;
  scenarios: ReadonlyMap<string, Scenario>;
  planRecord: PlanRecord;
  runId: string;
  outDir: string;
  durationS: number;
  warmupS: number;
  connections: number;
  rate: number | undefined;
  wsClients: number;
  /** --ws-rate: the exchange's market feed in the ws scenario (absent: the scenario's default). */
  wsRate?: number;
  /** --target: drive this executor; launch nothing. */
  target: string | undefined;
  /** The environment children inherit (the executor's own variables are removed from it). */
  baseEnv: Readonly<NodeJS.ProcessEnv>;
  readyTimeoutMs: number;
  stopGraceMs: number;
  generatorBoundCores: number;
  version: string;
  /**
   * Keep each variant's services running from its first trial to the end of the run, and
   * alternate load between them in slices (one trial = one slice), instead of a fresh executor
   * and exchange per trial. A service that dies fails its trial and is started afresh for the next.
   */
  warm?: boolean;
  /**
   * Asked when the plan's trials are done (sequential sampling): the next batch of trials to
   * run, or none to finish. It sees the trials so far.
   */
  more?: (results: Results) => Promise<TrialSpec[]>;
  /** The load generators a variant may name (its `harness.generator`). */
  generators: Readonly<Record<Generator, LoadGenerator>>;
  /**
   * duet: the variants of a round and scenario run at once, on one exchange, the load split
   * evenly between them (scenarios that declare `duet` a reason run alone, as in alternate).
   */
  design?: "alternate" | "duet";
  /** duet: one exchange for every arm (the default), or one each. */
  duetExchange?: "shared" | "each";
  /** Seed of the duet's per-slice randomization (default: from the clock). */
  seed?: number;
  /** The requests the scenarios send, by scenario name, header values resolved. */
  requests: Readonly<Record<string, LiveRequest>>;
  /** Values scrubbed from what the results record besides the variants' secrets: the headers' `${env:…}` values. */
  secrets: readonly string[];
  /** --max-errors: a trial whose failure share is over this fails. */
  maxErrors: number;
}

export type RunnerEvent =
  | { type: "start"; plan: Plan; estimateS: number; results: Results; resultsFile: string }
  | { type: "trial-start"; spec: TrialSpec; total: number; estimateS: number }
  | { type: "trial-end"; record: TrialRecord; total: number }
  | { type: "done"; results: Results }
  | { type: "log"; line: string };

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._=+-]/g, "_");
const warmKey = (spec: TrialSpec) => `${spec.variant.name}\u0000${spec.scenario}`;

/**
 * Runs a plan trial by trial and emits typed events, nothing else: it computes no summary and
 * writes no results file (a ResultsWriter listens), and prints nothing (progress listens).
 */
export class Runner extends EventEmitter {
  private aborted = false;
  private current: AbortController | undefined;
  /** Values of the variants' secret variables, scrubbed from anything the results record. */
  private readonly secrets: string[];
  /** --warm: the running services of each variant and scenario. */
  private readonly warmStacks = new Map<string, { running: Running; logBases: string[]; dead: boolean }>();

  /** The duet's randomization (start order, the split's remainder). */
  private readonly rand: () => number;

  constructor(private readonly o: RunnerOptions) {
    super();
    this.rand = seededRandom(o.seed ?? Date.now() % 2 ** 31);
    this.secrets = [...new Set([...secretValues(o.plan.trials.map((t) => t.variant.env)), ...o.secrets])].sort((a, b) => b.length - a.length);
  }

  private emitEvent(e: RunnerEvent): void {
    this.emit("event", e);
  }

  /** Stops after the current trial is torn down; the interrupted trial is not recorded. */
  abort(): void {
    this.aborted = true;
    this.current?.abort(new Error("interrupted"));
  }

  get wasAborted(): boolean {
    return this.aborted;
  }

  estimateTrialS(spec: Pick<TrialSpec, "scenario" | "variant">): number {
    const sc = this.o.scenarios.get(spec.scenario)!;
    // launching exchange + executor and stopping them costs about a second on the reference machine
    const own = sc.estimateS({ durationS: this.o.durationS, warmupS: this.o.warmupS }) + (this.o.target || this.o.warm ? 0.2 : 1.2);
    return own + this.o.generators[harnessOf(spec.variant).generator].overheadS(spec.scenario, this.o.warmupS);
  }

  async run(): Promise<Results> {
    const { plan } = this.o;
    const results: Results = {
      schema: RESULTS_SCHEMA,
      runId: this.o.runId,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      interrupted: false,
      perfpack: this.o.version,
      machine: describeMachine(),
      plan: this.o.planRecord,
      trials: [],
      // the verdict is computed once, from the trials, after the run (harness/verdict)
      summary: { medians: {}, failedTrials: 0 },
    };
    mkdirSync(join(this.o.outDir, "logs"), { recursive: true });
    // a duet slice runs its arms' trials at once: each costs its share of the slice
    const share = (t: TrialSpec) => (this.o.design === "duet" && this.o.scenarios.get(t.scenario)!.duet === undefined ? 1 / plan.variants.length : 1);
    const estimateS = plan.trials.reduce((a, t) => a + this.estimateTrialS(t) * share(t), 0);
    this.emitEvent({ type: "start", plan, estimateS, results, resultsFile: join(this.o.outDir, "results.json") });
    const trials = [...plan.trials];
    try {
      for (let i = 0; !this.aborted;) {
        if (i === trials.length) {
          // sequential sampling: the plan is done; the caller decides whether to add a batch
          const next = this.o.more ? await this.o.more(results) : [];
          if (next.length === 0 || this.aborted) break;
          trials.push(...next);
          results.plan.order = [...(results.plan.order ?? []), ...next.map((t) => ({ variant: t.variant.name, scenario: t.scenario, round: t.round }))];
          results.plan.rounds = Math.max(results.plan.rounds, ...next.map((t) => t.round));
        }
        // a duet slice: the variants of one round and scenario (adjacent in the plan) run at once
        const group = this.duetGroup(trials, i);
        i += group.length;
        for (const spec of group) this.emitEvent({ type: "trial-start", spec, total: trials.length, estimateS: this.estimateTrialS(spec) / group.length });
        const records = await this.slice(group, group.length > 1 ? this.duetSplit(group) : undefined);
        if (this.aborted) break; // torn down mid-way: not a finished trial
        for (const record of records) {
          results.trials.push(record);
          results.summary.failedTrials += record.status === "failed" ? 1 : 0;
          this.emitEvent({ type: "trial-end", record, total: trials.length });
        }
      }
    } finally {
      await this.stopWarm();
    }
    results.interrupted = this.aborted;
    results.finishedAt = new Date().toISOString();
    this.emitEvent({ type: "done", results });
    return results;
  }

  private childEnv(spec: TrialSpec): NodeJS.ProcessEnv {
    // the variant alone decides the executor's settings: nothing leaks in from the caller's shell
    const env = serviceEnv(this.o.baseEnv);
    // as hyperfine's HYPERFINE_ITERATION: a child can tell which trial it serves
    env.PERFPACK_VARIANT = spec.variant.name;
    env.PERFPACK_ROUND = String(spec.round);
    env.PERFPACK_TRIAL = String(spec.index);
    return env;
  }

  /** The specs that run together from trials[i]: one, or under --design duet every variant of its round and scenario. */
  private duetGroup(trials: readonly TrialSpec[], i: number): TrialSpec[] {
    const first = trials[i]!;
    const scenario = this.o.scenarios.get(first.scenario)!;
    if (this.o.design !== "duet" || scenario.duet !== undefined) return [first];
    const group = [first];
    for (let j = i + 1; j < trials.length && trials[j]!.round === first.round && trials[j]!.scenario === first.scenario; j++) group.push(trials[j]!);
    return group;
  }

  /**
   * A duet slice's randomization, recorded in each trial: which arm's load starts first (a random
   * order), and the even split of the connections and WebSocket clients (a remainder goes to
   * randomly chosen arms).
   */
  private duetSplit(group: readonly TrialSpec[]): { order: string[]; connections: number[]; wsClients: number[] } {
    const rand = this.rand;
    const order = shuffle(
      group.map((s) => s.variant.name),
      rand,
    );
    const split = (total: number): number[] => {
      const n = group.length;
      const out = group.map(() => Math.floor(total / n));
      const extra = shuffle([...out.keys()], rand).slice(0, total % n);
      for (const k of extra) out[k]!++;
      return out.map((x) => Math.max(1, x));
    };
    return { order, connections: split(this.o.connections), wsClients: split(this.o.wsClients) };
  }

  /**
   * One slice: a trial per spec, measured in one window. One spec is the alternate design's trial
   * (its own exchange and executor); several are a duet (`--design duet`): every arm's executor
   * on one exchange, the load split evenly between them, started in the given order.
   */
  private async slice(specs: readonly TrialSpec[], duet?: { order: string[]; connections: number[]; wsClients: number[] }): Promise<TrialRecord[]> {
    const scenario = this.o.scenarios.get(specs[0]!.scenario)!;
    const startedAt = new Date();
    const t0 = performance.now();
    const bases = specs.map((spec) => ({
      index: spec.index,
      variant: spec.variant.name,
      scenario: spec.scenario,
      round: spec.round,
      env: redactEnv(spec.variant.env),
      startedAt: startedAt.toISOString(),
      ...(duet ? { duet: { arms: duet.order, first: duet.order[0] === spec.variant.name, connections: duet.connections[specs.indexOf(spec)]! } } : {}),
    }));
    const ac = new AbortController();
    // every load client and subscriber of a trial listens for its abort
    setMaxListeners(10_000, ac.signal);
    this.current = ac;
    let running: Running | undefined;
    let died: { service: string; code: number | null; signal: string | null } | undefined;
    const logBases = specs.map((spec) => join(this.o.outDir, "logs", `${String(spec.index).padStart(3, "0")}-${safeName(spec.variant.name)}-${spec.scenario}-r${spec.round}`));
    const key = specs.map(warmKey).join("\u0001");
    try {
      const arms: MeasureArm[] = [];
      if (this.o.target) {
        arms.push({
          name: specs[0]!.variant.name,
          target: { executorUrl: this.o.target, exchangeUrl: undefined, toggles: {} },
          pids: {},
          metricsOptional: false,
          connections: this.o.connections,
          wsClients: this.o.wsClients,
        });
      } else {
        const exchangeArgs = scenario.exchangeArgs({ durationS: this.o.durationS, wsClients: this.o.wsClients, ...(this.o.wsRate !== undefined ? { wsRate: this.o.wsRate } : {}) });
        // the link's variables (UPSTREAM_*) and the generator's are perfpack's, not the executor's: the executor sees none
        const armOf = (spec: TrialSpec) => {
          const { executorEnv, link } = harnessOf(spec.variant);
          return { executorEnv, ...(link ? { link } : {}), ...(spec.variant.system ? { system: spec.variant.system } : {}) };
        };
        const start = async (): Promise<Running> => {
          const common = { exchangeArgs, baseEnv: this.childEnv(specs[0]!), readyTimeoutMs: this.o.readyTimeoutMs };
          if (specs.length === 1) {
            const st = await startStack({ ...common, ...armOf(specs[0]!) });
            return { arms: [st], services: st.services, stop: () => st.stop(), logs: (b, secrets) => writeLogs(st, b[0]!, secrets) };
          }
          if (this.o.duetExchange === "each") {
            const stacks = await startStacks(specs.map((spec) => ({ ...common, ...armOf(spec) })));
            return {
              arms: stacks,
              services: stacks.flatMap((st) => st.services),
              stop: async () => void (await Promise.all(stacks.map((st) => st.stop()))),
              logs: (b, secrets) => stacks.forEach((st, i) => writeLogs(st, b[i]!, secrets)),
            };
          }
          const shared = await startSharedStack({ ...common, arms: specs.map(armOf) });
          return {
            arms: shared.arms,
            services: shared.services,
            stop: () => shared.stop(),
            logs: (b, secrets) => {
              shared.arms.forEach((arm, i) => writeLogs(arm, b[i]!, secrets));
              writeFileSync(`${b[0]}.exchange.log`, scrub(shared.exchange.log(), secrets));
            },
          };
        };
        running = this.o.warm ? await this.warmRunning(key, logBases, start) : await start();
        for (const s of running.services) {
          void s.exited.then((e) => {
            if (ac.signal.aborted) return;
            died = { service: s.name, code: e.code, signal: e.signal };
            ac.abort(new Error(`${s.name} exited during the trial`));
          });
        }
        running.arms.forEach((st, i) => {
          const spec = specs[i]!;
          arms.push({
            name: spec.variant.name,
            target: { executorUrl: st.executor.url, exchangeUrl: st.exchange.url, toggles: spec.variant.env, executorPid: st.executor.pid },
            pids: { executor: st.executor.pid, exchange: st.exchange.pid, ...(st.link ? { link: st.link.pid } : {}) },
            metricsOptional: false,
            connections: duet?.connections[i] ?? this.o.connections,
            wsClients: duet?.wsClients[i] ?? this.o.wsClients,
          });
        });
      }
      for (const [i, arm] of arms.entries()) {
        const spec = specs[i]!;
        // a user's own service (--executor-cmd) owes no /health of ours and no metrics: its toggles are the variant's
        if (serviceCommand(spec.variant.system) !== undefined) {
          arm.metricsOptional = true;
          // each missing route named with the config entry that sets it (the soak sends three scenarios'
          // requests); a soak with no subscribers (--ws-clients 0) sends nothing to the WebSocket route
          const missing: string[] = [];
          const uses = scenario.uses.filter((u) => !(u === "ws" && arm.wsClients === 0));
          for (const u of uses) for (const m of await missingRoutes(arm.target.executorUrl, [this.o.requests[u]!])) missing.push(`${m}, set by requests.${u}`);
          if (missing.length) throw new Error(`the service does not serve ${missing.join("; ")}, which the ${scenario.name} scenario needs (the config file's requests key sets each)`);
        } else {
          const health = await getJson(`${arm.target.executorUrl}/health`);
          if (health.status !== 200) throw new Error(`executor health answered ${health.status}`);
          const h = health.body as { toggles?: Record<string, unknown>; pid?: number; upstream?: string };
          arm.target = { ...arm.target, toggles: h.toggles ?? {} };
          if (this.o.target) {
            arm.target = { ...arm.target, exchangeUrl: h.upstream };
            arm.pids = h.pid ? { executor: h.pid } : {};
          }
        }
        const artillery = this.o.generators[harnessOf(spec.variant).generator].context(this.childEnv(spec), `${logBases[i]}.artillery`);
        if (artillery) arm.artillery = artillery;
      }
      // a duet starts its arms' load in the slice's order (randomized and recorded)
      const order = duet ? duet.order.map((name) => arms.findIndex((x) => x.name === name)) : arms.map((_, i) => i);
      const measured = await this.measure(
        scenario,
        ac.signal,
        order.map((i) => arms[i]!),
        specs.length > 1 && this.o.duetExchange !== "each",
      );
      if (died) throw new Error(`${died.service} exited during the trial`);
      const wallS = (performance.now() - t0) / 1000;
      return bases.map((base, i) => {
        const result = measured[order.indexOf(i)]!;
        const answers = result.answers ? this.scrubbed(result.answers) : undefined;
        // the speed of failing answers is not a result: the trial failed, and keeps what it measured
        if (answers && answers.failureShare > this.o.maxErrors) return { ...base, status: "failed", error: tooManyFailures(answers, this.o.maxErrors), wallS, ...result, answers };
        return { ...base, status: "ok", wallS, ...result, ...(answers ? { answers } : {}) };
      });
    } catch (err) {
      const e = err as Error;
      const failedService = err instanceof LaunchError ? err.service : died?.service;
      const tailOf = (st: Stack | undefined) => (err instanceof LaunchError ? err.logTail : failedService === "exchange" ? st?.exchange.logTail(25) : st?.executor.logTail(25));
      const exit = err instanceof LaunchError ? err.exit : died;
      return bases.map((base, i) => {
        const tail = tailOf(running?.arms[i]);
        return {
          ...base,
          status: "failed" as const,
          error: this.aborted ? "interrupted" : scrub(e.message, this.secrets),
          ...(failedService ? { service: failedService } : {}),
          ...(exit ? { exit: { code: exit.code, signal: exit.signal } } : {}),
          ...(tail ? { logTail: scrub(tail, this.secrets) } : {}),
          wallS: (performance.now() - t0) / 1000,
          metrics: {},
          generatorBound: false,
        };
      });
    } finally {
      this.current = undefined;
      // the trial is over: the services' exits from here on are ours, not deaths
      if (!ac.signal.aborted) ac.abort(new Error("trial over"));
      if (running && this.o.warm) {
        // warm services outlive their trial, unless the trial failed: the next one starts afresh
        if (died || this.aborted) await this.stopWarm(key);
      } else if (running) {
        await running.stop();
        running.logs(logBases, this.secrets);
      }
    }
  }

  /** --warm: the running services of this slice's variants and scenario, started on first use. */
  private async warmRunning(key: string, logBases: string[], start: () => Promise<Running>): Promise<Running> {
    const have = this.warmStacks.get(key);
    if (have && !have.dead) return have.running;
    if (have) await this.stopWarm(key);
    const running = await start();
    const entry = { running, logBases, dead: false };
    for (const s of running.services) void s.exited.then(() => (entry.dead = true));
    this.warmStacks.set(key, entry);
    return running;
  }

  /** Stops warm services (one slice's, or all) and writes their logs under the names of their first trials. */
  private async stopWarm(key?: string): Promise<void> {
    for (const [k, { running, logBases }] of [...this.warmStacks]) {
      if (key !== undefined && k !== key) continue;
      this.warmStacks.delete(k);
      await running.stop();
      running.logs(logBases, this.secrets);
    }
  }

  /** A failing answer's body may echo what was sent (a key): scrubbed like any log. */
  private scrubbed(a: AnswersRecord): AnswersRecord {
    if (!a.first) return a;
    const first = { ...a.first };
    if (first.body !== undefined) first.body = scrub(first.body, this.secrets);
    if (first.error !== undefined) first.error = scrub(first.error, this.secrets);
    return { ...a, first };
  }

  /**
   * Runs the scenario on each arm at once (one arm: today's alternate design; several: a duet
   * slice, the load split evenly between them) with probes around one measured window: it starts
   * when every arm has warmed up and ends when every arm's load has ended. Each arm gets its own
   * metrics; the generator's CPU is the whole process's (all arms' load), and a shared exchange's
   * counters cannot be split between arms, so they are not attributed.
   */
  private async measure(scenario: Scenario, signal: AbortSignal, arms: readonly MeasureArm[], sharedExchange = false): Promise<MeasureResult[]> {
    const n = arms.length;
    // a service without the metrics endpoint: its metric-based figures are not measured
    const scrapeIf = (arm: MeasureArm) => scrape(arm.target.executorUrl).catch((err: unknown) => (arm.metricsOptional ? undefined : Promise.reject(err)));
    const exchangeOf = (arm: MeasureArm) => (sharedExchange ? Promise.resolve(undefined) : exchangeStats(arm.target.exchangeUrl));
    let started = false;
    let before: Array<Scrape | undefined> = [];
    let exBefore: Array<Record<string, number> | undefined> = [];
    let cpu0: NodeJS.CpuUsage | undefined;
    let w0 = 0;
    const pids = [...new Set(arms.flatMap((a) => [a.pids.executor ?? 0, a.pids.exchange ?? 0, ...(a.pids.link ? [a.pids.link] : [])]))];
    const sampler = new ProcessSampler(pids);
    // the window opens once for every arm, when the last one has warmed up
    let arrived = 0;
    let open!: () => void;
    let opening!: (e: unknown) => void;
    const opened = new Promise<void>((resolve, reject) => ((open = resolve), (opening = reject)));
    opened.catch(() => {});
    const aborted = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason instanceof Error ? signal.reason : new Error("trial aborted")), { once: true }));
    aborted.catch(() => {});
    const startWindow = async () => {
      try {
        before = await Promise.all(arms.map(scrapeIf));
        started = true;
        exBefore = await Promise.all(arms.map(exchangeOf));
        await sampler.start();
        cpu0 = process.cpuUsage();
        w0 = performance.now();
        open();
      } catch (err) {
        opening(err);
      }
    };
    // the window's end: when the scenarios return, or earlier when one says so (an outside
    // generator that still reports and exits after its load: Artillery, alone)
    let end: Promise<{ windowS: number; gen: NodeJS.CpuUsage; after: Array<Scrape | undefined>; exAfter: Array<Record<string, number> | undefined> }> | undefined;
    const endWindow = () => {
      end ??= (async () => {
        const windowS = (performance.now() - w0) / 1000;
        const gen = process.cpuUsage(cpu0);
        await sampler.stop();
        return { windowS, gen, after: started ? await Promise.all(arms.map(scrapeIf)) : [], exAfter: await Promise.all(arms.map(exchangeOf)) };
      })();
      return end.then(() => undefined);
    };
    const contexts = arms.map((arm): ScenarioContext => ({
      target: arm.target,
      durationS: this.o.durationS,
      warmupS: this.o.warmupS,
      connections: arm.connections,
      rate: this.o.rate === undefined ? undefined : this.o.rate / n,
      wsClients: arm.wsClients,
      requests: this.o.requests,
      ...(arm.artillery ? { artillery: arm.artillery } : {}),
      signal,
      log: (line) => this.emitEvent({ type: "log", line: n > 1 ? `${arm.name}: ${line}` : line }),
      measureStart: async () => {
        if (++arrived === n) void startWindow();
        await Promise.race([opened, aborted]);
      },
      ...(n === 1 ? { measureEnd: endWindow } : {}),
    }));
    let results: ScenarioResult[];
    try {
      // which arm's load starts first is the caller's order (randomized per slice and recorded)
      results = await Promise.all(contexts.map((ctx) => scenario.run(ctx)));
      if (!signal.aborted && started && cpu0) await endWindow();
    } finally {
      await sampler.stop();
    }
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("trial aborted");
    if (!started || !cpu0 || !end) throw new Error(`scenario ${scenario.name} never started its measured window`);
    const { windowS, gen, after, exAfter } = await end;
    // a generator the scenario ran outside this process (Artillery) reports its own CPU over the window
    const generatorCores = ((gen.user + gen.system) / 1e6 + results.reduce((x, r) => x + (r.generatorCpuS ?? 0), 0)) / windowS;
    return arms.map((arm, i) => this.armMetrics(scenario, arm, results[i]!, { windowS, generatorCores, sampler, before: before[i], after: after[i], exBefore: exBefore[i], exAfter: exAfter[i] }));
  }

  /** One arm's record of a window: the scenario's metrics, its processes' CPU and memory, and what the probes derive. */
  private armMetrics(
    scenario: Scenario,
    arm: MeasureArm,
    result: ScenarioResult,
    w: {
      windowS: number;
      generatorCores: number;
      sampler: ProcessSampler;
      before?: Scrape | undefined;
      after?: Scrape | undefined;
      exBefore?: Record<string, number> | undefined;
      exAfter?: Record<string, number> | undefined;
    },
  ): MeasureResult {
    const { windowS, sampler, before, after, exBefore, exAfter, generatorCores } = w;
    const { pids } = arm;
    const d = before && after ? delta(before, after) : undefined;
    const exDelta = exBefore && exAfter ? Object.fromEntries(Object.entries(exAfter).map(([k, v]) => [k, v - (exBefore[k] ?? 0)])) : undefined;

    const m: Record<string, number> = { ...result.metrics, window_s: windowS };
    const unit = result.workUnit;
    m.generator_cpu_cores = generatorCores;
    m.generator_rss_mb = process.memoryUsage().rss / 2 ** 20;
    const ex = pids.executor ? sampler.of(pids.executor) : undefined;
    if (ex) {
      m.executor_cpu_cores = ex.cpuS / windowS;
      if (result.work > 0) m[`executor_cpu_us_per_${unit}`] = (ex.cpuS * 1e6) / result.work;
      m.executor_rss_max_mb = ex.rssMaxMb;
      m.executor_rss_mean_mb = ex.rssMeanMb;
    }
    const xc = pids.exchange ? sampler.of(pids.exchange) : undefined;
    if (xc) m.exchange_cpu_cores = xc.cpuS / windowS;
    // the link (--upstream-rtt) runs apart: its CPU is neither the generator's nor the executor's
    const lk = pids.link ? sampler.of(pids.link) : undefined;
    if (lk) m.link_cpu_cores = lk.cpuS / windowS;
    // GC time share: seconds spent in GC (all kinds) over the window's seconds
    if (d && [...d.keys()].some((k) => k.startsWith("nodejs_gc_duration_seconds_sum"))) m.executor_gc_share = sumOf(d, "nodejs_gc_duration_seconds_sum") / windowS;
    if (exDelta && result.work > 0) {
      m[`upstream_conns_per_${unit}`] = (exDelta.connections ?? 0) / result.work;
      m[`upstream_tls_handshakes_per_${unit}`] = (exDelta.tlsHandshakes ?? 0) / result.work;
    }
    if (d || exDelta) Object.assign(m, scenario.derive?.({ executorDelta: d, exchangeDelta: exDelta, windowS }, result, arm.target.toggles) ?? {});
    const generatorBound = generatorCores >= this.o.generatorBoundCores;
    m.generator_bound = generatorBound ? 1 : 0;
    for (const [k, v] of Object.entries(m)) if (!Number.isFinite(v)) delete m[k];
    const sparkDelta = d ? Object.fromEntries([...d].filter(([k, v]) => k.startsWith("spark_") && v !== 0)) : undefined;
    return {
      metrics: m,
      generatorBound,
      ...(sparkDelta ? { executorDelta: sparkDelta } : {}),
      ...(result.series ? { series: result.series } : {}),
      ...(result.answers ? { answers: result.answers } : {}),
    };
  }
}

/** A slice's running services: a Stack view per arm, every process, and how to stop them and keep their logs. */
interface Running {
  arms: Stack[];
  services: Service[];
  stop(): Promise<void>;
  logs(logBases: readonly string[], secrets: readonly string[]): void;
}

/** One arm of a measured window: where its load goes, its processes, and its share of the load. */
interface MeasureArm {
  name: string;
  target: ScenarioContext["target"];
  pids: { executor?: number; exchange?: number; link?: number };
  /** A user's service may have no metrics endpoint. */
  metricsOptional: boolean;
  artillery?: ScenarioContext["artillery"];
  connections: number;
  wsClients: number;
}

type MeasureResult = Pick<TrialRecord, "metrics" | "generatorBound" | "executorDelta" | "series"> & { answers?: AnswersRecord };

/** Why a trial with too many failed answers failed: the share, the codes with their counts, the first failing answer. */
export function tooManyFailures(a: AnswersRecord, limit: number): string {
  const total = requestsIn(a);
  // the body on one line, as it came (truncated): what the service said when it refused
  const body = a.first?.body?.replace(/\s*\n\s*/g, " ").trim();
  const shown = body ? ` ${body.length > 200 ? body.slice(0, 200) + "…" : body}` : "";
  const first = a.first?.status !== undefined ? `; first failing answer: ${a.first.status}${shown}` : a.first?.error ? `; first failure: ${a.first.error}` : "";
  return `${total - a.ok} of ${total} requests failed (${(a.failureShare * 100).toFixed(1)}%, over --max-errors ${limit}): ${failureText(a)}${first}`;
}

/** Each service's log beside the trial's: <trial>.executor.log, .exchange.log, .link.log. */
function writeLogs(stack: Stack, logBase: string, secrets: readonly string[]): void {
  for (const s of stack.services) writeFileSync(`${logBase}.${s.name}.log`, scrub(s.log(), secrets));
}
