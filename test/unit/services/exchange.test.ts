import assert from "node:assert/strict";
import { test } from "node:test";
import { isExchangeError } from "../../../services/common/src/exchange-types.js";
import { OrderBook } from "../../../services/exchange/src/book.js";
import { OptionError, resolveExchangeOptions } from "../../../services/exchange/src/config.js";
import { MarketFeed } from "../../../services/exchange/src/market.js";
import { seededRandom } from "../../../services/common/src/rng.js";

test("the seeded generator replays exactly, and different seeds differ", () => {
  const a = seededRandom(99);
  const b = seededRandom(99);
  const c = seededRandom(100);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => b()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 100 }, () => c()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test("the book refuses a duplicate clientOrderId and keeps LIMIT orders open", () => {
  const book = new OrderBook(10);
  const o = {
    symbol: "BTCUSDT",
    side: "BUY",
    type: "LIMIT",
    quantity: "1",
    price: "40000",
    newClientOrderId: "c1",
  } as const;
  const first = book.place(o);
  assert.ok(!isExchangeError(first));
  const again = book.place(o);
  assert.ok(isExchangeError(again) && again.code === -4116);
  assert.equal(book.openOrders().length, 1);
  assert.equal(book.openOrders("ETHUSDT").length, 0);
});

test("the book stays bounded: the oldest open order leaves first", () => {
  const book = new OrderBook(3);
  book.seed(3, 1);
  book.place({ symbol: "BTCUSDT", side: "BUY", type: "LIMIT", quantity: "1", price: "1", newClientOrderId: "new" });
  const open = book.openOrders();
  assert.equal(open.length, 3);
  assert.equal(open.at(-1)!.clientOrderId, "new");
  assert.ok(!open.some((o) => o.clientOrderId === "seed-0"));
});

test("market messages are about 300 bytes and carry a sub-millisecond send stamp", () => {
  const feed = new MarketFeed(1);
  for (let i = 0; i < 20; i++) {
    const text = feed.next();
    assert.ok(text.length >= 250 && text.length <= 350, `length ${text.length}`);
    const ts = JSON.parse(text).data.ts;
    assert.equal(typeof ts, "number");
    assert.notEqual(ts, Math.round(ts), "the stamp has digits below the millisecond");
  }
});

test("exchange options are validated with the flag's name", () => {
  assert.equal(resolveExchangeOptions({}).batchCap, 5);
  assert.throws(
    () => resolveExchangeOptions({ fault5xx: "2" }),
    (e: unknown) => e instanceof OptionError && /--fault-5xx/.test(e.message),
  );
  assert.throws(() => resolveExchangeOptions({ port: "x" }), /--port/);
  assert.throws(() => resolveExchangeOptions({ fault5xx: "0.6", faultReset: "0.6" }), /add up/);
});

test("the open-orders answer is serialized once per change of the book, and always equals the book", () => {
  const book = new OrderBook(4);
  book.seed(3, 1);
  const same = (symbol?: string) =>
    assert.equal(book.openOrdersJson(symbol).toString(), JSON.stringify(book.openOrders(symbol)));
  same();
  same("BTCUSDT");
  const first = book.openOrdersJson();
  assert.equal(book.openOrdersJson(), first, "unchanged book: the same bytes, not serialized again");
  const placed = book.place({
    symbol: "BTCUSDT",
    side: "BUY",
    type: "LIMIT",
    quantity: "0.010",
    price: "90000",
    timeInForce: "GTC",
    newClientOrderId: "c-1",
  });
  assert.ok(!isExchangeError(placed));
  assert.notEqual(book.openOrdersJson().toString(), first.toString(), "a new LIMIT order is in the next answer");
  same();
  same("BTCUSDT");
  // a MARKET order fills at once and never joins the open orders
  const before = book.openOrdersJson();
  book.place({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.010", newClientOrderId: "c-2" });
  assert.equal(book.openOrdersJson(), before, "the same bytes");
  // a cancel, and the bound (5 orders in a book of 4: the oldest left)
  book.place({
    symbol: "ETHUSDT",
    side: "SELL",
    type: "LIMIT",
    quantity: "1.000",
    price: "4000",
    timeInForce: "GTC",
    newClientOrderId: "c-3",
  });
  same();
  assert.ok(!isExchangeError(book.cancel("BTCUSDT", { clientOrderId: "c-1" })));
  same();
  same("BTCUSDT");
  same("ETHUSDT");
});
