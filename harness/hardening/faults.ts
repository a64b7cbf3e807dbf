import { Agent, request } from "undici";
import { SYMBOLS } from "../../services/common/src/exchange-types.js";
import { seededRandom } from "../../services/common/src/rng.js";
import { getJson } from "../engine/launcher.js";
import { scrape, sumOf, type Scrape } from "../load/exposition.js";
import { startStack, type Stack } from "../engine/rig.js";

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

interface Job {
  id: string;
  body: string;
}

/** What the exchange says after the drill: its book, its counters, and the executor's. */
interface Aftermath {
  onBook: Set<string>;
  st: {
    orders: number;
    duplicateClientOrderIds: number;
    queryCalls: number;
    faults: { http5xx: number; resets: number; stalls: number };
  };
  metrics: Scrape;
}

export async function runFaultDrill(partial: Partial<FaultDrillOptions> = {}): Promise<FaultDrillReport> {
  const o = { ...FAULT_DRILL_DEFAULTS, ...partial };
  const stack = await startFaultyStack(o);
  const agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 1000 });
  try {
    const tag = `fd${o.batching ? "b" : "s"}${Date.now().toString(36)}`;
    const jobs = drillJobs(o, tag);
    const sent = await sendAll(jobs, `${stack.executor.url}/api/private/order`, agent, o.concurrency);
    const after = await readAftermath(stack.exchange.url, stack.executor.url);
    const tally = new Tally(sent);
    tally.judgeOrders(after.onBook);
    tally.auditBook(after, tag, jobs);
    tally.checkAnswers();
    return report(o, jobs, tally, after);
  } finally {
    await agent.close();
    await stack.stop();
  }
}

/** An exchange that fails on purpose (seeded), and an executor on it. */
function startFaultyStack(o: FaultDrillOptions): Promise<Stack> {
  return startStack({
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
    baseEnv: o.baseEnv,
  });
}

/** Every order once, each duplicateEvery-th right after itself again (a client's retry). */
function drillJobs(o: FaultDrillOptions, tag: string): Job[] {
  const rand = seededRandom(o.seed);
  const jobs: Job[] = [];
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
  return jobs;
}

/** What the client saw: the answers, and how many requests got none. */
interface Sent {
  outcomes: Outcome[];
  unanswered: number;
}

/** Every job posted by `concurrency` workers in turn; a request that errors has no answer. */
async function sendAll(jobs: readonly Job[], url: string, agent: Agent, concurrency: number): Promise<Sent> {
  const outcomes: Outcome[] = [];
  let unanswered = 0;
  let next = 0;
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
        outcomes.push({ id: job.id, status: res.statusCode, body: parseBody(text) });
      } catch {
        unanswered++;
      }
    }
  };
  // a repeat goes out right beside its original: both workers pick them up back to back
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { outcomes, unanswered };
}

/** An answer's JSON body, or undefined when it is not JSON (an unclear answer). */
function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The judge's evidence, read once the client is done: the exchange's book and counters, the executor's metrics. */
async function readAftermath(exchangeUrl: string, executorUrl: string): Promise<Aftermath> {
  const onBook = new Set(
    ((await getJson(`${exchangeUrl}/stats/orders`, 10_000)).body as { clientOrderIds: string[] }).clientOrderIds,
  );
  const st = (await getJson(`${exchangeUrl}/stats`)).body as Aftermath["st"];
  const metrics = await scrape(executorUrl);
  return { onBook, st, metrics };
}

/** The drill's counts and problems, filled in by the judging steps in turn. */
class Tally {
  readonly statuses: Record<string, number> = {};
  readonly byId = new Map<string, Outcome[]>();
  readonly problems: string[] = [];
  unclear = 0;
  placedOk = 0;
  failedNotPlaced = 0;
  failedUnknown = 0;
  lost = 0;
  duplicatesPlaced = 0;

  constructor(readonly sent: Sent) {
    for (const out of sent.outcomes) {
      this.statuses[out.status] = (this.statuses[out.status] ?? 0) + 1;
      this.byId.set(out.id, [...(this.byId.get(out.id) ?? []), out]);
      const ok = out.status === 200 && out.body?.clientOrderId === out.id && typeof out.body.orderId === "number";
      const clearError =
        out.status >= 400 && typeof out.body?.error === "string" && typeof out.body.message === "string";
      if (!ok && !clearError) this.unclear++;
    }
  }

  /** Each order's answers against the book: placed, not placed, or unknown, and whether the book agrees. */
  judgeOrders(onBook: ReadonlySet<string>): void {
    for (const [id, outs] of this.byId) {
      const anyOk = outs.some((x) => x.status === 200);
      const notPlaced = outs.some((x) => x.body?.orderStatus === "not_placed");
      const orderIds = new Set(outs.filter((x) => x.status === 200).map((x) => x.body?.orderId));
      if (orderIds.size > 1)
        this.problems.push(`${id}: two answers name different exchange orders ${[...orderIds].join(", ")}`);
      if (anyOk) this.placedOk++;
      else if (notPlaced) this.failedNotPlaced++;
      else this.failedUnknown++;
      if (anyOk && !onBook.has(id)) {
        this.lost++;
        this.problems.push(`${id}: answered 200 but is not on the exchange`);
      }
      if (!anyOk && notPlaced && onBook.has(id)) {
        this.lost++;
        this.problems.push(`${id}: answered "not placed" but is on the exchange`);
      }
    }
  }

  /** The book against what was sent: orders no client sent, and orders placed twice. */
  auditBook(after: Aftermath, tag: string, jobs: readonly Job[]): void {
    const { onBook, st } = after;
    const asked = new Set(jobs.map((j) => j.id));
    const strangers = [...onBook].filter((id) => id.startsWith(tag) && !asked.has(id));
    for (const id of strangers) this.problems.push(`${id}: on the exchange but no client sent it`);
    const ours = [...onBook].filter((id) => id.startsWith(tag)).length;
    // The book refuses a second order with a clientOrderId it holds, so "placed twice" shows as the
    // exchange accepting more orders than there are distinct ids on it.
    this.duplicatesPlaced = st.orders - ours + strangers.length;
    if (st.orders !== ours)
      this.problems.push(
        `the exchange accepted ${st.orders} orders but holds ${ours} distinct clientOrderIds of this drill`,
      );
  }

  /** Every request must get an answer, and every answer must be clear and no 5xx but 502/504. */
  checkAnswers(): void {
    const { outcomes, unanswered } = this.sent;
    if (unanswered > 0) this.problems.push(`${unanswered} requests got no HTTP answer`);
    if (this.unclear > 0)
      this.problems.push(`${this.unclear} answers were neither an order nor a clear {error, message}`);
    if (outcomes.some((x) => x.status >= 500 && x.status !== 502 && x.status !== 504))
      this.problems.push("an answer was a 5xx other than 502/504");
  }
}

function report(o: FaultDrillOptions, jobs: readonly Job[], t: Tally, { st, metrics }: Aftermath): FaultDrillReport {
  return {
    batching: o.batching,
    requests: jobs.length,
    answered: t.sent.outcomes.length,
    unanswered: t.sent.unanswered,
    statuses: t.statuses,
    orders: t.byId.size,
    placedOk: t.placedOk,
    failedNotPlaced: t.failedNotPlaced,
    failedUnknown: t.failedUnknown,
    lost: t.lost,
    duplicatesPlaced: t.duplicatesPlaced,
    unclear: t.unclear,
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
    problems: t.problems,
  };
}
