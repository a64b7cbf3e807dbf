import fastJson from "fast-json-stringify";
import type { ExchangeOrder } from "../../../common/src/exchange-types.js";
import type { Metrics } from "./metrics.js";

/**
 * Response bodies, serialized by a schema compiled once at start (JSON_STRINGIFIER=fast) or by
 * JSON.stringify (native). The guide's snippet compiles the schema on every call, which costs
 * far more than it saves; here compilation happens in createSerializer, never per request.
 *
 * Both paths produce the same bytes for the same data: the views below build objects with
 * exactly the schema's keys, in the schema's order, with the schema's types.
 */

type Schema = Parameters<typeof fastJson>[0];
const str = { type: "string" } as const;
const num = { type: "number" } as const;
const bool = { type: "boolean" } as const;

const ORDER_VIEW_KEYS = [
  "orderId",
  "clientOrderId",
  "symbol",
  "side",
  "type",
  "quantity",
  "price",
  "status",
  "executedQty",
  "avgPrice",
  "batched",
  "updateTime",
] as const;
export interface OrderView {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: string;
  type: string;
  quantity: string;
  price: string;
  status: string;
  executedQty: string;
  avgPrice: string;
  batched: boolean;
  updateTime: number;
}

const orderSchema: Schema = {
  type: "object",
  properties: {
    orderId: num,
    clientOrderId: str,
    symbol: str,
    side: str,
    type: str,
    quantity: str,
    price: str,
    status: str,
    executedQty: str,
    avgPrice: str,
    batched: bool,
    updateTime: num,
  },
  required: [...ORDER_VIEW_KEYS],
};

const OPEN_ORDER_KEYS = [
  "orderId",
  "symbol",
  "status",
  "clientOrderId",
  "price",
  "avgPrice",
  "origQty",
  "executedQty",
  "cumQuote",
  "timeInForce",
  "type",
  "reduceOnly",
  "closePosition",
  "side",
  "positionSide",
  "stopPrice",
  "workingType",
  "priceProtect",
  "origType",
  "time",
  "updateTime",
] as const satisfies readonly (keyof ExchangeOrder)[];

const openOrderProps: Record<(typeof OPEN_ORDER_KEYS)[number], typeof str | typeof num | typeof bool> = {
  orderId: num,
  symbol: str,
  status: str,
  clientOrderId: str,
  price: str,
  avgPrice: str,
  origQty: str,
  executedQty: str,
  cumQuote: str,
  timeInForce: str,
  type: str,
  reduceOnly: bool,
  closePosition: bool,
  side: str,
  positionSide: str,
  stopPrice: str,
  workingType: str,
  priceProtect: bool,
  origType: str,
  time: num,
  updateTime: num,
};

const openOrdersSchema: Schema = {
  type: "object",
  properties: {
    count: num,
    orders: { type: "array", items: { type: "object", properties: openOrderProps, required: [...OPEN_ORDER_KEYS] } },
  },
  required: ["count", "orders"],
};

export interface OpenOrdersView {
  count: number;
  orders: ExchangeOrder[];
}

export function toOrderView(o: ExchangeOrder, batched: boolean): OrderView {
  return {
    orderId: Number(o.orderId),
    clientOrderId: String(o.clientOrderId),
    symbol: String(o.symbol),
    side: String(o.side),
    type: String(o.type),
    quantity: String(o.origQty),
    price: String(o.price),
    status: String(o.status),
    executedQty: String(o.executedQty),
    avgPrice: String(o.avgPrice),
    batched,
    updateTime: Number(o.updateTime),
  };
}

/** The exchange sent an order field that no coercion makes a number: the answer is not usable. */
export class MalformedOrderError extends Error {
  constructor(field: string, value: unknown) {
    super(`the exchange answered an order whose ${field} is not a number: ${JSON.stringify(value)}`);
  }
}

function asNum(v: unknown, field: string): number {
  if (typeof v === "number") return v;
  const n = Number(v ?? 0);
  // JSON.stringify writes NaN as null and fast-json-stringify refuses it: no byte-identical answer exists
  if (Number.isNaN(n)) throw new MalformedOrderError(field, v);
  return n;
}
const asStr = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));
const asBool = (v: unknown): boolean => (typeof v === "boolean" ? v : Boolean(v));

/**
 * Copies an exchange order into exactly the schema's shape (drops unknown fields, fixes types).
 * Written out key by key, in OPEN_ORDER_KEYS' order, with each key's schema type: one object
 * literal V8 builds with a single hidden class. The loop over the schema it replaces took 16% of
 * the executor's busy time on open-orders (issue 13); a unit test checks it against that loop.
 */
export function toOpenOrderView(o: ExchangeOrder): ExchangeOrder {
  return {
    orderId: asNum(o.orderId, "orderId"),
    symbol: asStr(o.symbol),
    status: asStr(o.status),
    clientOrderId: asStr(o.clientOrderId),
    price: asStr(o.price),
    avgPrice: asStr(o.avgPrice),
    origQty: asStr(o.origQty),
    executedQty: asStr(o.executedQty),
    cumQuote: asStr(o.cumQuote),
    timeInForce: asStr(o.timeInForce),
    type: asStr(o.type),
    reduceOnly: asBool(o.reduceOnly),
    closePosition: asBool(o.closePosition),
    side: asStr(o.side),
    positionSide: asStr(o.positionSide),
    stopPrice: asStr(o.stopPrice),
    workingType: asStr(o.workingType),
    priceProtect: asBool(o.priceProtect),
    origType: asStr(o.origType),
    time: asNum(o.time, "time"),
    updateTime: asNum(o.updateTime, "updateTime"),
  } as ExchangeOrder;
}

/** The open-order schema's keys and types, in order (the view and its test follow them). */
export const OPEN_ORDER_SCHEMA: ReadonlyArray<readonly [string, "number" | "string" | "boolean"]> = OPEN_ORDER_KEYS.map(
  (k) => [k, openOrderProps[k].type] as const,
);

export type Stringifier = "fast" | "native";

export interface Serializer {
  readonly kind: Stringifier;
  order(v: OrderView): string;
  openOrders(v: OpenOrdersView): string;
}

/** Pure serializers without metrics, for tests and the in-process JSON benchmark. */
export function compileSerializers(kind: Stringifier): Serializer {
  if (kind === "native") {
    return { kind, order: (v) => JSON.stringify(v), openOrders: (v) => JSON.stringify(v) };
  }
  const order = fastJson(orderSchema);
  const openOrders = fastJson(openOrdersSchema);
  return { kind, order: (v) => order(v), openOrders: (v) => openOrders(v) };
}

/** The executor's serializer: compiled once, timed into spark_json_* on every call. */
export function createSerializer(kind: Stringifier, metrics: Metrics): Serializer {
  const inner = compileSerializers(kind);
  const hist = metrics.jsonSerialization.labels(kind);
  const mem = metrics.jsonMemory.labels(kind);
  const timed =
    <T>(fn: (v: T) => string) =>
    (v: T): string => {
      const t0 = performance.now();
      const out = fn(v);
      hist.observe(performance.now() - t0);
      mem.set(out.length);
      if (kind === "fast") metrics.jsonCacheHits.inc();
      return out;
    };
  return { kind, order: timed(inner.order), openOrders: timed(inner.openOrders) };
}
