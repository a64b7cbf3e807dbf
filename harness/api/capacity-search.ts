/**
 * The capacity search over a run's config: for each scenario and variant, the highest offered
 * level (a rate, or a number of subscribers) at which the SLO holds. Each variant's search is the
 * pure state machine of verdict/capacity.ts: double from half a closed-model probe's throughput
 * until a step fails, then bisect to the resolution. The variants' steps interleave (one each in
 * turn, the order recorded), so that drift hits every variant alike. capacity.json is rewritten
 * after every step: Ctrl-C keeps every finished one. `perfpack capacity` (api/capacity.ts) and
 * `run --capacity` (api/run.ts) both call it.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { CapacityRigs } from "../engine/capacity.js";
import { describeMachine } from "../engine/probes.js";
import { describeSystem } from "../engine/systems.js";
import type { CapacityConfig } from "../plan/capacity-config.js";
import { CAPACITY_DEFAULTS, RUN_DEFAULTS } from "../plan/defaults.js";
import { parseSlo, sloText, type Slo } from "../plan/slo.js";
import type { RunConfig } from "../plan/config.js";
import { liveRequests } from "../load/request.js";
import { redactEnv } from "../results/redact.js";
import type { CapacityDocument, CapacitySearchRecord, CapacityStepRecord, WindowRecord } from "../results/capacity.js";
import {
  callStep,
  capacityOf,
  capacityRatio,
  capacityTargets,
  nextRate,
  STEP_RULE,
  confirmOf,
  retryOf,
  searchSteps,
  stepSummary,
  uslPoints,
} from "../verdict/capacity.js";
import { loadTargets } from "../plan/targets.js";
import { fitUsl } from "../verdict/usl.js";
import { capacityHtml, capacityMarkdown } from "../report/capacity.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import type { Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";

export type { CapacityDocument };

/** What a capacity job made: its document, and where it is. */
export interface CapacityJob {
  doc: CapacityDocument;
  outDir: string;
  file: string;
  /** The report files written (report.md, report.html). */
  written: string[];
}

/**
 * The search of `cfg`'s scenarios and variants, in `cfg.outDir` (capacity.json, report.md,
 * report.html): every scenario's search in turn, its variants' steps interleaved.
 */
export async function searchCapacity(
  cfg: RunConfig,
  cap: CapacityConfig,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: JobContext,
): Promise<CapacityJob> {
  const outDir = resolve(ctx.cwd, cfg.outDir);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, "capacity.json");
  const doc = newDocument(cfg, cap, ctx.version);
  const save = () => writeFileAtomic(file, JSON.stringify(doc, null, 2) + "\n");
  save();
  tell(ctx, { type: "note", text: `perfpack capacity: results in ${file} (rewritten after every step)` });
  const signal = ctx.signal ?? new AbortController().signal;
  for (const name of cfg.scenarios) {
    if (signal.aborted) break;
    const scenario = scenarios.get(name)!;
    const search = new ScenarioSearch(scenario, cfg, cap, ctx, doc, save);
    await search.run(signal);
  }
  doc.interrupted = signal.aborted;
  doc.ratios = ratiosOf(doc);
  doc.targets = capacityTargets(
    doc.searches,
    loadTargets().targets,
    (name) => scenarios.get(name)?.headline[0]?.metric,
  );
  doc.finishedAt = new Date().toISOString();
  save();
  const written = [
    [join(outDir, "report.md"), capacityMarkdown(doc)],
    [join(outDir, "report.html"), capacityHtml(doc)],
  ].map(([path, text]) => (writeFileAtomic(path!, text!), path!));
  return { doc, outDir, file, written };
}

function newDocument(cfg: RunConfig, cap: CapacityConfig, version: string): CapacityDocument {
  return {
    schema: "perfpack/capacity@1",
    runId: cfg.runId,
    startedAt: new Date().toISOString(),
    perfpack: version,
    pid: process.pid,
    machine: describeMachine(),
    plan: {
      variants: cfg.variants.map((v) => ({
        name: v.name,
        env: redactEnv(v.env),
        ...(v.system ? { system: describeSystem(v.system) } : {}),
      })),
      scenarios: cfg.scenarios,
      reference: cfg.variants[0]!.name,
      resolution: cap.resolution,
      budgetS: cap.budgetS,
      windowS: cap.windowS,
      warmupS: cap.warmupS,
      minWindows: STEP_RULE.minWindows,
      maxWindows: STEP_RULE.maxWindows,
    },
    order: [],
    searches: [],
    ratios: [],
    targets: [],
    interrupted: false,
  };
}

/** Every candidate against the reference, per scenario: the capacity ratio and the range the brackets allow. */
function ratiosOf(doc: CapacityDocument): CapacityDocument["ratios"] {
  const out: CapacityDocument["ratios"] = [];
  for (const scenario of doc.plan.scenarios) {
    const ref = doc.searches.find((s) => s.scenario === scenario && s.variant === doc.plan.reference);
    if (!ref) continue;
    for (const c of doc.searches.filter((s) => s.scenario === scenario && s !== ref))
      out.push({ scenario, candidate: c.variant, reference: ref.variant, ...capacityRatio(c, ref) });
  }
  return out;
}

/** One scenario's searches, a variant each, on their services; steps taken in turn. */
class ScenarioSearch {
  private readonly records: CapacitySearchRecord[];
  private readonly slo: Slo;
  /** The scenario's last step (any variant's) failed: its service may still be digesting an overload. */
  private lastFailed = false;
  /** The variants whose next step runs on services started since their last overload. */
  private readonly fresh = new Set<number>();

  constructor(
    private readonly scenario: Scenario,
    private readonly cfg: RunConfig,
    private readonly cap: CapacityConfig,
    private readonly ctx: JobContext,
    private readonly doc: CapacityDocument,
    private readonly save: () => void,
  ) {
    const spec = scenario.capacity!;
    // the error line: --slo's when it names one, else --max-errors (its default is the guide's 1%)
    const slo = cap.slo ?? parseSlo(spec.defaultSlo);
    this.slo = cap.sloNamesErrors ? slo : { ...slo, maxErrorShare: cfg.maxErrors };
    this.records = cfg.variants.map((v) => ({
      scenario: scenario.name,
      variant: v.name,
      level: spec.level,
      unit: spec.unit,
      slo: this.slo,
      steps: [],
      bracket: [undefined, undefined],
      lowerBound: false,
    }));
    doc.searches.push(...this.records);
  }

  private note(text: string): void {
    tell(this.ctx, { type: "note", text });
  }

  async run(signal: AbortSignal): Promise<void> {
    const t0 = performance.now();
    this.note(
      `capacity · ${this.scenario.name}: ${this.records.map((r) => r.variant).join(", ")} under ${sloText(this.slo)}, to ${(this.cap.resolution * 100).toFixed(0)}%, within ${this.cap.budgetS} s`,
    );
    let rigs: CapacityRigs | undefined;
    try {
      rigs = await CapacityRigs.start(this.rigOptions(), signal);
      for (const [i, r] of this.records.entries()) {
        await this.probe(rigs, i, r).catch((err: unknown) => this.variantFailed(rigs!, i, r, err, signal));
        if (!r.ended) await this.freshAfter(rigs, i, r, signal);
      }
      await this.steps(rigs, t0 + this.cap.budgetS * 1000, signal);
    } catch (err) {
      this.failed(err, rigs, signal);
    } finally {
      await rigs?.stop(signal.aborted);
      for (const r of this.records) this.finish(r);
      this.save();
    }
  }

  private rigOptions() {
    const live = liveRequests(this.cfg.requests, this.ctx.env);
    return {
      scenario: this.scenario,
      variants: this.cfg.variants,
      requests: live.requests,
      env: this.ctx.env,
      readyTimeoutMs: this.cfg.readyTimeoutMs,
      stopGraceMs: this.cfg.stopGraceMs,
      connections: this.cfg.connections,
      wsClients: this.cfg.wsClients,
      wsRate: this.cfg.wsRate,
      sloQuantile: this.slo.percentile,
      sloMs: this.slo.maxMs,
      log: () => {},
    };
  }

  /** The closed-model probe: its throughput seeds the search (half of it; subscribers: the run's --ws-clients). */
  private async probe(rigs: CapacityRigs, i: number, r: CapacitySearchRecord): Promise<void> {
    const m = await rigs.probe(i, CAPACITY_DEFAULTS.probeS);
    const throughput = m[this.scenario.headline[0]!.metric] ?? 0;
    r.probe = { throughput, p95Ms: m[`${this.scenario.capacity!.latency}_p95_ms`] };
    r.seed = r.level === "subscribers" ? this.cfg.wsClients : Math.max(1, Number((throughput / 2).toPrecision(3)));
    const probed = r.level === "subscribers" ? this.scenario.headline[0]!.label : r.unit;
    this.note(`  ${r.variant}: probe ${throughput.toFixed(0)} ${probed} closed-model; search from ${r.seed} ${r.unit}`);
    this.save();
  }

  /** Steps in turn (the variant that goes first rotates), until every search has ended or the budget would be overrun. */
  private async steps(rigs: CapacityRigs, deadline: number, signal: AbortSignal): Promise<void> {
    const stepS = this.cap.warmupS + STEP_RULE.minWindows * (this.cap.windowS + 0.3);
    for (let turn = 0; !signal.aborted; turn++) {
      let stepped = false;
      for (let k = 0; k < this.records.length; k++) {
        const i = (turn + k) % this.records.length;
        const r = this.records[i]!;
        if (r.ended || signal.aborted) continue;
        let again = retryOf(r);
        let next = again ? { rate: again.level } : nextRate(searchSteps(r), this.searchOptions(r));
        const confirm = "done" in next && next.done === "bracketed" ? confirmOf(r) : undefined;
        if (confirm) [again, next] = [confirm, { rate: confirm.level }];
        if ("done" in next) r.ended = next.done;
        else if (performance.now() + stepS * 1000 > deadline) r.ended = "budget";
        else {
          await this.step(rigs, i, r, next.rate, again).catch((err: unknown) =>
            this.stepFailed(rigs, i, r, next.rate, err, signal),
          );
          if (!r.ended && r.steps.at(-1)?.call.call !== "pass") await this.freshAfter(rigs, i, r, signal);
          stepped = true;
        }
      }
      if (!stepped) return;
    }
  }

  /**
   * After the probe's saturating load, and after a step that did not pass, variant i's next step
   * runs on fresh services (engine/capacity.ts `restart` says why): a level's call then does not
   * depend on the overloads measured before it. A service that cannot start again ends the search.
   */
  private async freshAfter(rigs: CapacityRigs, i: number, r: CapacitySearchRecord, signal: AbortSignal) {
    try {
      await rigs.restart(i, signal);
      this.fresh.add(i);
    } catch (err) {
      this.variantFailed(rigs, i, r, err, signal);
    }
  }

  private searchOptions(r: CapacitySearchRecord) {
    const max =
      this.cap.maxLevel ?? (r.level === "subscribers" ? CAPACITY_DEFAULTS.maxSubscribers : CAPACITY_DEFAULTS.maxRate);
    const seed = Math.min(r.seed ?? 1, max);
    return {
      seedRate: seed,
      resolution: this.cap.resolution,
      factor: CAPACITY_DEFAULTS.factor,
      minRate: r.level === "subscribers" ? 1 : Math.max(0.5, seed / 16),
      maxRate: max,
      whole: r.level === "subscribers",
    };
  }

  /**
   * One step: a warm-up window (not judged), then windows until the rule decides or its cap ends it.
   * After the probes' saturating load or a failed step (of either variant: they share the cores),
   * a service is still digesting it (a backlog, a major GC): the first window after them ran 5–20×
   * slower than the rest in trials on the reference machine, so the warm-up is then three times as long.
   */
  private async step(
    rigs: CapacityRigs,
    i: number,
    r: CapacitySearchRecord,
    level: number,
    again?: CapacityStepRecord,
  ): Promise<void> {
    const quiet = await rigs.quiet(this.ctx.signal ?? new AbortController().signal);
    const startedAt = new Date().toISOString();
    // the machine's, not only this variant's: both share its cores
    const settle = r.steps.length === 0 || this.lastFailed ? CAPACITY_DEFAULTS.settleFactor : 1;
    const warmupS = this.cap.warmupS * settle;
    const judge = pooledRule(again);
    const windows =
      r.level === "rate"
        ? await this.streamed(rigs, i, level, warmupS, judge)
        : await this.windowed(rigs, i, level, warmupS, judge);
    const judged = judge(windows, this.slo);
    const call = again
      ? { ...judged, reason: `${judged.reason} (with the windows of its first try, [${again.seq}])` }
      : judged;
    this.lastFailed = call.call === "fail";
    const seq = this.doc.order.push({ scenario: r.scenario, variant: r.variant, level });
    const step: CapacityStepRecord = {
      level,
      seq,
      startedAt,
      windows,
      call,
      summary: stepSummary(windows),
      ...(again ? { pooledWith: again.seq } : {}),
      quiet: { waitedS: Number(quiet.waitedS.toFixed(2)), idle: quiet.idle },
      ...(this.fresh.delete(i) ? { freshServices: true } : {}),
    };
    r.steps.push(step);
    const waited = !quiet.idle
      ? ` (the services were still busy, ${quiet.cores.toFixed(2)} cores, after ${quiet.waitedS.toFixed(0)} s)`
      : quiet.waitedS >= 1
        ? ` (after ${quiet.waitedS.toFixed(1)} s for the services to go idle)`
        : "";
    this.note(
      `  [${seq}] ${r.variant} · ${r.scenario} · ${fmtLevel(level)} ${r.unit}: ${call.call}${call.generatorBound ? " (generator-bound)" : ""}: ${call.reason}${waited}`,
    );
    this.save();
  }

  /** A rate step: one stream cut into windows, stopped once the rule decides; CPU per unit is the whole step's. */
  private async streamed(
    rigs: CapacityRigs,
    i: number,
    level: number,
    warmupS: number,
    judge: Judge,
  ): Promise<WindowRecord[]> {
    const { metrics, windows } = await rigs.stream(i, level, {
      warmupS,
      // the first half of the warm-up climbs to the rate, the second holds it before any window
      rampS: warmupS / 2,
      windowS: this.cap.windowS,
      maxWindows: STEP_RULE.maxWindows,
      lineMs: this.slo.maxMs,
      decided: (ws) =>
        judge(
          ws.map((w) => this.windowOf(w, level)),
          this.slo,
        ).call !== "more",
    });
    const cpu = metrics[`executor_cpu_us_per_${this.scenario.capacity!.work}`];
    return windows.map((w) => ({
      ...this.windowOf(w, level),
      ...(cpu !== undefined ? { cpuPerUnit: cpu } : {}),
      connections: metrics.step_connections,
    }));
  }

  /** A subscribers step: a warm-up window (not judged), then windows, each its subscribers' own, until the rule decides. */
  private async windowed(
    rigs: CapacityRigs,
    i: number,
    level: number,
    warmupS: number,
    judge: Judge,
  ): Promise<WindowRecord[]> {
    await rigs.window(i, level, warmupS);
    const windows: WindowRecord[] = [];
    do windows.push(this.windowOf(await rigs.window(i, level, this.cap.windowS), level));
    while (judge(windows, this.slo).call === "more");
    return windows;
  }

  /** A window's metrics → what the step rule reads, and the figures the reports draw. */
  private windowOf(m: Readonly<Record<string, number>>, level: number): WindowRecord {
    const p = this.scenario.capacity!.latency;
    const spec = this.scenario.capacity!;
    const offered = spec.offered ? spec.offered(level, { wsRate: this.cfg.wsRate }) : level;
    const achieved = m[spec.achieved] ?? 0;
    const cpu = m[`executor_cpu_us_per_${this.scenario.capacity!.work}`];
    return {
      offered,
      achieved,
      latencyMs: m[`${p}_slo_ms`] ?? Infinity,
      errorShare: m.failure_share ?? 0,
      generatorBound: m.generator_bound === 1 || (m.generator_cpu_cores ?? 0) >= RUN_DEFAULTS.generatorBoundCores,
      lateShare: m.schedule_behind_share ?? 0,
      p50Ms: m[`${p}_p50_ms`],
      p95Ms: m[`${p}_p95_ms`],
      p99Ms: m[`${p}_p99_ms`],
      meanMs: m[`${p}_mean_ms`],
      ...(cpu !== undefined ? { cpuPerUnit: cpu } : {}),
      generatorCores: m.generator_cpu_cores,
      connections: m.step_connections,
    };
  }

  /**
   * A step whose load could not be applied (subscribers refused, connections reset) failed at that
   * level: the service cannot serve it. Ctrl-C, or a service that died, ends the variant's search instead.
   */
  private stepFailed(
    rigs: CapacityRigs,
    i: number,
    r: CapacitySearchRecord,
    level: number,
    err: unknown,
    signal: AbortSignal,
  ): void {
    if (signal.aborted || rigs.death(i)) return this.variantFailed(rigs, i, r, err, signal);
    const reason = `the load could not be applied: ${(err as Error).message}`;
    const seq = this.doc.order.push({ scenario: r.scenario, variant: r.variant, level });
    const call = {
      call: "fail" as const,
      reason,
      latency: undefined,
      achievedShare: 0,
      errorShare: 1,
      generatorBound: false,
    };
    r.steps.push({
      level,
      seq,
      startedAt: new Date().toISOString(),
      windows: [],
      call,
      summary: { achieved: 0 },
      ...(this.fresh.delete(i) ? { freshServices: true } : {}),
    });
    this.note(`  [${seq}] ${r.variant} · ${r.scenario} · ${fmtLevel(level)} ${r.unit}: fail: ${reason}`);
    this.save();
  }

  /** One variant's search ends: Ctrl-C (rethrown: every search stops), or its service died (the others go on). */
  private variantFailed(
    rigs: CapacityRigs,
    i: number,
    r: CapacitySearchRecord,
    err: unknown,
    signal: AbortSignal,
  ): void {
    if (signal.aborted) throw err;
    const death = rigs.death(i);
    r.ended = "failed";
    r.error = death
      ? `${death.service} exited during the search (code ${death.code}, signal ${death.signal})`
      : (err as Error).message;
    r.logTail = rigs.logTail(i);
    this.note(`  ${r.variant}: the search failed: ${r.error}`);
  }

  /** A search cut short: by Ctrl-C (interrupted) or by a failure (a service died: its log's tail). */
  private failed(err: unknown, rigs: CapacityRigs | undefined, signal: AbortSignal): void {
    for (const [i, r] of this.records.entries()) {
      if (r.ended) continue;
      if (signal.aborted) {
        r.ended = "interrupted";
        continue;
      }
      r.ended = "failed";
      const death = rigs?.death(i);
      r.error = death
        ? `${death.service} exited during the search (code ${death.code}, signal ${death.signal})`
        : (err as Error).message;
      r.logTail = rigs?.logTail(i);
    }
  }

  /** A search's capacity, bracket and USL fit, from its steps. */
  private finish(r: CapacitySearchRecord): void {
    r.ended ??= "interrupted";
    Object.assign(r, capacityOf(searchSteps(r)));
    // a search that never failed above its last pass (cut by the budget or Ctrl-C, or at the max): at least that
    if (r.capacity !== undefined && r.bracket[1] === undefined) r.lowerBound = true;
    r.usl = fitUsl(uslPoints(r.steps));
  }
}

const fmtLevel = (x: number) => (x >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());

/** How a step's windows are called: alone, or (a retried level) with the windows of its first try. */
type Judge = (windows: readonly WindowRecord[], slo: Slo) => ReturnType<typeof callStep>;

/**
 * A level tried again (at the line, or an end of the bracket being confirmed: trials are added
 * only near the edge, as in Shivam et al.'s "Cutting Corners"): the second try's windows join the
 * first's, and the rule decides on all of them, up to twice the windows. On a 2-core machine near
 * saturation a stall of a second or two in one window leaves a step at the line, or failing, that
 * more windows decide.
 */
function pooledRule(again: CapacityStepRecord | undefined): Judge {
  if (!again) return (windows, slo) => callStep(windows, slo);
  const rule = { ...STEP_RULE, maxWindows: again.windows.length + STEP_RULE.maxWindows };
  return (windows, slo) => callStep([...again.windows, ...windows], slo, rule);
}
