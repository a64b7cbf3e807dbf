import assert from "node:assert/strict";
import { test } from "node:test";
import {
  foldCpuProfile,
  foldedText,
  foldTicks,
  parseFolded,
  selfTimesOfFolded,
} from "../../../harness/profile/folded.js";
import type { CpuProfile } from "../../../harness/profile/hotpath.js";
import type { TickStack } from "../../../harness/profile/samples.js";

const frame = (id: number, functionName: string, children: number[] = [], url = "", lineNumber = 0) => ({
  id,
  callFrame: { functionName, url, lineNumber },
  children,
});

/** root → handle (server.js:10) → serialize (fastJson.js:20); root → (idle). Samples 1 ms apart from t = 1000 µs. */
const P: CpuProfile = {
  startTime: 1000,
  nodes: [
    frame(1, "(root)", [2, 4]),
    frame(2, "handle", [3], "file:///app/dist/services/executor/src/server.js", 9),
    frame(3, "serialize", [], "file:///app/node_modules/fast-json-stringify/index.js", 19),
    frame(4, "(idle)"),
  ],
  // times: 2000, 3000, 4000, 5000, 6000, 7000
  samples: [3, 3, 2, 4, 3, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
};

const HANDLE = "handle executor/src/server.js:10";
const SERIALIZE = "serialize fast-json-stringify/index.js:20";

test("a .cpuprofile folds into stacks root first, named as the hot-path table names frames; idle and V8's (root) are left out", () => {
  const f = foldCpuProfile(P);
  assert.equal(f.windowed, false);
  assert.deepEqual(Object.fromEntries(f.stacks), {
    [`${HANDLE};${SERIALIZE}`]: { samples: 3, ms: 3 },
    [HANDLE]: { samples: 2, ms: 2 },
  });
});

test("with the load's window, only the samples inside it count (start-up and shutdown are no unit's work)", () => {
  const f = foldCpuProfile(P, { startUs: 2500, endUs: 6000 });
  assert.equal(f.windowed, true);
  // in the window: 3000 (serialize), 4000 (handle), 5000 (idle), 6000 (serialize)
  assert.deepEqual(Object.fromEntries(f.stacks), {
    [`${HANDLE};${SERIALIZE}`]: { samples: 2, ms: 2 },
    [HANDLE]: { samples: 1, ms: 1 },
  });
  // a window the profile's clock does not reach (another clock): the whole profile, said so
  assert.equal(foldCpuProfile(P, { startUs: 0, endUs: 500 }).windowed, false);
});

test("with the thread's CPU time over the window, the samples' time is scaled to it: a starved thread's samples stand for wall time", () => {
  const f = foldCpuProfile(P, { startUs: 2500, endUs: 6000, cpuMs: 1.5 });
  assert.deepEqual(f.scaled, { sampledMs: 3, cpuMs: 1.5 });
  assert.deepEqual(Object.fromEntries(f.stacks), {
    [`${HANDLE};${SERIALIZE}`]: { samples: 2, ms: 1 },
    [HANDLE]: { samples: 1, ms: 0.5 },
  });
});

test("tick stacks (0x, clinic flame) fold the same way; an idle tick (epoll_wait on top, or empty) is left out", () => {
  const root = { name: "node::Start", type: "CPP" };
  const js = (name: string) => ({ name, type: "JS" });
  const ticks: TickStack[] = [
    [root, js("handle file:///app/dist/services/executor/src/server.js:10:3")],
    [root, js("handle file:///app/dist/services/executor/src/server.js:10:3"), js("a;b /x/y.js:1:1")],
    [root, { name: "epoll_wait", type: "CPP" }],
    [],
  ];
  assert.deepEqual(Object.fromEntries(foldTicks(ticks, 1)), {
    [`node::Start;${HANDLE}`]: { samples: 1, ms: 1 },
    // a ";" inside a name would split the frame: it becomes ","
    [`node::Start;${HANDLE};a,b /x/y.js:1`]: { samples: 1, ms: 1 },
  });
});

test("the folded file is `stack count` lines, heaviest first, and reads back", () => {
  const f = foldCpuProfile(P).stacks;
  const text = foldedText(f);
  assert.equal(text, `${HANDLE};${SERIALIZE} 3\n${HANDLE} 2\n`);
  assert.deepEqual(parseFolded(text), f);
});

test("self time per function from folded stacks: the top frame's, for the hot-path table", () => {
  const s = selfTimesOfFolded(foldCpuProfile(P).stacks);
  assert.equal(s.busyMs, 5);
  assert.deepEqual(Object.fromEntries(s.byFunction), { [SERIALIZE]: 3, [HANDLE]: 2 });
});
