import { REFERENCE_PRICES, SYMBOLS } from "../../common/src/exchange-types.js";
import { seededRandom } from "../../common/src/rng.js";

/**
 * Send time of a market message: CLOCK_MONOTONIC in milliseconds with nanosecond digits.
 * The monotonic clock is shared by every process on one Linux host, so a receiver on the
 * same machine can subtract its own monotonicMs() from it; across hosts it means nothing.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Generates bookTicker- and trade-like messages of about 300 bytes, in Binance's combined-stream envelope. */
export class MarketFeed {
  private seq = 0;
  private readonly rand: () => number;
  private readonly prices = new Map<string, number>();

  constructor(seed: number) {
    this.rand = seededRandom(seed ^ 0x4d4b54);
    for (const s of SYMBOLS) this.prices.set(s, REFERENCE_PRICES[s]);
  }

  /** Mark/index price and funding fields (as in Binance's markPrice stream), to reach ~300 bytes. */
  private context(price: number, dp: number, now: number) {
    return {
      mp: (price * 1.00003).toFixed(dp),
      ip: (price * 0.99998).toFixed(dp),
      ep: (price * 1.0001).toFixed(dp),
      r: "0.00010000",
      nt: now - (now % 28_800_000) + 28_800_000,
    };
  }

  next(): string {
    const n = this.seq++;
    const symbol = SYMBOLS[n % SYMBOLS.length]!;
    const last = this.prices.get(symbol)!;
    const price = last * (1 + (this.rand() - 0.5) * 0.0004);
    this.prices.set(symbol, price);
    const dp = price < 10 ? 4 : 2;
    const now = Date.now();
    if (n % 2 === 0) {
      const spread = price * 0.00002;
      return JSON.stringify({
        stream: `${symbol.toLowerCase()}@bookTicker`,
        data: {
          e: "bookTicker",
          u: 400_900_000_000 + n,
          s: symbol,
          b: (price - spread).toFixed(dp),
          B: (this.rand() * 20).toFixed(3),
          a: (price + spread).toFixed(dp),
          A: (this.rand() * 20).toFixed(3),
          T: now,
          E: now,
          pu: 400_899_999_999 + n,
          ...this.context(price, dp, now),
          ts: monotonicMs(),
        },
      });
    }
    return JSON.stringify({
      stream: `${symbol.toLowerCase()}@aggTrade`,
      data: {
        e: "aggTrade",
        E: now,
        s: symbol,
        a: 2_100_000_000 + n,
        p: price.toFixed(dp),
        q: (this.rand() * 3).toFixed(3),
        f: 5_200_000_000 + n * 3,
        l: 5_200_000_002 + n * 3,
        T: now,
        m: this.rand() < 0.5,
        M: true,
        ...this.context(price, dp, now),
        ts: monotonicMs(),
      },
    });
  }
}
