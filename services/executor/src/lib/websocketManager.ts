import { readFileSync } from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from "ws";
import type { ExecutorConfig } from "../config.js";
import type { Metrics } from "./metrics.js";

const WS_PATH = "/ws/market";

/**
 * permessage-deflate settings, chosen deliberately:
 * - serverNoContextTakeover false: market messages are ~300 bytes of repeated field names and
 *   prices, and a deflate context carried across messages is what makes them compress. With
 *   no context takeover each message would compress alone, and ws would then also apply
 *   `threshold` (1024 bytes by default), so 300-byte messages would go out uncompressed.
 *   ws ignores `threshold` while context takeover is on, so it is set to 0 only to say so.
 * - clientNoContextTakeover true: clients send almost nothing (pongs), so their side needs no
 *   retained window.
 * - The price is memory: one deflate stream per client (~ 2^windowBits × 2 + 2^(memLevel+9)
 *   bytes, about 256 KiB at 15/8), which is why serverMaxWindowBits/memLevel stay explicit.
 */
function deflateOptions(level: number): PerMessageDeflateOptions {
  return {
    zlibDeflateOptions: { level, memLevel: 8 },
    serverNoContextTakeover: false,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 15,
    threshold: 0,
    concurrencyLimit: 10,
  };
}

interface Client {
  ws: WebSocket;
  alive: boolean;
  compressed: boolean;
  /** socket.bytesWritten right after the upgrade: what the client costs on the wire is counted from here. */
  baseBytes: number;
}

export interface WebSocketStatus {
  path: string;
  compress: boolean;
  deflateLevel: number | null;
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

  constructor(
    private readonly cfg: ExecutorConfig,
    private readonly metrics: Metrics,
  ) {
    this.upstreamUrl = cfg.exchangeUrl.origin.replace(/^http/, "ws") + "/ws/market";
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: cfg.ws.compress ? deflateOptions(cfg.ws.deflateLevel) : false,
      maxPayload: 64 * 1024,
    });
    // Watchdog: a client that has not answered the previous ping by the next one is dead.
    this.pingTimer = setInterval(() => this.watchdog(), cfg.ws.pingIntervalMs);
    this.pingTimer.unref();
    this.connectUpstream();
  }

  attach(server: Server): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path !== WS_PATH || this.closing) {
        socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"not_found","message":"WebSocket endpoint is ${WS_PATH}"}`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.add(ws));
    });
  }

  private add(ws: WebSocket): void {
    const sock = (ws as unknown as { _socket: { bytesWritten: number } })._socket;
    const c: Client = { ws, alive: true, compressed: ws.extensions.includes("permessage-deflate"), baseBytes: sock.bytesWritten };
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
      this.metrics.wsClients.dec();
    });
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
      ...(this.upstreamUrl.startsWith("wss:") ? { ca: readFileSync(this.cfg.exchangeCaFile) } : {}),
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
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(data, { binary: isBinary, compress: c.compressed });
      this.relayed++;
      this.payloadBytes += data.length;
      if (c.compressed) this.compressedFrames++;
    }
  }

  private wireBytes(): number {
    let n = this.closedWireBytes;
    for (const c of this.clients) n += (c.ws as unknown as { _socket: { bytesWritten: number } })._socket.bytesWritten - c.baseBytes;
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
