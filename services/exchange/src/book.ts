import {
  REFERENCE_PRICES,
  SYMBOLS,
  type ExchangeError,
  type ExchangeOrder,
  type NewOrder,
} from "../../common/src/exchange-types.js";
import { seededRandom } from "../../common/src/rng.js";

/** The mock exchange's order book: accepts orders, keeps LIMIT orders open, rejects duplicates. */
export class OrderBook {
  private nextId = 1_000_000;
  private readonly open = new Map<number, ExchangeOrder>();
  /**
   * clientOrderId → every order ever accepted (open, filled or cancelled): a second order with
   * the same clientOrderId is refused with -4116, and GET /fapi/v1/order finds any of them.
   * This is what makes a client's retry safe. It keeps the newest REMEMBERED_ORDERS ids: a retry
   * comes seconds after its first attempt (the executor's are within 3 × its 5 s upstream
   * timeout), which is 100,000 orders only at over 6,000 orders/s. It once kept a million: at
   * ~0.5 KB each the mock's memory grew with every order of a capacity search (RSS 72 → 104 MB in
   * the first 100 s of one, on course for about 300 MB in five minutes), and its garbage
   * collections, growing with it, took CPU from the executor under test on a 2-core machine.
   */
  private readonly byClientId = new Map<string, ExchangeOrder>();
  static readonly REMEMBERED_ORDERS = 100_000;
  /** Bumped whenever the set of open orders changes: the serialized answers below are of one version. */
  private version = 0;
  /** symbol ("" for all) → the open-orders answer as JSON, and the version it was made from. */
  private readonly openJson = new Map<string, { version: number; json: Buffer }>();

  constructor(private readonly maxOpen: number) {}

  /** Fills the book with `count` deterministic open LIMIT orders. */
  seed(count: number, seed: number): void {
    const rand = seededRandom(seed ^ 0x5eed);
    const t0 = 1_764_000_000_000;
    for (let i = 0; i < count; i++) {
      const symbol = SYMBOLS[i % SYMBOLS.length]!;
      const side = rand() < 0.5 ? "BUY" : "SELL";
      const ref = REFERENCE_PRICES[symbol];
      const price = (ref * (side === "BUY" ? 0.95 + rand() * 0.04 : 1.01 + rand() * 0.04)).toFixed(ref < 10 ? 4 : 2);
      const qty = (0.001 + rand() * 2).toFixed(3);
      this.add(
        this.make(
          { symbol, side, type: "LIMIT", quantity: qty, price, timeInForce: "GTC", newClientOrderId: `seed-${i}` },
          t0 + i * 1000,
        ),
      );
    }
  }

  place(o: NewOrder, now = Date.now()): ExchangeOrder | ExchangeError {
    if (this.byClientId.has(o.newClientOrderId)) {
      return { code: -4116, msg: `ClientOrderId is duplicated: ${o.newClientOrderId}` };
    }
    const order = this.make(o, now);
    if (o.type === "MARKET") {
      order.status = "FILLED";
      order.executedQty = order.origQty;
      order.avgPrice = REFERENCE_PRICES[o.symbol].toFixed(2);
      order.cumQuote = (Number(order.origQty) * REFERENCE_PRICES[o.symbol]).toFixed(4);
      this.remember(order);
    } else {
      this.add(order);
    }
    return order;
  }

  cancel(symbol: string, ref: { orderId?: number; clientOrderId?: string }): ExchangeOrder | ExchangeError {
    const id =
      ref.orderId ?? (ref.clientOrderId !== undefined ? this.byClientId.get(ref.clientOrderId)?.orderId : undefined);
    const order = id === undefined ? undefined : this.open.get(id);
    if (!order || order.symbol !== symbol) return { code: -2011, msg: "Unknown order sent." };
    this.open.delete(order.orderId);
    this.version++;
    order.status = "CANCELED";
    order.updateTime = Date.now();
    return { ...order };
  }

  /** Binance's query order by clientOrderId (among the remembered ones); -2013 if there is none. */
  query(symbol: string, clientOrderId: string): ExchangeOrder | ExchangeError {
    const order = this.byClientId.get(clientOrderId);
    if (!order || order.symbol !== symbol) return { code: -2013, msg: "Order does not exist." };
    return { ...order };
  }

  /** Every accepted order's clientOrderId, except the seeded ones: the fault tests' audit. */
  acceptedClientOrderIds(): string[] {
    return [...this.byClientId.keys()].filter((id) => !id.startsWith("seed-"));
  }

  openOrders(symbol?: string): ExchangeOrder[] {
    const all = [...this.open.values()];
    return symbol ? all.filter((o) => o.symbol === symbol) : all;
  }

  /**
   * The open-orders answer as UTF-8 JSON bytes, serialized once per change of the book: a load test
   * asks for the same 50 orders thousands of times a second, and the mock should not spend on
   * re-serializing them the CPU the executor under test shares with it.
   */
  openOrdersJson(symbol?: string): Buffer {
    const key = symbol ?? "";
    const have = this.openJson.get(key);
    if (have && have.version === this.version) return have.json;
    const json = Buffer.from(JSON.stringify(this.openOrders(symbol)));
    // bounded: one entry per symbol asked for, and symbols are few; a stranger's symbol replaces the oldest
    if (this.openJson.size >= 64 && !have) this.openJson.delete(this.openJson.keys().next().value as string);
    this.openJson.set(key, { version: this.version, json });
    return json;
  }

  has(clientOrderId: string): boolean {
    return this.byClientId.has(clientOrderId);
  }

  private remember(order: ExchangeOrder): void {
    this.byClientId.set(order.clientOrderId, order);
    if (this.byClientId.size > OrderBook.REMEMBERED_ORDERS)
      this.byClientId.delete(this.byClientId.keys().next().value as string);
  }

  private add(order: ExchangeOrder): void {
    this.open.set(order.orderId, order);
    this.version++;
    this.remember(order);
    // Bounded so that a long load test does not grow every open-orders answer without end.
    if (this.open.size > this.maxOpen) {
      const oldest = this.open.keys().next().value as number;
      this.open.delete(oldest);
    }
  }

  private make(o: NewOrder, now: number): ExchangeOrder {
    return {
      orderId: this.nextId++,
      symbol: o.symbol,
      status: "NEW",
      clientOrderId: o.newClientOrderId,
      price: o.price ?? "0",
      avgPrice: "0.00",
      origQty: o.quantity,
      executedQty: "0",
      cumQuote: "0",
      timeInForce: o.timeInForce ?? "GTC",
      type: o.type,
      reduceOnly: false,
      closePosition: false,
      side: o.side,
      positionSide: "BOTH",
      stopPrice: "0",
      workingType: "CONTRACT_PRICE",
      priceProtect: false,
      origType: o.type,
      time: now,
      updateTime: now,
    };
  }
}
