import { Agent, request } from "undici";
import { SYMBOLS } from "../../services/common/src/exchange-types.js";
import { seededRandom } from "../../services/common/src/rng.js";
import { getJson } from "../engine/launcher.js";
import { scrape, sumOf } from "../load/exposition.js";
import { startStack } from "../engine/rig.js";

/**
 * The upstream-fault drill: a real exchange that fails on purpose, a real executor, and a client
 * that sends every order once, some of them twice at the same time with the same clientOrderId
 * (a client's retry). Afterwards the exchange's own book is the judge: every order answered 200
 * must be on it exactly once, every order answered "not placed" must not be, and nothing may be
 * on it that no client asked for.
 */
export interface FaultDrillOptions {
  orders: number;
  concurrency: number;
  batching: boolean;
  /** Shares of the exchange's order-path requests: 5xx before the work, reset after it, stall. */
  fault5xx: number;
  faultReset: number;
  faultStall: number;
  stallMs: number;
  /** Every n-th order is sent twice at once (0: never). */
  duplicateEvery: number;
  seed: number;
  /** More executor environment (e.g. UPSTREAM_RETRIES=0, to watch the unsettled path). */
  executorEnv?: Record<string, string>;
  /** What both services inherit (the caller's env without executor variables); default none. */
  baseEnv?: NodeJS.ProcessEnv;
}

export const FAULT_DRILL_DEFAULTS: FaultDrillOptions = {
  orders: 400,
  concurrency: 32,
  batching: false,
  fault5xx: 0.1,
  faultReset: 0.05,
  faultStall: 0.01,
  stallMs: 2000,
  duplicateEvery: 10,
  seed: 7,
};

export interface FaultDrillReport {
  batching: boolean;
  /** Client requests sent (orders plus repeats), and how many got exactly one HTTP answer. */
  requests: number;
  answered: number;
  /** Requests with no HTTP answer at all (socket error, hang): must be 0. */
  unanswered: number;
  statuses: Record<string, number>;
  orders: number;
  placedOk: number;
  failedNotPlaced: number;
  failedUnknown: number;
  /** 200 answers whose order is not on the exchange, or "not placed" answers whose order is. */
  lost: number;
  /** Orders on the exchange that no client asked for, or asked for once and got twice. */
  duplicatesPlaced: number;
  /** Answers that are not a clear JSON error or order: must be 0. */
  unclear: number;
  exchange: {
    ordersAccepted: number;
    duplicateClientOrderIdsRefused: number;
    faults: { http5xx: number; resets: number; stalls: number };
    queryCalls: number;
  };
  executor: { retries: number; recovered: number; deduplicated: number };
  problems: string[];
}

interface Outcome {
  id: string;
  status: number;
  body: Record<string, unknown> | undefined;
}

export async function runFaultDrill(partial: Partial<FaultDrillOptions> = {}): Promise<FaultDrillReport> {
  const o = { ...FAULT_DRILL_DEFAULTS, ...partial };
  const stack = await startStack({
    exchangeArgs: [
      "--latency-ms",
      "1",
      "--fault-5xx",
      String(o.fault5xx),
      "--fault-reset",
      String(o.faultReset),
      "--fault-stall",
      String(o.faultStall),
      "--stall-ms",
      String(o.stallMs),
      "--seed",
      String(o.seed),
    ],
    executorEnv: {
      HTTP_KEEPALIVE: "true",
      BATCH_ENABLED: String(o.batching),
      BATCH_MODE: "adaptive",
      ...o.executorEnv,
    },
    ...(o.baseEnv ? { baseEnv: o.baseEnv } : {}),
  });
  const agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 1000 });
  try {
    const rand = seededRandom(o.seed);
    const tag = `fd${o.batching ? "b" : "s"}${Date.now().toString(36)}`;
    const jobs: Array<{ id: string; body: string }> = [];
    for (let i = 0; i < o.orders; i++) {
      const id = `${tag}-${i}`;
      const body = JSON.stringify({
        symbol: SYMBOLS[Math.floor(rand() * SYMBOLS.length)],
        side: rand() < 0.5 ? "BUY" : "SELL",
        type: "MARKET",
        quantity: (0.001 + Math.floor(rand() * 1000) / 1000).toFixed(3),
        clientOrderId: id,
      });
      jobs.push({ id, body });
      if (o.duplicateEvery > 0 && i % o.duplicateEvery === 0) jobs.push({ id, body });
    }

    const outcomes: Outcome[] = [];
    let unanswered = 0;
    let next = 0;
    const url = `${stack.executor.url}/api/private/order`;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        try {
          const res = await request(url, {
            method: "POST",
            dispatcher: agent,
            headers: { "content-type": "application/json" },
            body: job.body,
            headersTimeout: 60_000,
            bodyTimeout: 60_000,
          });
          const text = await res.body.text();
          let body: Record<string, unknown> | undefined;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = undefined;
          }
          outcomes.push({ id: job.id, status: res.statusCode, body });
        } catch {
          unanswered++;
        }
      }
    };
    // a repeat goes out right beside its original: both workers pick them up back to back
    await Promise.all(Array.from({ length: o.concurrency }, worker));

    const onBook = new Set(
      ((await getJson(`${stack.exchange.url}/stats/orders`, 10_000)).body as { clientOrderIds: string[] })
        .clientOrderIds,
    );
    const st = (await getJson(`${stack.exchange.url}/stats`)).body as {
      orders: number;
      duplicateClientOrderIds: number;
      queryCalls: number;
      faults: { http5xx: number; resets: number; stalls: number };
    };
    const metrics = await scrape(stack.executor.url);

    const statuses: Record<string, number> = {};
    const byId = new Map<string, Outcome[]>();
    let unclear = 0;
    for (const out of outcomes) {
      statuses[out.status] = (statuses[out.status] ?? 0) + 1;
      byId.set(out.id, [...(byId.get(out.id) ?? []), out]);
      const ok = out.status === 200 && out.body?.clientOrderId === out.id && typeof out.body.orderId === "number";
      const clearError =
        out.status >= 400 && typeof out.body?.error === "string" && typeof out.body.message === "string";
      if (!ok && !clearError) unclear++;
    }

    const problems: string[] = [];
    let placedOk = 0;
    let failedNotPlaced = 0;
    let failedUnknown = 0;
    let lost = 0;
    for (const [id, outs] of byId) {
      const anyOk = outs.some((x) => x.status === 200);
      const notPlaced = outs.some((x) => x.body?.orderStatus === "not_placed");
      const orderIds = new Set(outs.filter((x) => x.status === 200).map((x) => x.body?.orderId));
      if (orderIds.size > 1)
        problems.push(`${id}: two answers name different exchange orders ${[...orderIds].join(", ")}`);
      if (anyOk) placedOk++;
      else if (notPlaced) failedNotPlaced++;
      else failedUnknown++;
      if (anyOk && !onBook.has(id)) {
        lost++;
        problems.push(`${id}: answered 200 but is not on the exchange`);
      }
      if (!anyOk && notPlaced && onBook.has(id)) {
        lost++;
        problems.push(`${id}: answered "not placed" but is on the exchange`);
      }
    }
    const asked = new Set(jobs.map((j) => j.id));
    const strangers = [...onBook].filter((id) => id.startsWith(tag) && !asked.has(id));
    for (const id of strangers) problems.push(`${id}: on the exchange but no client sent it`);
    const ours = [...onBook].filter((id) => id.startsWith(tag)).length;
    // The book refuses a second order with a clientOrderId it holds, so "placed twice" shows as the
    // exchange accepting more orders than there are distinct ids on it.
    const duplicatesPlaced = st.orders - ours + strangers.length;
    if (st.orders !== ours)
      problems.push(
        `the exchange accepted ${st.orders} orders but holds ${ours} distinct clientOrderIds of this drill`,
      );
    if (unanswered > 0) problems.push(`${unanswered} requests got no HTTP answer`);
    if (unclear > 0) problems.push(`${unclear} answers were neither an order nor a clear {error, message}`);
    if (outcomes.some((x) => x.status >= 500 && x.status !== 502 && x.status !== 504))
      problems.push("an answer was a 5xx other than 502/504");

    return {
      batching: o.batching,
      requests: jobs.length,
      answered: outcomes.length,
      unanswered,
      statuses,
      orders: byId.size,
      placedOk,
      failedNotPlaced,
      failedUnknown,
      lost,
      duplicatesPlaced,
      unclear,
      exchange: {
        ordersAccepted: st.orders,
        duplicateClientOrderIdsRefused: st.duplicateClientOrderIds,
        faults: st.faults,
        queryCalls: st.queryCalls,
      },
      executor: {
        retries: sumOf(metrics, "spark_order_retries_total"),
        recovered: sumOf(metrics, "spark_order_recovered_total"),
        deduplicated: sumOf(metrics, "spark_order_deduplicated_total"),
      },
      problems,
    };
  } finally {
    await agent.close();
    await stack.stop();
  }
}
