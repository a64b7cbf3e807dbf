import assert from "node:assert/strict";
import { test } from "node:test";
import { codePath, grewPerUnit, ownTimes, samplesIn, usPerUnit } from "../../../harness/profile/grew.js";
import type { CpuProfile } from "../../../harness/profile/hotpath.js";

const node = (id: number, functionName: string, url: string, lineNumber: number, children: number[] = []) => ({
  id,
  callFrame: { functionName, url, lineNumber },
  children,
});

/**
 * root → handler (svc.mjs:12) → slowPath (svc.mjs:3) → now (node:internal/perf) → hrtime (built-in);
 * handler → JSON.stringify (built-in); root → processTicks (node:internal) → write (built-in);
 * root → (garbage collector), (idle).
 */
const profile = (line: number, samples: number[]): CpuProfile => ({
  nodes: [
    node(1, "(root)", "", -1, [2, 6, 8, 9]),
    node(2, "handler", "file:///home/team/svc.mjs", 11, [3, 5]),
    node(3, "slowPath", "file:///home/team/svc.mjs", line, [4]),
    node(4, "now", "node:internal/perf/utils", 10, [10]),
    node(5, "stringify", "", -1),
    node(6, "processTicks", "node:internal/process/task_queues", 60, [7]),
    node(7, "write", "", -1),
    node(8, "(garbage collector)", "", -1),
    node(9, "(idle)", "", -1),
    node(10, "hrtime", "", -1),
  ],
  samples,
  timeDeltas: samples.map(() => 1000),
});

test("a built-in's samples are its nearest caller's in the service's code; V8's own entries and a built-in without such a caller keep theirs", () => {
  // slowPath 1 + now 2 + hrtime 1; handler 1 + stringify 2; write 1; gc 1; idle 3
  const t = ownTimes(profile(2, [3, 4, 4, 10, 2, 5, 5, 7, 8, 9, 9, 9]));
  const ms = Object.fromEntries([...t.byFunction.values()].map((f) => [f.fn, f.ms]));
  assert.deepEqual(ms, { slowPath: 4, handler: 3, write: 1, "(garbage collector)": 1, "(idle)": 3 });
  assert.equal(t.busyMs, 9, "idle is not busy");
  const slow = [...t.byFunction.values()].find((f) => f.fn === "slowPath")!;
  assert.equal(slow.location, "home/team/svc.mjs:3");
});

test("each sample counts as one interval, whatever gap the profiler recorded before it", () => {
  const p = { ...profile(2, [3, 3]), timeDeltas: [1000, 9000] };
  assert.equal(ownTimes(p).byFunction.get("slowPath home/team/svc.mjs")!.ms, 2);
  assert.equal(ownTimes(p, { intervalMs: 0.5 }).busyMs, 1);
});

test("what grew, per unit of work: the arms' own times over their units, the largest growth first, only what grew", () => {
  // reference: 1,000 requests; slowPath 2 ms, handler 10 ms, gc 4 ms
  const reference = { times: ownTimes(profile(2, [3, 3, ...Array(10).fill(2), 8, 8, 8, 8])), units: 1000 };
  // candidate: 500 requests (it served half as many); slowPath 20 ms, handler 5 ms, gc 2 ms; slowPath moved to another line
  const candidate = { times: ownTimes(profile(7, [...Array(20).fill(3), ...Array(5).fill(2), 8, 8])), units: 500 };
  // slowPath: 2 µs/req → 40 µs/req, one row although its line moved (a named function matches by name and file);
  // handler (10 µs/req) and the collector (4 µs/req) took as long per request in both, so they did not grow
  assert.deepEqual(grewPerUnit(reference, candidate), [
    { fn: "slowPath", location: "home/team/svc.mjs:8", referenceUs: 2, candidateUs: 40, deltaUs: 38 },
  ]);
});

test("a file of the service is named from its folder, so that two trees of one repository agree; a dependency from its package", () => {
  const tree = "/home/ci/.cache/perfpack/trees/3f2a/app";
  assert.equal(codePath(`file://${tree}/src/handler.js`, tree), "src/handler.js");
  assert.equal(codePath("file:///work/team/app/src/handler.js", "/work/team/app/"), "src/handler.js");
  assert.equal(codePath(`file://${tree}/node_modules/undici/lib/core.js`, tree), "undici/lib/core.js");
  assert.equal(codePath("file:///elsewhere/deep/lib/x.js", tree), "deep/lib/x.js");
  assert.equal(codePath("node:internal/perf/utils", undefined), "node:internal/perf/utils");
  const a = ownTimes(profile(2, [3]), { root: "/home" }).byFunction;
  assert.deepEqual([...a.keys()], ["slowPath team/svc.mjs"]);
});

test("only the samples inside the load's window count (start-up and shutdown are no unit's work); without a clock, all", () => {
  // samples at 2, 3, 4, 5 ms on the profile's clock (µs: startTime + the deltas up to each)
  const p = { ...profile(2, [2, 3, 3, 8]), startTime: 1000 };
  assert.deepEqual(samplesIn(p, { startUs: 3000, endUs: 4000 }), [3, 3]);
  assert.deepEqual(samplesIn(p, undefined), [2, 3, 3, 8]);
  assert.deepEqual(samplesIn({ ...p, startTime: undefined }, { startUs: 3000, endUs: 4000 }), [2, 3, 3, 8]);
  assert.equal(ownTimes(p, { window: { startUs: 3000, endUs: 4000 } }).busyMs, 2);
});

test("µs per unit of work; no units, no figure", () => {
  assert.equal(usPerUnit(20, 1000), 20);
  assert.equal(usPerUnit(20, 0), 0);
});
