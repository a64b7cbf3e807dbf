/**
 * The soak's series: at each interval's end, a point of the interval's answers, the WebSocket
 * messages delivered, and the service's process (RSS and heap; GC and CPU over the interval).
 */
import { hasMetric, scrape, sumOf } from "../harness/load/exposition.js";
import type { LatencySummary } from "../harness/load/latency.js";
import { processUsage } from "../harness/load/process-usage.js";
import type { SeriesPoint } from "./contract.js";

const MB = 2 ** 20;

/** One sample of the service's process: bytes, and cumulative seconds of GC and CPU. */
interface ProcessSample {
  rss: number;
  heap?: number;
  gc?: number;
  cpu: number;
}

type ProcessReader = () => Promise<ProcessSample | undefined>;

/**
 * Where a soak reads the service's process: its own metrics (prom-client's defaults, as the
 * reference executor serves them: RSS, heap, GC and CPU), or for a service without them the
 * OS's figures of its process (RSS and CPU; no heap or GC). Chosen once, at the first sample,
 * so an interval never subtracts one source from the other.
 */
export async function processSource(url: string, pid: number | undefined): Promise<ProcessReader | undefined> {
  const fromMetrics = async (): Promise<ProcessSample | undefined> => {
    try {
      const m = await scrape(url);
      if (!hasMetric(m, "process_resident_memory_bytes")) return undefined;
      return {
        rss: sumOf(m, "process_resident_memory_bytes"),
        heap: hasMetric(m, "nodejs_heap_size_used_bytes") ? sumOf(m, "nodejs_heap_size_used_bytes") : undefined,
        gc: hasMetric(m, "nodejs_gc_duration_seconds_sum") ? sumOf(m, "nodejs_gc_duration_seconds_sum") : undefined,
        cpu: sumOf(m, "process_cpu_seconds_total"),
      };
    } catch {
      return undefined;
    }
  };
  if (await fromMetrics()) return fromMetrics;
  if (pid === undefined) return undefined;
  return async () => {
    const usage = (await processUsage([pid]))?.get(pid);
    return usage ? { rss: usage.rssBytes, cpu: usage.cpuMs / 1000 } : undefined;
  };
}

/** An interval's answers: how many, how many failed, and the latency of the rest. */
export interface IntervalAnswers {
  readonly responses: number;
  readonly errors: number;
  readonly latency: { summary(): LatencySummary | undefined };
}

/** A point's figures of the process: RSS and heap now, GC and CPU over the interval since the previous sample. */
function processFigures(
  cur: ProcessSample | undefined,
  prev: ProcessSample | undefined,
  dt: number,
): Record<string, number> {
  if (!cur) return {};
  return {
    rss_mb: cur.rss / MB,
    ...(cur.heap !== undefined ? { heap_mb: cur.heap / MB } : {}),
    ...(prev && cur.gc !== undefined && prev.gc !== undefined ? { gc_share: (cur.gc - prev.gc) / dt } : {}),
    ...(prev ? { cpu_cores: (cur.cpu - prev.cpu) / dt } : {}),
  };
}

/** A point at each interval's end. */
export class SoakSeries {
  readonly points: SeriesPoint[] = [];
  private prev: ProcessSample | undefined;
  private prevAt: number;
  private prevWs = 0;

  constructor(
    private readonly t0: number,
    private readonly readProcess: ProcessReader | undefined,
    private readonly endInterval: () => IntervalAnswers,
    private readonly wsMessages: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.prevAt = t0;
  }

  /** The process as the window starts, which the first interval's GC and CPU count from. */
  async begin(): Promise<void> {
    this.prev = await this.readProcess?.();
    this.prevWs = this.wsMessages();
  }

  async sample(): Promise<void> {
    const now = performance.now();
    const cur = await this.readProcess?.();
    const dt = (now - this.prevAt) / 1000;
    const interval = this.endInterval();
    const lat = interval.latency.summary();
    const point: SeriesPoint = {
      t_s: (now - this.t0) / 1000,
      rps: interval.responses / dt,
      errors: interval.errors,
      ws_msgs_per_s: (this.wsMessages() - this.prevWs) / dt,
      ...(lat ? { p50_ms: lat.p50, p95_ms: lat.p95, p99_ms: lat.p99 } : {}),
      ...processFigures(cur, this.prev, dt),
    };
    this.points.push(point);
    this.log(
      `soak ${point.t_s.toFixed(0)} s: rss ${point.rss_mb?.toFixed(1)} MB, gc ${((point.gc_share ?? 0) * 100).toFixed(2)}%, ${point.rps.toFixed(0)} req/s`,
    );
    this.prev = cur ?? this.prev;
    this.prevAt = now;
    this.prevWs = this.wsMessages();
  }

  /** A last point for the window's tail, unless the last one was just taken. */
  async last(): Promise<void> {
    if (this.points.length === 0 || performance.now() - this.prevAt > 500) await this.sample();
  }
}
