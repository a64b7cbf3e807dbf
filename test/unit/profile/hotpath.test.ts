import assert from "node:assert/strict";
import { test } from "node:test";
import { hotPathDiff, hotPathMarkdown, selfTimes, type CpuProfile } from "../../../harness/profile/hotpath.js";

const frame = (id: number, functionName: string, url = "", lineNumber = 0) => ({
  id,
  callFrame: { functionName, url, lineNumber },
});

/** 10 samples of 1 ms: serialize 5, parse 3, (idle) 2. */
const A: CpuProfile = {
  nodes: [
    frame(1, "(root)"),
    frame(2, "serialize", "file:///app/dist/lib/fastJson.js", 9),
    frame(3, "parse", "file:///app/node_modules/undici/lib/x.js", 19),
    frame(4, "(idle)"),
  ],
  samples: [2, 2, 2, 2, 2, 3, 3, 3, 4, 4],
  timeDeltas: Array(10).fill(1000),
};
/** 10 samples of 1 ms: serialize 1, parse 7, (idle) 2. */
const B: CpuProfile = { ...A, samples: [2, 3, 3, 3, 3, 3, 3, 3, 4, 4] };

test("self time goes to the frame on top of the stack; idle is not busy time", () => {
  const s = selfTimes(A);
  assert.equal(s.byFunction.get("serialize dist/lib/fastJson.js:10"), 5);
  assert.equal(s.byFunction.get("parse undici/lib/x.js:20"), 3);
  assert.equal(s.busyMs, 8);
});

test("the diff compares shares of busy time, biggest first, with the change in points", () => {
  const rows = hotPathDiff(selfTimes(A), selfTimes(B));
  assert.deepEqual(
    rows.map((r) => r.fn.split(" ")[0]),
    ["parse", "serialize"],
  );
  const serialize = rows.find((r) => r.fn.startsWith("serialize"))!;
  assert.equal(serialize.base.share, 5 / 8);
  assert.equal(serialize.cand.share, 1 / 8);
  assert.equal(serialize.deltaPp, -50);
  const md = hotPathMarkdown(rows, "baseline", "optimized", selfTimes(A), selfTimes(B));
  assert.match(md, /self time/);
  assert.match(md, /\| `serialize dist\/lib\/fastJson.js:10` \| 62.5% \| 12.5% \| -50.0 pp \|/);
});
