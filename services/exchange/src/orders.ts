import { ORDER_TYPES, SIDES, SYMBOLS, type ExchangeError, type NewOrder } from "../../common/src/exchange-types.js";

const DECIMAL = /^(?:\d{1,12})(?:\.\d{1,8})?$/;
const CLIENT_ID = /^[\w.:/-]{1,36}$/;

const bad = (msg: string): ExchangeError => ({ code: -1102, msg });

/** Checks one order the way the exchange would, answering Binance-style errors. */
export function parseNewOrder(v: unknown): NewOrder | ExchangeError {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad("order must be a JSON object");
  const o = v as Record<string, unknown>;
  if (!SYMBOLS.includes(o.symbol as never)) return { code: -1121, msg: "Invalid symbol." };
  if (!SIDES.includes(o.side as never))
    return bad("Mandatory parameter 'side' was not sent, was empty/null, or malformed.");
  if (!ORDER_TYPES.includes(o.type as never)) return { code: -1116, msg: "Invalid orderType." };
  const qty = typeof o.quantity === "number" ? String(o.quantity) : o.quantity;
  if (typeof qty !== "string" || !DECIMAL.test(qty) || Number(qty) <= 0)
    return bad("Parameter 'quantity' was malformed.");
  const price = typeof o.price === "number" ? String(o.price) : o.price;
  if (o.type === "LIMIT" && (typeof price !== "string" || !DECIMAL.test(price) || Number(price) <= 0)) {
    return bad("Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
  }
  if (typeof o.newClientOrderId !== "string" || !CLIENT_ID.test(o.newClientOrderId)) {
    return bad("Mandatory parameter 'newClientOrderId' was not sent or malformed.");
  }
  return {
    symbol: o.symbol as NewOrder["symbol"],
    side: o.side as NewOrder["side"],
    type: o.type as NewOrder["type"],
    quantity: qty,
    ...(o.type === "LIMIT" ? { price: price as string, timeInForce: "GTC" as const } : {}),
    newClientOrderId: o.newClientOrderId,
  };
}
