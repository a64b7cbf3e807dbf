import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer, type WebSocket } from "ws";
import type { ExchangeError, ExchangeStats } from "../../common/src/exchange-types.js";
import { isExchangeError } from "../../common/src/exchange-types.js";
import { BodyTooLargeError, listen, readBody, sendJson, sendJsonText } from "../../common/src/http-util.js";
import { tlsFixture } from "../../common/src/project.js";
import { OrderBook } from "./book.js";
import type { ExchangeOptions } from "./config.js";
import { MarketFeed } from "./market.js";
import { parseNewOrder } from "./orders.js";
import { seededRandom } from "../../common/src/rng.js";

/** An answer already serialized (the open orders, cached by the book): sent as it is. */
class JsonText {
  constructor(readonly bytes: Buffer) {}
}

export interface RunningExchange {
  url: string;
  wsUrl: string;
  stats(): ExchangeStats;
  close(): Promise<void>;
}

type Fault = "none" | "5xx" | "reset" | "stall";

const zeroStats = (): ExchangeStats => ({
  connections: 0,
  tlsHandshakes: 0,
  tlsResumed: 0,
  requests: 0,
  orderCalls: 0,
  batchCalls: 0,
  openOrdersCalls: 0,
  cancelCalls: 0,
  queryCalls: 0,
  orders: 0,
  rejectedOrders: 0,
  duplicateClientOrderIds: 0,
  faults: { http5xx: 0, resets: 0, stalls: 0 },
  wsConnections: 0,
  wsMessages: 0,
});

const BODY_LIMIT = 1 << 20;

export async function startExchange(opts: ExchangeOptions): Promise<RunningExchange> {
  let stats = zeroStats();
  const book = new OrderBook(opts.maxOpenOrders);
  book.seed(opts.openOrders, opts.seed);
  const draw = seededRandom(opts.seed);

  // One draw per faultable request, in arrival order: the same seed and the same request
  // sequence give the same faults.
  const nextFault = (): Fault => {
    const total = opts.fault5xx + opts.faultReset + opts.faultStall;
    if (total === 0) return "none";
    const r = draw();
    if (r < opts.fault5xx) return "5xx";
    if (r < opts.fault5xx + opts.faultReset) return "reset";
    if (r < total) return "stall";
    return "none";
  };

  const delayFor = (req: IncomingMessage, orders: number): number => {
    const override = Number(req.headers["x-mock-latency-ms"]);
    const base = Number.isFinite(override) && override >= 0 ? override : opts.latencyMs;
    return base + orders * opts.orderCostMs;
  };

  const error = (res: ServerResponse, status: number, e: ExchangeError) => sendJson(res, status, e);

  async function parseBody(req: IncomingMessage, res: ServerResponse): Promise<unknown | undefined> {
    try {
      const body = await readBody(req, BODY_LIMIT);
      return JSON.parse(body.toString("utf8"));
    } catch (err) {
      if (err instanceof BodyTooLargeError) error(res, 413, { code: -1104, msg: err.message });
      else error(res, 400, { code: -1102, msg: "body is not valid JSON" });
      return undefined;
    }
  }

  /** Runs an order-path handler under latency and the injected faults. A body of JsonText is sent as it is. */
  async function faultable(
    req: IncomingMessage,
    res: ServerResponse,
    orders: number,
    work: () => [number, unknown],
  ): Promise<void> {
    const fault = nextFault();
    await sleep(delayFor(req, orders));
    if (fault === "5xx") {
      stats.faults.http5xx++;
      return error(res, 503, { code: -1001, msg: "Internal error; unable to process your request. Please try again." });
    }
    if (fault === "stall") {
      stats.faults.stalls++;
      await sleep(opts.stallMs);
    }
    const [status, body] = work();
    if (fault === "reset") {
      // After the work: the order is placed but its answer is lost, the case that makes
      // clients retry and tests idempotency.
      stats.faults.resets++;
      const sock = req.socket as Socket & { resetAndDestroy?: () => void };
      if (sock.resetAndDestroy) sock.resetAndDestroy();
      else sock.destroy();
      return;
    }
    if (!res.destroyed) {
      if (body instanceof JsonText) sendJsonText(res, status, body.bytes);
      else sendJson(res, status, body);
    }
  }

  function placeOne(raw: unknown) {
    const parsed = parseNewOrder(raw);
    if (isExchangeError(parsed)) {
      stats.rejectedOrders++;
      return parsed;
    }
    const placed = book.place(parsed);
    if (isExchangeError(placed)) {
      stats.rejectedOrders++;
      if (placed.code === -4116) stats.duplicateClientOrderIds++;
    } else {
      stats.orders++;
    }
    return placed;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    // the path and the query split by hand: a URL parse per call cost twice as much (1.6–1.9 µs
    // against 0.8–0.9 here), and it reads a path that starts with "//" as a host
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const route = `${req.method} ${q < 0 ? target : target.slice(0, q)}`;
    const query = new URLSearchParams(q < 0 ? "" : target.slice(q + 1));
    switch (route) {
      case "GET /health":
        return sendJson(res, 200, { status: "ok", pid: process.pid });
      case "GET /stats":
        return sendJson(res, 200, stats);
      case "GET /stats/orders":
        // the audit of the fault tests: which clientOrderIds the book accepted, each once
        return sendJson(res, 200, { clientOrderIds: book.acceptedClientOrderIds() });
      case "POST /stats/reset":
        stats = zeroStats();
        return sendJson(res, 200, stats);
      case "POST /fapi/v1/order": {
        stats.orderCalls++;
        const body = await parseBody(req, res);
        if (body === undefined) return;
        return faultable(req, res, 1, () => {
          const r = placeOne(body);
          return [isExchangeError(r) ? 400 : 200, r];
        });
      }
      case "POST /fapi/v1/batchOrders": {
        stats.batchCalls++;
        const body = (await parseBody(req, res)) as { batchOrders?: unknown } | undefined;
        if (body === undefined) return;
        const list = body?.batchOrders;
        if (!Array.isArray(list) || list.length === 0) {
          return error(res, 400, {
            code: -1102,
            msg: "Mandatory parameter 'batchOrders' was not sent, was empty/null, or malformed.",
          });
        }
        if (list.length > opts.batchCap) {
          return error(res, 400, {
            code: -1130,
            msg: `batchOrders carries ${list.length} orders; at most ${opts.batchCap} are allowed.`,
          });
        }
        return faultable(req, res, list.length, () => [200, list.map(placeOne)]);
      }
      case "GET /fapi/v1/openOrders": {
        stats.openOrdersCalls++;
        const symbol = query.get("symbol") ?? undefined;
        return faultable(req, res, 0, () => [200, new JsonText(book.openOrdersJson(symbol))]);
      }
      case "GET /fapi/v1/order": {
        stats.queryCalls++;
        const symbol = query.get("symbol") ?? "";
        const clientOrderId = query.get("origClientOrderId");
        if (!clientOrderId)
          return error(res, 400, { code: -1102, msg: "Mandatory parameter 'origClientOrderId' was not sent." });
        return faultable(req, res, 0, () => {
          const r = book.query(symbol, clientOrderId);
          return [isExchangeError(r) ? 400 : 200, r];
        });
      }
      case "DELETE /fapi/v1/order": {
        stats.cancelCalls++;
        const symbol = query.get("symbol") ?? "";
        const orderId = query.get("orderId");
        const clientOrderId = query.get("origClientOrderId") ?? undefined;
        return faultable(req, res, 1, () => {
          const r = book.cancel(symbol, { orderId: orderId ? Number(orderId) : undefined, clientOrderId });
          return [isExchangeError(r) ? 400 : 200, r];
        });
      }
      default:
        return error(res, 404, { code: -5000, msg: `no such route: ${route}` });
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) error(res, 500, { code: -1000, msg: `mock exchange failed: ${err.message}` });
      else res.destroy();
    });
  };

  const server = opts.tls
    ? https.createServer(
        {
          cert: readFileSync(tlsFixture.cert()),
          key: readFileSync(tlsFixture.key()),
          minVersion: "TLSv1.3",
        },
        onRequest,
      )
    : http.createServer(onRequest);
  // Longer than any client keep-alive we test (HTTP_KEEPALIVE_TIMEOUT_MS default 60 s),
  // so that the client, not the exchange, decides when an idle connection closes.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on("connection", () => stats.connections++);
  if (opts.tls) {
    server.on("secureConnection", (s: TLSSocket) => {
      stats.tlsHandshakes++;
      if (s.isSessionReused()) stats.tlsResumed++;
    });
  }
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  // Market stream: every connection gets its own feed at opts.wsRate messages per second.
  const wss = new WebSocketServer({ server, path: "/ws/market" });
  const feed = new MarketFeed(opts.seed);
  wss.on("connection", (ws: WebSocket) => {
    stats.wsConnections++;
    const tickMs = 10;
    let owed = 0;
    const timer = setInterval(() => {
      owed += (opts.wsRate * tickMs) / 1000;
      // Backpressure: skip a tick rather than buffer without bound for a slow reader.
      if (ws.bufferedAmount > 1 << 20) return;
      while (owed >= 1) {
        owed -= 1;
        ws.send(feed.next());
        stats.wsMessages++;
      }
    }, tickMs);
    ws.on("close", () => clearInterval(timer));
    ws.on("error", () => clearInterval(timer));
  });

  const url = await listen(server, opts.port, opts.host, opts.tls ? "https" : "http");
  return {
    url,
    wsUrl: url.replace(/^http/, "ws") + "/ws/market",
    stats: () => stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
