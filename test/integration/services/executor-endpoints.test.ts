import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startStack, type Stack } from "../../../harness/engine/rig.js";
import { ORDER, call, closeHttp, postJson } from "../../helpers/http.js";

const GUIDE_METRICS = [
  "spark_perf_http_duration_ms",
  "spark_http_keepalive_connections",
  "spark_http_keepalive_reused",
  "spark_batch_flush_total",
  "spark_batch_size",
  "spark_batch_latency_ms",
  "spark_json_serialization_ms",
  "spark_json_stringifier_cache_hits",
  "spark_json_memory_usage",
  "spark_ws_compressed_frames_total",
  "spark_ws_compression_ratio",
  "spark_ws_bandwidth_saved",
];

describe("executor endpoints (all toggles off)", () => {
  let s: Stack;
  let u: string;
  before(async () => {
    s = await startStack({ exchangeArgs: ["--latency-ms", "1"] });
    u = s.executor.url;
  });
  after(async () => {
    await s.stop();
    await closeHttp();
  });

  test("listens on 127.0.0.1 and reports health with its pid and toggles", async () => {
    assert.match(u, /^http:\/\/127\.0\.0\.1:\d+$/);
    const h = (await call("GET", `${u}/health`)).json();
    assert.equal(h.status, "ok");
    assert.equal(h.pid, s.executor.pid);
    assert.equal(h.toggles.HTTP_KEEPALIVE, false);
    assert.equal(h.toggles.JSON_STRINGIFIER, "fast");
  });

  test("POST /api/private/order places the guide's curl order", async () => {
    const r = await postJson(`${u}/api/private/order`, ORDER);
    assert.equal(r.status, 200);
    const body = r.json();
    assert.equal(typeof body.orderId, "number");
    assert.equal(body.symbol, "BTCUSDT");
    assert.equal(body.status, "FILLED");
    assert.equal(body.batched, false);
    assert.match(body.clientOrderId, /^pp/);
  });

  test("a client's own clientOrderId reaches the exchange; repeating it is idempotent, reusing it for another order is a 409", async () => {
    const first = await postJson(`${u}/api/private/order`, { ...ORDER, clientOrderId: "dup-1" });
    assert.equal(first.status, 200);
    assert.equal(first.json().clientOrderId, "dup-1");
    // the same order again (a client's retry): the same exchange order, not a second one
    const again = await postJson(`${u}/api/private/order`, { ...ORDER, clientOrderId: "dup-1" });
    assert.equal(again.status, 200);
    assert.equal(again.json().orderId, first.json().orderId);
    const other = await postJson(`${u}/api/private/order`, { ...ORDER, quantity: "0.5", clientOrderId: "dup-1" });
    assert.equal(other.status, 409);
    assert.equal(other.json().error, "duplicate_client_order_id");
    assert.match(other.json().message, /already used by a different order/);
  });

  test("GET /api/private/open-orders answers the exchange's open orders", async () => {
    const r = await call("GET", `${u}/api/private/open-orders`);
    assert.equal(r.status, 200);
    const body = r.json();
    assert.equal(body.count, 50);
    assert.equal(body.orders.length, 50);
    assert.equal(body.orders[0].status, "NEW");
    const one = (await call("GET", `${u}/api/private/open-orders?symbol=ETHUSDT`)).json();
    assert.ok(one.orders.every((o: { symbol: string }) => o.symbol === "ETHUSDT"));
  });

  test("GET /api/private/websocket/status describes the relay", async () => {
    const st = (await call("GET", `${u}/api/private/websocket/status`)).json();
    assert.equal(st.path, "/ws/market");
    assert.equal(st.compress, false);
    assert.equal(typeof st.upstream.connected, "boolean");
  });

  test("the metrics endpoint carries every metric the guide names, plus process and GC metrics", async () => {
    await call("GET", `${u}/api/private/open-orders`);
    const text = (await call("GET", `${u}/api/public/metrics/prom`)).text;
    for (const m of GUIDE_METRICS) assert.match(text, new RegExp(`^${m}`, "m"), m);
    assert.match(text, /^spark_batch_flush_total\{key="BTCUSDT"\} \d+/m);
    assert.match(
      text,
      /^spark_perf_http_duration_ms_bucket\{le="[^"]+",method="GET",route="\/api\/private\/open-orders",status="200"\}/m,
    );
    assert.match(text, /^spark_json_serialization_ms_bucket/m);
    assert.match(text, /^process_cpu_seconds_total/m);
    assert.match(text, /^nodejs_gc_duration_seconds_bucket/m);
  });

  for (const [what, send, status, error] of [
    ["invalid JSON", () => postJson(`${u}/api/private/order`, '{"symbol":"BTCUSDT",'), 400, "invalid_json"],
    [
      "a missing field",
      () => postJson(`${u}/api/private/order`, { symbol: "BTCUSDT", side: "BUY" }),
      400,
      "invalid_order",
    ],
    ["a wrong type", () => postJson(`${u}/api/private/order`, { ...ORDER, quantity: [1] }), 400, "invalid_order"],
    [
      "an unknown symbol",
      () => postJson(`${u}/api/private/order`, { ...ORDER, symbol: "FOOBAR" }),
      400,
      "invalid_order",
    ],
    ["an unknown side", () => postJson(`${u}/api/private/order`, { ...ORDER, side: "SIDEWAYS" }), 400, "invalid_order"],
    [
      "a non-positive quantity",
      () => postJson(`${u}/api/private/order`, { ...ORDER, quantity: "0" }),
      400,
      "invalid_order",
    ],
    [
      "a body over the limit",
      () => postJson(`${u}/api/private/order`, JSON.stringify({ ...ORDER, pad: "x".repeat(100_000) })),
      413,
      "body_too_large",
    ],
    [
      "a non-JSON content type",
      () =>
        call("POST", `${u}/api/private/order`, {
          body: "symbol=BTCUSDT",
          headers: { "content-type": "application/x-www-form-urlencoded" },
        }),
      415,
      "unsupported_media_type",
    ],
    ["an unknown route", () => call("GET", `${u}/api/private/no-such-route`), 404, "not_found"],
    ["a wrong method", () => call("DELETE", `${u}/api/private/open-orders`), 405, "method_not_allowed"],
  ] as const) {
    test(`${what} gets ${status} with a JSON {error, message}`, async () => {
      const r = await (send as () => ReturnType<typeof call>)();
      assert.equal(r.status, status);
      const body = r.json();
      assert.equal(body.error, error);
      assert.equal(typeof body.message, "string");
      assert.ok(body.message.length > 10);
    });
  }

  test("the process is still up after all of that", async () => {
    assert.equal((await call("GET", `${u}/health`)).status, 200);
  });
});

describe("executor API key", () => {
  test("EXECUTOR_API_KEY guards /api/private/* and leaves metrics and health open", async () => {
    const s = await startStack({ exchangeArgs: ["--latency-ms", "1"], executorEnv: { EXECUTOR_API_KEY: "sesame" } });
    try {
      const u = s.executor.url;
      const denied = await call("GET", `${u}/api/private/open-orders`);
      assert.equal(denied.status, 401);
      assert.equal(denied.json().error, "unauthorized");
      assert.equal(
        (await call("GET", `${u}/api/private/open-orders`, { headers: { "x-api-key": "wrong" } })).status,
        401,
      );
      assert.equal(
        (await call("GET", `${u}/api/private/open-orders`, { headers: { "x-api-key": "sesame" } })).status,
        200,
      );
      assert.equal((await postJson(`${u}/api/private/order`, ORDER, { authorization: "Bearer sesame" })).status, 200);
      assert.equal((await call("GET", `${u}/api/public/metrics/prom`)).status, 200);
    } finally {
      await s.stop();
      await closeHttp();
    }
  });
});
