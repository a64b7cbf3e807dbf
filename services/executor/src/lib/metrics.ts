import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { SYMBOLS } from "../../../common/src/exchange-types.js";

/**
 * The executor's metrics, named exactly as in the guide, plus prom-client's default process
 * and GC metrics. One registry per executor, so that tests can run several in one process.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    gcDurationBuckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
  });
  const msBuckets = [0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000];
  const registers = [registry];

  const m = {
    registry,
    httpDuration: new Histogram({
      name: "spark_perf_http_duration_ms",
      help: "HTTP response time of the executor's own endpoints, in milliseconds",
      labelNames: ["method", "route", "status"] as const,
      buckets: msBuckets,
      registers,
    }),
    keepAliveConnections: new Gauge({
      name: "spark_http_keepalive_connections",
      help: "Upstream (exchange) connections open now",
      registers,
    }),
    keepAliveReused: new Counter({
      name: "spark_http_keepalive_reused",
      help: "Upstream requests sent over a connection that had already carried a request",
      registers,
    }),
    upstreamConnectionsOpened: new Counter({
      name: "spark_http_upstream_connections_opened_total",
      help: "Upstream connections opened (TCP + TLS handshake each)",
      registers,
    }),
    upstreamRequests: new Counter({
      name: "spark_http_upstream_requests_total",
      help: "Upstream requests by route and outcome",
      labelNames: ["route", "outcome"] as const,
      registers,
    }),
    orderRetries: new Counter({
      name: "spark_order_retries_total",
      help: "Order submissions retried upstream with the same clientOrderId, by the failure that caused it",
      labelNames: ["reason"] as const,
      registers,
    }),
    orderRecovered: new Counter({
      name: "spark_order_recovered_total",
      help: "Orders found already placed (the exchange answered -4116 to a retry) and answered from a query",
      registers,
    }),
    orderDeduplicated: new Counter({
      name: "spark_order_deduplicated_total",
      help: "Client requests that joined an in-flight order with the same clientOrderId instead of submitting again",
      registers,
    }),
    batchFlush: new Counter({
      name: "spark_batch_flush_total",
      help: "Batches flushed, by key (symbol)",
      labelNames: ["key"] as const,
      registers,
    }),
    batchFlushReason: new Counter({
      name: "spark_batch_flush_reason_total",
      help: "Batches flushed, by what triggered the flush: size, timer, idle (adaptive: few batches in flight) or drain (shutdown)",
      labelNames: ["reason"] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: "spark_batch_size",
      help: "Orders per flushed batch (average = _sum / _count)",
      buckets: [1, 2, 3, 4, 5, 6, 8, 10, 16, 32, 64],
      registers,
    }),
    batchLatency: new Histogram({
      name: "spark_batch_latency_ms",
      help: "Batch processing time: from the first order entering the batch to the exchange's answer, in milliseconds",
      buckets: msBuckets,
      registers,
    }),
    jsonSerialization: new Histogram({
      name: "spark_json_serialization_ms",
      help: "Time to serialize a response body, in milliseconds",
      labelNames: ["stringifier"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    jsonCacheHits: new Counter({
      name: "spark_json_stringifier_cache_hits",
      help: "Serializations served by a schema compiled once at start (always 0 with JSON_STRINGIFIER=native)",
      registers,
    }),
    jsonMemory: new Gauge({
      name: "spark_json_memory_usage",
      help: "Bytes of the most recent serialized response body, by stringifier",
      labelNames: ["stringifier"] as const,
      registers,
    }),
    wsCompressedFrames: new Counter({
      name: "spark_ws_compressed_frames_total",
      help: "WebSocket frames sent to clients with permessage-deflate",
      registers,
    }),
    wsCompressionRatio: new Gauge({
      name: "spark_ws_compression_ratio",
      help: "Payload bytes over bytes on the wire for client WebSocket traffic (above 1: compression saves)",
      registers,
    }),
    wsBandwidthSaved: new Gauge({
      name: "spark_ws_bandwidth_saved",
      help: "Payload bytes minus bytes on the wire sent to WebSocket clients since start (negative: framing cost more than compression saved)",
      registers,
    }),
    wsMessages: new Counter({
      name: "spark_ws_messages_total",
      help: "Market messages relayed to WebSocket clients (one per client per message)",
      registers,
    }),
    wsClients: new Gauge({
      name: "spark_ws_clients",
      help: "WebSocket clients connected now",
      registers,
    }),
    wsDropped: new Counter({
      name: "spark_ws_dead_clients_total",
      help: "WebSocket clients dropped by the ping/pong watchdog",
      registers,
    }),
  };
  // Pre-create the per-symbol series at 0, so a scrape before the first flush already shows them
  // and a before/after delta is well defined.
  for (const s of SYMBOLS) m.batchFlush.labels(s).inc(0);
  for (const r of ["size", "timer", "idle", "drain"]) m.batchFlushReason.labels(r).inc(0);
  for (const r of ["timeout", "unreachable", "reset", "http"]) m.orderRetries.labels(r).inc(0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
