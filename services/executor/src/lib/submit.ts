import { setTimeout as sleep } from "node:timers/promises";
import {
  isExchangeError,
  type ExchangeError,
  type ExchangeOrder,
  type NewOrder,
} from "../../../common/src/exchange-types.js";
import { ExchangeRejection, UpstreamError, type ExchangeClient } from "./httpClient.js";
import type { Metrics } from "./metrics.js";

/**
 * Order submission that is safe to retry, because it is idempotent by clientOrderId.
 *
 * Every order carries its clientOrderId (the client's, or one the executor made) from its first
 * attempt on. After a failed call (5xx, reset, timeout, refused connection) the same orders go
 * again with the same ids, up to `retries` times with doubling backoff. The exchange refuses a
 * clientOrderId it already holds (-4116), which is the case where an earlier attempt got there
 * but its answer was lost: the executor then queries the order by its id and answers with it. So
 * an order is never placed twice, and each caller gets exactly one outcome. When the retries run
 * out, a last query settles whether the order got there before the executor gives up on it.
 */

/** The clientOrderId is already on the exchange, for a different order. */
export class DuplicateClientOrderIdError extends Error {
  constructor(readonly clientOrderId: string) {
    super(
      `clientOrderId ${JSON.stringify(clientOrderId)} is already used by a different order; use a new clientOrderId for a new order`,
    );
  }
}

/** Retries ran out. `orderStatus` says whether the order may be on the exchange. */
export class UnsettledOrderError extends Error {
  constructor(
    readonly last: UpstreamError,
    readonly clientOrderId: string,
    readonly orderStatus: "not_placed" | "unknown",
    readonly attempts: number,
  ) {
    super(
      `${last.message}, after ${attempts} attempt${attempts === 1 ? "" : "s"}; ` +
        (orderStatus === "not_placed"
          ? "the order was not placed"
          : "the order may have been placed: retry with the same clientOrderId, which is never placed twice"),
    );
  }
}

export interface RetryPolicy {
  retries: number;
  backoffMs: number;
}

interface OrderFields {
  symbol: string;
  side: string;
  type: string;
  price?: string;
}

/** Whether `placed` is the order `order` asked for (what a reused clientOrderId must match). */
function sameOrder(order: NewOrder, placed: OrderFields & { origQty: string }): boolean {
  return (
    order.symbol === placed.symbol &&
    order.side === placed.side &&
    order.type === placed.type &&
    Number(order.quantity) === Number(placed.origQty) &&
    (order.type !== "LIMIT" || Number(order.price) === Number(placed.price))
  );
}

/** Two requests carrying one clientOrderId ask for the same order. */
export function sameRequest(a: NewOrder, b: NewOrder): boolean {
  return sameOrder(a, { ...b, origQty: b.quantity });
}

export class OrderSubmitter {
  constructor(
    private readonly client: ExchangeClient,
    private readonly policy: RetryPolicy,
    private readonly metrics: Metrics,
  ) {}

  /** Places up to `batchCap` orders in one call (batchOrders for 2+); one outcome per order, in order. */
  async place(orders: NewOrder[]): Promise<Array<ExchangeOrder | Error>> {
    const failures: UpstreamError[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        const answers = await this.send(orders);
        return await Promise.all(answers.map((a, i) => this.settle(orders[i]!, a)));
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        failures.push(err);
        if (attempt >= this.policy.retries) break;
        this.metrics.orderRetries.labels(err.kind).inc(orders.length);
        await sleep(this.policy.backoffMs * 2 ** attempt);
      }
    }
    return Promise.all(orders.map((o) => this.giveUp(o, failures)));
  }

  private async send(orders: NewOrder[]): Promise<Array<ExchangeOrder | ExchangeError>> {
    if (orders.length > 1) return this.client.placeBatch(orders);
    try {
      return [await this.client.placeOrder(orders[0]!)];
    } catch (err) {
      if (err instanceof ExchangeRejection) return [err.body];
      throw err;
    }
  }

  /** One order's answer. -4116: the id is already there, so find out whether it is this order. */
  private async settle(order: NewOrder, answer: ExchangeOrder | ExchangeError): Promise<ExchangeOrder | Error> {
    if (!isExchangeError(answer)) return answer;
    if (answer.code !== -4116) return new ExchangeRejection(answer);
    try {
      return this.recovered(order, await this.query(order));
    } catch (err) {
      if (err instanceof UpstreamError) return new UnsettledOrderError(err, order.newClientOrderId, "unknown", 1);
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private recovered(order: NewOrder, found: ExchangeOrder): ExchangeOrder | Error {
    if (!sameOrder(order, found)) return new DuplicateClientOrderIdError(order.newClientOrderId);
    this.metrics.orderRecovered.inc();
    return found;
  }

  /** Query order by clientOrderId: a read, so retried freely. */
  private async query(order: NewOrder): Promise<ExchangeOrder> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.queryOrder(order.symbol, order.newClientOrderId);
      } catch (err) {
        if (!(err instanceof UpstreamError) || attempt >= this.policy.retries) throw err;
        await sleep(this.policy.backoffMs * 2 ** attempt);
      }
    }
  }

  /** Out of retries: ask the exchange whether the order got there before giving up on it. */
  private async giveUp(order: NewOrder, failures: UpstreamError[]): Promise<ExchangeOrder | Error> {
    const last = failures.at(-1)!;
    // a request that timed out may still be running at the exchange, so "not found" proves nothing
    const mayStillLand = failures.some((f) => f.kind === "timeout");
    try {
      return this.recovered(order, await this.query(order));
    } catch (err) {
      const absent = err instanceof ExchangeRejection && err.body.code === -2013;
      return new UnsettledOrderError(
        last,
        order.newClientOrderId,
        absent && !mayStillLand ? "not_placed" : "unknown",
        failures.length,
      );
    }
  }
}
