/** Options of the mock exchange: defaults live here, validation happens once at the edge. */
export interface ExchangeOptions {
  port: number;
  host: string;
  /** HTTPS with the loopback fixture certificate (TLS 1.3 only), or plain HTTP. */
  tls: boolean;
  /** Added to every REST answer. */
  latencyMs: number;
  /** Added per order on order endpoints (a batch of n costs latencyMs + n × orderCostMs). */
  orderCostMs: number;
  /** Most orders one batchOrders call may carry (Binance futures: 5). */
  batchCap: number;
  /** Shares (0..1) of order/openOrders requests that fail: 5xx, connection reset, stall. */
  fault5xx: number;
  faultReset: number;
  faultStall: number;
  stallMs: number;
  /** Seed of the fault draws and of the generated open orders. */
  seed: number;
  /** Market-data messages per second on each /ws/market connection. */
  wsRate: number;
  /** Open LIMIT orders seeded into the book at start. */
  openOrders: number;
  /** The book keeps at most this many open orders; the oldest are marked filled. */
  maxOpenOrders: number;
}

export const exchangeDefaults: ExchangeOptions = {
  port: 4002,
  host: "127.0.0.1",
  tls: true,
  latencyMs: 5,
  orderCostMs: 0.5,
  batchCap: 5,
  fault5xx: 0,
  faultReset: 0,
  faultStall: 0,
  stallMs: 2000,
  seed: 1,
  wsRate: 100,
  openOrders: 50,
  maxOpenOrders: 1000,
};

export class OptionError extends Error {}

type Raw = Partial<Record<keyof ExchangeOptions, string | boolean | undefined>>;

function num(
  name: string,
  raw: string | boolean | undefined,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const n = Number(text);
  if (text === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new OptionError(
      `--${name}=${JSON.stringify(raw)} is not valid: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`,
    );
  }
  return n;
}

const flag = (k: string) => k.replace(/[A-Z0-9]+/g, (m) => "-" + m.toLowerCase());

/** Validates raw option strings (from the command line) into full options. */
export function resolveExchangeOptions(raw: Raw): ExchangeOptions {
  const d = exchangeDefaults;
  const share = (k: "fault5xx" | "faultReset" | "faultStall") => num(flag(k), raw[k], d[k], 0, 1, false);
  const o: ExchangeOptions = {
    port: num("port", raw.port, d.port, 0, 65535, true),
    host: raw.host === undefined ? d.host : String(raw.host),
    tls: raw.tls === undefined ? d.tls : raw.tls !== false && raw.tls !== "false",
    latencyMs: num("latency-ms", raw.latencyMs, d.latencyMs, 0, 60_000, false),
    orderCostMs: num("order-cost-ms", raw.orderCostMs, d.orderCostMs, 0, 10_000, false),
    batchCap: num("batch-cap", raw.batchCap, d.batchCap, 1, 1000, true),
    fault5xx: share("fault5xx"),
    faultReset: share("faultReset"),
    faultStall: share("faultStall"),
    stallMs: num("stall-ms", raw.stallMs, d.stallMs, 0, 600_000, true),
    seed: num("seed", raw.seed, d.seed, 0, 2 ** 32 - 1, true),
    wsRate: num("ws-rate", raw.wsRate, d.wsRate, 0, 100_000, false),
    openOrders: num("open-orders", raw.openOrders, d.openOrders, 0, 100_000, true),
    maxOpenOrders: num("max-open-orders", raw.maxOpenOrders, d.maxOpenOrders, 1, 1_000_000, true),
  };
  if (o.fault5xx + o.faultReset + o.faultStall > 1) {
    throw new OptionError("--fault-5xx + --fault-reset + --fault-stall must not add up to more than 1");
  }
  if (o.openOrders > o.maxOpenOrders) {
    throw new OptionError(`--open-orders (${o.openOrders}) must not exceed --max-open-orders (${o.maxOpenOrders})`);
  }
  return o;
}
