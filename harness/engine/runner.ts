import { redactEnv, scrub, secretValues } from "../results/redact.js";
import { EventEmitter, setMaxListeners } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getJson, LaunchError } from "./launcher.js";
import type { Plan, TrialSpec } from "../plan/order.js";
import { delta, describeMachine, exchangeStats, missingRoutes, ProcessSampler, scrape, sumOf, type Scrape } from "./probes.js";
import { RESULTS_SCHEMA, type PlanRecord, type Results, type TrialRecord } from "../results/schema.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "../../scenarios/contract.js";
import { serviceEnv, startStack, type Stack } from "./stack.js";
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
  private readonly warmStacks = new Map<string, { stack: Stack; logBase: string; dead: boolean }>();

  constructor(private readonly o: RunnerOptions) {
    super();
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
    const estimateS = plan.trials.reduce((a, t) => a + this.estimateTrialS(t), 0);
    this.emitEvent({ type: "start", plan, estimateS, results, resultsFile: join(this.o.outDir, "results.json") });
    const trials = [...plan.trials];
    try {
      for (let i = 0; !this.aborted; i++) {
        if (i === trials.length) {
          // sequential sampling: the plan is done; the caller decides whether to add a batch
          const next = this.o.more ? await this.o.more(results) : [];
          if (next.length === 0 || this.aborted) break;
          trials.push(...next);
          results.plan.order = [...(results.plan.order ?? []), ...next.map((t) => ({ variant: t.variant.name, scenario: t.scenario, round: t.round }))];
          results.plan.rounds = Math.max(results.plan.rounds, ...next.map((t) => t.round));
        }
        const spec = trials[i]!;
        this.emitEvent({ type: "trial-start", spec, total: trials.length, estimateS: this.estimateTrialS(spec) });
        const record = await this.trial(spec);
        if (this.aborted) break; // torn down mid-way: not a finished trial
        results.trials.push(record);
        results.summary.failedTrials += record.status === "failed" ? 1 : 0;
        this.emitEvent({ type: "trial-end", record, total: trials.length });
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

  private async trial(spec: TrialSpec): Promise<TrialRecord> {
    const scenario = this.o.scenarios.get(spec.scenario)!;
    const env = spec.variant.env;
    const startedAt = new Date();
    const t0 = performance.now();
    const base = { index: spec.index, variant: spec.variant.name, scenario: spec.scenario, round: spec.round, env: redactEnv(env), startedAt: startedAt.toISOString() };
    const ac = new AbortController();
    // every load client and subscriber of a trial listens for its abort
    setMaxListeners(10_000, ac.signal);
    this.current = ac;
    let stack: Stack | undefined;
    let died: { service: string; code: number | null; signal: string | null } | undefined;
    const logBase = join(this.o.outDir, "logs", `${String(spec.index).padStart(3, "0")}-${safeName(spec.variant.name)}-${spec.scenario}-r${spec.round}`);
    try {
      let executorUrl: string;
      let exchangeUrl: string | undefined;
      let pids: { executor?: number; exchange?: number; link?: number } = {};
      if (this.o.target) {
        executorUrl = this.o.target;
      } else {
        // the link's variables (UPSTREAM_*) and the generator's are perfpack's, not the executor's: the executor sees none
        const { executorEnv, link } = harnessOf(spec.variant);
        const start = () =>
          startStack({
            exchangeArgs: scenario.exchangeArgs({ durationS: this.o.durationS, wsClients: this.o.wsClients }),
            executorEnv,
            ...(link ? { link } : {}),
            ...(spec.variant.system ? { system: spec.variant.system } : {}),
            baseEnv: this.childEnv(spec),
            readyTimeoutMs: this.o.readyTimeoutMs,
          });
        stack = this.o.warm ? await this.warmStack(spec, logBase, start) : await start();
        executorUrl = stack.executor.url;
        exchangeUrl = stack.exchange.url;
        pids = { executor: stack.executor.pid, exchange: stack.exchange.pid, ...(stack.link ? { link: stack.link.pid } : {}) };
        for (const s of stack.services) {
          void s.exited.then((e) => {
            if (ac.signal.aborted) return;
            died = { service: s.name, code: e.code, signal: e.signal };
            ac.abort(new Error(`${s.name} exited during the trial`));
          });
        }
      }
      // a user's own service (--executor-cmd) owes no /health of ours and no metrics: its toggles are the variant's
      const userService = serviceCommand(spec.variant.system) !== undefined;
      let toggles: Record<string, unknown> = env;
      if (userService) {
        const missing = await missingRoutes(
          executorUrl,
          scenario.uses.map((u) => this.o.requests[u]!),
        );
        if (missing.length)
          throw new Error(`the service does not serve ${missing.join("; ")}, which the ${scenario.name} scenario needs (its request is set by requests.${scenario.uses[0]} in the config file)`);
      } else {
        const health = await getJson(`${executorUrl}/health`);
        if (health.status !== 200) throw new Error(`executor health answered ${health.status}`);
        const h = health.body as { toggles?: Record<string, unknown>; pid?: number; upstream?: string };
        toggles = h.toggles ?? {};
        if (this.o.target) {
          exchangeUrl = h.upstream;
          pids = { executor: h.pid };
        }
      }
      const artillery = this.o.generators[harnessOf(spec.variant).generator].context(this.childEnv(spec), `${logBase}.artillery`);
      const result = await this.measure(scenario, ac.signal, { executorUrl, exchangeUrl, toggles }, pids, userService, artillery);
      if (died) throw new Error(`${died.service} exited during the trial`);
      const answers = result.answers ? this.scrubbed(result.answers) : undefined;
      const wallS = (performance.now() - t0) / 1000;
      if (answers && answers.failureShare > this.o.maxErrors) {
        // the speed of failing answers is not a result: the trial failed, and keeps what it measured
        return { ...base, status: "failed", error: tooManyFailures(answers, this.o.maxErrors), wallS, ...result, answers };
      }
      return { ...base, status: "ok", wallS, ...result, ...(answers ? { answers } : {}) };
    } catch (err) {
      const e = err as Error;
      const failedService = err instanceof LaunchError ? err.service : died?.service;
      const tail = err instanceof LaunchError ? err.logTail : failedService === "exchange" ? stack?.exchange.logTail(25) : stack?.executor.logTail(25);
      const exit = err instanceof LaunchError ? err.exit : died;
      return {
        ...base,
        status: "failed",
        error: this.aborted ? "interrupted" : scrub(e.message, this.secrets),
        ...(failedService ? { service: failedService } : {}),
        ...(exit ? { exit: { code: exit.code, signal: exit.signal } } : {}),
        ...(tail ? { logTail: scrub(tail, this.secrets) } : {}),
        wallS: (performance.now() - t0) / 1000,
        metrics: {},
        generatorBound: false,
      };
    } finally {
      this.current = undefined;
      // the trial is over: the services' exits from here on are ours, not deaths
      if (!ac.signal.aborted) ac.abort(new Error("trial over"));
      if (stack && this.o.warm) {
        // a warm stack outlives its trial, unless the trial failed: the next one starts afresh
        if (died || this.aborted) await this.stopWarm(warmKey(spec));
      } else if (stack) {
        await stack.stop();
        writeLogs(stack, logBase, this.secrets);
      }
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

  /** --warm: the variant's running services for this scenario, started on first use. */
  private async warmStack(spec: TrialSpec, logBase: string, start: () => Promise<Stack>): Promise<Stack> {
    const key = warmKey(spec);
    const have = this.warmStacks.get(key);
    if (have && !have.dead) return have.stack;
    if (have) await this.stopWarm(key);
    const stack = await start();
    const entry = { stack, logBase, dead: false };
    for (const s of stack.services) void s.exited.then(() => (entry.dead = true));
    this.warmStacks.set(key, entry);
    return stack;
  }

  /** Stops warm services (one variant's, or all) and writes their logs under the name of their first trial. */
  private async stopWarm(key?: string): Promise<void> {
    for (const [k, { stack, logBase }] of [...this.warmStacks]) {
      if (key !== undefined && k !== key) continue;
      this.warmStacks.delete(k);
      await stack.stop();
      writeLogs(stack, logBase, this.secrets);
    }
  }

  /** Runs the scenario with probes around its measured window. */
  private async measure(
    scenario: Scenario,
    signal: AbortSignal,
    target: ScenarioContext["target"],
    pids: { executor?: number; exchange?: number; link?: number },
    metricsOptional: boolean,
    artillery?: ScenarioContext["artillery"],
  ): Promise<Pick<TrialRecord, "metrics" | "generatorBound" | "executorDelta" | "series"> & { answers?: AnswersRecord }> {
    // a service without the metrics endpoint: its metric-based figures are not measured
    const scrapeIf = (url: string) => scrape(url).catch((err: unknown) => (metricsOptional ? undefined : Promise.reject(err)));
    let started = false;
    let before: Scrape | undefined;
    let exBefore: Record<string, number> | undefined;
    let cpu0: NodeJS.CpuUsage | undefined;
    let w0 = 0;
    const sampler = new ProcessSampler([pids.executor ?? 0, pids.exchange ?? 0, ...(pids.link ? [pids.link] : [])]);
    const ctx: ScenarioContext = {
      target,
      durationS: this.o.durationS,
      warmupS: this.o.warmupS,
      connections: this.o.connections,
      rate: this.o.rate,
      wsClients: this.o.wsClients,
      requests: this.o.requests,
      ...(artillery ? { artillery } : {}),
      signal,
      log: (line) => this.emitEvent({ type: "log", line }),
      measureStart: async () => {
        before = await scrapeIf(target.executorUrl);
        started = true;
        exBefore = await exchangeStats(target.exchangeUrl);
        await sampler.start();
        cpu0 = process.cpuUsage();
        w0 = performance.now();
      },
    };
    // the window's end: when the scenario returns, or earlier when it says so (an outside
    // generator that still reports and exits after its load: Artillery)
    let end: Promise<{ windowS: number; gen: NodeJS.CpuUsage; after: Scrape | undefined; exAfter: Record<string, number> | undefined }> | undefined;
    ctx.measureEnd = () => {
      end ??= (async () => {
        const windowS = (performance.now() - w0) / 1000;
        const gen = process.cpuUsage(cpu0);
        await sampler.stop();
        return { windowS, gen, after: before ? await scrapeIf(target.executorUrl) : undefined, exAfter: await exchangeStats(target.exchangeUrl) };
      })();
      return end.then(() => undefined);
    };
    let result: ScenarioResult;
    try {
      result = await scenario.run(ctx);
      if (!signal.aborted && started && cpu0) await ctx.measureEnd();
    } finally {
      await sampler.stop();
    }
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("trial aborted");
    if (!started || !cpu0 || !end) throw new Error(`scenario ${scenario.name} never started its measured window`);
    const { windowS, gen, after, exAfter } = await end;
    const d = before && after ? delta(before, after) : undefined;
    const exDelta = exBefore && exAfter ? Object.fromEntries(Object.entries(exAfter).map(([k, v]) => [k, v - (exBefore![k] ?? 0)])) : undefined;

    const m: Record<string, number> = { ...result.metrics, window_s: windowS };
    const unit = result.workUnit;
    // a generator the scenario ran outside this process (Artillery) reports its own CPU over the window
    const generatorCores = ((gen.user + gen.system) / 1e6 + (result.generatorCpuS ?? 0)) / windowS;
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
    if (d || exDelta) Object.assign(m, scenario.derive?.({ executorDelta: d, exchangeDelta: exDelta, windowS }, result, target.toggles) ?? {});
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

/** Why a trial with too many failed answers failed: the share, the codes with their counts, the first failing answer. */
export function tooManyFailures(a: AnswersRecord, limit: number): string {
  const total = a.ok + Object.values(a.statuses).reduce((x, y) => x + y, 0) + Object.values(a.transport).reduce((x, y) => x + y, 0);
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
