import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Agent, request } from "undici";
import { runFaultDrill, type FaultDrillReport } from "../../../harness/hardening/faults.js";
import { getJson } from "../../../harness/engine/launcher.js";
import { startStack, type Stack } from "../../../harness/engine/rig.js";

/** The drill's report, shown when an assertion fails. */
const show = (r: FaultDrillReport) => JSON.stringify({ ...r, problems: r.problems.slice(0, 10) }, null, 1);

describe("upstream faults: 10% 5xx, 5% resets, 1% 2 s stalls", () => {
  for (const batching of [false, true]) {
    test(`batching ${batching ? "on" : "off"}: every order gets exactly one answer and none is placed twice`, async () => {
      const r = await runFaultDrill({ batching, orders: 400 });
      assert.deepEqual(r.problems, [], show(r));
      assert.equal(r.unanswered, 0, show(r));
      assert.equal(r.answered, r.requests, show(r));
      assert.equal(r.lost, 0, show(r));
      assert.equal(r.duplicatesPlaced, 0, show(r));
      assert.equal(r.unclear, 0, show(r));
      // the faults did happen, and the retries went through the idempotent path
      assert.ok(r.exchange.faults.http5xx > 0 && r.exchange.faults.resets > 0 && r.exchange.faults.stalls > 0, show(r));
      assert.ok(r.executor.retries > 0, show(r));
      assert.ok(
        r.executor.recovered > 0,
        "a reset after placing must be recovered by a query, not placed again\n" + show(r),
      );
      assert.ok(r.exchange.duplicateClientOrderIdsRefused > 0, show(r));
      assert.ok(r.executor.deduplicated > 0, "a repeat sent beside its original must join it\n" + show(r));
      // on the exchange: every order that was answered 200 once, plus any whose fate the executor reported unknown
      assert.ok(
        r.exchange.ordersAccepted >= r.placedOk && r.exchange.ordersAccepted <= r.placedOk + r.failedUnknown,
        show(r),
      );
    });
  }

  test("with no retries, the failures that remain say whether the order was placed, and the book agrees", async () => {
    const r = await runFaultDrill({ batching: true, orders: 200, executorEnv: { UPSTREAM_RETRIES: "0" } });
    assert.deepEqual(r.problems, [], show(r));
    assert.equal(r.lost, 0, show(r));
    assert.equal(r.unanswered, 0, show(r));
    assert.ok(r.failedNotPlaced + r.failedUnknown > 0, show(r));
    assert.ok(
      Object.keys(r.statuses).every((s) => s === "200" || s === "502" || s === "504"),
      show(r),
    );
  });
});

describe("shutdown: SIGTERM during a burst of orders", () => {
  let stack: Stack | undefined;
  after(async () => stack?.stop());

  for (const batching of [true, false]) {
    test(`batching ${batching ? "on (40 ms window)" : "off"}: every accepted order is answered or on the exchange, none is lost`, async (t) => {
      stack = await startStack({
        exchangeArgs: ["--latency-ms", "5"],
        executorEnv: {
          HTTP_KEEPALIVE: "true",
          BATCH_ENABLED: String(batching),
          BATCH_FLUSH_MS: "40",
          BATCH_MODE: "fixed",
        },
      });
      const st = stack;
      const agent = new Agent({ connections: 64 });
      const tag = `sd${batching ? "b" : "s"}${Date.now().toString(36)}`;
      const outcomes: Array<{ id: string; status: number | "network"; body?: Record<string, unknown> }> = [];
      let sent = 0;
      let termAt = -1;
      const worker = async () => {
        while (sent < 600) {
          const id = `${tag}-${sent++}`;
          if (sent === 150) {
            termAt = outcomes.length;
            process.kill(st.executor.pid, "SIGTERM");
          }
          try {
            const res = await request(`${st.executor.url}/api/private/order`, {
              method: "POST",
              dispatcher: agent,
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                symbol: "ETHUSDT",
                side: "BUY",
                type: "MARKET",
                quantity: "0.01",
                clientOrderId: id,
              }),
            });
            const text = await res.body.text();
            outcomes.push({ id, status: res.statusCode, body: JSON.parse(text) as Record<string, unknown> });
          } catch {
            outcomes.push({ id, status: "network" });
          }
        }
      };
      await Promise.all(Array.from({ length: 64 }, worker));
      const exit = await st.executor.exited;
      await agent.close();
      assert.equal(exit.code, 0, `the executor must drain and exit 0 on SIGTERM\n${st.executor.logTail()}`);
      assert.match(st.executor.log(), /executor: stopped/);

      const onBook = new Set(
        ((await getJson(`${st.exchange.url}/stats/orders`, 10_000)).body as { clientOrderIds: string[] })
          .clientOrderIds,
      );
      const lost: string[] = [];
      let ok = 0;
      let refused = 0;
      for (const o of outcomes) {
        if (o.status === 200) {
          ok++;
          if (!onBook.has(o.id)) lost.push(`${o.id}: answered 200, not on the exchange`);
        } else if (o.status === 503) {
          assert.equal(o.body?.error, "shutting_down");
          if (onBook.has(o.id)) lost.push(`${o.id}: answered 503 but placed`);
        } else if (o.status === "network") {
          refused++;
          // no answer: it must not have been accepted, so that the client may safely send it again
          if (onBook.has(o.id)) lost.push(`${o.id}: placed, but its answer was lost`);
        } else lost.push(`${o.id}: unexpected status ${o.status}`);
      }
      const n503 = outcomes.filter((o) => o.status === 503).length;
      t.diagnostic(
        `answered before SIGTERM ${termAt}; 200: ${ok}, 503: ${n503}, no answer (not accepted): ${refused}; on the exchange: ${onBook.size}`,
      );
      assert.deepEqual(lost, [], `answered before SIGTERM: ${termAt}`);
      assert.ok(ok >= 100, `orders answered 200: ${ok}`);
      assert.ok(refused > 0 || outcomes.some((o) => o.status === 503), "the burst must outlast the executor");
      assert.equal(onBook.size, ok, "the exchange holds exactly the orders answered 200");
      await st.stop();
      stack = undefined;
    });
  }
});
