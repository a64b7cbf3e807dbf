import { Pool, type Dispatcher } from "undici";
import { AnswerTally, FAILURE_BODY_BYTES, transportKind, type AnswerSink } from "./answers.js";
import { LatencyRecorder, type LatencySummary } from "./latency.js";
import { WireOpenPool } from "./open-wire.js";
import type { WireRequest } from "./wire.js";
import type { RequestBody } from "../../scenarios/contract.js";
import { setTimeout as sleep } from "node:timers/promises";

export interface OpenLoadOptions {
  url: string;
  /** Requests per second, at constant arrival times (request i is due at t0 + i / rate). */
  rate: number;
  durationS: number;
  /** Connections the generator may open (wrk2's -c). Requests beyond them wait, and that wait counts. */
  connections: number;
  signal: AbortSignal;
  method?: string;
  headers?: Record<string, string>;
  body?: RequestBody;
}

export interface OpenLoadResult {
  sent: number;
  responses: number;
  ok: number;
  errors: number;
  non2xx: number;
  targetRate: number;
  achievedRate: number;
  /** From each request's intended send time: corrects coordinated omission, as wrk2 does (successful answers). */
  corrected: LatencySummary | undefined;
  /** From the moment the request was written to a connection: what a closed-loop tool reports (successful answers). */
  uncorrected: LatencySummary | undefined;
  elapsedS: number;
  /** Every answer and failure, counted apart; latencies corrected. */
  answers: AnswerTally;
}

export interface Schedule {
  /** Arrivals per second: request i is due at t0 + i / rate. */
  rate: number;
  /** Requests in all (rate × seconds). */
  total: number;
  signal: AbortSignal;
  /**
   * In-flight policy. Infinity (openLoad): every request goes when due and waits for a free
   * connection, and that wait counts in its latency. A number (the soak): past it, a due request
   * is not sent but counted late, so that a long stall cannot pile up unbounded work.
   */
  maxInFlight: number;
  /** Sends request i, due at `due` (performance.now() ms); settles when it is answered or fails. */
  fire(i: number, due: number): Promise<void>;
  /** Called (and awaited) every `everyMs` of the schedule, e.g. to sample the executor. */
  tick?: { everyMs: number; fn(): Promise<void> };
  /**
   * The arrival rate climbs linearly from `from` × rate to the rate over the first `ms`, then
   * holds (a capacity step's warm-up). Without it the rate holds from the first request.
   */
  ramp?: { ms: number; from: number };
}

/**
 * When request n is due (ms after t0): constant arrivals, or along the ramp first. On the ramp the
 * rate is r(t) = r0 + (R − r0)·t/T, so the count by t is r0·t + (R − r0)·t²/2T; its inverse is the
 * due time. A ramp lets a step's connections open and its service warm up while it still has
 * headroom: a stream started cold at a rate near capacity could build, in its first second, a
 * backlog that a service at 90% load drains only over tens of seconds, so the step's call
 * depended on that start rather than on the rate.
 */
export function dueTimes(rate: number, ramp: Schedule["ramp"]): (n: number) => number {
  const R = rate / 1000;
  if (!ramp || ramp.ms <= 0 || ramp.from >= 1) return (n) => n / R;
  const T = ramp.ms;
  const a = R * Math.max(ramp.from, 0.01);
  const b = (R - a) / (2 * T);
  const atT = a * T + b * T * T;
  return (n) => (n < atT ? (-a + Math.sqrt(a * a + 4 * b * n)) / (2 * b) : T + (n - atT) / R);
}

/**
 * How late (ms) a request may leave against its due time before the generator counts as behind its
 * schedule (its event loop was busy), so that the load it offered was not the one asked for.
 */
export const SCHEDULE_SLACK_MS = 10;

/**
 * The open model's clock, shared by `openLoad` and the soak: fires requests at constant arrival
 * times whatever the answers do, then waits for those in flight. Returns when the last request
 * was sent (ms after t0), how many were sent, and how many were late (see maxInFlight).
 */
export async function runSchedule(o: Schedule): Promise<{ sent: number; late: number; sendMs: number }> {
  const t0 = performance.now();
  const dueOf = dueTimes(o.rate, o.ramp);
  let n = 0;
  let late = 0;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let nextTick = o.tick ? t0 + o.tick.everyMs : Infinity;
  while (n < o.total && !o.signal.aborted) {
    const now = performance.now();
    while (n < o.total && t0 + dueOf(n) <= now) {
      const i = n++;
      if (inFlight >= o.maxInFlight) {
        late++;
        continue;
      }
      inFlight++;
      void o.fire(i, t0 + dueOf(i)).finally(() => {
        if (--inFlight === 0) idle?.();
      });
    }
    if (o.tick && now >= nextTick) {
      nextTick += o.tick.everyMs;
      await o.tick.fn();
    }
    if (n >= o.total) break;
    const wake = Math.min(t0 + dueOf(n), nextTick);
    await sleep(Math.max(0, wake - performance.now()));
  }
  const sendMs = performance.now() - t0;
  if (inFlight > 0 && !o.signal.aborted) await new Promise<void>((r) => (idle = r));
  return { sent: n - late, late, sendMs };
}

/**
 * Open-model, constant-arrival-rate load: on perfpack's wire client for plain HTTP, on undici
 * for HTTPS. The schedule never waits for answers: when the server stalls, requests keep
 * falling due, and their latency is counted from when they were due, not from when a free
 * connection finally let them go.
 */
export async function openLoad(o: OpenLoadOptions): Promise<OpenLoadResult> {
  const answers = new AnswerTally();
  const uncorrected = new LatencyRecorder();
  const t0 = performance.now();
  const total = Math.max(1, Math.floor(o.rate * o.durationS));
  const pool = openPool(o, answers, uncorrected);
  const { sent, sendMs } = await runSchedule({
    rate: o.rate,
    total,
    signal: o.signal,
    maxInFlight: Infinity,
    fire: (_i, due) => pool.fire(due),
  });
  await pool.close();
  return {
    sent,
    responses: pool.responses,
    ok: answers.ok,
    errors: answers.errors,
    non2xx: answers.non2xx,
    targetRate: o.rate,
    achievedRate: sent / (sendMs / 1000),
    corrected: answers.okLatency.summary(),
    uncorrected: uncorrected.summary(),
    elapsedS: (performance.now() - t0) / 1000,
    answers,
  };
}

/** A request to the pool's origin other than the pool's own (the soak mixes two on one pool). */
export type OpenRequest = Omit<WireRequest, "host">;
/** Where a pool connects and what it sends by default: the open model's options without the schedule. */
type PoolTarget = Pick<OpenLoadOptions, "url" | "connections" | "method" | "headers" | "body">;
/** Where a pool puts each successful answer's latency from its write (the open model's uncorrected figure). */
type WriteLatency = { recordMs(ms: number): void };

/**
 * The open model's connections to one origin, `o.connections` at most: perfpack's wire client
 * on plain HTTP, undici's Pool on HTTPS. `fire` sends the pool's request (`o`), or one of its
 * own, due at `due`; each answer goes to `answers` timed from `due`, and to `uncorrected` from
 * when it was written.
 */
export function openPool(
  o: PoolTarget,
  answers: AnswerSink,
  uncorrected: WriteLatency,
): { fire(due: number, request?: OpenRequest): Promise<void>; close(): Promise<void>; readonly responses: number } {
  if (new URL(o.url).protocol !== "http:") return undiciOpenPool(o, answers, uncorrected);
  const pool = new WireOpenPool(o, o.connections, answers, uncorrected);
  return {
    // a request of its own is encoded as it is fired: a header holding a line break fails it
    fire: (due, request) => pool.fire(due, request).catch((err: Error) => answers.error("other", err.message)),
    close: async () => pool.close(),
    get responses() {
      return pool.responses;
    },
  };
}

/** The open model's connections on undici's Pool (HTTPS targets). */
function undiciOpenPool(o: PoolTarget, answers: AnswerSink, uncorrected: WriteLatency) {
  const u = new URL(o.url);
  const pool = new Pool(u.origin, {
    connections: o.connections,
    pipelining: 1,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const path = u.pathname + u.search;
  const method = (o.method ?? "GET") as Dispatcher.HttpMethod;
  const out = { responses: 0, fire, close: () => pool.destroy() };
  function fire(due: number, request?: OpenRequest) {
    return new Promise<void>((settle) => {
      let onWire = 0;
      let status = 0;
      let sample: string | undefined;
      const handler: Dispatcher.DispatchHandler = {
        // onConnect runs as the request is handed to a connection, just before it is written
        onConnect: () => {
          onWire = performance.now();
        },
        onHeaders: (statusCode) => {
          status = statusCode;
          if ((status < 200 || status >= 300) && answers.wantsBody) sample = "";
          return true;
        },
        onData: (chunk) => {
          if (sample !== undefined && sample.length < FAILURE_BODY_BYTES)
            sample += chunk.toString("utf8", 0, FAILURE_BODY_BYTES);
          return true;
        },
        onComplete: () => {
          const now = performance.now();
          out.responses++;
          answers.answer(status, now - due, sample);
          if (status >= 200 && status < 300) uncorrected.recordMs(now - (onWire || due));
          settle();
        },
        onError: (err) => {
          answers.error(transportKind(err), err.message);
          settle();
        },
      };
      const body = request ? request.body : o.body?.next();
      const headers = request ? request.headers : o.headers;
      pool.dispatch(
        {
          origin: u.origin,
          path: request?.path ?? path,
          method: (request?.method.toUpperCase() as Dispatcher.HttpMethod) ?? method,
          headers,
          body,
        },
        handler,
      );
    });
  }
  return out;
}
