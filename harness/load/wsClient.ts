import { EventEmitter } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";

/**
 * The generator's WebSocket subscriber: RFC 6455 on a bare socket, with permessage-deflate
 * (RFC 7692) inflated synchronously on the event loop.
 *
 * `ws`'s client inflates every compressed message asynchronously on libuv's threadpool (one hop
 * per message per subscriber, at most 10 at a time); with hundreds of subscribers on a 2-core box
 * that queue, not the server, set the measured latency. This client reads only what a market
 * subscriber needs: text and binary messages (fragmented or not, compressed or not), pings
 * (answered), pongs (reported) and close. It sends nothing but control frames.
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const HANDSHAKE_TIMEOUT_MS = 5000;

interface RawHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    out: Buffer,
    outOff: number,
    outLen: number,
  ): void;
}

/** A raw inflate stream driven synchronously (the handle zlib's own sync path drives), keeping its window between messages. */
class SyncInflate {
  private readonly z = zlib.createInflateRaw({ windowBits: 15 });
  private readonly handle: RawHandle;
  private readonly state: Uint32Array;
  private readonly scratch = Buffer.allocUnsafe(64 * 1024);

  constructor() {
    const internals = this.z as unknown as { _handle?: RawHandle; _writeState?: Uint32Array };
    if (typeof internals._handle?.writeSync !== "function" || !(internals._writeState instanceof Uint32Array)) {
      throw new Error(`this Node.js (${process.version}) has no synchronous zlib stream handle`);
    }
    this.handle = internals._handle;
    this.state = internals._writeState;
  }

  /** One permessage-deflate payload (its 00 00 ff ff tail stripped by the sender) inflated. */
  inflate(payload: Buffer): Buffer {
    const input = Buffer.concat([payload, TAIL]);
    const parts: Buffer[] = [];
    let off = 0;
    let avail = input.length;
    for (;;) {
      this.handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, off, avail, this.scratch, 0, this.scratch.length);
      const availOut = this.state[0]!;
      const availIn = this.state[1]!;
      parts.push(Buffer.from(this.scratch.subarray(0, this.scratch.length - availOut)));
      off += avail - availIn;
      avail = availIn;
      if (availOut !== 0 || avail === 0) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  reset(): void {
    this.z.reset();
  }

  close(): void {
    this.z.close();
  }
}

/** A masked client frame (RFC 6455 §5.3); the client sends only control frames, so payloads are < 126 bytes. */
function controlFrame(opcode: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.allocUnsafe(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** The permessage-deflate parameters a server's Sec-WebSocket-Extensions answer settled on, if it accepted the offer. */
export function parseDeflateAnswer(header: string | undefined): { serverNoContextTakeover: boolean } | undefined {
  if (!header) return undefined;
  for (const ext of header.split(",")) {
    const [name, ...params] = ext.split(";").map((s) => s.trim());
    if (name !== "permessage-deflate") continue;
    return { serverNoContextTakeover: params.some((p) => p.split("=")[0]!.trim() === "server_no_context_takeover") };
  }
  return undefined;
}

export interface WsClientEvents {
  message: [data: Buffer];
  pong: [];
  close: [];
}

/** An open subscriber. Events: "message" (the whole, inflated message), "pong", "close". */
export class WsClient extends EventEmitter<WsClientEvents> {
  /** The extensions the server accepted, as its Sec-WebSocket-Extensions header named them. */
  readonly extensions: string;
  private readonly inflater: SyncInflate | undefined;
  private readonly resetEach: boolean;
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentCompressed = false;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    extensions: string,
    head: Buffer,
  ) {
    super();
    this.extensions = extensions;
    const deflate = parseDeflateAnswer(extensions);
    this.inflater = deflate ? new SyncInflate() : undefined;
    this.resetEach = deflate?.serverNoContextTakeover ?? false;
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.finish());
    // the socket comes paused; what arrived with the 101 answer is read once the caller has
    // had its turn to listen (setImmediate runs after the promise's continuations)
    setImmediate(() => {
      if (head.length > 0) this.onData(head);
      socket.on("data", (chunk: Buffer) => this.onData(chunk));
      socket.resume();
    });
  }

  /** Bytes read off the wire, handshake included. */
  get bytesRead(): number {
    return this.socket.bytesRead;
  }

  ping(): void {
    if (!this.closed) this.socket.write(controlFrame(0x9));
  }

  terminate(): void {
    this.socket.destroy();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.inflater?.close();
    this.emit("close");
  }

  private fail(): void {
    // a protocol error from the server: 1002, then drop the connection (RFC 6455 §7.1.7)
    if (!this.closed) this.socket.end(controlFrame(0x8, Buffer.from([0x03, 0xea])));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let off = 0;
    while (buf.length - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      if (b1 & 0x80) return this.fail(); // a server must not mask (§5.1)
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (buf.length - off < head + len) break;
      const payload = buf.subarray(off + head, off + head + len);
      off += head + len;
      this.onFrame((b0 & 0x80) !== 0, (b0 & 0x40) !== 0, b0 & 0x0f, payload);
      if (this.closed) return;
    }
    this.pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }

  private onFrame(fin: boolean, rsv1: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x0:
      case 0x1:
      case 0x2: {
        if (opcode !== 0x0) {
          if (rsv1 && !this.inflater) return this.fail();
          this.fragments = [];
          this.fragmentCompressed = rsv1;
        }
        this.fragments.push(payload);
        if (!fin) return;
        const whole = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
        this.fragments = [];
        let data = whole;
        if (this.fragmentCompressed) {
          data = this.inflater!.inflate(whole);
          if (this.resetEach) this.inflater!.reset();
        }
        this.emit("message", data);
        return;
      }
      case 0x8:
        this.socket.end(controlFrame(0x8, payload.subarray(0, 2)));
        this.finish();
        return;
      case 0x9:
        this.socket.write(controlFrame(0xa, payload));
        return;
      case 0xa:
        this.emit("pong");
        return;
      default:
        return this.fail();
    }
  }
}

/**
 * Opens a WebSocket (ws: or wss:) with permessage-deflate offered as a browser offers it, and
 * resolves once the server's 101 answer checks out. Rejects with `WebSocket <url>: <why>`.
 */
export function connectWs(url: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<WsClient> {
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:")
    return Promise.reject(new Error(`WebSocket ${url}: the URL must start with ws:// or wss://`));
  const secure = u.protocol === "wss:";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || (secure ? 443 : 80));
  const key = randomBytes(16).toString("base64");
  const request =
    `GET ${u.pathname}${u.search} HTTP/1.1\r\n` +
    `Host: ${u.host}\r\n` +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    "\r\n";
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    let got: Buffer = Buffer.alloc(0);
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`WebSocket ${url}: ${why}`));
    };
    const timer = setTimeout(
      () => fail(`Opening handshake has timed out (${HANDSHAKE_TIMEOUT_MS} ms)`),
      HANDSHAKE_TIMEOUT_MS,
    );
    const onAbort = () => fail("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once(secure ? "secureConnect" : "connect", () => socket.write(request));
    socket.on("error", (err) => fail(err.message));
    socket.on("close", () => fail("the server closed the connection during the handshake"));
    const onData = (chunk: Buffer) => {
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      const end = got.indexOf("\r\n\r\n");
      if (end === -1) {
        if (got.length > 16 * 1024) fail("the handshake answer's headers are over 16 KiB");
        return;
      }
      const [status, ...lines] = got.subarray(0, end).toString("latin1").split("\r\n");
      const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(status ?? "")?.[1]);
      if (code !== 101)
        return fail(`Unexpected server response: ${Number.isFinite(code) ? code : JSON.stringify(status)}`);
      const h = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) h.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const accept = createHash("sha1")
        .update(key + GUID)
        .digest("base64");
      if (h.get("sec-websocket-accept") !== accept) return fail("Invalid Sec-WebSocket-Accept header");
      const extensions = h.get("sec-websocket-extensions") ?? "";
      if (extensions && !parseDeflateAnswer(extensions))
        return fail(`the server accepted an extension it was not offered: ${extensions}`);
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.pause();
      socket.removeAllListeners("data");
      socket.removeAllListeners("error");
      socket.removeAllListeners("close");
      const client = new WsClient(socket, extensions, got.subarray(end + 4));
      signal?.addEventListener("abort", () => client.terminate(), { once: true });
      resolve(client);
    };
    socket.on("data", onData);
  });
}
