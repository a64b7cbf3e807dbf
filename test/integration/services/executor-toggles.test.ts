import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import WebSocket from "ws";
import { connectWs } from "../../../harness/load/wsClient.js";
import { startExchangeService, startExecutorService } from "../../../harness/engine/stack.js";
import type { Service } from "../../../harness/engine/launcher.js";
import { ORDER, call, closeHttp, postJson, sample } from "../../helpers/http.js";

const started: Service[] = [];
const exchange = async (...args: string[]) => {
  const s = await startExchangeService(["--latency-ms", "1", ...args]);
  started.push(s);
  return s;
};
const executor = async (ex: Service, toggles: Record<string, string>) => {
  const s = await startExecutorService(ex.url, toggles);
  started.push(s);
  return s;
};
const stats = async (ex: Service) => (await call("GET", `${ex.url}/stats`)).json();
const metrics = async (ex: Service) => (await call("GET", `${ex.url}/api/public/metrics/prom`)).text;

after(async () => {
  for (const s of started.reverse()) await s.stop();
  await closeHttp();
});

describe("HTTP_KEEPALIVE", () => {
  for (const on of [false, true]) {
    test(`${on ? "on: one pooled connection is reused" : "off: every upstream request opens a new connection"}`, async () => {
      const ex = await exchange();
      const exe = await executor(ex, { HTTP_KEEPALIVE: String(on) });
      await call("POST", `${ex.url}/stats/reset`);
      for (let i = 0; i < 10; i++) assert.equal((await call("GET", `${exe.url}/api/private/open-orders`)).status, 200);
      const st = await stats(ex);
      // the exchange also counts the connection this test may open to read /stats
      // (the executor's market-stream WebSocket was open before the reset)
      if (on) assert.ok(st.connections <= 2, `connections ${st.connections}`);
      else assert.ok(st.connections >= 10 && st.connections <= 11, `connections ${st.connections}`);
      const text = await metrics(exe);
      assert.equal(sample(text, "spark_http_keepalive_reused"), on ? 9 : 0);
      assert.equal(sample(text, "spark_http_upstream_connections_opened_total"), on ? 1 : 10);
    });
  }
});

describe("BATCH_ENABLED", () => {
  test("off: one upstream order call per order", async () => {
    const ex = await exchange();
    const exe = await executor(ex, { BATCH_ENABLED: "false" });
    await call("POST", `${ex.url}/stats/reset`);
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => postJson(`${exe.url}/api/private/order`, ORDER)),
    );
    assert.ok(replies.every((r) => r.status === 200 && r.json().batched === false));
    const st = await stats(ex);
    assert.equal(st.orderCalls, 12);
    assert.equal(st.batchCalls, 0);
  });

  for (const mode of ["fixed", "adaptive"]) {
    test(`on (${mode}): concurrent orders share batch calls, split at the exchange's cap, and each gets its own answer`, async () => {
      // adaptive batches only what queues behind batches in flight: one in flight at a time, and a
      // slow exchange (50 ms), make the queue certain however the 16 requests happen to arrive
      const ex = mode === "adaptive" ? await exchange("--latency-ms", "50") : await exchange();
      const exe = await executor(ex, {
        BATCH_ENABLED: "true",
        BATCH_MODE: mode,
        BATCH_MAX_SIZE: "8",
        BATCH_FLUSH_MS: "30",
        HTTP_KEEPALIVE: "true",
        BATCH_ADAPTIVE_MAX_INFLIGHT: "1",
      });
      await call("POST", `${ex.url}/stats/reset`);
      const replies = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          postJson(`${exe.url}/api/private/order`, { ...ORDER, clientOrderId: `b-${mode}-${i}` }),
        ),
      );
      assert.ok(replies.every((r) => r.status === 200));
      const bodies = replies.map((r) => r.json());
      assert.deepEqual(
        bodies.map((b) => b.clientOrderId),
        Array.from({ length: 16 }, (_, i) => `b-${mode}-${i}`),
        "each caller got its own order",
      );
      assert.equal(new Set(bodies.map((b) => b.orderId)).size, 16);
      const st = await stats(ex);
      assert.equal(st.orders, 16, "every order reached the exchange exactly once");
      assert.equal(st.duplicateClientOrderIds, 0);
      assert.ok(
        st.orderCalls + st.batchCalls < 16,
        `calls ${st.orderCalls}+${st.batchCalls}: batching saved round trips`,
      );
      const text = await metrics(exe);
      assert.ok(sample(text, 'spark_batch_flush_total{key="BTCUSDT"}')! >= 1);
      assert.equal(sample(text, "spark_batch_size_sum"), 16);
    });
  }
});

describe("JSON_STRINGIFIER", () => {
  test("fast and native answer the same bytes for the same open orders", async () => {
    const ex = await exchange("--open-orders", "500");
    const fast = await executor(ex, { JSON_STRINGIFIER: "fast" });
    const native = await executor(ex, { JSON_STRINGIFIER: "native" });
    const a = await call("GET", `${fast.url}/api/private/open-orders`);
    const b = await call("GET", `${native.url}/api/private/open-orders`);
    assert.equal(a.json().count, 500);
    assert.equal(a.text, b.text);
    assert.equal(sample(await metrics(fast), "spark_json_stringifier_cache_hits"), 1);
    assert.equal(sample(await metrics(native), "spark_json_stringifier_cache_hits"), 0);
    assert.match(await metrics(native), /^spark_json_serialization_ms_count\{stringifier="native"\} 1$/m);
  });
});

function subscribe(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, "ws") + "/ws/market", { perMessageDeflate: true });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

const nextMessages = (ws: WebSocket, n: number) =>
  new Promise<string[]>((resolve) => {
    const got: string[] = [];
    const on = (d: Buffer) => {
      got.push(d.toString());
      if (got.length === n) {
        ws.off("message", on);
        resolve(got);
      }
    };
    ws.on("message", on);
  });

describe("WS_COMPRESS", () => {
  for (const on of [false, true]) {
    test(`${on ? "on: permessage-deflate is negotiated and saves bytes" : "off: frames go uncompressed"}; ping/pong still works`, async () => {
      const ex = await exchange("--ws-rate", "200");
      const exe = await executor(ex, { WS_COMPRESS: String(on), WS_DEFLATE_LEVEL: "3" });
      const ws = await subscribe(exe.url);
      assert.equal(ws.extensions.includes("permessage-deflate"), on);
      const msgs = await nextMessages(ws, 30);
      assert.ok(msgs.every((m) => typeof JSON.parse(m).data.ts === "number"));
      const pong = new Promise<void>((r) => ws.once("pong", () => r()));
      ws.ping();
      await pong;
      const st = (await call("GET", `${exe.url}/api/private/websocket/status`)).json();
      assert.equal(st.compress, on);
      assert.ok(st.relayedMessages >= 30);
      if (on) {
        assert.ok(st.compressedFrames >= 30);
        assert.ok(st.compressionRatio > 1, `ratio ${st.compressionRatio}`);
        assert.ok(st.bandwidthSaved > 0);
      } else {
        assert.equal(st.compressedFrames, 0);
        assert.ok(st.compressionRatio < 1, "framing makes the wire a little larger than the payload");
      }
      const text = await metrics(exe);
      // the stream goes on between the two reads, so the later scrape has at least as many
      const frames = sample(text, "spark_ws_compressed_frames_total")!;
      assert.ok(on ? frames >= st.compressedFrames : frames === 0, `metric ${frames}, status ${st.compressedFrames}`);
      ws.close();
    });
  }

  test("the watchdog drops a client that stops answering pings", async () => {
    const ex = await exchange("--ws-rate", "10");
    const exe = await executor(ex, { WS_COMPRESS: "true", WS_PING_INTERVAL_MS: "100" });
    const ws = await subscribe(exe.url);
    const closed = new Promise<void>((r) => ws.once("close", () => r()));
    // a paused socket reads nothing, so the client never sees the ping and never pongs
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let st;
    do {
      await new Promise((r) => setTimeout(r, 50));
      st = (await call("GET", `${exe.url}/api/private/websocket/status`)).json();
      // the drop is counted at once; the socket's close (and the client count) follows a moment later
    } while (st.deadClientsDropped === 0 || st.clients > 0);
    assert.equal(st.deadClientsDropped, 1);
    assert.equal(st.clients, 0);
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await closed;
  });
});

describe("WS_FANOUT and WS_COALESCE", () => {
  const status = async (exe: Service) => (await call("GET", `${exe.url}/api/private/websocket/status`)).json();
  const tsOf = (frame: string) => frame.split("\n").map((m) => JSON.parse(m).data.ts as number);
  const expected: Record<string, string> = {
    shared: "stream",
    "shared-stateless": "stateless",
    "per-client-sync": "own",
    "per-client": "ws",
  };
  for (const fanout of Object.keys(expected)) {
    test(`${fanout}: a first subscriber, one that joins mid-stream and the harness's own client all decode every message; pings still answered`, async () => {
      const ex = await exchange("--ws-rate", "200");
      const exe = await executor(ex, { WS_COMPRESS: "true", WS_FANOUT: fanout });
      const first = await subscribe(exe.url);
      await nextMessages(first, 10);
      // joins while the stream (shared) already holds a window it never saw
      const late = await subscribe(exe.url);
      const lean = await connectWs(exe.url.replace(/^http/, "ws") + "/ws/market");
      assert.ok(lean.extensions.includes("permessage-deflate"));
      const leanGot = new Promise<string[]>((resolve) => {
        const got: string[] = [];
        lean.on("message", (d) => got.push(d.toString()) === 30 && resolve(got));
      });
      for (const msgs of await Promise.all([nextMessages(first, 30), nextMessages(late, 30), leanGot])) {
        const ts = msgs.flatMap(tsOf);
        assert.ok(
          ts.every((t, i) => i === 0 || t >= ts[i - 1]!),
          "in send order",
        );
      }
      const pong = new Promise<void>((r) => lean.once("pong", () => r()));
      lean.ping();
      await pong;
      const st = await status(exe);
      assert.equal(st.fanout, fanout);
      assert.equal(st.deliveries[expected[fanout]!], 3, JSON.stringify(st.deliveries));
      assert.ok(st.compressionRatio > 1, `ratio ${st.compressionRatio}`);
      first.close();
      late.close();
      lean.terminate();
    });
  }

  test("negotiation is as before: shared refuses offers it cannot serve from one stream, shared-stateless accepts them", async () => {
    const ex = await exchange("--ws-rate", "200");
    const open = (exe: Service, perMessageDeflate: object) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(exe.url.replace(/^http/, "ws") + "/ws/market", { perMessageDeflate });
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    const shared = await executor(ex, { WS_COMPRESS: "true", WS_FANOUT: "shared" });
    await assert.rejects(open(shared, { serverNoContextTakeover: true }), /Unexpected server response: 400/);
    await assert.rejects(open(shared, { serverMaxWindowBits: 10 }), /Unexpected server response: 400/);
    const stateless = await executor(ex, { WS_COMPRESS: "true", WS_FANOUT: "shared-stateless" });
    const a = await open(stateless, { serverNoContextTakeover: true });
    const b = await open(stateless, {});
    for (const msgs of await Promise.all([nextMessages(a, 20), nextMessages(b, 20)]))
      assert.ok(msgs.every((m) => tsOf(m).length === 1));
    assert.equal((await status(stateless)).deliveries.stateless, 2);
    a.close();
    b.close();
  });

  test("WS_COALESCE: the messages of one upstream tick go out as one frame of JSON lines, each whole", async () => {
    const ex = await exchange("--ws-rate", "1000");
    const exe = await executor(ex, { WS_COMPRESS: "true", WS_COALESCE: "true" });
    const ws = await subscribe(exe.url);
    const frames = await nextMessages(ws, 20);
    const perFrame = frames.map((f) => tsOf(f).length);
    // the exchange sends 10 messages every 10 ms tick; a frame holds what one read brought
    assert.ok(Math.max(...perFrame) > 1, `messages per frame ${perFrame}`);
    const st = await status(exe);
    assert.equal(st.coalesce, true);
    assert.ok(
      st.relayedMessages > st.compressedFrames,
      `messages ${st.relayedMessages}, frames ${st.compressedFrames}`,
    );
    ws.close();
  });
});
