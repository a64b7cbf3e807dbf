import diagnostics from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import tls from "node:tls";
import { Agent, buildConnector, type Dispatcher } from "undici";
import type { ExchangeError, ExchangeOrder, NewOrder } from "../../../common/src/exchange-types.js";
import { isExchangeError } from "../../../common/src/exchange-types.js";
import type { ExecutorConfig } from "../config.js";
import type { Metrics } from "./metrics.js";

/** The exchange did not answer usefully: unreachable, reset, timed out, or answered 5xx. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: "timeout" | "unreachable" | "reset" | "http",
    readonly upstream: string,
    detail: string,
  ) {
    super(`upstream ${upstream}: ${detail}`);
  }
}

/** The exchange answered, and refused the order (a Binance-style {code, msg}). */
export class ExchangeRejection extends Error {
  constructor(readonly body: ExchangeError) {
    super(`exchange refused: ${body.msg} (code ${body.code})`);
  }
}

export interface ExchangeClient {
  placeOrder(order: NewOrder): Promise<ExchangeOrder>;
  /** One batchOrders call; at most `batchCap` orders. Per-order results, in order. */
  placeBatch(orders: NewOrder[]): Promise<Array<ExchangeOrder | ExchangeError>>;
  openOrders(symbol?: string): Promise<ExchangeOrder[]>;
  /** Binance's query order by clientOrderId; an ExchangeRejection -2013 if there is none. */
  queryOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder>;
  readonly batchCap: number;
  close(): Promise<void>;
}

const TIMEOUT_CODES = new Set([
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "ETIMEDOUT",
]);
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

function classify(err: unknown, upstream: string): UpstreamError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? "";
  if (TIMEOUT_CODES.has(code)) return new UpstreamError("timeout", upstream, `timed out (${code})`);
  if (UNREACHABLE_CODES.has(code)) return new UpstreamError("unreachable", upstream, `unreachable (${code})`);
  return new UpstreamError(
    "reset",
    upstream,
    `connection failed: ${e.message ?? String(err)}${code ? ` (${code})` : ""}`,
  );
}

/**
 * The executor's client to the exchange: one undici Agent.
 * Keep-alive on: a pool of HTTP_KEEPALIVE_MAX_SOCKETS connections, kept idle for
 * HTTP_KEEPALIVE_TIMEOUT_MS. Keep-alive off: every request asks for `Connection: close`
 * (undici's `reset`), so each one opens a fresh TCP + TLS connection.
 */
export function createExchangeClient(cfg: ExecutorConfig, metrics: Metrics, batchCap: number): ExchangeClient {
  const origin = cfg.exchangeUrl.origin;
  // One TLS context for all connections: passing `ca` per connection makes Node rebuild the
  // context on every handshake (~1.5 ms each on this machine).
  const secureContext =
    cfg.exchangeUrl.protocol === "https:"
      ? tls.createSecureContext({ ca: readFileSync(cfg.exchangeCaFile) })
      : undefined;
  const base = buildConnector({
    timeout: cfg.upstreamTimeoutMs,
    secureContext,
  } as buildConnector.BuildOptions);

  // Connection accounting: our connector marks its sockets; the sendHeaders channel tells us
  // which socket carried each request, so reuse is counted per request, not estimated.
  const ours = new WeakMap<Socket, number>();
  const connect: buildConnector.connector = (opts, cb) =>
    base(opts, (err, socket) => {
      if (!err && socket) {
        ours.set(socket as Socket, 0);
        metrics.upstreamConnectionsOpened.inc();
        metrics.keepAliveConnections.inc();
        socket.once("close", () => metrics.keepAliveConnections.dec());
      }
      (cb as (e: Error | null, s: typeof socket | null) => void)(err, socket ?? null);
    });
  const onSend = (msg: unknown) => {
    const socket = (msg as { socket: Socket }).socket;
    const n = ours.get(socket);
    if (n === undefined) return;
    if (n > 0) metrics.keepAliveReused.inc();
    ours.set(socket, n + 1);
  };
  diagnostics.subscribe("undici:client:sendHeaders", onSend);

  const keepAlive = cfg.keepAlive.enabled;
  const agent = new Agent({
    connect,
    connections: keepAlive ? cfg.keepAlive.maxSockets : null,
    keepAliveTimeout: cfg.keepAlive.timeoutMs,
    keepAliveMaxTimeout: Math.max(cfg.keepAlive.timeoutMs, 90_000),
    pipelining: 1,
    headersTimeout: cfg.upstreamTimeoutMs,
    bodyTimeout: cfg.upstreamTimeoutMs,
  });

  async function call(route: string, method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<unknown> {
    let res: Dispatcher.ResponseData;
    try {
      res = await agent.request({
        origin,
        path,
        method,
        reset: !keepAlive,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const e = classify(err, origin);
      metrics.upstreamRequests.labels(route, e.kind).inc();
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = await res.body.json();
    } catch (err) {
      const e =
        res.statusCode >= 500 ? new UpstreamError("http", origin, `answered ${res.statusCode}`) : classify(err, origin);
      metrics.upstreamRequests.labels(route, e.kind).inc();
      throw e;
    }
    if (res.statusCode >= 500) {
      metrics.upstreamRequests.labels(route, "http").inc();
      const msg = isExchangeError(parsed) ? `: ${parsed.msg}` : "";
      throw new UpstreamError("http", origin, `answered ${res.statusCode}${msg}`);
    }
    if (res.statusCode >= 400) {
      metrics.upstreamRequests.labels(route, "rejected").inc();
      throw new ExchangeRejection(isExchangeError(parsed) ? parsed : { code: -1, msg: `HTTP ${res.statusCode}` });
    }
    metrics.upstreamRequests.labels(route, "ok").inc();
    return parsed;
  }

  return {
    batchCap,
    placeOrder: (order) => call("order", "POST", "/fapi/v1/order", order) as Promise<ExchangeOrder>,
    placeBatch: async (orders) => {
      const r = await call("batchOrders", "POST", "/fapi/v1/batchOrders", { batchOrders: orders });
      if (!Array.isArray(r) || r.length !== orders.length) {
        throw new UpstreamError(
          "http",
          origin,
          `batchOrders answered ${Array.isArray(r) ? r.length : "no"} results for ${orders.length} orders`,
        );
      }
      return r as Array<ExchangeOrder | ExchangeError>;
    },
    openOrders: (symbol) =>
      call(
        "openOrders",
        "GET",
        `/fapi/v1/openOrders${symbol ? `?symbol=${encodeURIComponent(symbol)}` : ""}`,
      ) as Promise<ExchangeOrder[]>,
    queryOrder: (symbol, clientOrderId) =>
      call(
        "queryOrder",
        "GET",
        `/fapi/v1/order?symbol=${encodeURIComponent(symbol)}&origClientOrderId=${encodeURIComponent(clientOrderId)}`,
      ) as Promise<ExchangeOrder>,
    close: async () => {
      diagnostics.unsubscribe("undici:client:sendHeaders", onSend);
      await agent.close();
    },
  };
}
