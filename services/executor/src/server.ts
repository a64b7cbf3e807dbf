import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import type { ExchangeOrder, NewOrder } from "../../common/src/exchange-types.js";
import { BodyTooLargeError, listen, readBody, sendJson, sendJsonText } from "../../common/src/http-util.js";
import type { ExecutorConfig } from "./config.js";
import { Batcher, BatcherClosedError } from "./lib/batcher.js";
import { MalformedOrderError, createSerializer, toOpenOrderView, toOrderView } from "./lib/fastJson.js";
import { ExchangeRejection, UpstreamError, createExchangeClient, type ExchangeClient } from "./lib/httpClient.js";
import { createMetrics } from "./lib/metrics.js";
import { ValidationError, parseOrderRequest } from "./lib/orders.js";
import { DuplicateClientOrderIdError, OrderSubmitter, UnsettledOrderError, sameRequest } from "./lib/submit.js";
import { WebSocketManager } from "./lib/websocketManager.js";

export interface RunningExecutor {
  url: string;
  /** Refuses new work, drains pending batches, answers every accepted request, then closes. */
  close(): Promise<void>;
}

export interface ExecutorDeps {
  log(line: string): void;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const PRIVATE = "/api/private/";

/** Burns `us` microseconds of CPU: the gate's test aid EXECUTOR_CPU_BURN_US. */
function burn(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // spin
  }
}

export async function startExecutor(cfg: ExecutorConfig, deps: ExecutorDeps): Promise<RunningExecutor> {
  const metrics = createMetrics();
  const client: ExchangeClient = createExchangeClient(cfg, metrics, cfg.exchangeBatchCap);
  const serializer = createSerializer(cfg.json.stringifier, metrics);
  const upstream = cfg.exchangeUrl.origin;

  let seq = 0;
  const idPrefix = `pp${process.pid.toString(36)}${Date.now().toString(36)}`;
  const makeClientId = () => `${idPrefix}-${(seq++).toString(36)}`;

  const submitter = new OrderSubmitter(client, cfg.retry, metrics);

  /** One flush: split at the exchange's cap, one call per chunk, every order gets its own outcome. */
  async function flushBatch(_key: string, orders: NewOrder[]): Promise<Array<ExchangeOrder | Error>> {
    const chunks: NewOrder[][] = [];
    for (let i = 0; i < orders.length; i += client.batchCap) chunks.push(orders.slice(i, i + client.batchCap));
    const settled = await Promise.all(
      chunks.map(async (chunk): Promise<Array<ExchangeOrder | Error>> => {
        try {
          return await submitter.place(chunk);
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          return chunk.map(() => e);
        }
      }),
    );
    return settled.flat();
  }

  const batcher = cfg.batch.enabled
    ? new Batcher<NewOrder, ExchangeOrder>(
        {
          maxSize: cfg.batch.maxSize,
          flushMs: cfg.batch.flushMs,
          mode: cfg.batch.mode,
          maxInFlight: cfg.batch.adaptiveMaxInFlight,
        },
        flushBatch,
        (e) => {
          metrics.batchFlush.labels(e.key).inc();
          metrics.batchFlushReason.labels(e.reason).inc();
          metrics.batchSize.observe(e.size);
          metrics.batchLatency.observe(e.latencyMs);
        },
      )
    : undefined;

  const ws = new WebSocketManager(cfg, metrics);

  const fail = (
    res: ServerResponse,
    status: number,
    error: string,
    message: string,
    extra: Record<string, unknown> = {},
  ) => sendJson(res, status, { error, message, ...extra });

  function failFor(res: ServerResponse, err: unknown): void {
    if (err instanceof ValidationError) return fail(res, 400, "invalid_order", err.message);
    if (err instanceof UnsettledOrderError) {
      const extra = {
        upstream: err.last.upstream,
        clientOrderId: err.clientOrderId,
        orderStatus: err.orderStatus,
        attempts: err.attempts,
      };
      return err.last.kind === "timeout"
        ? fail(res, 504, "upstream_timeout", err.message, extra)
        : fail(res, 502, "upstream_error", err.message, extra);
    }
    if (err instanceof DuplicateClientOrderIdError) {
      return fail(res, 409, "duplicate_client_order_id", err.message, { clientOrderId: err.clientOrderId });
    }
    if (err instanceof ExchangeRejection)
      return fail(res, 422, "exchange_rejected", err.message, { exchangeCode: err.body.code });
    if (err instanceof UpstreamError) {
      return err.kind === "timeout"
        ? fail(res, 504, "upstream_timeout", err.message, { upstream: err.upstream })
        : fail(res, 502, "upstream_error", err.message, { upstream: err.upstream });
    }
    if (err instanceof MalformedOrderError) return fail(res, 502, "upstream_error", err.message, { upstream });
    if (err instanceof BatcherClosedError) return fail(res, 503, "shutting_down", err.message);
    return fail(res, 500, "internal_error", (err as Error)?.message ?? String(err));
  }

  const postOrder: Handler = async (req, res) => {
    const ctype = String(req.headers["content-type"] ?? "");
    if (!/^application\/json\b/i.test(ctype)) {
      req.resume();
      return fail(
        res,
        415,
        "unsupported_media_type",
        `Content-Type must be application/json (got ${ctype ? JSON.stringify(ctype) : "none"})`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, cfg.bodyLimitBytes)).toString("utf8"));
    } catch (err) {
      if (err instanceof BodyTooLargeError) return fail(res, 413, "body_too_large", err.message);
      return fail(res, 400, "invalid_json", `the body is not valid JSON: ${(err as Error).message}`);
    }
    try {
      const order = parseOrderRequest(body, makeClientId);
      sendJsonText(res, 200, serializer.order(toOrderView(await placeIdempotent(order), batcher !== undefined)));
    } catch (err) {
      failFor(res, err);
    }
  };

  /**
   * Orders in flight by clientOrderId: a request that repeats one (a client retrying while its
   * first try still runs) joins it instead of submitting again. Once settled, the exchange's
   * -4116 and the query make a later repeat safe (see lib/submit.ts).
   */
  const inFlightOrders = new Map<string, { order: NewOrder; result: Promise<ExchangeOrder> }>();

  function placeIdempotent(order: NewOrder): Promise<ExchangeOrder> {
    const id = order.newClientOrderId;
    const running = inFlightOrders.get(id);
    if (running) {
      if (!sameRequest(running.order, order)) return Promise.reject(new DuplicateClientOrderIdError(id));
      metrics.orderDeduplicated.inc();
      return running.result;
    }
    const result = (async () => {
      if (batcher) return batcher.submit(order.symbol, order);
      const [outcome] = await submitter.place([order]);
      if (outcome instanceof Error) throw outcome;
      return outcome!;
    })();
    inFlightOrders.set(id, { order, result });
    const forget = () => inFlightOrders.delete(id);
    result.then(forget, forget);
    return result;
  }

  const getOpenOrders: Handler = async (_req, res, url) => {
    const symbol = url.searchParams.get("symbol") ?? undefined;
    try {
      const orders = (await client.openOrders(symbol)).map(toOpenOrderView);
      sendJsonText(res, 200, serializer.openOrders({ count: orders.length, orders }));
    } catch (err) {
      failFor(res, err);
    }
  };

  const health: Handler = (_req, res) =>
    sendJson(res, 200, {
      status: closing ? "stopping" : "ok",
      pid: process.pid,
      uptimeS: Math.round(process.uptime()),
      upstream,
      inFlightRequests: inFlight,
      batchPending: batcher?.pending() ?? 0,
      toggles: {
        HTTP_KEEPALIVE: cfg.keepAlive.enabled,
        HTTP_KEEPALIVE_MAX_SOCKETS: cfg.keepAlive.maxSockets,
        HTTP_KEEPALIVE_TIMEOUT_MS: cfg.keepAlive.timeoutMs,
        BATCH_ENABLED: cfg.batch.enabled,
        BATCH_MAX_SIZE: cfg.batch.maxSize,
        BATCH_FLUSH_MS: cfg.batch.flushMs,
        BATCH_MODE: cfg.batch.mode,
        JSON_STRINGIFIER: cfg.json.stringifier,
        WS_COMPRESS: cfg.ws.compress,
        WS_DEFLATE_LEVEL: cfg.ws.deflateLevel,
        WS_FANOUT: cfg.ws.fanout,
        WS_COALESCE: cfg.ws.coalesce,
        CPU_PROFILING: cfg.cpuProfiling.enabled,
        EXECUTOR_CPU_BURN_US: cfg.cpuBurnUs,
      },
    });

  const routes: Record<string, Handler> = {
    "POST /api/private/order": postOrder,
    "GET /api/private/open-orders": getOpenOrders,
    "GET /api/private/websocket/status": (_req, res) => sendJson(res, 200, ws.status()),
    "GET /api/public/metrics/prom": async (_req, res) => {
      ws.refreshMetrics();
      const text = await metrics.registry.metrics();
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(text);
    },
    "GET /health": health,
    "GET /api/public/health": health,
  };
  const knownPaths = new Set(Object.keys(routes).map((k) => k.split(" ")[1]));

  const authorized = (req: IncomingMessage): boolean => {
    if (!cfg.apiKey) return true;
    const given = String(
      req.headers["x-api-key"] ?? String(req.headers.authorization ?? "").replace(/^Bearer\s+/i, ""),
    );
    const a = Buffer.from(given);
    const b = Buffer.from(cfg.apiKey);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  let closing = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    inFlight++;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://x");
    } catch {
      url = new URL("http://x/");
    }
    const key = `${req.method} ${url.pathname}`;
    const handler = Object.hasOwn(routes, key) ? routes[key] : undefined;
    const route = handler ? url.pathname : "unmatched";
    res.on("close", () => {
      metrics.httpDuration.labels(req.method ?? "", route, String(res.statusCode)).observe(performance.now() - t0);
      if (--inFlight === 0) idle?.();
    });
    if (cfg.cpuBurnUs > 0) burn(cfg.cpuBurnUs);
    if (closing) res.setHeader("connection", "close");
    if (!handler) {
      req.resume();
      if (knownPaths.has(url.pathname))
        return fail(res, 405, "method_not_allowed", `${req.method} is not allowed on ${url.pathname}`);
      return fail(
        res,
        404,
        "not_found",
        `no route ${req.method} ${url.pathname}; see the README for the executor's endpoints`,
      );
    }
    if (url.pathname.startsWith(PRIVATE) && !authorized(req)) {
      req.resume();
      return fail(res, 401, "unauthorized", "this endpoint needs the executor's API key in the X-API-Key header");
    }
    Promise.resolve(handler(req, res, url)).catch((err) => {
      if (!res.headersSent) failFor(res, err);
      else res.destroy();
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // malformed HTTP (bad headers, oversized headers): answer 400/431 instead of dropping silently
    if (!socket.writable) return socket.destroy();
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    const body = JSON.stringify({
      error: "bad_request",
      message: `malformed HTTP request: ${err.code ?? err.message}`,
    });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  ws.attach(server);

  const url = await listen(server, cfg.port, cfg.host, "http");

  return {
    url,
    close: async () => {
      if (closing) return;
      closing = true;
      server.close();
      server.closeIdleConnections();
      // Every accepted order is flushed upstream and answered before the process goes.
      await batcher?.close();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, cfg.upstreamTimeoutMs + 1000).unref();
        });
      }
      server.closeAllConnections();
      await ws.close();
      await client.close();
      deps.log(`executor: stopped (${batcher ? "batches drained, " : ""}${inFlight} requests still open)`);
    },
  };
}
