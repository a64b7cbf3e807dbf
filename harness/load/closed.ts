import autocannon from "autocannon";
import { Pool } from "undici";
import { LatencyRecorder, type LatencySummary } from "./latency.js";

export interface ClosedLoadOptions {
  url: string;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  signal: AbortSignal;
}

export interface LoadResult {
  /** Responses received in the window (any status). */
  responses: number;
  ok: number;
  perSecond: number;
  latency: LatencySummary | undefined;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  elapsedS: number;
}

/**
 * Closed-model load (N connections, each sends its next request when the last answers) with
 * autocannon. Latency comes from autocannon's per-response event, in fractional milliseconds.
 */
export async function closedLoad(o: ClosedLoadOptions): Promise<LoadResult> {
  const rec = new LatencyRecorder();
  let ok = 0;
  let responses = 0;
  const t0 = performance.now();
  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => ((finish = resolve), (fail = reject)));
  const inst = autocannon(
    {
      url: o.url,
      method: o.method ?? "GET",
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(o.headers ? { headers: o.headers } : {}),
      connections: o.connections,
      duration: o.durationS,
      timeout: 10,
    },
    (err, result) => (err ? fail(err) : finish(result)),
  );
  inst.on("response", (_client, status, _bytes, ms) => {
    responses++;
    if (status >= 200 && status < 300) ok++;
    rec.recordMs(ms);
  });
  const stop = () => inst.stop();
  o.signal.addEventListener("abort", stop, { once: true });
  try {
    const r = await done;
    const elapsedS = (performance.now() - t0) / 1000;
    return { responses, ok, perSecond: responses / elapsedS, latency: rec.summary(), errors: r.errors + r.timeouts, non2xx: r.non2xx, elapsedS };
  } finally {
    o.signal.removeEventListener("abort", stop);
  }
}

/**
 * The same closed model on an undici Pool: `connections` loops, each sending its next request
 * when the last one's body has been read. Latency is timed around each request with
 * performance.now(), in fractional milliseconds. A candidate to replace autocannon where it is
 * measured leaner (scripts/bench-overhead.mjs, arm `exe·pool`).
 */
export async function closedLoadPool(o: ClosedLoadOptions): Promise<LoadResult> {
  const u = new URL(o.url);
  const pool = new Pool(u.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const rec = new LatencyRecorder();
  const path = `${u.pathname}${u.search}`;
  let ok = 0;
  let responses = 0;
  let errors = 0;
  let non2xx = 0;
  const t0 = performance.now();
  const end = t0 + o.durationS * 1000;
  const loop = async () => {
    while (!o.signal.aborted && performance.now() < end) {
      const s = performance.now();
      try {
        const r = await pool.request({ path, method: o.method ?? "GET", ...(o.body !== undefined ? { body: o.body } : {}), ...(o.headers ? { headers: o.headers } : {}), signal: o.signal });
        for await (const _ of r.body) {
          // read to the end, so the connection is free for the next request
        }
        responses++;
        rec.recordMs(performance.now() - s);
        if (r.statusCode >= 200 && r.statusCode < 300) ok++;
        else non2xx++;
      } catch {
        if (!o.signal.aborted) errors++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.connections }, loop));
  } finally {
    await pool.close();
  }
  const elapsedS = (performance.now() - t0) / 1000;
  return { responses, ok, perSecond: responses / elapsedS, latency: rec.summary(), errors, non2xx, elapsedS };
}
