import { redactEnv, scrub, secretValues } from "../results/redact.js";
import { EventEmitter, setMaxListeners } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LaunchError } from "./launcher.js";
import { duetSplit, type DuetSplit, type Plan, type TrialSpec } from "../plan/order.js";
import { describeMachine } from "./probes.js";
import { checkHealth, checkRoutes } from "./preflight.js";
import type { PlanRecord, Results, TrialRecord } from "../results/schema.js";
import { newResults, resumedResults } from "../results/create.js";
import type { Scenario } from "../../scenarios/contract.js";
import { serviceEnv, startRig, targetRig, WarmRigs, type Death, type Rig, type RigArm } from "./rig.js";
import { measure, type MeasureArm, type MeasureResult } from "./measure.js";
import { seededRandom } from "../../services/common/src/rng.js";
import { serviceCommand } from "./systems.js";
import { harnessOf } from "../plan/variants.js";
import type { RunConfig } from "../plan/config.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import type { Generator, LoadGenerator } from "../load/generators.js";
import { tooManyFailures, type AnswersRecord } from "../load/answers.js";
import type { LiveRequest } from "../load/request.js";

/** What the Runner reads of the validated run config. */
export type RunnerConfig = Pick<
  RunConfig,
  | "runId"
  | "outDir"
  | "durationS"
  | "warmupS"
  | "connections"
  | "rate"
  | "wsClients"
  | "wsRate"
  | "target"
  | "readyTimeoutMs"
  | "stopGraceMs"
  | "warm"
  | "design"
  | "duetExchange"
  | "maxErrors"
>;

export interface RunnerOptions {
  /** The validated run. */
  cfg: RunnerConfig;
  plan: Plan;
  /** What results.json records of the plan. */
  planRecord: PlanRecord;
  scenarios: ReadonlyMap<string, Scenario>;
  /** The requests the scenarios send, by scenario name, header values resolved. */
  requests: Readonly<Record<string, LiveRequest>>;
  /** Values scrubbed from what the results record besides the variants' secrets: the headers' `${env:…}` values. */
  secrets: readonly string[];
  /** The environment children inherit (the executor's own variables are removed from it). */
  env: Readonly<NodeJS.ProcessEnv>;
  /** perfpack's version, recorded in results.json. */
  version: string;
  /** The load generators a variant may name (its `harness.generator`). */
  generators: Readonly<Record<Generator, LoadGenerator>>;
  /**
   * `run --resume`: the recorded results this run continues. Their trials are kept (the first
   * write of results.json holds them) and the plan's trials they hold are not run again.
   */
  resumed?: Results;
}

/** How a client steers a run it builds on (the gate). */
export interface RunnerSteering {
  /** Seed of the duet's per-slice randomization (default: from the clock). */
  seed?: number;
  /**
   * Asked when the plan's trials are done (sequential sampling): the next batch of trials to
   * run, or none to finish. It sees the trials so far.
   */
  more?: (results: Results) => Promise<TrialSpec[]>;
}

export type RunnerEvent =
  | { type: "start"; plan: Plan; estimateS: number; results: Results; resultsFile: string }
  | { type: "trial-start"; spec: TrialSpec; total: number; estimateS: number }
  | { type: "trial-end"; record: TrialRecord; total: number }
  | { type: "done"; results: Results }
  | { type: "log"; line: string };

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._=+-]/g, "_");
const warmKey = (spec: TrialSpec) => `${spec.variant.name}\u0000${spec.scenario}`;

/** One slice as it runs: its trials' records so far, where their logs go, and its abort. */
interface SliceTrials {
  specs: readonly TrialSpec[];
  scenario: Scenario;
  duet: DuetSplit | undefined;
  bases: Array<Omit<TrialRecord, "status" | "wallS" | "metrics" | "generatorBound">>;
  logBases: string[];
  /** The warm rig's key: the slice's variants and scenario. */
  key: string;
  ac: AbortController;
  t0: number;
}

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
  private readonly warm: WarmRigs;
  private readonly cfg: RunnerConfig;

  /** The duet's randomization (start order, the split's remainder). */
  private readonly rand: () => number;

  constructor(
    private readonly o: RunnerOptions,
    private readonly steer: RunnerSteering = {},
  ) {
    super();
    this.cfg = o.cfg;
    this.rand = seededRandom(steer.seed ?? Date.now() % 2 ** 31);
    this.warm = new WarmRigs(o.cfg.stopGraceMs, (log) => scrub(log, this.secrets));
    this.secrets = [...new Set([...secretValues(o.plan.trials.map((t) => t.variant.env)), ...o.secrets])].sort(
      (a, b) => b.length - a.length,
    );
  }

  private emitEvent(e: RunnerEvent): void {
    this.emit("event", e);
  }

  /**
   * Stops at once: the current slice's load ends, its services get SIGTERM together and SIGKILL
   * after the interrupt grace; a trial whose measurement the abort cut short is not recorded.
   */
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
    const own =
      sc.estimateS({ durationS: this.cfg.durationS, warmupS: this.cfg.warmupS }) +
      (this.cfg.target || this.cfg.warm ? 0.2 : 1.2);
    return own + this.o.generators[harnessOf(spec.variant).generator].overheadS(spec.scenario, this.cfg.warmupS);
  }

  async run(): Promise<Results> {
    const { plan } = this.o;
    const results = this.startResults();
    // a resumed run: the plan's trials that results.json holds are kept, and not run again
    const done = new Set(results.trials.map((t) => t.index));
    mkdirSync(join(this.cfg.outDir, "logs"), { recursive: true });
    // a duet slice runs its arms' trials at once: each costs its share of the slice
    const share = (t: TrialSpec) =>
      this.cfg.design === "duet" && this.o.scenarios.get(t.scenario)!.duet === undefined ? 1 / plan.variants.length : 1;
    const estimateS = plan.trials
      .filter((t) => !done.has(t.index))
      .reduce((a, t) => a + this.estimateTrialS(t) * share(t), 0);
    this.emitEvent({ type: "start", plan, estimateS, results, resultsFile: join(this.cfg.outDir, "results.json") });
    const trials = [...plan.trials];
    try {
      for (let i = 0; !this.aborted;) {
        if (i === trials.length && !(await this.addBatch(trials, results))) break;
        // a duet slice: the variants of one round and scenario (adjacent in the plan) run at once
        const group = this.duetGroup(trials, i);
        i += group.length;
        const names = group.map((s) => s.variant.name);
        // drawn for every slice, run or kept, so that a resumed run makes the same choices for the slices it runs
        const duet =
          names.length > 1 ? duetSplit(names, this.cfg.connections, this.cfg.wsClients, this.rand) : undefined;
        const todo = group.filter((s) => !done.has(s.index));
        if (todo.length === 0) continue;
        // (a slice recorded in part, by a perfpack that wrote a duet's records one by one: its other arms run alone)
        const records = await this.runSlice(todo, todo.length === group.length ? duet : undefined, trials.length);
        // cut short by the abort: not a finished trial (one measured before it is kept)
        if (this.aborted && records.some((r) => r.status === "failed" && r.error === "interrupted")) break;
        // every record of the slice is in the document before the first trial-end rewrites the file
        for (const record of records) {
          results.trials.push(record);
          results.summary.failedTrials += record.status === "failed" ? 1 : 0;
        }
        for (const record of records) this.emitEvent({ type: "trial-end", record, total: trials.length });
      }
    } finally {
      await this.warm.stop(undefined, this.aborted);
    }
    results.interrupted = this.aborted;
    results.finishedAt = new Date().toISOString();
    this.emitEvent({ type: "done", results });
    return results;
  }

  /** The run's document: a new one, or (a resumed run) the recorded one with its trials. */
  private startResults(): Results {
    const at = new Date().toISOString();
    const machine = describeMachine();
    if (this.o.resumed) return resumedResults(this.o.resumed, { at, hostname: machine.hostname, pid: process.pid });
    return newResults({
      runId: this.cfg.runId,
      startedAt: at,
      version: this.o.version,
      machine,
      plan: this.o.planRecord,
      pid: process.pid,
    });
  }

  /** One slice's trials, told as they start. */
  private runSlice(specs: readonly TrialSpec[], duet: DuetSplit | undefined, total: number): Promise<TrialRecord[]> {
    for (const spec of specs)
      this.emitEvent({ type: "trial-start", spec, total, estimateS: this.estimateTrialS(spec) / specs.length });
    return this.slice(specs, duet);
  }

  /** Sequential sampling: the plan is done, and the caller decides whether to add a batch (false: finish). */
  private async addBatch(trials: TrialSpec[], results: Results): Promise<boolean> {
    const next = this.steer.more ? await this.steer.more(results) : [];
    if (next.length === 0 || this.aborted) return false;
    trials.push(...next);
    results.plan.order = [
      ...(results.plan.order ?? []),
      ...next.map((t) => ({ variant: t.variant.name, scenario: t.scenario, round: t.round })),
    ];
    results.plan.rounds = Math.max(results.plan.rounds, ...next.map((t) => t.round));
    return true;
  }

  private childEnv(spec: TrialSpec): NodeJS.ProcessEnv {
    // the variant alone decides the executor's settings: nothing leaks in from the caller's shell
    const env = serviceEnv(this.o.env);
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
    if (this.cfg.design !== "duet" || scenario.duet !== undefined) return [first];
    const group = [first];
    for (
      let j = i + 1;
      j < trials.length && trials[j]!.round === first.round && trials[j]!.scenario === first.scenario;
      j++
    )
      group.push(trials[j]!);
    return group;
  }

  /**
   * One slice: a trial per spec, measured in one window. One spec is the alternate design's trial
   * (its own exchange and executor); several are a duet (`--design duet`): every arm's executor
   * on one exchange, the load split evenly between them, started in the given order.
   */
  private async slice(specs: readonly TrialSpec[], duet?: DuetSplit): Promise<TrialRecord[]> {
    const t = this.sliceTrials(specs, duet);
    let rig: Rig | undefined;
    let watch: { readonly death: Death | undefined } | undefined;
    try {
      rig = await this.rigFor(t);
      watch = rig.watch(t.ac);
      const arms: MeasureArm[] = [];
      for (const [i, arm] of rig.arms.entries()) arms.push(await this.preflight(t, i, arm));
      // a duet starts its arms' load in the slice's order (randomized and recorded)
      const order = duet ? duet.order.map((name) => arms.findIndex((x) => x.name === name)) : arms.map((_, i) => i);
      const measured = await measure(
        t.scenario,
        t.ac.signal,
        order.map((i) => arms[i]!),
        {
          load: this.loadSettings(),
          generatorBoundCores: RUN_DEFAULTS.generatorBoundCores,
          sharedExchange: rig.sharedExchange,
          log: (line) => this.emitEvent({ type: "log", line }),
        },
      );
      if (watch.death) throw new Error(`${watch.death.service} exited during the trial`);
      return this.finished(
        t,
        t.specs.map((_, i) => measured[order.indexOf(i)]!),
      );
    } catch (err) {
      return this.failed(t, err, rig, watch?.death);
    } finally {
      this.current = undefined;
      // the trial is over: the services' exits from here on are ours, not deaths
      if (!t.ac.signal.aborted) t.ac.abort(new Error("trial over"));
      if (rig) await this.teardown(t, rig, watch?.death);
    }
  }

  /** A slice's trial records before it runs, its log names and its abort (every load client listens to it). */
  private sliceTrials(specs: readonly TrialSpec[], duet: DuetSplit | undefined): SliceTrials {
    const startedAt = new Date().toISOString();
    const ac = new AbortController();
    setMaxListeners(10_000, ac.signal);
    this.current = ac;
    return {
      specs,
      scenario: this.o.scenarios.get(specs[0]!.scenario)!,
      duet,
      bases: specs.map((spec, i) => ({
        index: spec.index,
        variant: spec.variant.name,
        scenario: spec.scenario,
        round: spec.round,
        env: redactEnv(spec.variant.env),
        startedAt,
        duet: duet
          ? { arms: duet.order, first: duet.order[0] === spec.variant.name, connections: duet.connections[i]! }
          : undefined,
      })),
      logBases: specs.map((spec) =>
        join(
          this.cfg.outDir,
          "logs",
          `${String(spec.index).padStart(3, "0")}-${safeName(spec.variant.name)}-${spec.scenario}-r${spec.round}`,
        ),
      ),
      key: specs.map(warmKey).join("\u0001"),
      ac,
      t0: performance.now(),
    };
  }

  /** The slice's services: --target's, a warm rig kept from an earlier slice, or a fresh one. */
  private async rigFor(t: SliceTrials): Promise<Rig> {
    if (this.cfg.target) return targetRig(t.specs[0]!.variant.name, this.cfg.target);
    // the link's variables (UPSTREAM_*) and the generator's are perfpack's, not the executor's: the executor sees none
    const arms = t.specs.map((spec): RigArm => {
      const { executorEnv, link } = harnessOf(spec.variant);
      return {
        name: spec.variant.name,
        toggles: spec.variant.env,
        executorEnv,
        link,
        system: spec.variant.system,
      };
    });
    const start = () =>
      startRig({
        arms,
        exchange: this.cfg.duetExchange,
        exchangeArgs: t.scenario.exchangeArgs({
          durationS: this.cfg.durationS,
          wsClients: this.cfg.wsClients,
          wsRate: this.cfg.wsRate,
        }),
        baseEnv: this.childEnv(t.specs[0]!),
        readyTimeoutMs: this.cfg.readyTimeoutMs,
      });
    return this.cfg.warm ? this.warm.get(t.key, t.logBases, start) : start();
  }

  /** What every arm's load shares: the run's settings (each arm's connections and subscribers are its own). */
  private loadSettings() {
    return { durationS: this.cfg.durationS, warmupS: this.cfg.warmupS, rate: this.cfg.rate, requests: this.o.requests };
  }

  /** An arm checked before its load (preflight.ts), with its share of the load and its generator's hand-over. */
  private async preflight(t: SliceTrials, i: number, arm: Rig["arms"][number]): Promise<MeasureArm> {
    const spec = t.specs[i]!;
    const share = {
      connections: t.duet?.connections[i] ?? this.cfg.connections,
      wsClients: t.duet?.wsClients[i] ?? this.cfg.wsClients,
    };
    const checked =
      serviceCommand(spec.variant.system) !== undefined
        ? await checkRoutes({ ...arm, ...share }, t.scenario, this.o.requests)
        : await checkHealth({ ...arm, ...share }, !this.cfg.target);
    const artillery = this.o.generators[harnessOf(spec.variant).generator].context(
      this.childEnv(spec),
      `${t.logBases[i]}.artillery`,
    );
    return artillery ? { ...checked, artillery } : checked;
  }

  /** The slice's records from its measurements (in spec order): ok, or failed on too many failed answers. */
  private finished(t: SliceTrials, measured: readonly MeasureResult[]): TrialRecord[] {
    const wallS = (performance.now() - t.t0) / 1000;
    const max = this.cfg.maxErrors;
    return t.bases.map((base, i) => {
      const result = measured[i]!;
      const answers = result.answers ? this.scrubbed(result.answers) : undefined;
      // the speed of failing answers is not a result: the trial failed, and keeps what it measured
      if (answers && answers.failureShare > max)
        return { ...base, status: "failed", error: tooManyFailures(answers, max), wallS, ...result, answers };
      return { ...base, status: "ok", wallS, ...result, answers };
    });
  }

  /** The slice's records when it failed: the error, the service that failed and how it exited, its log's tail. */
  private failed(t: SliceTrials, err: unknown, rig: Rig | undefined, died: Death | undefined): TrialRecord[] {
    const e = err as Error;
    const failedService = err instanceof LaunchError ? err.service : died?.service;
    const exit = err instanceof LaunchError ? err.exit : died;
    return t.bases.map((base, i) => {
      const st = rig?.arms[i]?.stack;
      const tail =
        err instanceof LaunchError
          ? err.logTail
          : failedService === "exchange"
            ? st?.exchange.logTail(25)
            : st?.executor.logTail(25);
      return {
        ...base,
        status: "failed" as const,
        error:
          this.aborted || t.ac.signal.reason?.message === "interrupted"
            ? "interrupted"
            : scrub(e.message, this.secrets),
        service: failedService,
        exit: exit ? { code: exit.code, signal: exit.signal } : undefined,
        logTail: tail ? scrub(tail, this.secrets) : undefined,
        wallS: (performance.now() - t.t0) / 1000,
        metrics: {},
        generatorBound: false,
      };
    });
  }

  /** Warm services outlive their slice, unless it failed (the next one starts afresh); others stop, and their logs are kept. */
  private async teardown(t: SliceTrials, rig: Rig, died: Death | undefined): Promise<void> {
    if (this.cfg.warm) {
      if (died || this.aborted) await this.warm.stop(t.key, this.aborted);
      return;
    }
    await (this.aborted ? rig.interrupt(this.cfg.stopGraceMs) : rig.stop(this.cfg.stopGraceMs));
    rig.writeLogs(t.logBases, (log) => scrub(log, this.secrets));
  }

  /** A failing answer's body may echo what was sent (a key): scrubbed like any log. */
  private scrubbed(a: AnswersRecord): AnswersRecord {
    if (!a.first) return a;
    const first = { ...a.first };
    if (first.body !== undefined) first.body = scrub(first.body, this.secrets);
    if (first.error !== undefined) first.error = scrub(first.error, this.secrets);
    return { ...a, first };
  }
}
