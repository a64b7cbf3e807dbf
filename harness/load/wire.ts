import net from "node:net";
import { AnswerTally, FAILURE_BODY_BYTES, transportKind, type AnswerSink, type TransportFailure } from "./answers.js";
import type { RequestBody } from "../../scenarios/contract.js";

/**
 * perfpack's lean HTTP/1.1 client for closed-model load on plain-HTTP targets: each connection
 * is a net.Socket reading through `onread` into one shared buffer (no stream, no per-read
 * Buffer), the request is encoded once, and a small incremental parser frames each answer
 * (Content-Length, chunked, or until close). It costs 1.05–1.13× the CPU per request of the
 * least a Node.js client can do (scripts/bench/node-floor.mjs), 1.4–1.6× wrk's on a 2-core VM,
 * where autocannon in-process costs 2.5–2.9× (scripts/bench-overhead.mjs, issue 24). HTTPS
 * targets stay on autocannon (closed model) and undici (open model).
 */

export class WireProtocolError extends Error {}

export interface WireRequest {
  method: string;
  /** Path and query, e.g. /api/private/open-orders?symbol=BTCUSDT. */
  path: string;
  /** The Host header: host[:port]. */
  host: string;
  headers?: Record<string, string>;
  body?: string;
}

/** The request line, Host and the caller's headers, up to (not including) Content-Length and the blank line. */
function encodeHead(r: Omit<WireRequest, "body">): string {
  let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${r.host}\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    if (/[\r\n]/.test(k + v)) throw new WireProtocolError(`header ${JSON.stringify(k)} holds a line break`);
    if (/^(host|content-length|transfer-encoding)$/i.test(k)) continue;
    head += `${k}: ${v}\r\n`;
  }
  return head;
}

/** The request's bytes, once: request line, Host, the caller's headers, Content-Length and body. */
export function encodeRequest(r: WireRequest): Buffer {
  const head = encodeHead(r);
  if (r.body === undefined) return Buffer.from(head + "\r\n", "latin1");
  const body = Buffer.from(r.body);
  return Buffer.concat([Buffer.from(`${head}content-length: ${body.length}\r\n\r\n`, "latin1"), body]);
}

/**
 * A request per send: the same bytes each time (a fixed body, encoded once), or a body template's
 * next instance behind the head encoded once (one string concatenation per request).
 */
function requestSource(r: Omit<WireRequest, "body"> & { body?: string | RequestBody }): () => Buffer | string {
  if (r.body === undefined || typeof r.body === "string") {
    const bytes = encodeRequest({ ...r, ...(r.body !== undefined ? { body: r.body } : {}) } as WireRequest);
    return () => bytes;
  }
  const tpl = r.body;
  if (tpl.fixed) {
    const bytes = encodeRequest({ ...r, body: tpl.text });
    return () => bytes;
  }
  const head = encodeHead(r) + "content-length: ";
  return () => {
    const body = tpl.next();
    return `${head}${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
}

/** The blank line that ends a head, as bytes (a string needle is encoded on every search). */
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

const enum State {
  Head,
  Length,
  ChunkLine,
  ChunkData,
  /** The CRLF that closes a chunk's data. */
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

/**
 * Frames one HTTP/1.1 response at a time from the bytes a connection reads. `feed` returns
 * true when the response ended within those bytes; `status` and `keepAlive` describe it. Bytes
 * past the end of a response are a protocol error: the client never pipelines.
 */
export class ResponseParser {
  status = 0;
  keepAlive = true;
  /** Set before a request: keep the start of the body if the answer is not 2xx (the first failure's, for the report). */
  capture = false;
  /** The kept start of a failing answer's body (utf8), when `capture` was set. */
  sample: string | undefined;
  private state = State.Head;
  private partial: Buffer | undefined;
  private remaining = 0;
  private line = "";

  /** `noBody`: the request was HEAD, so no answer carries a body (set per request where methods mix). */
  constructor(public noBody = false) {}

  reset(): void {
    this.state = State.Head;
    this.status = 0;
    this.keepAlive = true;
    this.partial = undefined;
    this.line = "";
    this.sample = undefined;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Bytes buf[start, end) arrived. */
  feed(buf: Buffer, start: number, end: number): boolean {
    let i = start;
    if (this.state === State.Head) {
      if (this.partial) {
        const before = this.partial.length;
        const head = (this.partial = Buffer.concat([this.partial, buf.subarray(start, end)]));
        const at = head.indexOf(HEAD_END, Math.max(0, before - 3));
        if (at < 0) {
          if (head.length > 64 * 1024) throw new WireProtocolError("response head over 64 KiB");
          return false;
        }
        this.parseHead(head.toString("latin1", 0, at));
        // where the body starts in buf: what of the head came before this read, and the blank line
        i = start + (at + 4 - before);
        this.partial = undefined;
      } else {
        // in place, no view of the read: a match past `end` is stale bytes of the shared buffer
        const found = buf.indexOf(HEAD_END, start);
        const at = found >= 0 && found + 4 <= end ? found : -1;
        if (at < 0) {
          if (end - start > 64 * 1024) throw new WireProtocolError("response head over 64 KiB");
          this.partial = Buffer.from(buf.subarray(start, end));
          return false;
        }
        this.parseHead(buf.toString("latin1", start, at));
        i = at + 4;
      }
    }
    for (;;) {
      if (this.state === State.Done) {
        if (i < end) throw new WireProtocolError(`${end - i} bytes past the end of a response (the client does not pipeline)`);
        return true;
      }
      if (i >= end) return false;
      switch (this.state) {
        case State.UntilClose:
          if (this.sample !== undefined && this.sample.length < FAILURE_BODY_BYTES) this.sample += buf.toString("utf8", i, Math.min(end, i + FAILURE_BODY_BYTES));
          return false;
        case State.Length:
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - i);
          if (this.sample !== undefined && this.sample.length < FAILURE_BODY_BYTES) this.sample += buf.toString("utf8", i, i + Math.min(take, FAILURE_BODY_BYTES));
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = this.state === State.Length ? State.Done : State.ChunkEnd;
          break;
        }
        case State.ChunkLine:
        case State.ChunkEnd:
        case State.Trailers: {
          const nl = buf.indexOf(10, i);
          if (nl < 0 || nl >= end) {
            this.line += buf.toString("latin1", i, end);
            if (this.line.length > 8192) throw new WireProtocolError("chunk line over 8 KiB");
            return false;
          }
          const line = (this.line + buf.toString("latin1", i, nl)).replace(/\r$/, "");
          this.line = "";
          i = nl + 1;
          this.onLine(line);
          break;
        }
        default:
          throw new WireProtocolError("parser in no state");
      }
    }
  }

  /** The peer closed the connection: true if that ends a read-until-close body. */
  eof(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      return true;
    }
    return false;
  }

  private onLine(line: string): void {
    if (this.state === State.Trailers) {
      if (line === "") this.state = State.Done;
      return;
    }
    if (this.state === State.ChunkEnd) {
      if (line !== "") throw new WireProtocolError("chunk data longer than its size line said");
      this.state = State.ChunkLine;
      return;
    }
    const m = /^([0-9a-fA-F]{1,12})\s*(;.*)?$/.exec(line);
    if (!m) throw new WireProtocolError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
    const size = Number.parseInt(m[1]!, 16);
    if (size === 0) this.state = State.Trailers;
    else {
      this.remaining = size;
      this.state = State.ChunkData;
    }
  }

  private parseHead(text: string): void {
    // "HTTP/1.x NNN", read by character code: no match array, no substring
    const minor = text.charCodeAt(7) - 48;
    const status = (text.charCodeAt(9) - 48) * 100 + (text.charCodeAt(10) - 48) * 10 + (text.charCodeAt(11) - 48);
    if (!text.startsWith("HTTP/1.") || (minor !== 0 && minor !== 1) || text.charCodeAt(8) !== 32 || !isDigits(text, 9, 12)) {
      const eol = text.indexOf("\r\n");
      throw new WireProtocolError(`not an HTTP/1.x status line: ${JSON.stringify((eol < 0 ? text : text.slice(0, eol)).slice(0, 60))}`);
    }
    this.status = status;
    this.keepAlive = minor === 1;
    if (this.capture && (status < 200 || status >= 300)) this.sample = "";
    // only the three headers that frame the answer, each found by a plain search of the head in
    // lower case (the last of a repeated header wins): no string per other header
    const lower = text.toLowerCase();
    const length = lastHeader(text, lower, "\r\ncontent-length:");
    const encoding = lastHeader(text, lower, "\r\ntransfer-encoding:");
    const chunked = encoding !== undefined && /(^|,)\s*chunked$/i.test(encoding);
    const connection = lastHeader(text, lower, "\r\nconnection:")?.toLowerCase();
    if (connection === "close") this.keepAlive = false;
    else if (connection === "keep-alive") this.keepAlive = true;
    if (status < 200 && status >= 100) throw new WireProtocolError(`interim answer ${status} (the client sends no Expect and no Upgrade)`);
    if (this.noBody || status === 204 || status === 304) this.state = State.Done;
    else if (chunked) this.state = State.ChunkLine;
    else if (length !== undefined) {
      const n = Number(length);
      if (length === "" || !Number.isSafeInteger(n) || n < 0) throw new WireProtocolError("bad content-length");
      this.remaining = n;
      this.state = n === 0 ? State.Done : State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }
}

/** Whether text[from, to) is all ASCII digits. */
function isDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The trimmed value of the last header line starting with `name` ("\r\nname:", lower case) in the head, if any. */
function lastHeader(text: string, lower: string, name: string): string | undefined {
  const at = lower.lastIndexOf(name);
  if (at < 0) return undefined;
  const from = at + name.length;
  const eol = text.indexOf("\r", from);
  return text.slice(from, eol < 0 ? text.length : eol).trim();
}

/** Where and what a wire connection sends: the parsed target, shared by the closed and the open model. */
interface WireTarget {
  host: string;
  port: number;
  /** The Host header: host[:port] as the URL spells it. */
  hostHeader: string;
  method: string;
  nextRequest: () => Buffer | string;
}

function wireTarget(o: { url: string; method?: string; body?: string | RequestBody; headers?: Record<string, string> }): WireTarget {
  const u = new URL(o.url);
  if (u.protocol !== "http:") throw new WireProtocolError(`the wire client speaks plain HTTP only, not ${u.protocol}`);
  const method = (o.method ?? "GET").toUpperCase();
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: Number(u.port || 80),
    hostHeader: u.host,
    method,
    nextRequest: requestSource({ method, path: `${u.pathname}${u.search}`, host: u.host, ...(o.headers ? { headers: o.headers } : {}), ...(o.body !== undefined ? { body: o.body } : {}) }),
  };
}

/** What a connection tells its model. */
interface ConnectionHooks {
  connected(c: WireConnection): void;
  /** The answer in flight ended; `c.parser` holds its status, keep-alive and failure sample. */
  answered(c: WireConnection): void;
  /** The connection failed; `lost`: a request was in flight on it. */
  failed(c: WireConnection, kind: TransportFailure, message: string, lost: boolean): void;
  closed(c: WireConnection): void;
}

/**
 * One keep-alive connection: a net.Socket reading through `onread` into a buffer shared by all
 * connections (onread callbacks run one at a time and the parser copies only a split head, so
 * no connection's bytes outlive its callback), one request in flight at most.
 */
class WireConnection {
  readonly parser: ResponseParser;
  readonly socket: net.Socket;
  /** performance.now() when the request in flight was written. */
  sentAt = 0;
  busy = false;
  served = 0;
  failed = false;

  constructor(
    t: WireTarget,
    buffer: Buffer,
    private readonly hooks: ConnectionHooks,
    private readonly capture: () => boolean,
  ) {
    this.parser = new ResponseParser(t.method === "HEAD");
    this.socket = net.connect({
      host: t.host,
      port: t.port,
      noDelay: true,
      onread: {
        buffer,
        callback: (n: number, buf: Buffer) => {
          if (!this.busy) {
            this.fail("other", "bytes arrived with no request in flight");
            return false;
          }
          try {
            if (this.parser.feed(buf, 0, n)) this.complete();
          } catch (err) {
            this.fail("other", (err as Error).message);
            return false;
          }
          return true;
        },
      },
    });
    const s = this.socket;
    s.on("connect", () => hooks.connected(this));
    s.on("end", () => {
      if (this.busy && this.parser.eof()) this.complete();
      else if (this.busy) this.fail("reset", "the connection closed before the answer ended");
      s.destroy();
    });
    s.on("error", (err) => this.fail(transportKind(err), err.message));
    s.on("close", () => {
      if (this.busy) this.fail("reset", "the connection closed before the answer");
      hooks.closed(this);
    });
  }

  send(bytes: Buffer | string, noBody = this.parser.noBody): void {
    this.parser.reset();
    this.parser.noBody = noBody;
    this.parser.capture = this.capture();
    this.sentAt = performance.now();
    this.busy = true;
    this.socket.write(bytes);
  }

  private complete(): void {
    this.busy = false;
    this.served++;
    this.hooks.answered(this);
  }

  fail(kind: TransportFailure, message: string): void {
    if (this.failed) return;
    this.failed = true;
    const lost = this.busy;
    this.busy = false;
    this.hooks.failed(this, kind, message, lost);
    this.socket.destroy();
  }
}

/** One sweep for every connection's request timeout (socket.setTimeout would re-arm a timer on every read and write). */
function timeoutSweep(conns: Set<WireConnection>, timeoutMs: number): NodeJS.Timeout {
  return setInterval(
    () => {
      const now = performance.now();
      for (const c of conns) if (c.busy && now - c.sentAt > timeoutMs) c.fail("timeout", `no answer within ${timeoutMs} ms`);
    },
    Math.min(1000, Math.max(10, timeoutMs / 4)),
  );
}

export interface WireLoadOptions {
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

export interface WireLoadResult {
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
export function wireLoad(o: WireLoadOptions, tally: AnswerTally): Promise<WireLoadResult> {
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
    o: { url: string; method?: string; body?: string | RequestBody; headers?: Record<string, string>; timeoutMs?: number },
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
      const own = request && { bytes: encodeRequest({ ...request, method: method!, host: this.t.hostHeader }), noBody: method === "HEAD" };
      this.queue.push({ due, settle, ...(own ? { request: own } : {}) });
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
