/**
 * A capacity step on a "rate" scenario: its request at the offered rate as one continuous
 * open-model stream (latency counted from each request's due time: coordinated omission
 * corrected), cut into windows. The stream runs on from window to window without draining, so
 * an overload builds its backlog as it would in production and shows as latency that climbs
 * window by window; a stream drained between windows would hide any overload shorter than the
 * SLO's worth of queue. After each window the step's rule is asked whether it is decided; the
 * stream then stops, and what is still in flight is abandoned (it belongs to no window).
 * The scenario's own derived metrics (batch flushes) still apply to the whole step.
 */
import { AnswerTally, type AnswerSink, type TransportFailure } from "./answers.js";
import { LatencyRecorder } from "./latency.js";
import { openPool, runSchedule, SCHEDULE_SLACK_MS } from "./open.js";
import { loadTarget } from "./request.js";
import type { Scenario, SeriesPoint } from "../../scenarios/contract.js";

/** A step's stream starts at this share of its rate, and climbs to the rate over its ramp. */
const RAMP_FROM = 0.1;

/** How a step cuts its stream: an unjudged warm-up, then windows until `decided` or `maxWindows`. */
export interface StepStream {
  warmupS: number;
  /** The rate climbs from a tenth to the full rate over the warm-up's first `rampS` (at most the warm-up): see `dueTimes`. */
  rampS: number;
  windowS: number;
  maxWindows: number;
  /** The SLO's line (ms): a request still unanswered this long after it was due is over it. */
  lineMs: number;
  /** After each window: true when the step's rule has decided (the stream stops). */
  decided(windows: readonly SeriesPoint[]): boolean;
}

/** Answers go to the whole step's tally and to the current window's; the requests in flight are kept by due time. */
class WindowSink implements AnswerSink {
  readonly all = new AnswerTally();
  current = new AnswerTally();
  behind = 0;
  readonly inFlight = new Set<number>();
  get wantsBody(): boolean {
    return this.all.wantsBody;
  }
  answer(status: number, ms: number, body?: string): void {
    this.all.answer(status, ms, body);
    this.current.answer(status, ms, body);
  }
  error(kind: TransportFailure, message?: string): void {
    this.all.error(kind, message);
    this.current.error(kind, message);
  }
  /** Requests due before `before` (performance.now() ms) that are still unanswered. */
  olderThan(before: number): number {
    let n = 0;
    for (const due of this.inFlight) if (due < before) n++;
    return n;
  }
}

/** The scenario as one capacity step loads it: `ctx.rate` offered, `ctx.connections` at most, windows as `stream` says. */
export function openStepScenario(base: Scenario, stream: StepStream): Scenario {
  const key = base.uses[0]!;
  return {
    ...base,
    async run(ctx) {
      if (ctx.rate === undefined) throw new Error(`a capacity step of ${base.name} needs a rate`);
      ctx.signal.throwIfAborted();
      const rate = ctx.rate;
      const sink = new WindowSink();
      const target = { ...loadTarget(ctx.target.executorUrl, ctx.requests[key]!), connections: ctx.connections };
      const pool = openPool(target, sink, new LatencyRecorder());
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const windows = new Windows(stream, sink, rate, ctx.sloQuantile, () => stop.abort(), ctx.measureStart);
      try {
        // the stream ends when the windows say so (decided, or the last one closed), never by a count
        await runSchedule({
          rate,
          total: Number.MAX_SAFE_INTEGER,
          signal: stop.signal,
          maxInFlight: Infinity,
          fire: (_i, due) => {
            if (performance.now() - due > SCHEDULE_SLACK_MS) sink.behind++;
            sink.inFlight.add(due);
            return pool.fire(due).finally(() => sink.inFlight.delete(due));
          },
          tick: { everyMs: 20, fn: async () => windows.tick() },
          ramp: { ms: Math.min(stream.rampS, stream.warmupS) * 1000, from: RAMP_FROM },
        });
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        await pool.close();
      }
      ctx.signal.throwIfAborted();
      if (windows.unopened)
        throw new Error(
          `at ${rate}/s the service did not answer its metrics endpoint for the window's start (${windows.unopened.message}): it is saturated`,
        );
      const all = sink.all;
      return {
        metrics: { offered_rate: rate, windows: windows.done.length, ...all.metrics("latency") },
        // the measured windows' work: the executor's CPU is read over them, not over the warm-up
        work: windows.work(),
        workUnit: base.capacity?.work ?? "request",
        answers: all.record(),
        series: windows.done,
      };
    },
  };
}

/**
 * The stream's windows. The warm-up's end asks the probes to read the window's start
 * (measureStart: a scrape of the service); the stream goes on meanwhile, and the first window
 * opens when they have read. Each window's end is judged.
 */
class Windows {
  readonly done: SeriesPoint[] = [];
  private readonly t0 = performance.now();
  private start: number;
  private cpu = process.cpuUsage();
  private phase: "warm-up" | "opening" | "measuring" = "warm-up";
  private okAtOpen = 0;
  /** Why the measured part never opened: the probes could not read the service under this load. */
  unopened: Error | undefined;

  constructor(
    private readonly stream: StepStream,
    private readonly sink: WindowSink,
    private readonly rate: number,
    private readonly quantile: number | undefined,
    private readonly stop: () => void,
    private readonly measureStart: () => Promise<void>,
  ) {
    this.start = this.t0;
  }

  /** Answered in the measured windows. */
  work(): number {
    return this.phase === "measuring" ? this.sink.all.ok - this.okAtOpen : 0;
  }

  tick(): void {
    const now = performance.now();
    if (this.phase === "warm-up" && now >= this.t0 + this.stream.warmupS * 1000) {
      this.phase = "opening";
      this.measureStart().then(
        () => this.open(performance.now()),
        (err: unknown) => {
          this.unopened = err as Error;
          this.stop();
        },
      );
    }
    if (this.phase !== "measuring" || now < this.start + this.stream.windowS * 1000) return;
    this.done.push(this.close(now));
    this.open(now);
    if (this.done.length >= this.stream.maxWindows || this.stream.decided(this.done)) this.stop();
  }

  private open(now: number): void {
    if (this.phase === "opening") this.okAtOpen = this.sink.all.ok;
    this.phase = "measuring";
    this.start = now;
    this.cpu = process.cpuUsage();
    this.sink.current = new AnswerTally();
    this.sink.behind = 0;
  }

  /**
   * One window's figures: what was answered in it, the SLO's quantile of those answers, the
   * generator's lateness and CPU. A request still unanswered past the line is over it: when such
   * requests are more than the quantile allows, the window's quantile is the oldest one's age
   * (at least the line), so that a service that stops answering cannot pass on the answers it gave.
   */
  private close(now: number): SeriesPoint {
    const s = (now - this.start) / 1000;
    const w = this.sink.current;
    const cpu = process.cpuUsage(this.cpu);
    const over = this.sink.olderThan(now - this.stream.lineMs);
    const answered = w.okLatency.count;
    const q = this.quantile;
    let first = now;
    for (const due of this.sink.inFlight) first = Math.min(first, due);
    const oldest = now - first;
    const observed = q === undefined ? undefined : w.okLatency.at(q);
    const slo = q !== undefined && over > (1 - q) * (answered + over) ? Math.max(observed ?? 0, oldest) : observed;
    const sent = Math.max(1, this.rate * s);
    return {
      t_s: (this.start - this.t0) / 1000,
      window_s: s,
      offered_rate: this.rate,
      achieved_rate: w.ok / s,
      in_flight: this.sink.inFlight.size,
      unanswered_over_line: over,
      schedule_behind_share: Math.min(1, this.sink.behind / sent),
      generator_cpu_cores: (cpu.user + cpu.system) / 1e6 / s,
      ...w.metrics("latency"),
      ...(slo !== undefined ? { latency_slo_ms: slo } : {}),
    };
  }
}
