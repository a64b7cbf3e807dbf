import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Batcher,
  BatcherClosedError,
  type BatcherOptions,
  type FlushEvent,
} from "../../../services/executor/src/lib/batcher.js";

interface Harness {
  batcher: Batcher<number, string>;
  calls: Array<{ key: string; items: number[] }>;
  events: FlushEvent[];
  /** Resolves the oldest pending flush call. */
  release(): void;
}

/** A batcher whose flushes stay in flight until released, so tests control concurrency. */
function harness(
  opts: Partial<BatcherOptions>,
  answer: (items: number[]) => Array<string | Error> | Error = (i) => i.map((n) => `ok${n}`),
  hold = false,
): Harness {
  const calls: Harness["calls"] = [];
  const events: FlushEvent[] = [];
  const waiting: Array<() => void> = [];
  const batcher = new Batcher<number, string>(
    { maxSize: 4, flushMs: 20, mode: "fixed", maxInFlight: 1, ...opts },
    async (key, items) => {
      calls.push({ key, items });
      if (hold) await new Promise<void>((r) => waiting.push(r));
      const a = answer(items);
      if (a instanceof Error) throw a;
      return a;
    },
    (e) => events.push(e),
  );
  return { batcher, calls, events, release: () => waiting.shift()?.() };
}

const tick = () => new Promise((r) => setImmediate(r));

test("fixed: a full batch flushes at once, on size", async () => {
  const h = harness({ maxSize: 3, flushMs: 10_000 });
  const results = await Promise.all([1, 2, 3].map((n) => h.batcher.submit("BTCUSDT", n)));
  assert.deepEqual(results, ["ok1", "ok2", "ok3"]);
  assert.deepEqual(h.calls, [{ key: "BTCUSDT", items: [1, 2, 3] }]);
  assert.equal(h.events[0]!.reason, "size");
  await h.batcher.close();
});

test("fixed: a partial batch flushes when the window ends, on time", async () => {
  const h = harness({ maxSize: 10, flushMs: 15 });
  const p = [h.batcher.submit("ETHUSDT", 1), h.batcher.submit("ETHUSDT", 2)];
  await tick();
  assert.equal(h.calls.length, 0, "nothing goes out before the window ends");
  assert.deepEqual(await Promise.all(p), ["ok1", "ok2"]);
  assert.deepEqual(h.calls, [{ key: "ETHUSDT", items: [1, 2] }]);
  assert.equal(h.events[0]!.reason, "timer");
  await h.batcher.close();
});

test("orders are batched per key", async () => {
  const h = harness({ maxSize: 2, flushMs: 10_000 });
  await Promise.all([
    h.batcher.submit("A", 1),
    h.batcher.submit("B", 2),
    h.batcher.submit("A", 3),
    h.batcher.submit("B", 4),
  ]);
  assert.deepEqual(h.calls, [
    { key: "A", items: [1, 3] },
    { key: "B", items: [2, 4] },
  ]);
  await h.batcher.close();
});

test("each caller gets its own result or its own error", async () => {
  const h = harness({ maxSize: 3, flushMs: 10_000 }, (items) =>
    items.map((n) => (n === 2 ? new Error(`rejected ${n}`) : `ok${n}`)),
  );
  const settled = await Promise.allSettled([1, 2, 3].map((n) => h.batcher.submit("K", n)));
  assert.deepEqual(settled[0], { status: "fulfilled", value: "ok1" });
  assert.equal(settled[1]!.status, "rejected");
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /rejected 2/);
  assert.deepEqual(settled[2], { status: "fulfilled", value: "ok3" });
});

test("a failed batch call fails each of its orders, and sends none of them again", async () => {
  const h = harness({ maxSize: 2, flushMs: 10_000 }, () => new Error("upstream down"));
  const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => h.batcher.submit("K", n)));
  assert.ok(settled.every((s) => s.status === "rejected" && /upstream down/.test(String(s.reason))));
  const sent = h.calls.flatMap((c) => c.items).sort();
  assert.deepEqual(sent, [1, 2, 3, 4], "every order went out exactly once");
  assert.ok(h.events.every((e) => e.failed));
});

test("too few results fail the orders left without one", async () => {
  const h = harness({ maxSize: 2, flushMs: 10_000 }, () => ["only-one"]);
  const settled = await Promise.allSettled([1, 2].map((n) => h.batcher.submit("K", n)));
  assert.equal(settled[0]!.status, "fulfilled");
  assert.equal(settled[1]!.status, "rejected");
});

test("close drains pending batches, waits for batches in flight, and refuses new orders", async () => {
  const h = harness({ maxSize: 100, flushMs: 60_000 });
  const p = [1, 2, 3].map((n) => h.batcher.submit("K", n));
  assert.equal(h.batcher.pending(), 3);
  await h.batcher.close();
  assert.deepEqual(await Promise.all(p), ["ok1", "ok2", "ok3"]);
  assert.equal(h.events[0]!.reason, "drain");
  await assert.rejects(h.batcher.submit("K", 9), BatcherClosedError);
  assert.deepEqual(
    h.calls.flatMap((c) => c.items),
    [1, 2, 3],
  );
});

test("close splits a large pending queue at maxSize", async () => {
  const h = harness({ maxSize: 2, flushMs: 60_000, mode: "adaptive" }, undefined, true);
  const p = [1, 2, 3, 4, 5].map((n) => h.batcher.submit("K", n));
  const closing = h.batcher.close();
  while (h.calls.length < 3) {
    h.release();
    await tick();
  }
  for (let i = 0; i < 5; i++) h.release();
  await closing;
  assert.deepEqual(await Promise.all(p), ["ok1", "ok2", "ok3", "ok4", "ok5"]);
  assert.ok(h.calls.every((c) => c.items.length <= 2));
  assert.deepEqual(h.calls.flatMap((c) => c.items).sort(), [1, 2, 3, 4, 5]);
});

test("adaptive: with nothing in flight an order goes out at once, without waiting for the window", async () => {
  const h = harness({ mode: "adaptive", maxSize: 8, flushMs: 60_000 });
  assert.equal(await h.batcher.submit("K", 1), "ok1");
  assert.equal(h.events[0]!.reason, "idle");
  await h.batcher.close();
});

test("adaptive: while a batch is in flight, orders accumulate and go together when it returns", async () => {
  const h = harness({ mode: "adaptive", maxSize: 8, flushMs: 60_000, maxInFlight: 1 }, undefined, true);
  const first = h.batcher.submit("K", 1);
  await tick();
  assert.equal(h.calls.length, 1);
  const rest = [2, 3, 4].map((n) => h.batcher.submit("K", n));
  await tick();
  assert.equal(h.calls.length, 1, "queued behind the batch in flight");
  h.release();
  await first;
  await tick();
  assert.deepEqual(h.calls[1]!.items, [2, 3, 4]);
  h.release();
  assert.deepEqual(await Promise.all(rest), ["ok2", "ok3", "ok4"]);
  await h.batcher.close();
});
