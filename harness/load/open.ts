import { Pool, type Dispatcher } from "undici";
import { LatencyRecorder, type LatencySummary } from "./latency.js";

export interface OpenLoadOptions {
  url: string;
  /** Requests per second, at constant arrival times (request i is due at t0 + i / rate). */
  rate: number;
  durationS: number;
  /** Connections the generator may open (wrk2's -c). Requests beyond them wait, and that wait counts. */
  connections: number;
  signal: AbortSignal;
}

export interface OpenLoadResult {
  sent: number;
  responses: number;
  ok: number;
  errors: number;
  non2xx: number;
  targetRate: number;
  achievedRate: number;
  /** From each request's intended send time: corrects coordinated omission, as wrk2 does. */
  corrected: LatencySummary | undefined;
  /** From the moment the request was written to a connection: what a closed-loop tool reports. */
  uncorrected: LatencySummary | undefined;
  elapsedS: number;
}

/**
 * Open-model, constant-arrival-rate load on undici. The schedule never waits for answers:
 * when the server stalls, requests keep falling due, and their latency is counted from when
 * they were due, not from when a free connection finally let them go.
 */
export async function openLoad(o: OpenLoadOptions): Promise<OpenLoadResult> {
  const u = new URL(o.url);
  const pool = new Pool(u.origin, { connections: o.connections, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const corrected = new LatencyRecorder();
  const uncorrected = new LatencyRecorder();
  const path = u.pathname + u.search;
  const total = Math.max(1, Math.floor(o.rate * o.durationS));
  let sent = 0;
  let responses = 0;
  let ok = 0;
  let errors = 0;
  let non2xx = 0;
  let settled = 0;
  let allSettled!: () => void;
  const drained = new Promise<void>((r) => (allSettled = r));
  const settle = () => {
    if (++settled === sent && sent === total) allSettled();
  };

  const fire = (due: number) => {
    sent++;
    let onWire = 0;
    let status = 0;
    const handler: Dispatcher.DispatchHandler = {
      // onConnect runs as the request is handed to a connection, just before it is written
      onConnect: () => {
        onWire = performance.now();
      },
      onHeaders: (statusCode) => {
        status = statusCode;
        return true;
      },
      onData: () => true,
      onComplete: () => {
        const now = performance.now();
        responses++;
        if (status >= 200 && status < 300) ok++;
        else non2xx++;
        corrected.recordMs(now - due);
        uncorrected.recordMs(now - (onWire || due));
        settle();
      },
      onError: () => {
        errors++;
        settle();
      },
    };
    pool.dispatch({ origin: u.origin, path, method: "GET" }, handler);
  };

  const t0 = performance.now();
  const interval = 1000 / o.rate;
  await new Promise<void>((resolve) => {
    const tick = () => {
      if (o.signal.aborted) return resolve();
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) fire(t0 + sent * interval);
      if (sent >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now()));
    };
    tick();
  });
  const elapsedSend = (performance.now() - t0) / 1000;
  if (!o.signal.aborted && sent > 0) await drained;
  await pool.destroy();
  return {
    sent,
    responses,
    ok,
    errors,
    non2xx,
    targetRate: o.rate,
    achievedRate: sent / elapsedSend,
    corrected: corrected.summary(),
    uncorrected: uncorrected.summary(),
    elapsedS: (performance.now() - t0) / 1000,
  };
}
