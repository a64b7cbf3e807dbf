import assert from "node:assert/strict";
import { test } from "node:test";
import { checkSamples, MIN_COVERAGE, selfTimesFromTicks, type TickStack } from "../../../harness/profile/samples.js";

test("sample check: the count against what the rate promises over the basis, with MIN_COVERAGE as the bar", () => {
  // the case: 35 ticks where 5 s busy at 1 ms promise 5,000
  const starved = checkSamples(35, "cpu", 5000, 1);
  assert.deepEqual(
    { ...starved, coverage: Number(starved.coverage.toFixed(3)) },
    { samples: 35, expected: 5000, basis: "cpu", basisMs: 5000, intervalMs: 1, coverage: 0.007, ok: false },
  );
  assert.equal(MIN_COVERAGE, 0.5);
  assert.equal(checkSamples(2500, "cpu", 5000, 1).ok, true);
  assert.equal(checkSamples(2499, "cpu", 5000, 1).ok, false);
  // doctor: one sample per 10 ms of wall time
  assert.equal(checkSamples(300, "wall", 5000, 10).coverage, 0.6);
  // doctor on a starved event loop: 10 ms plus the 15 ms mean delay it measured is one sample per
  // 25 ms, so 5 s promise 200, and 120 samples are 60% (against 10 ms alone they would be 24%)
  const starvedLoop = checkSamples(120, "wall", 5000, 10, 15);
  assert.equal(starvedLoop.expected, 200);
  assert.equal(starvedLoop.intervalMs, 25);
  assert.equal(starvedLoop.delayMs, 15);
  assert.equal(starvedLoop.coverage, 0.6);
  assert.equal(starvedLoop.ok, true);
  // the delay explains thin samples, not missing ones: a sampler that stopped still fails
  assert.equal(checkSamples(20, "wall", 5000, 10, 15).ok, false);
  // nothing recorded is never fine
  assert.equal(checkSamples(0, "cpu", 0, 1).ok, false);
});

test("self time from tick stacks (root first): the top frame takes the tick; empty and epoll ticks are idle", () => {
  const js = (name: string) => ({ name, type: "JS" });
  const root = js("processTicksAndRejections node:internal/process/task_queues:67:35");
  const ticks: TickStack[] = [
    [
      root,
      js("getOpenOrders file:///app/dist/services/executor/src/server.js:128:27"),
      js("toOpenOrderView file:///app/dist/services/executor/src/lib/fastJson.js:58:32"),
    ],
    [root, js("toOpenOrderView file:///app/dist/services/executor/src/lib/fastJson.js:58:32")],
    [root, js(" /app/node_modules/undici/lib/api/readable.js:450:39")],
    [root, js("anonymous2 :34:27")],
    [{ name: "__write@@GLIBC_2.2.5", type: "CPP" }],
    [{ name: "epoll_pwait@@GLIBC_2.6", type: "CPP" }],
    [],
  ];
  const s = selfTimesFromTicks(ticks, 1);
  assert.equal(s.busyMs, 5);
  assert.deepEqual(Object.fromEntries(s.byFunction), {
    "toOpenOrderView src/lib/fastJson.js:58": 2,
    "(anonymous) undici/lib/api/readable.js:450": 1,
    anonymous2: 1,
    "__write@@GLIBC_2.2.5": 1,
    "(idle)": 2,
  });
});
