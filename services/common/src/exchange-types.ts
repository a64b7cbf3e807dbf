/** The wire shapes of the mock exchange's Binance-futures-like REST subset. */

export const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"] as const;
export type Symbol = (typeof SYMBOLS)[number];
export const SIDES = ["BUY", "SELL"] as const;
export type Side = (typeof SIDES)[number];
export const ORDER_TYPES = ["MARKET", "LIMIT"] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const REFERENCE_PRICES: Record<Symbol, number> = {
  BTCUSDT: 43000,
  ETHUSDT: 2300,
  SOLUSDT: 95,
  BNBUSDT: 310,
  XRPUSDT: 0.62,
};

/** What a client sends to place one order (POST /fapi/v1/order, or one item of batchOrders). */
export interface NewOrder {
  symbol: Symbol;
  side: Side;
  type: OrderType;
  quantity: string;
  price?: string;
  timeInForce?: "GTC" | "IOC" | "FOK";
  newClientOrderId: string;
}

/** An order as the exchange reports it (Binance futures field names and order). */
export interface ExchangeOrder {
  orderId: number;
  symbol: string;
  status: "NEW" | "FILLED" | "CANCELED";
  clientOrderId: string;
  price: string;
  avgPrice: string;
  origQty: string;
  executedQty: string;
  cumQuote: string;
  timeInForce: string;
  type: string;
  reduceOnly: boolean;
  closePosition: boolean;
  side: string;
  positionSide: string;
  stopPrice: string;
  workingType: string;
  priceProtect: boolean;
  origType: string;
  time: number;
  updateTime: number;
}

/** Binance's error body. */
export interface ExchangeError {
  code: number;
  msg: string;
}

export const isExchangeError = (v: unknown): v is ExchangeError =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as ExchangeError).code === "number" &&
  typeof (v as ExchangeError).msg === "string";

/** The counters the exchange shows on GET /stats. */
export interface ExchangeStats {
  connections: number;
  tlsHandshakes: number;
  tlsResumed: number;
  requests: number;
  orderCalls: number;
  batchCalls: number;
  openOrdersCalls: number;
  cancelCalls: number;
  queryCalls: number;
  orders: number;
  rejectedOrders: number;
  duplicateClientOrderIds: number;
  faults: { http5xx: number; resets: number; stalls: number };
  wsConnections: number;
  wsMessages: number;
}
