import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExchangeError, ExchangeOrder, NewOrder } from "../../../services/common/src/exchange-types.js";
import {
  ExchangeRejection,
  UpstreamError,
  type ExchangeClient,
} from "../../../services/executor/src/lib/httpClient.js";
import { createMetrics } from "../../../services/executor/src/lib/metrics.js";
import {
  DuplicateClientOrderIdError,
  OrderSubmitter,
  UnsettledOrderError,
} from "../../../services/executor/src/lib/submit.js";

const order = (id: string, quantity = "0.001"): NewOrder => ({
  symbol: "BTCUSDT",
  side: "BUY",
  type: "MARKET",
  quantity,
  newClientOrderId: id,
});
const placed = (o: NewOrder, orderId = 1): ExchangeOrder =>
  ({
    orderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    origQty: o.quantity,
    price: "0",
    clientOrderId: o.newClientOrderId,
    status: "FILLED",
  }) as ExchangeOrder;
const http5xx = () => new UpstreamError("http", "https://x", "answered 503");
const reset = () => new UpstreamError("reset", "https://x", "connection failed: other side closed");
const timeout = () => new UpstreamError("timeout", "https://x", "timed out (UND_ERR_HEADERS_TIMEOUT)");
const DUP: ExchangeError = { code: -4116, msg: "ClientOrderId is duplicated." };

/** A scripted exchange: each call takes the next step; the book is what queries see. */
function fakeClient(
  steps: Array<(orders: NewOrder[]) => Array<ExchangeOrder | ExchangeError>>,
  book = new Map<string, ExchangeOrder>(),
  queryFails: () => Error | undefined = () => undefined,
) {
  const calls: string[] = [];
  const client: ExchangeClient = {
    batchCap: 5,
    placeOrder: async (o) => {
      calls.push(`order ${o.newClientOrderId}`);
      const r = steps.shift()!([o])[0]!;
      if ("code" in r && !("orderId" in r)) throw new ExchangeRejection(r);
      return r as ExchangeOrder;
    },
    placeBatch: async (os) => {
      calls.push(`batch ${os.map((o) => o.newClientOrderId).join(",")}`);
      return steps.shift()!(os);
    },
    queryOrder: async (_symbol, id) => {
      calls.push(`query ${id}`);
      const e = queryFails();
      if (e) throw e;
      const found = book.get(id);
      if (!found) throw new ExchangeRejection({ code: -2013, msg: "Order does not exist." });
      return found;
    },
    openOrders: async () => [],
    close: async () => {},
  };
  return { client, calls };
}

const throws = (e: () => Error) => (): never => {
  throw e();
};

test("a 5xx is retried with the same clientOrderId, and the retry's answer is the order's", async () => {
  const o = order("a");
  const { client, calls } = fakeClient([throws(http5xx), (os) => os.map((x) => placed(x))]);
  const metrics = createMetrics();
  const [r] = await new OrderSubmitter(client, { retries: 3, backoffMs: 0 }, metrics).place([o]);
  assert.equal((r as ExchangeOrder).clientOrderId, "a");
  assert.deepEqual(calls, ["order a", "order a"]);
  assert.match(await metrics.registry.metrics(), /spark_order_retries_total\{reason="http"\} 1/);
});

test("a reset after the order was placed: the retry gets -4116 and the order is answered from a query, not placed again", async () => {
  const a = order("a");
  const b = order("b");
  const book = new Map([
    ["a", placed(a, 7)],
    ["b", placed(b, 8)],
  ]);
  const { client, calls } = fakeClient([throws(reset), (os) => os.map(() => DUP)], book);
  const out = await new OrderSubmitter(client, { retries: 3, backoffMs: 0 }, createMetrics()).place([a, b]);
  assert.deepEqual(
    out.map((r) => (r as ExchangeOrder).orderId),
    [7, 8],
  );
  assert.deepEqual(calls, ["batch a,b", "batch a,b", "query a", "query b"]);
});

test("-4116 for a different order under the same clientOrderId is a conflict, not a success", async () => {
  const { client } = fakeClient([() => [DUP]], new Map([["a", placed(order("a", "5"))]]));
  const [r] = await new OrderSubmitter(client, { retries: 3, backoffMs: 0 }, createMetrics()).place([
    order("a", "0.001"),
  ]);
  assert.ok(r instanceof DuplicateClientOrderIdError);
});

test("out of retries: a last query says not_placed when the order is absent, unknown when a timeout may still land or the query fails", async () => {
  const s = (steps: Array<() => never>, queryFails?: () => Error | undefined) => {
    const { client } = fakeClient(steps, new Map(), queryFails);
    return new OrderSubmitter(client, { retries: 2, backoffMs: 0 }, createMetrics()).place([order("a")]);
  };
  const [absent] = await s([throws(http5xx), throws(http5xx), throws(reset)]);
  assert.ok(absent instanceof UnsettledOrderError);
  assert.equal(absent.orderStatus, "not_placed");
  assert.equal(absent.attempts, 3);
  const [timedOut] = await s([throws(timeout), throws(http5xx), throws(http5xx)]);
  assert.equal((timedOut as UnsettledOrderError).orderStatus, "unknown");
  const [blind] = await s([throws(http5xx), throws(http5xx), throws(http5xx)], () => http5xx());
  assert.equal((blind as UnsettledOrderError).orderStatus, "unknown");
});

test("a refusal other than -4116 goes to its own order only, unretried", async () => {
  const a = order("a");
  const b = order("b");
  const { client, calls } = fakeClient([
    (os) => [placed(os[0]!), { code: -1111, msg: "Precision is over the maximum defined for this asset." }],
  ]);
  const [ra, rb] = await new OrderSubmitter(client, { retries: 3, backoffMs: 0 }, createMetrics()).place([a, b]);
  assert.equal((ra as ExchangeOrder).clientOrderId, "a");
  assert.ok(rb instanceof ExchangeRejection);
  assert.deepEqual(calls, ["batch a,b"]);
});
