import autocannon from "autocannon";
import { LatencyRecorder, type LatencySummary } from "./latency.js";
import { wireLoad, type WireLoadOptions } from "./wire.js";

/** The wire client's options; the closed model's scenarios send GET or POST. */
export interface ClosedLoadOptions extends WireLoadOptions {
  method?: "GET" | "POST";
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
 * Closed-model load: N connections, each sends its next request when the last one is answered.
 * Plain-HTTP targets get perfpack's wire client (harness/load/wire.ts), which costs about half
 * of autocannon's CPU per request on the machine it shares with the system under test; HTTPS
 * targets get autocannon. Latency is in fractional milliseconds either way. `drain` is the wire
 * client's alone: autocannon drops the answers in flight at its end.
 */
export function closedLoad(o: ClosedLoadOptions): Promise<LoadResult> {
  return o.url.startsWith("http:") ? closedLoadWire(o) : closedLoadAutocannon(o);
}

/** The closed model on the wire client; latency timed from the write to the answer's last byte. */
export async function closedLoadWire(o: ClosedLoadOptions): Promise<LoadResult> {
  const rec = new LatencyRecorder();
  const r = await wireLoad(o, (ms) => rec.recordMs(ms));
  return { ...r, perSecond: r.responses / r.elapsedS, latency: rec.summary() };
}

/** The closed model on autocannon. Latency comes from its per-response event. */
export async function closedLoadAutocannon(o: ClosedLoadOptions): Promise<LoadResult> {
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
      timeout: (o.timeoutMs ?? 10_000) / 1000,
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
