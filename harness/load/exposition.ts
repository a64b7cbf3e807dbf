/**
 * The executor's metrics in Prometheus's text exposition format: read, flattened to series, and
 * summed or read as histograms. Here, below the engine, because scenarios read them too.
 */
import { request } from "undici";

/** A scrape flattened to `series → value`: `name{k="v",…}` with labels sorted by name, so `le` sits in one place. */
export type Scrape = Map<string, number>;

class ExpositionError extends Error {}

// One sample line of the text exposition format (version 0.0.4):
//   metric_name [ "{" label="value" { "," label="value" } [ "," ] "}" ] value [ timestamp ]
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

const unescape = (v: string) => v.replace(/\\(["\\n])/g, (_m, c: string) => (c === "n" ? "\n" : c));
const escape = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : "\\" + c));

/**
 * Parses Prometheus text exposition into `series → value`. Written here because the one npm
 * parser (parse-prometheus-text-format 1.1.1) merges the series of a labelled histogram into
 * one and drops their _sum and _count, and every spark_* histogram here has labels.
 * Values: floats, ±Inf and NaN in any case. Timestamps are ignored. A malformed line is an error.
 */
export function flattenExposition(text: string): Scrape {
  const out: Scrape = new Map();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new ExpositionError(`metrics line ${i + 1} is not a sample: ${line.slice(0, 120)}`);
    const labels: Array<[string, string]> = [];
    if (m[2] !== undefined && m[2].trim() !== "") {
      LABEL.lastIndex = 0;
      const body = m[2];
      while (LABEL.lastIndex < body.length) {
        const at = LABEL.lastIndex;
        const l = LABEL.exec(body);
        if (!l)
          throw new ExpositionError(`metrics line ${i + 1}: bad label set at column ${at}: ${line.slice(0, 120)}`);
        labels.push([l[1]!, unescape(l[2]!)]);
        if (l[3] === "") break;
      }
    }
    labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // as Prometheus's own parser (Go's ParseFloat): inf and nan in any case; prom-client writes "Nan"
    const raw = m[3]!;
    const special = raw.toLowerCase().replace(/^\+/, "");
    const value = special === "inf" ? Infinity : special === "-inf" ? -Infinity : special === "nan" ? NaN : Number(raw);
    if (Number.isNaN(value) && special !== "nan")
      throw new ExpositionError(`metrics line ${i + 1}: value ${JSON.stringify(raw)} is not a number`);
    const key = labels.length ? `${m[1]}{${labels.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}` : m[1]!;
    out.set(key, value);
  }
  return out;
}

/** Reads the executor's metrics endpoint; an error names the URL. */
export async function scrape(executorUrl: string): Promise<Scrape> {
  const url = `${executorUrl}/api/public/metrics/prom`;
  let text: string;
  try {
    const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
    text = await res.body.text();
    // a service without the endpoint (a 404 page) has no metrics, not an empty set of them
    if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
  } catch (err) {
    // undici's message alone ("Headers Timeout Error") does not say which request failed
    throw new Error(`metrics scrape of ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  return flattenExposition(text);
}

/** after − before for every series present after (counters and histogram parts). */
export function delta(before: Scrape, after: Scrape): Scrape {
  const out: Scrape = new Map();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/** Whether a series key is of the metric `name`, with any labels. */
const isOf = (key: string, name: string): boolean => key === name || key.startsWith(name + "{");

/** Whether a scrape holds a metric at all (a service may not serve a default metric). */
export const hasMetric = (s: Scrape, name: string): boolean => [...s.keys()].some((k) => isOf(k, name));

/** Sum of every series of a metric name (any labels) in a scrape. */
export function sumOf(s: Scrape, name: string): number {
  let n = 0;
  for (const [k, v] of s) if (isOf(k, name)) n += v;
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
