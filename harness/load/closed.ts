import autocannon from "autocannon";
import { AnswerTally, transportKind } from "./answers.js";
import type { LatencySummary } from "./latency.js";
import { wireLoad, type WireLoadOptions } from "./wire.js";

/** The wire client's options (any method, a fixed body or a template). */
export type ClosedLoadOptions = WireLoadOptions;

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

/** The closed model on autocannon. Latency comes from its per-response event. */
export async function closedLoadAutocannon(o: ClosedLoadOptions): Promise<LoadResult> {
  const answers = new AnswerTally();
  let responses = 0;
  const t0 = performance.now();
  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => ((finish = resolve), (fail = reject)));
  const inst = autocannon(
    {
      url: o.url,
      method: (o.method ?? "GET") as NonNullable<autocannon.Options["method"]>,
      // a template's placeholders: a fresh body per request (autocannon's setupRequest)
      ...(typeof o.body === "string"
        ? { body: o.body }
        : o.body !== undefined
          ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: (o.body as { next(): string }).next() }) }] }
          : {}),
      ...(o.headers ? { headers: o.headers } : {}),
      connections: o.connections,
      duration: o.durationS,
      timeout: (o.timeoutMs ?? 10_000) / 1000,
    },
    (err, result) => (err ? fail(err) : finish(result)),
  );
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
    for (let i = 0; i < r.errors; i++) answers.error(firstError ? transportKind(firstError) : "other", firstError?.message);
    return resultOf(answers, responses, (performance.now() - t0) / 1000);
  } finally {
    o.signal.removeEventListener("abort", stop);
  }
}
