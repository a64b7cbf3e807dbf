import type { AnswerSink } from "./answers.js";
import { WireConnection, timeoutSweep, wireTarget, type ConnectionHooks, type WireTarget } from "./wire-connection.js";
import { encodeRequest, type WireRequest } from "./wire.js";
import type { RequestBody } from "../../scenarios/contract.js";

/** A request of the open model: when it was due, and how to settle it. */
interface Due {
  due: number;
  /** A request of its own (encoded when it is fired), or the pool's. */
  request?: { bytes: Buffer; noBody: boolean };
  settle(): void;
}

/**
 * The open model's connections on plain HTTP (undici's Pool for the open model, without its
 * cost): up to `connections` keep-alive connections, opened as requests need them; a request
 * that falls due with every connection busy waits in a FIFO queue, and that wait counts. Each
 * answer goes to `tally` with its latency from the request's due time (corrected for
 * coordinated omission) and to `uncorrected` from when it was written.
 */
export class WireOpenPool {
  private readonly t: WireTarget;
  private readonly buffer = Buffer.allocUnsafe(64 * 1024);
  private readonly conns = new Set<WireConnection>();
  private readonly idle: WireConnection[] = [];
  private readonly queue: Due[] = [];
  private readonly inFlight = new Map<WireConnection, Due>();
  private readonly sweep: NodeJS.Timeout;
  private closed = false;
  private readonly hooks: ConnectionHooks;
  responses = 0;

  constructor(
    o: {
      url: string;
      method?: string;
      body?: string | RequestBody;
      headers?: Record<string, string>;
      timeoutMs?: number;
    },
    private readonly connections: number,
    private readonly tally: AnswerSink,
    private readonly uncorrected: { recordMs(ms: number): void },
  ) {
    this.t = wireTarget(o);
    this.sweep = timeoutSweep(this.conns, o.timeoutMs ?? 10_000);
    this.hooks = {
      connected: (c) => this.next(c),
      answered: (c) => {
        const r = this.inFlight.get(c)!;
        this.inFlight.delete(c);
        const now = performance.now();
        this.responses++;
        this.tally.answer(c.parser.status, now - r.due, c.parser.sample);
        if (c.parser.status >= 200 && c.parser.status < 300) this.uncorrected.recordMs(now - c.sentAt);
        r.settle();
        if (c.parser.keepAlive) this.next(c);
        else c.socket.destroy();
      },
      failed: (c, kind, message) => {
        // the request on it (in flight, or waiting for it to connect) fails; an idle one loses none
        const r = this.inFlight.get(c);
        if (!r) return;
        this.inFlight.delete(c);
        if (!this.closed) this.tally.error(kind, message);
        r.settle();
      },
      closed: (c) => {
        this.conns.delete(c);
        const at = this.idle.indexOf(c);
        if (at >= 0) this.idle.splice(at, 1);
        this.hooks.failed(c, "reset", "the connection closed before the answer", true);
        this.dispatch();
      },
    };
  }

  /**
   * Request `due` (performance.now() ms) is sent now, or as soon as a connection is free; settles
   * when it is answered or fails. `request`: one of its own to the same host (a mix of requests on
   * one pool, as the soak sends), else the pool's.
   */
  fire(due: number, request?: Omit<WireRequest, "host">): Promise<void> {
    return new Promise<void>((settle) => {
      if (this.closed) return settle();
      const method = request?.method.toUpperCase();
      const own = request && {
        bytes: encodeRequest({ ...request, method: method!, host: this.t.hostHeader }),
        noBody: method === "HEAD",
      };
      this.queue.push({ due, settle, request: own });
      this.dispatch();
    });
  }

  /** The queue's head to an idle connection, or to a new one while there are fewer than `connections`. */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const c = this.idle.pop();
      if (c) {
        this.next(c);
        continue;
      }
      if (this.conns.size >= this.connections) return;
      const fresh = new WireConnection(this.t, this.buffer, this.hooks, () => this.tally.wantsBody);
      this.conns.add(fresh);
      // the request is this connection's from now on: a refused connect fails it, as undici's pool does
      this.inFlight.set(fresh, this.queue.shift()!);
    }
  }

  /** A connection is free (just connected, or answered): its request, the queue's next, or idle. */
  private next(c: WireConnection): void {
    if (this.closed) return;
    if (!this.inFlight.has(c)) {
      const r = this.queue.shift();
      if (!r) {
        this.idle.push(c);
        return;
      }
      this.inFlight.set(c, r);
    }
    const r = this.inFlight.get(c)!;
    if (r.request) c.send(r.request.bytes, r.request.noBody);
    else c.send(this.t.nextRequest(), this.t.method === "HEAD");
  }

  /** Every connection closed; what was queued or in flight settles unanswered. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    for (const r of this.queue.splice(0)) r.settle();
    for (const [, r] of this.inFlight) r.settle();
    this.inFlight.clear();
    for (const c of this.conns) c.socket.destroy();
  }
}
