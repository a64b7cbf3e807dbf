import * as hdr from "hdr-histogram-js";

/**
 * A latency recorder: an HDR histogram in microseconds (1 µs .. 10 min, 3 significant digits),
 * so sub-millisecond latencies keep their digits (autocannon's own histogram works in whole ms).
 */
export class LatencyRecorder {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  /** The recorded values' sum (µs), for an exact mean: hdr's own walks every bucket, 4–9 ms a summary. */
  private sumUs = 0;

  recordMs(ms: number): void {
    const us = Math.max(1, Math.round(ms * 1000));
    this.h.recordValue(us);
    this.sumUs += us;
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** The value at quantile `q` (0.5 … 0.999) in milliseconds; undefined when nothing was recorded. */
  at(q: number): number | undefined {
    return this.h.totalCount === 0 ? undefined : this.h.getValueAtPercentile(q * 100) / 1000;
  }

  /** p50/p95/p99/max/mean in milliseconds; empty when nothing was recorded. */
  summary(): LatencySummary | undefined {
    if (this.h.totalCount === 0) return undefined;
    const at = (p: number) => this.h.getValueAtPercentile(p) / 1000;
    return {
      p50: at(50),
      p95: at(95),
      p99: at(99),
      max: this.h.maxValue / 1000,
      mean: this.sumUs / this.h.totalCount / 1000,
      count: this.h.totalCount,
    };
  }
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  count: number;
}

/** Flattens a summary into result metrics under a prefix: `${prefix}_p95_ms` … */
export function latencyMetrics(prefix: string, s: LatencySummary | undefined): Record<string, number> {
  if (!s) return {};
  return {
    [`${prefix}_p50_ms`]: s.p50,
    [`${prefix}_p95_ms`]: s.p95,
    [`${prefix}_p99_ms`]: s.p99,
    [`${prefix}_max_ms`]: s.max,
    [`${prefix}_mean_ms`]: s.mean,
  };
}
