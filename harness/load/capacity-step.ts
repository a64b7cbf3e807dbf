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

/** How a step cuts its stream: an unjudged warm-up, then windows until `decided` or `maxWindows`. */
export interface StepStream {
  warmupS: number;
  windowS: number;
  maxWindows: number;
  /** After each window: true when the step's rule has decided (the stream stops). */
  decided(windows: readonly SeriesPoint[]): boolean;
}

/** Answers go to the whole step's tally and to the current window's. */
class WindowSink implements AnswerSink {
  readonly all = new AnswerTally();
  current = new AnswerTally();
  behind = 0;
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
}

/** The scenario as one capacity step loads it: `ctx.rate` offered, `ctx.connections` at most, windows as `stream` says. */
export function openStepScenario(base: Scenario, stream: StepStream): Scenario {
  const key = base.uses[0]!;
  return {
    ...base,
    async run(ctx) {
      if (ctx.rate === undefined) throw new Error(`a capacity step of ${base.name} needs a rate`);
      const rate = ctx.rate;
      const sink = new WindowSink();
      const target = { ...loadTarget(ctx.target.executorUrl, ctx.requests[key]!), connections: ctx.connections };
      const pool = openPool(target, sink, new LatencyRecorder());
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const windows = new Windows(stream, sink, rate, ctx.sloQuantile, () => stop.abort(), ctx.measureStart);
      try {
        await runSchedule({
          rate,
          total: Math.ceil(rate * (stream.warmupS + (stream.maxWindows + 1) * stream.windowS)),
          signal: stop.signal,
          maxInFlight: Infinity,
          fire: (_i, due) => {
            if (performance.now() - due > SCHEDULE_SLACK_MS) sink.behind++;
            return pool.fire(due);
          },
          tick: { everyMs: 20, fn: () => windows.tick() },
        });
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        await pool.close();
      }
      ctx.signal.throwIfAborted();
      const all = sink.all;
      return {
        metrics: { offered_rate: rate, windows: windows.done.length, ...all.metrics("latency") },
        work: all.ok,
        workUnit: base.capacity?.work ?? "request",
        answers: all.record(),
        series: windows.done,
      };
    },
  };
}

/** The stream's windows: the warm-up's end opens the measured part, each window's end is judged. */
class Windows {
  readonly done: SeriesPoint[] = [];
  private readonly t0 = performance.now();
  private start: number;
  private cpu = process.cpuUsage();
  private measuring = false;

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

  async tick(): Promise<void> {
    const now = performance.now();
    const end = this.start + (this.measuring ? this.stream.windowS : this.stream.warmupS) * 1000;
    if (now < end) return;
    if (this.measuring) this.done.push(this.close(now));
    else {
      this.measuring = true;
      await this.measureStart();
    }
    this.start = now;
    this.cpu = process.cpuUsage();
    this.sink.current = new AnswerTally();
    this.sink.behind = 0;
    if (this.done.length >= this.stream.maxWindows || (this.done.length > 0 && this.stream.decided(this.done)))
      this.stop();
  }

  /** One window's figures: what was answered in it, the SLO's quantile of those answers, the generator's lateness and CPU. */
  private close(now: number): SeriesPoint {
    const s = (now - this.start) / 1000;
    const w = this.sink.current;
    const cpu = process.cpuUsage(this.cpu);
    const slo = this.quantile === undefined ? undefined : w.okLatency.at(this.quantile);
    const sent = Math.max(1, this.rate * s);
    return {
      t_s: (this.start - this.t0) / 1000,
      window_s: s,
      offered_rate: this.rate,
      achieved_rate: w.ok / s,
      schedule_behind_share: Math.min(1, this.sink.behind / sent),
      generator_cpu_cores: (cpu.user + cpu.system) / 1e6 / s,
      ...w.metrics("latency"),
      ...(slo !== undefined ? { latency_slo_ms: slo } : {}),
    };
  }
}
