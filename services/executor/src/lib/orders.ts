import { ORDER_TYPES, SIDES, SYMBOLS, type NewOrder } from "../../../common/src/exchange-types.js";

export class ValidationError extends Error {}

const DECIMAL = /^\d{1,12}(?:\.\d{1,8})?$/;
const CLIENT_ID = /^[\w.:/-]{1,36}$/;

function decimal(name: string, v: unknown): string {
  const s = typeof v === "number" && Number.isFinite(v) ? String(v) : v;
  if (typeof s !== "string" || !DECIMAL.test(s)) {
    throw new ValidationError(
      `${name} must be a positive decimal such as "0.001" (a string or a number, at most 12 digits before the point and 8 after)`,
    );
  }
  if (!(Number(s) > 0)) throw new ValidationError(`${name} must be greater than 0`);
  return s;
}

/** Checks a client's order body; the message names the bad field and what it accepts. */
export function parseOrderRequest(body: unknown, makeClientId: () => string): NewOrder {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError(
      'the body must be a JSON object such as {"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.001"}',
    );
  }
  const o = body as Record<string, unknown>;
  if (!SYMBOLS.includes(o.symbol as never)) throw new ValidationError(`symbol must be one of ${SYMBOLS.join(", ")}`);
  if (!SIDES.includes(o.side as never)) throw new ValidationError(`side must be one of ${SIDES.join(", ")}`);
  const type = o.type ?? "MARKET";
  if (!ORDER_TYPES.includes(type as never)) throw new ValidationError(`type must be one of ${ORDER_TYPES.join(", ")}`);
  const quantity = decimal("quantity", o.quantity);
  let price: string | undefined;
  if (type === "LIMIT") price = decimal("price", o.price);
  else if (o.price !== undefined) throw new ValidationError("price is only accepted with type LIMIT");
  const cid = o.clientOrderId ?? o.newClientOrderId;
  if (cid !== undefined && (typeof cid !== "string" || !CLIENT_ID.test(cid))) {
    throw new ValidationError("clientOrderId must be 1 to 36 characters of letters, digits and . : / _ -");
  }
  return {
    symbol: o.symbol as NewOrder["symbol"],
    side: o.side as NewOrder["side"],
    type: type as NewOrder["type"],
    quantity,
    ...(price !== undefined ? { price, timeInForce: "GTC" as const } : {}),
    newClientOrderId: (cid as string | undefined) ?? makeClientId(),
  };
}
