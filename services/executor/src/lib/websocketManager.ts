import { readFileSync } from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from "ws";
import type { ExecutorConfig, WsFanout } from "../config.js";
import { frame, SyncDeflate } from "./wsFrames.js";
import type { Metrics } from "./metrics.js";

const WS_PATH = "/ws/market";
const NEWLINE = Buffer.from("\n");

/**
 * permessage-deflate settings, chosen deliberately:
 * - serverNoContextTakeover false: market messages are ~300 bytes of repeated field names and
 *   prices, and a deflate context carried across messages is what makes them compress (5.4×
 *   at level 3 against 1.6× for each message alone). `shared-stateless` turns it on to measure
 *   that trade. With no context takeover `ws` would also apply `threshold` (1024 bytes by
 *   default) to what it compresses itself, so it is set to 0: every message is compressed.
 * - clientNoContextTakeover true: clients send almost nothing (pongs), so their side needs no
 *   retained window.
 * - `ws` builds its own deflate stream (~256 KiB at 15/8) only for a client it compresses for
 *   itself (`per-client`, or a client whose offer the shared stream cannot serve).
 */
function deflateOptions(level: number, fanout: WsFanout): PerMessageDeflateOptions {
  return {
    zlibDeflateOptions: { level, memLevel: 8 },
    serverNoContextTakeover: fanout === "shared-stateless",
    clientNoContextTakeover: true,
    serverMaxWindowBits: 15,
    threshold: 0,
    concurrencyLimit: 10,
  };
}

/**
 * How one subscriber gets its market messages (WS_FANOUT picks the design; a client's own offer
 * can narrow it):
 * - `ws`: `ws.send`, compressed by `ws` if negotiated: one deflate stream per client, driven
 *   asynchronously on libuv's threadpool (at most `concurrencyLimit` at once). The baseline
 *   (WS_COMPRESS=false), a client that negotiated no compression, and WS_FANOUT=per-client.
 * - `stream`: the shared stream (WS_FANOUT=shared). Each message is compressed once, with
 *   context takeover, and the same frame is written to every member. Every member's inflater
 *   must hold the same window for that to decode, so a new client first `joins`.
 * - `joining`: gets messages uncompressed (RSV1 unset, which RFC 7692 allows on a deflate
 *   connection) until the next broadcast, which the shared stream ends with a full flush: from
 *   the message after it nothing refers back, and the client becomes a member.
 * - `stateless`: WS_FANOUT=shared-stateless, where every client negotiates
 *   server_no_context_takeover: each message compressed alone, once, the same frame for all.
 * - `own`: WS_FANOUT=per-client-sync: a deflate stream per client like `ws`, but synchronous.
 */
type Delivery = "ws" | "stream" | "joining" | "stateless" | "own";

interface Client {
  ws: WebSocket;
  sock: Socket;
  alive: boolean;
  compressed: boolean;
  delivery: Delivery;
  deflate?: SyncDeflate;
  /** socket.bytesWritten right after the upgrade: what the client costs on the wire is counted from here. */
  baseBytes: number;
}

export interface WebSocketStatus {
  path: string;
  compress: boolean;
  deflateLevel: number | null;
  /** WS_FANOUT, when compressing; how many clients each delivery serves. */
  fanout: WsFanout | null;
  deliveries: Record<Delivery, number>;
  coalesce: boolean;
  clients: number;
  upstream: { url: string; connected: boolean; connects: number; messages: number; lastError: string | null };
  relayedMessages: number;
  compressedFrames: number;
  payloadBytes: number;
  wireBytes: number;
  compressionRatio: number | null;
  bandwidthSaved: number;
  deadClientsDropped: number;
}

export class WebSocketManager {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private upstream: WebSocket | undefined;
  private upstreamState = { connected: false, connects: 0, messages: 0, lastError: null as string | null };
  private relayed = 0;
  private compressedFrames = 0;
  private payloadBytes = 0;
  /** Wire bytes of clients that have gone. */
  private closedWireBytes = 0;
  private dead = 0;
  private reported = { frames: 0, messages: 0 };
  private closing = false;
  private readonly pingTimer: NodeJS.Timeout;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 100;
  private readonly upstreamUrl: string;
  /** WS_FANOUT=shared: the one deflate stream every member's frames come from. */
  private readonly stream: SyncDeflate | undefined;
  /** Clients that negotiated no context takeover: each message compressed alone, once. */
  private readonly stateless: SyncDeflate | undefined;
  private members = 0;
  private readonly joining = new Set<Client>();
  /** WS_COALESCE: the text messages of the current upstream read, sent as one frame. */
  private pending: Buffer[] = [];

  constructor(
    private readonly cfg: ExecutorConfig,
    private readonly metrics: Metrics,
  ) {
    this.upstreamUrl = cfg.exchangeUrl.origin.replace(/^http/, "ws") + "/ws/market";
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: cfg.ws.compress ? deflateOptions(cfg.ws.deflateLevel, cfg.ws.fanout) : false,
      maxPayload: 64 * 1024,
    });
    if (cfg.ws.compress && cfg.ws.fanout === "shared") this.stream = new SyncDeflate(cfg.ws.deflateLevel);
    if (cfg.ws.compress && cfg.ws.fanout !== "per-client") this.stateless = new SyncDeflate(cfg.ws.deflateLevel);
    // Watchdog: a client that has not answered the previous ping by the next one is dead.
    this.pingTimer = setInterval(() => this.watchdog(), cfg.ws.pingIntervalMs);
    this.pingTimer.unref();
    this.connectUpstream();
  }

  attach(server: Server): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path !== WS_PATH || this.closing) {
        socket.end(
          `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"not_found","message":"WebSocket endpoint is ${WS_PATH}"}`,
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.add(ws));
    });
  }

  private add(ws: WebSocket): void {
    const sock = (ws as unknown as { _socket: Socket })._socket;
    const compressed = ws.extensions.includes("permessage-deflate");
    const c: Client = {
      ws,
      sock,
      alive: true,
      compressed,
      delivery: this.deliveryOf(compressed),
      baseBytes: sock.bytesWritten,
    };
    if (c.delivery === "own") c.deflate = new SyncDeflate(this.cfg.ws.deflateLevel);
    if (c.delivery === "joining") this.joining.add(c);
    this.clients.add(c);
    this.metrics.wsClients.inc();
    ws.on("pong", () => (c.alive = true));
    ws.on("message", () => {
      // clients only need to listen; anything they send is ignored
    });
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      this.closedWireBytes += sock.bytesWritten - c.baseBytes;
      this.clients.delete(c);
      if (c.delivery === "stream") this.members--;
      this.joining.delete(c);
      c.deflate?.close();
      this.metrics.wsClients.dec();
    });
  }

  private deliveryOf(compressed: boolean): Delivery {
    // negotiation is `ws`'s, as before: under WS_FANOUT=shared an offer of
    // server_no_context_takeover or of a window under 15 bits is refused at the handshake
    const fanout = this.cfg.ws.fanout;
    if (!compressed || fanout === "per-client") return "ws";
    if (fanout === "per-client-sync") return "own";
    return fanout === "shared-stateless" ? "stateless" : "joining";
  }

  private watchdog(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.dead++;
        this.metrics.wsDropped.inc();
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private connectUpstream(): void {
    if (this.closing) return;
    const ws = new WebSocket(this.upstreamUrl, {
      ca: this.upstreamUrl.startsWith("wss:") ? readFileSync(this.cfg.exchangeCaFile) : undefined,
      perMessageDeflate: false,
    });
    this.upstream = ws;
    ws.on("open", () => {
      this.upstreamState.connected = true;
      this.upstreamState.connects++;
      this.backoffMs = 100;
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => this.broadcast(data, isBinary));
    ws.on("error", (err) => {
      this.upstreamState.lastError = err.message;
    });
    ws.on("close", () => {
      this.upstreamState.connected = false;
      if (this.closing) return;
      this.reconnectTimer = setTimeout(() => this.connectUpstream(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 5000);
    });
  }

  private broadcast(data: Buffer, isBinary: boolean): void {
    this.upstreamState.messages++;
    if (!this.cfg.ws.coalesce || isBinary) {
      if (this.pending.length > 0) this.flush();
      this.fanOut(data, isBinary, 1);
      return;
    }
    // the messages of one read off the upstream socket arrive in one synchronous burst; the
    // microtask runs right after it, so coalescing adds no wait
    if (this.pending.push(data) === 1) queueMicrotask(() => this.flush());
  }

  /** The pending messages as one frame of newline-delimited JSON (JSON text never holds a raw newline). */
  private flush(): void {
    const msgs = this.pending;
    if (msgs.length === 0) return;
    this.pending = [];
    const parts: Buffer[] = [];
    for (const m of msgs) parts.push(m, NEWLINE);
    parts.pop();
    this.fanOut(msgs.length === 1 ? msgs[0]! : Buffer.concat(parts), false, msgs.length);
  }

  private fanOut(data: Buffer, binary: boolean, messages: number): void {
    if (this.closing) return;
    let fullFlush = false;
    if (this.joining.size > 0) {
      if (this.members === 0) {
        // nobody holds the stream's window: start it afresh, and everyone joins now
        this.stream?.reset();
        this.promote();
      } else fullFlush = true;
    }
    let streamFrame: Buffer | undefined;
    let statelessFrame: Buffer | undefined;
    let plainFrame: Buffer | undefined;
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      switch (c.delivery) {
        case "ws":
          c.ws.send(data, { binary, compress: c.compressed });
          break;
        case "stream":
          c.sock.write((streamFrame ??= frame(this.stream!.compress(data, fullFlush), binary, true)));
          break;
        case "joining":
          c.sock.write((plainFrame ??= frame(data, binary, false)));
          break;
        case "stateless":
          if (!statelessFrame) {
            this.stateless!.reset();
            statelessFrame = frame(this.stateless!.compress(data), binary, true);
          }
          c.sock.write(statelessFrame);
          break;
        case "own":
          c.sock.write(frame(c.deflate!.compress(data), binary, true));
          break;
      }
      this.relayed += messages;
      this.payloadBytes += data.length;
      if (c.compressed && c.delivery !== "joining") this.compressedFrames++;
    }
    if (fullFlush) this.promote();
  }

  /** The joining clients become members of the shared stream. */
  private promote(): void {
    for (const c of this.joining) {
      c.delivery = "stream";
      this.members++;
    }
    this.joining.clear();
  }

  private deliveries(): Record<Delivery, number> {
    const d: Record<Delivery, number> = { ws: 0, stream: 0, joining: 0, stateless: 0, own: 0 };
    for (const c of this.clients) d[c.delivery]++;
    return d;
  }

  private wireBytes(): number {
    let n = this.closedWireBytes;
    for (const c of this.clients) n += c.sock.bytesWritten - c.baseBytes;
    return n;
  }

  /** Brings the ws gauges and counters up to date; called before each scrape. */
  refreshMetrics(): void {
    const s = this.status();
    const m = this.metrics;
    // counters move by what happened since the last scrape; the hot path only adds to plain numbers
    m.wsCompressedFrames.inc(s.compressedFrames - this.reported.frames);
    m.wsMessages.inc(s.relayedMessages - this.reported.messages);
    this.reported = { frames: s.compressedFrames, messages: s.relayedMessages };
    if (s.compressionRatio !== null) m.wsCompressionRatio.set(s.compressionRatio);
    m.wsBandwidthSaved.set(s.bandwidthSaved);
  }

  status(): WebSocketStatus {
    const wire = this.wireBytes();
    return {
      path: WS_PATH,
      compress: this.cfg.ws.compress,
      deflateLevel: this.cfg.ws.compress ? this.cfg.ws.deflateLevel : null,
      fanout: this.cfg.ws.compress ? this.cfg.ws.fanout : null,
      deliveries: this.deliveries(),
      coalesce: this.cfg.ws.coalesce,
      clients: this.clients.size,
      upstream: { url: this.upstreamUrl, ...this.upstreamState },
      relayedMessages: this.relayed,
      compressedFrames: this.compressedFrames,
      payloadBytes: this.payloadBytes,
      wireBytes: wire,
      compressionRatio: wire > 0 ? this.payloadBytes / wire : null,
      bandwidthSaved: this.payloadBytes - wire,
      deadClientsDropped: this.dead,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.pingTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.upstream?.terminate();
    this.stream?.close();
    this.stateless?.close();
    for (const c of this.clients) c.ws.close(1001, "executor shutting down");
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const c of this.clients) c.ws.terminate();
        resolve();
      }, 500);
      this.wss.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
