import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExchangeOrder } from "../../../services/common/src/exchange-types.js";
import { seededRandom } from "../../../services/common/src/rng.js";
import {
  MalformedOrderError,
  OPEN_ORDER_SCHEMA,
  compileSerializers,
  createSerializer,
  toOpenOrderView,
  toOrderView,
} from "../../../services/executor/src/lib/fastJson.js";
import { createMetrics } from "../../../services/executor/src/lib/metrics.js";

const fast = compileSerializers("fast");
const native = compileSerializers("native");

/** Strings that stress escaping: quotes, backslashes, control characters, astral and separator code points. */
function nastyString(rand: () => number): string {
  const pool = [
    '"',
    "\\",
    "\n",
    "\t",
    "\u0000",
    "\u001f",
    "\u2028",
    "\u2029",
    "é",
    "😀",
    "\ud800",
    "/",
    "<",
    "a",
    "Z",
    "0",
    " ",
  ];
  let s = "";
  const n = Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) s += pool[Math.floor(rand() * pool.length)];
  return s;
}

function randomOrder(rand: () => number): ExchangeOrder {
  const s = () => (rand() < 0.3 ? nastyString(rand) : (rand() * 1e6).toFixed(Math.floor(rand() * 8)));
  const n = () =>
    rand() < 0.2
      ? Number.MAX_SAFE_INTEGER - Math.floor(rand() * 10)
      : rand() < 0.5
        ? Math.floor(rand() * 1e13)
        : rand() * 1e3 - 500;
  return {
    orderId: n(),
    symbol: s(),
    status: "NEW",
    clientOrderId: s(),
    price: s(),
    avgPrice: s(),
    origQty: s(),
    executedQty: s(),
    cumQuote: s(),
    timeInForce: s(),
    type: s(),
    reduceOnly: rand() < 0.5,
    closePosition: rand() < 0.5,
    side: s(),
    positionSide: s(),
    stopPrice: s(),
    workingType: s(),
    priceProtect: rand() < 0.5,
    origType: s(),
    time: n(),
    updateTime: n(),
  };
}

test("fast and native produce the same bytes for the same open orders (2,000 random cases)", () => {
  const rand = seededRandom(42);
  for (let i = 0; i < 2000; i++) {
    const orders = Array.from({ length: Math.floor(rand() * 5) }, () => toOpenOrderView(randomOrder(rand)));
    const view = { count: orders.length, orders };
    assert.equal(fast.openOrders(view), native.openOrders(view));
  }
});

test("fast and native produce the same bytes for the same order answer", () => {
  const rand = seededRandom(7);
  for (let i = 0; i < 2000; i++) {
    const v = toOrderView(randomOrder(rand), rand() < 0.5);
    assert.equal(fast.order(v), native.order(v));
  }
});

test("the view drops fields the schema does not know, so both paths agree on exchange data with extras", () => {
  const raw = { ...randomOrder(seededRandom(1)), extra: "dropped", nested: { a: 1 } } as unknown as ExchangeOrder;
  const view = toOpenOrderView(raw);
  assert.equal("extra" in view, false);
  const text = fast.openOrders({ count: 1, orders: [view] });
  assert.deepEqual(JSON.parse(text).orders[0], JSON.parse(JSON.stringify(view)));
});

test("the written-out open-order view is the schema-driven copy: same keys, same order, same coercions", () => {
  // the loop the view replaced (issue 13), kept here as its reference
  const bySchema = (o: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const [k, t] of OPEN_ORDER_SCHEMA)
      out[k] = t === "number" ? Number(o[k] ?? 0) : t === "boolean" ? Boolean(o[k]) : String(o[k] ?? "");
    return out;
  };
  const rand = seededRandom(11);
  const odd = [undefined, null, "", "12.5", 7, 0, true, false, "x"];
  const nonNumeric = (v: unknown) => typeof v !== "number" && Number.isNaN(Number(v ?? 0));
  for (let i = 0; i < 2000; i++) {
    const raw: Record<string, unknown> = { ...randomOrder(rand), extra: 1 };
    // a few fields of the wrong type or missing, as a sloppy upstream might send
    for (const [k] of OPEN_ORDER_SCHEMA) if (rand() < 0.15) raw[k] = odd[Math.floor(rand() * odd.length)];
    const bad = OPEN_ORDER_SCHEMA.find(([k, t]) => t === "number" && nonNumeric(raw[k]));
    if (bad) {
      // no coercion gives both serializers the same bytes (native writes null, fast throws): refused by name
      assert.throws(
        () => toOpenOrderView(raw as unknown as ExchangeOrder),
        (e: Error) => e instanceof MalformedOrderError && e.message.includes(bad[0]),
      );
      continue;
    }
    const view = toOpenOrderView(raw as unknown as ExchangeOrder);
    assert.deepEqual(
      Object.keys(view),
      OPEN_ORDER_SCHEMA.map(([k]) => k),
    );
    assert.deepEqual(view, bySchema(raw));
    assert.equal(fast.openOrders({ count: 1, orders: [view] }), native.openOrders({ count: 1, orders: [view] }));
  }
});

test("the executor's serializer counts compiled-schema hits and times every call", async () => {
  const metrics = createMetrics();
  const s = createSerializer("fast", metrics);
  const v = toOrderView(randomOrder(seededRandom(3)), false);
  s.order(v);
  s.order(v);
  const text = await metrics.registry.metrics();
  assert.match(text, /^spark_json_stringifier_cache_hits 2$/m);
  assert.match(text, /^spark_json_serialization_ms_count\{stringifier="fast"\} 2$/m);
  const n = createSerializer("native", createMetrics());
  assert.equal(n.order(v), s.order(v));
});
