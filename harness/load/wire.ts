import { FAILURE_BODY_BYTES } from "./answers.js";
import type { RequestBody } from "../../scenarios/contract.js";

/**
 * perfpack's lean HTTP/1.1 client for closed-model load on plain-HTTP targets: each connection
 * is a net.Socket reading through `onread` into one shared buffer (no stream, no per-read
 * Buffer), the request is encoded once, and a small incremental parser frames each answer
 * (Content-Length, chunked, or until close). It costs 1.05–1.13× the CPU per request of the
 * least a Node.js client can do (scripts/bench/node-floor.mjs), 1.4–1.6× wrk's on a 2-core VM,
 * where autocannon in-process costs 2.5–2.9× (scripts/bench-overhead.mjs, issue 24). HTTPS
 * targets stay on autocannon (closed model) and undici (open model).
 *
 * This file is its framing: the request's bytes and the response parser. The connection is in
 * wire-connection.ts, the closed loop in closed.ts, the open model's pool in open-wire.ts.
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
export function requestSource(r: Omit<WireRequest, "body"> & { body?: string | RequestBody }): () => Buffer | string {
  if (r.body === undefined || typeof r.body === "string") {
    const bytes = encodeRequest({ ...r, body: r.body });
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
      // a head split across reads is searched in the join of its pieces (from the last 3 bytes
      // already searched); a whole one in place, with no view of the read
      const prior = this.partial;
      const before = prior ? prior.length : 0;
      const head = prior ? Buffer.concat([prior, buf.subarray(start, end)]) : buf;
      const from = prior ? 0 : start;
      const to = prior ? head.length : end;
      const found = head.indexOf(HEAD_END, prior ? Math.max(0, before - 3) : start);
      // in place, a match past `end` is stale bytes of the shared buffer
      const at = found >= 0 && found + 4 <= to ? found : -1;
      if (at < 0) {
        if (to - from > 64 * 1024) throw new WireProtocolError("response head over 64 KiB");
        // kept as a copy: the shared buffer is overwritten by the next read
        this.partial = prior ? head : Buffer.from(buf.subarray(start, end));
        return false;
      }
      this.partial = undefined;
      this.parseHead(head.toString("latin1", from, at));
      // where the body starts in buf: past the blank line, less what of the head came before this read
      i = prior ? start + (at + 4 - before) : at + 4;
    }
    for (;;) {
      if (this.state === State.Done) {
        if (i < end)
          throw new WireProtocolError(`${end - i} bytes past the end of a response (the client does not pipeline)`);
        return true;
      }
      if (i >= end) return false;
      switch (this.state) {
        case State.UntilClose:
          if (this.sample !== undefined && this.sample.length < FAILURE_BODY_BYTES)
            this.sample += buf.toString("utf8", i, Math.min(end, i + FAILURE_BODY_BYTES));
          return false;
        case State.Length:
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - i);
          if (this.sample !== undefined && this.sample.length < FAILURE_BODY_BYTES)
            this.sample += buf.toString("utf8", i, i + Math.min(take, FAILURE_BODY_BYTES));
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
    if (
      !text.startsWith("HTTP/1.") ||
      (minor !== 0 && minor !== 1) ||
      text.charCodeAt(8) !== 32 ||
      !isDigits(text, 9, 12)
    ) {
      const eol = text.indexOf("\r\n");
      throw new WireProtocolError(
        `not an HTTP/1.x status line: ${JSON.stringify((eol < 0 ? text : text.slice(0, eol)).slice(0, 60))}`,
      );
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
    if (status < 200 && status >= 100)
      throw new WireProtocolError(`interim answer ${status} (the client sends no Expect and no Upgrade)`);
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
