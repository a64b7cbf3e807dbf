import parsePrometheus from "parse-prometheus-text-format";
import pidusage from "pidusage";
import { getJson } from "./launcher.js";
import { request } from "undici";

/** A scrape flattened to `series → value`: `name{k="v"}` for samples, `name_bucket{le="…"}`, `_sum`, `_count` for histograms. */
export type Scrape = Map<string, number>;

const labelText = (labels: Record<string, string> | undefined, extra?: [string, string]): string => {
  const all = Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (extra) all.push(extra);
  return all.length ? `{${all.map(([k, v]) => `${k}="${v}"`).join(",")}}` : "";
};

/** Parses Prometheus text exposition with parse-prometheus-text-format and flattens it. */
export function flattenExposition(text: string): Scrape {
  const out: Scrape = new Map();
  for (const fam of parsePrometheus(text)) {
    for (const m of fam.metrics) {
      if (fam.type === "HISTOGRAM") {
        for (const [le, v] of Object.entries(m.buckets ?? {})) out.set(`${fam.name}_bucket${labelText(m.labels, ["le", le])}`, Number(v));
        out.set(`${fam.name}_sum${labelText(m.labels)}`, Number(m.sum));
        out.set(`${fam.name}_count${labelText(m.labels)}`, Number(m.count));
      } else if (fam.type === "SUMMARY") {
        out.set(`${fam.name}_sum${labelText(m.labels)}`, Number(m.sum));
        out.set(`${fam.name}_count${labelText(m.labels)}`, Number(m.count));
      } else {
        out.set(`${fam.name}${labelText(m.labels)}`, Number(m.value));
      }
    }
  }
  return out;
}

export async function scrape(executorUrl: string): Promise<Scrape> {
  const res = await request(`${executorUrl}/api/public/metrics/prom`, { headersTimeout: 5000, bodyTimeout: 5000 });
  return flattenExposition(await res.body.text());
}

/** after − before for every series present after (counters and histogram parts). */
export function delta(before: Scrape, after: Scrape): Scrape {
  const out: Scrape = new Map();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/** Sum of every series of a metric name (any labels) in a scrape. */
export function sumOf(s: Scrape, name: string): number {
  let n = 0;
  for (const [k, v] of s) if (k === name || k.startsWith(name + "{")) n += v;
  return n;
}

/**
 * histogram_quantile over the buckets of `name` in a (delta) scrape, summed over all other
 * labels, with Prometheus's linear interpolation inside the bucket. undefined when empty.
 */
export function histogramQuantile(s: Scrape, name: string, q: number): number | undefined {
  const buckets = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const [k, v] of s) {
    if (!k.startsWith(prefix)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + v);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(count - prevCount, 1e-9);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** CPU seconds and resident memory of processes, sampled at an interval over a window. */
export class ProcessSampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly rssMax = new Map<number, number>();
  private readonly rssSum = new Map<number, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private t1 = 0;

  constructor(private readonly pids: number[], private readonly intervalMs = 250) {}

  private async sample(): Promise<void> {
    const alive = this.pids.filter((p) => p > 0);
    if (alive.length === 0) return;
    let stats: Record<string, pidusage.Status>;
    try {
      stats = (await pidusage(alive)) as unknown as Record<string, pidusage.Status>;
    } catch {
      return; // a process went away; the runner notices that separately
    }
    this.samples++;
    for (const pid of alive) {
      const st = stats[pid];
      if (!st) continue;
      if (!this.first.has(pid)) this.first.set(pid, st.ctime);
      this.last.set(pid, st.ctime);
      this.rssMax.set(pid, Math.max(this.rssMax.get(pid) ?? 0, st.memory));
      this.rssSum.set(pid, (this.rssSum.get(pid) ?? 0) + st.memory);
    }
  }

  async start(): Promise<void> {
    this.t0 = performance.now();
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sample();
    this.t1 = performance.now();
    pidusage.clear();
  }

  /** CPU seconds used by `pid` over the window, RSS peak and mean in MB. */
  of(pid: number): { cpuS: number; cpuShare: number; rssMaxMb: number; rssMeanMb: number } | undefined {
    if (!this.first.has(pid)) return undefined;
    const cpuS = (this.last.get(pid)! - this.first.get(pid)!) / 1000;
    const wall = (this.t1 - this.t0) / 1000;
    return {
      cpuS,
      cpuShare: wall > 0 ? cpuS / wall : 0,
      rssMaxMb: this.rssMax.get(pid)! / 2 ** 20,
      rssMeanMb: this.rssSum.get(pid)! / this.samples / 2 ** 20,
    };
  }
}

/** The mock exchange's counters, or undefined when the upstream is not our mock. */
export async function exchangeStats(exchangeUrl: string | undefined): Promise<Record<string, number> | undefined> {
  if (!exchangeUrl) return undefined;
  try {
    const r = await getJson(`${exchangeUrl}/stats`);
    if (r.status !== 200 || typeof r.body !== "object" || r.body === null) return undefined;
    const flat: Record<string, number> = {};
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === "number") flat[prefix + k] = v;
        else if (typeof v === "object" && v !== null) walk(v as Record<string, unknown>, `${prefix}${k}.`);
      }
    };
    walk(r.body as Record<string, unknown>, "");
    return flat;
  } catch {
    return undefined;
  }
}
