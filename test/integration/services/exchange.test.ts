import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { startExchangeService } from "../../../harness/engine/stack.js";
import type { Service } from "../../../harness/engine/launcher.js";
import { tlsFixture } from "../../../services/common/src/project.js";
import { call, closeHttp, postJson } from "../../helpers/http.js";

const order = (id: string, extra: Record<string, unknown> = {}) => ({
  symbol: "BTCUSDT",
  side: "BUY",
  type: "MARKET",
  quantity: "0.01",
  newClientOrderId: id,
  ...extra,
});

describe("mock exchange over HTTPS", () => {
  let ex: Service;
  before(async () => {
    ex = await startExchangeService(["--latency-ms", "1", "--ws-rate", "200"]);
  });
  after(async () => {
    await ex.stop();
    await closeHttp();
  });

  test("serves TLS 1.3 on loopback with the fixture certificate", async () => {
    assert.match(ex.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const { port } = new URL(ex.url);
    const proto = await new Promise<string | null>((resolve, reject) => {
      const s = tls.connect(
        { host: "127.0.0.1", port: Number(port), ca: readFileSync(tlsFixture.ca()), servername: "localhost" },
        () => {
          resolve(s.getProtocol());
          s.end();
        },
      );
      s.on("error", reject);
    });
    assert.equal(proto, "TLSv1.3");
  });

  test("places an order, a batch within the cap, lists and cancels open orders, and counts all of it", async () => {
    await call("POST", `${ex.url}/stats/reset`);
    const one = await postJson(`${ex.url}/fapi/v1/order`, order("a1"));
    assert.equal(one.status, 200);
    assert.equal(one.json().status, "FILLED");
    const batch = await postJson(`${ex.url}/fapi/v1/batchOrders`, {
      batchOrders: [order("b1"), order("b2"), order("b1")],
    });
    assert.equal(batch.status, 200);
    const results = batch.json();
    assert.equal(results.length, 3);
    assert.equal(results[0].clientOrderId, "b1");
    assert.equal(results[2].code, -4116, "a duplicate clientOrderId is refused per order");
    const over = await postJson(`${ex.url}/fapi/v1/batchOrders`, {
      batchOrders: [1, 2, 3, 4, 5, 6].map((i) => order(`c${i}`)),
    });
    assert.equal(over.status, 400);
    assert.equal(over.json().code, -1130);
    const limit = await postJson(`${ex.url}/fapi/v1/order`, order("l1", { type: "LIMIT", price: "40000.5" }));
    assert.equal(limit.json().status, "NEW");
    const open = (await call("GET", `${ex.url}/fapi/v1/openOrders?symbol=BTCUSDT`)).json();
    assert.ok(open.some((o: { clientOrderId: string }) => o.clientOrderId === "l1"));
    const cancel = await call("DELETE", `${ex.url}/fapi/v1/order?symbol=BTCUSDT&origClientOrderId=l1`);
    assert.equal(cancel.json().status, "CANCELED");
    const stats = (await call("GET", `${ex.url}/stats`)).json();
    assert.equal(stats.orders, 4);
    assert.equal(stats.duplicateClientOrderIds, 1);
    assert.equal(stats.batchCalls, 2);
    assert.equal(stats.orderCalls, 2);
    assert.equal(stats.cancelCalls, 1);
    assert.ok(stats.connections >= 1 && stats.tlsHandshakes >= 1);
  });

  test("bad requests get Binance-style errors", async () => {
    assert.equal((await postJson(`${ex.url}/fapi/v1/order`, "{nope")).status, 400);
    assert.equal((await postJson(`${ex.url}/fapi/v1/order`, order("x", { symbol: "NOPE" }))).json().code, -1121);
    assert.equal((await call("GET", `${ex.url}/nowhere`)).status, 404);
  });

  test("streams ~300-byte market messages, each with a send stamp", async () => {
    const ws = new WebSocket(ex.url.replace("https", "wss") + "/ws/market", { ca: readFileSync(tlsFixture.ca()) });
    const got: string[] = [];
    ws.on("message", (d) => got.push(d.toString()));
    await new Promise((r) => ws.once("open", r));
    while (got.length < 40) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    for (const m of got) {
      const data = JSON.parse(m).data;
      assert.ok(m.length > 250 && m.length < 350);
      assert.equal(typeof data.ts, "number");
      assert.ok(["bookTicker", "aggTrade"].includes(data.e));
    }
  });
});

describe("mock exchange faults and plain HTTP", () => {
  after(closeHttp);

  /** The sequence of statuses for n sequential order calls. */
  async function pattern(seed: string, n: number): Promise<number[]> {
    const ex = await startExchangeService(["--http", "--latency-ms", "0", "--fault-5xx", "0.3", "--seed", seed]);
    try {
      assert.match(ex.url, /^http:\/\//);
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await postJson(`${ex.url}/fapi/v1/order`, order(`f${i}`))).status);
      const stats = (await call("GET", `${ex.url}/stats`)).json();
      assert.equal(stats.faults.http5xx, out.filter((s) => s === 503).length);
      return out;
    } finally {
      await ex.stop();
    }
  }

  test("the same seed gives the same faults; another seed gives others", async () => {
    const a = await pattern("7", 30);
    const b = await pattern("7", 30);
    const c = await pattern("8", 30);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.includes(503) && a.includes(200));
  });

  test("a reset fault places the order but loses the answer", async () => {
    const ex = await startExchangeService(["--http", "--latency-ms", "0", "--fault-reset", "1"]);
    try {
      await assert.rejects(postJson(`${ex.url}/fapi/v1/order`, order("r1")));
      const stats = (await call("GET", `${ex.url}/stats`)).json();
      assert.equal(stats.faults.resets, 1);
      assert.equal(stats.orders, 1);
    } finally {
      await ex.stop();
    }
  });

  test("a bad option exits 2 and names the flag", async () => {
    await assert.rejects(
      startExchangeService(["--batch-cap", "zero"]),
      (e: Error & { exit?: { code: number }; logTail?: string }) => {
        assert.equal(e.exit?.code, 2);
        assert.match(e.logTail ?? "", /--batch-cap/);
        return true;
      },
    );
  });
});
