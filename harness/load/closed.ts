import autocannon from "autocannon";
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
