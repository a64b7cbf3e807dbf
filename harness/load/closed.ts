import autocannon from "autocannon";
import { AnswerTally, transportKind } from "./answers.js";
import type { LatencySummary } from "./latency.js";
import { WireConnection, timeoutSweep, wireTarget, type ConnectionHooks } from "./wire-connection.js";
import type { RequestBody } from "../../scenarios/contract.js";

/** The closed model's options; the wire client takes any method, a fixed body or a template. */
export interface ClosedLoadOptions {
  url: string;
  method?: string;
  /** A fixed body, or a template whose placeholders are filled per request. */
  body?: string | RequestBody;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  signal: AbortSignal;
  /** A request unanswered this long fails (counted in errors) and its connection is replaced (default 10 s). */
  timeoutMs?: number;
  /**
   * At the end of `durationS`, send nothing more but wait for the answers in flight (each up to
   * `timeoutMs`), as k6's gracefulStop does. For warm-ups: cut off, their requests would still
   * hold the system's upstream connections and queues when the measured load begins. The signal
   * still ends everything at once.
   */
  drain?: boolean;
}

export interface LoadResult {
  /** Responses received in the window (any status). */
  responses: number;
  /** 2xx answers. */
  ok: number;
  /** Successful answers per second. */
  perSecond: number;
  /** Of the successful answers only (the failures have their own, in `answers`). */
  latency: LatencySummary | undefined;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  elapsedS: number;
  /** Every answer and failure, counted apart (status codes, transport failures, the first failing body). */
  answers: AnswerTally;
}

/**
 * Closed-model load: N connections, each sends its next request when the last one is answered.
 * Plain-HTTP targets get perfpack's wire client (`wireLoad`, below), which costs about half
 * of autocannon's CPU per request on the machine it shares with the system under test; HTTPS
 * targets get autocannon. Latency is in fractional milliseconds either way. `drain` is the wire
 * client's alone: autocannon drops the answers in flight at its end.
 */
export function closedLoad(o: ClosedLoadOptions): Promise<LoadResult> {
  return o.url.startsWith("http:") ? closedLoadWire(o) : closedLoadAutocannon(o);
}

/** The closed model on the wire client; latency timed from the write to the answer's last byte. */
export async function closedLoadWire(o: ClosedLoadOptions): Promise<LoadResult> {
  const answers = new AnswerTally();
  const r = await wireLoad(o, answers);
  return resultOf(answers, r.responses, r.elapsedS);
}

const resultOf = (answers: AnswerTally, responses: number, elapsedS: number): LoadResult => ({
  responses,
  ok: answers.ok,
  perSecond: answers.ok / elapsedS,
  latency: answers.okLatency.summary(),
  errors: answers.errors,
  non2xx: answers.non2xx,
  elapsedS,
  answers,
});

interface WireLoadResult {
  responses: number;
  elapsedS: number;
}

/**
 * Closed model on plain HTTP: `connections` connections, each sends its next request when the
 * last answer has ended, until `durationS` or the signal. Each answer goes to `tally` with its
 * latency (performance.now() from the write to the last byte, fractional ms) and status (the
 * first failing answer with the start of its body); each request that got no answer, with how
 * it failed. Answers in flight at the end are dropped, as autocannon and wrk drop them, unless `drain`.
 */
function wireLoad(o: ClosedLoadOptions, tally: AnswerTally): Promise<WireLoadResult> {
  const t = wireTarget(o);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const conns = new Set<WireConnection>();
  let responses = 0;
  let over = false;
  const t0 = performance.now();

  return new Promise((resolve) => {
    const finish = () => {
      if (over && conns.size === 0) {
        clearInterval(sweep);
        o.signal.removeEventListener("abort", stop);
        resolve({ responses, elapsedS: (performance.now() - t0) / 1000 });
      }
    };
    /** No new requests from now on; draining, connections with an answer in flight stay until it ends. */
    const end = (drain: boolean) => {
      over = true;
      clearTimeout(timer);
      for (const c of conns) if (!drain || !c.busy) c.socket.destroy();
      finish();
    };
    const stop = () => end(false);
    const timer = setTimeout(() => end(o.drain === true), o.durationS * 1000);
    o.signal.addEventListener("abort", stop, { once: true });
    const sweep = timeoutSweep(conns, timeoutMs);
    const hooks: ConnectionHooks = {
      connected: (c) => {
        if (!over) c.send(t.nextRequest());
      },
      answered: (c) => {
        responses++;
        tally.answer(c.parser.status, performance.now() - c.sentAt, c.parser.sample);
        if (c.parser.keepAlive && !over) c.send(t.nextRequest());
        else c.socket.destroy();
      },
      // a connection that fails while idle (between answers) loses no request
      failed: (c, kind, message, lost) => {
        if (!over && (lost || c.served === 0)) tally.error(kind, message);
      },
      closed: (c) => {
        conns.delete(c);
        if (over) return finish();
        // a connection that served answers is replaced at once; one that never did (a refused
        // or dying target) after 10 ms, so a dead target is not hammered in a tight loop
        if (c.served > 0 && !c.failed) connect();
        else setTimeout(connect, 10);
      },
    };
    const connect = () => {
      if (!over) conns.add(new WireConnection(t, buffer, hooks, () => tally.wantsBody));
    };
    for (let c = 0; c < o.connections; c++) connect();
  });
}

/** The closed model on autocannon. Latency comes from its per-response event. */
export async function closedLoadAutocannon(o: ClosedLoadOptions): Promise<LoadResult> {
  const answers = new AnswerTally();
  let responses = 0;
  const t0 = performance.now();
  const { inst, done } = started(autocannonOptions(o));
  inst.on("response", (_client, status, _bytes, ms) => {
    responses++;
    answers.answer(status, ms);
  });
  let firstError: Error | undefined;
  inst.on("reqError", (err: Error) => (firstError ??= err));
  const stop = () => inst.stop();
  o.signal.addEventListener("abort", stop, { once: true });
  try {
    const r = await done;
    // autocannon counts its failures in the result: timeouts apart, the rest as errors
    for (let i = 0; i < r.timeouts; i++) answers.error("timeout");
    for (let i = 0; i < r.errors; i++)
      answers.error(firstError ? transportKind(firstError) : "other", firstError?.message);
    return resultOf(answers, responses, (performance.now() - t0) / 1000);
  } finally {
    o.signal.removeEventListener("abort", stop);
  }
}

// absent keys stay absent: autocannon lays the options over its defaults with Object.assign
const autocannonOptions = (o: ClosedLoadOptions): autocannon.Options => ({
  url: o.url,
  method: (o.method ?? "GET") as NonNullable<autocannon.Options["method"]>,
  // a template's placeholders: a fresh body per request (autocannon's setupRequest)
  ...(typeof o.body === "string"
    ? { body: o.body }
    : o.body !== undefined
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request) => ({ ...req, body: (o.body as { next(): string }).next() }),
            },
          ],
        }
      : {}),
  ...(o.headers ? { headers: o.headers } : {}),
  connections: o.connections,
  duration: o.durationS,
  timeout: (o.timeoutMs ?? 10_000) / 1000,
});

/** autocannon started, and its result as a promise (its callback may come before anyone awaits). */
function started(options: autocannon.Options): { inst: autocannon.Instance; done: Promise<autocannon.Result> } {
  let settle!: (err: Error | null, result: autocannon.Result) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    settle = (err, result) => (err ? reject(err) : resolve(result));
  });
  return { inst: autocannon(options, settle), done };
}
