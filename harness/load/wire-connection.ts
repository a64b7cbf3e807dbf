import net from "node:net";
import { transportKind, type TransportFailure } from "./answers.js";
import { ResponseParser, WireProtocolError, requestSource } from "./wire.js";
import type { RequestBody } from "../../scenarios/contract.js";

/**
 * The wire client's connection (harness/load/wire.ts frames its bytes): a keep-alive net.Socket
 * reading through `onread`, and the target it connects to. The closed model drives it in
 * closed.ts, the open model in open-wire.ts.
 */

/** Where and what a wire connection sends: the parsed target, shared by the closed and the open model. */
export interface WireTarget {
  host: string;
  port: number;
  /** The Host header: host[:port] as the URL spells it. */
  hostHeader: string;
  method: string;
  nextRequest: () => Buffer | string;
}

export function wireTarget(o: {
  url: string;
  method?: string;
  body?: string | RequestBody;
  headers?: Record<string, string>;
}): WireTarget {
  const u = new URL(o.url);
  if (u.protocol !== "http:") throw new WireProtocolError(`the wire client speaks plain HTTP only, not ${u.protocol}`);
  const method = (o.method ?? "GET").toUpperCase();
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: Number(u.port || 80),
    hostHeader: u.host,
    method,
    nextRequest: requestSource({
      method,
      path: `${u.pathname}${u.search}`,
      host: u.host,
      headers: o.headers,
      body: o.body,
    }),
  };
}

/** What a connection tells its model. */
export interface ConnectionHooks {
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
export class WireConnection {
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
export function timeoutSweep(conns: Set<WireConnection>, timeoutMs: number): NodeJS.Timeout {
  return setInterval(
    () => {
      const now = performance.now();
      for (const c of conns)
        if (c.busy && now - c.sentAt > timeoutMs) c.fail("timeout", `no answer within ${timeoutMs} ms`);
    },
    Math.min(1000, Math.max(10, timeoutMs / 4)),
  );
}
