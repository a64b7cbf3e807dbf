import { LatencyRecorder, latencyMetrics } from "./latency.js";
import { requestsIn, type AnswersRecord, type TransportFailure } from "../../scenarios/contract.js";

export type { AnswersRecord, TransportFailure };

/** The bytes of a failing answer's body a trial keeps (the first one only). */
export const FAILURE_BODY_BYTES = 512;

export const transportKind = (err: unknown): TransportFailure => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNREFUSED") return "refused";
  if (code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET" || code === "UND_ERR_CLOSED")
    return "reset";
  if (
    code === "ETIMEDOUT" ||
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  )
    return "timeout";
  return "other";
};

/** Where a generator's connections put each answer and each failure (an AnswerTally, or a caller's own that counts more). */
export type AnswerSink = Pick<AnswerTally, "answer" | "error" | "wantsBody">;

/**
 * A trial's answers, counted apart: successes (whose latency is the trial's latency), failed
 * answers by status code (with their own latency), and transport failures by kind. k6 keeps
 * `http_req_failed` apart the same way; autocannon prints non-2xx beside its summary.
 */
export class AnswerTally {
  ok = 0;
  readonly okLatency = new LatencyRecorder();
  readonly failedLatency = new LatencyRecorder();
  private readonly statuses = new Map<number, number>();
  private readonly transport: Record<TransportFailure, number> = { refused: 0, reset: 0, timeout: 0, other: 0 };
  private first: AnswersRecord["first"];

  /** Whether the next failing answer's body is still wanted (only the first one is kept). */
  get wantsBody(): boolean {
    return this.first === undefined;
  }

  answer(status: number, ms: number, body?: string): void {
    if (status >= 200 && status < 300) {
      this.ok++;
      this.okLatency.recordMs(ms);
      return;
    }
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.failedLatency.recordMs(ms);
    this.first ??= { status, body: body?.slice(0, FAILURE_BODY_BYTES) };
  }

  error(kind: TransportFailure, message?: string): void {
    this.transport[kind]++;
    this.first ??= { error: message ?? kind };
  }

  get non2xx(): number {
    let n = 0;
    for (const v of this.statuses.values()) n += v;
    return n;
  }

  get errors(): number {
    return this.transport.refused + this.transport.reset + this.transport.timeout + this.transport.other;
  }

  /** Every request that ended: answered (any status) or failed in transport. */
  get total(): number {
    return this.ok + this.non2xx + this.errors;
  }

  get failureShare(): number {
    const t = this.total;
    return t === 0 ? 0 : (t - this.ok) / t;
  }

  record(): AnswersRecord {
    return {
      ok: this.ok,
      statuses: Object.fromEntries([...this.statuses].sort(([a], [b]) => a - b).map(([k, v]) => [String(k), v])),
      transport: { ...this.transport },
      failureShare: this.failureShare,
      first: this.first,
    };
  }

  /**
   * The flat metrics: latency percentiles of the successes under `prefix`, the failures' own,
   * and the counts and share (`failure_share`, `non_2xx`, `errors`, `failed`).
   */
  metrics(prefix = "latency"): Record<string, number> {
    const failed = this.failedLatency.summary();
    return {
      ok: this.ok,
      failed: this.total - this.ok,
      non_2xx: this.non2xx,
      errors: this.errors,
      failure_share: this.failureShare,
      ...latencyMetrics(prefix, this.okLatency.summary()),
      ...(failed ? { failed_latency_p50_ms: failed.p50, failed_latency_p95_ms: failed.p95 } : {}),
    };
  }
}

/** "400 ×1224, 503 ×3, refused ×2": the failures of a record, for a message. */
export function failureText(a: AnswersRecord): string {
  const parts = Object.entries(a.statuses).map(([code, n]) => `${code} ×${n}`);
  for (const [kind, n] of Object.entries(a.transport)) if (n > 0) parts.push(`${kind} ×${n}`);
  return parts.join(", ");
}

/** Why a trial with too many failed answers failed: the share, the codes with their counts, the first failing answer. */
export function tooManyFailures(a: AnswersRecord, limit: number): string {
  const total = requestsIn(a);
  // the body on one line, as it came (truncated): what the service said when it refused
  const body = a.first?.body?.replace(/\s*\n\s*/g, " ").trim();
  const shown = body ? ` ${body.length > 200 ? body.slice(0, 200) + "…" : body}` : "";
  const first =
    a.first?.status !== undefined
      ? `; first failing answer: ${a.first.status}${shown}`
      : a.first?.error
        ? `; first failure: ${a.first.error}`
        : "";
  return `${total - a.ok} of ${total} requests failed (${(a.failureShare * 100).toFixed(1)}%, over --max-errors ${limit}): ${failureText(a)}${first}`;
}
