import assert from "node:assert/strict";
import { test } from "node:test";
import { parseNewOrder } from "../../../services/exchange/src/orders.js";
import { isExchangeError } from "../../../services/common/src/exchange-types.js";
import { ValidationError, parseOrderRequest } from "../../../services/executor/src/lib/orders.js";

const id = () => "cid-1";

test("the guide's curl order is accepted and given a clientOrderId", () => {
  const o = parseOrderRequest({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" }, id);
  assert.deepEqual(o, { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001", newClientOrderId: "cid-1" });
});

test("a LIMIT order needs a price; numbers are accepted as decimals", () => {
  const o = parseOrderRequest(
    { symbol: "ETHUSDT", side: "SELL", type: "LIMIT", quantity: 2, price: 2300.5, clientOrderId: "mine" },
    id,
  );
  assert.equal(o.price, "2300.5");
  assert.equal(o.quantity, "2");
  assert.equal(o.newClientOrderId, "mine");
  assert.throws(
    () => parseOrderRequest({ symbol: "ETHUSDT", side: "SELL", type: "LIMIT", quantity: "1" }, id),
    /price/,
  );
});

for (const [what, body, field] of [
  ["not an object", [1, 2], "JSON object"],
  ["null", null, "JSON object"],
  [
    "unknown symbol",
    { symbol: "DOGEUSDT", side: "BUY", type: "MARKET", quantity: "1" },
    "symbol must be one of BTCUSDT",
  ],
  [
    "unknown side",
    { symbol: "BTCUSDT", side: "SIDEWAYS", type: "MARKET", quantity: "1" },
    "side must be one of BUY, SELL",
  ],
  [
    "unknown type",
    { symbol: "BTCUSDT", side: "BUY", type: "STOP", quantity: "1" },
    "type must be one of MARKET, LIMIT",
  ],
  ["negative quantity", { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "-1" }, "quantity"],
  [
    "zero quantity",
    { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0" },
    "quantity must be greater than 0",
  ],
  ["huge quantity", { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "1e308" }, "quantity"],
  ["quantity of the wrong type", { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: { a: 1 } }, "quantity"],
  [
    "price on a MARKET order",
    { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "1", price: "1" },
    "price is only accepted",
  ],
  [
    "bad clientOrderId",
    { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "1", clientOrderId: "x".repeat(40) },
    "clientOrderId",
  ],
] as const) {
  test(`refused: ${what}`, () => {
    assert.throws(
      () => parseOrderRequest(body, id),
      (e: unknown) => e instanceof ValidationError && e.message.includes(field),
    );
  });
}

test("the exchange refuses what the executor refuses, Binance-style", () => {
  assert.ok(
    isExchangeError(
      parseNewOrder({ symbol: "NOPE", side: "BUY", type: "MARKET", quantity: "1", newClientOrderId: "a" }),
    ),
  );
  assert.ok(isExchangeError(parseNewOrder({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "1" })));
  assert.ok(
    !isExchangeError(
      parseNewOrder({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "1", newClientOrderId: "a" }),
    ),
  );
});
