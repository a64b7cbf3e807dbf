import assert from "node:assert/strict";
import { test } from "node:test";
import { diffColour, diffData, frameChanges, type DiffArm } from "../../../harness/profile/diff-tree.js";
import { parseFolded } from "../../../harness/profile/folded.js";
import type { FlameDiffNode } from "../../../harness/report/flame-diff-html.js";

/**
 * Two synthetic profiles. A: 100 requests; per request 1 ms in handle, of which 400 µs in burn
 * and 200 µs in tlsHandshake. B: 300 requests (three times the rate); per request burn takes 2×
 * (800 µs), tlsHandshake is gone (keep-alive), handle's own 400 µs stays.
 */
const A: DiffArm = {
  name: "baseline",
  units: 100,
  windowed: true,
  stacks: parseFolded("main;handle;burn 40\nmain;handle;tlsHandshake 20\nmain;handle 40\n"),
};
const B: DiffArm = {
  name: "candidate",
  units: 300,
  windowed: true,
  stacks: parseFolded("main;handle;burn 240\nmain;handle 120\n"),
};

/** A frame of a view by its path of names. */
function at(root: FlameDiffNode, ...path: string[]): FlameDiffNode | undefined {
  let n: FlameDiffNode | undefined = root;
  for (const name of path) n = n?.children.find((c) => c.name === name);
  return n;
}

const isRed = (c: string) => /^rgb\(255,(\d+),\1\)$/.test(c) && c !== "rgb(255,255,255)";
const isBlue = (c: string) => /^rgb\((\d+),\1,255\)$/.test(c);

test("the diff view: the candidate's frames at its time per request, each with both arms' self and total per request", () => {
  const d = diffData(A, B, "request");
  assert.equal(d.unit, "request");
  assert.deepEqual(
    { a: d.reference.perUnit, b: d.candidate.perUnit, units: [d.reference.units, d.candidate.units] },
    { a: 1000, b: 1200, units: [100, 300] },
  );
  const root = d.views.diff;
  assert.equal(root.value, 1200);
  const burn = at(root, "main", "handle", "burn")!;
  assert.equal(burn.value, 800);
  assert.deepEqual(
    { a: burn.a, b: burn.b, delta: burn.delta },
    {
      a: { self: 400, total: 400 },
      b: { self: 800, total: 800 },
      delta: 400,
    },
  );
  const handle = at(root, "main", "handle")!;
  assert.deepEqual({ a: handle.a, b: handle.b }, { a: { self: 400, total: 1000 }, b: { self: 400, total: 1200 } });
  // the vanished frame has no width in the candidate: not in this view
  assert.equal(at(root, "main", "handle", "tlsHandshake"), undefined);
});

test("colours: the grown frame red at full depth (the largest change), an unchanged frame grey", () => {
  const d = diffData(A, B, "request");
  const burn = at(d.views.diff, "main", "handle", "burn")!;
  assert.ok(isRed(burn.colour), burn.colour);
  assert.equal(burn.colour, "rgb(255,0,0)");
  assert.equal(d.maxDelta, 400);
  assert.equal(at(d.views.diff, "main", "handle")!.colour, "rgb(220,220,220)");
});

test("the negated view: the reference's frames at its widths, coloured by the candidate's change; the vanished frame shows, blue", () => {
  const d = diffData(A, B, "request");
  const root = d.views.negated;
  assert.equal(root.value, 1000);
  const gone = at(root, "main", "handle", "tlsHandshake")!;
  assert.equal(gone.value, 200);
  assert.deepEqual(
    { a: gone.a, b: gone.b, delta: gone.delta },
    {
      a: { self: 200, total: 200 },
      b: { self: 0, total: 0 },
      delta: -200,
    },
  );
  assert.ok(isBlue(gone.colour), gone.colour);
  assert.ok(isRed(at(root, "main", "handle", "burn")!.colour));
});

test("grew and shrank: functions by their change of self time per request", () => {
  const d = diffData(A, B, "request");
  assert.deepEqual(d.grew, [{ frame: "burn", aPerUnit: 400, bPerUnit: 800, change: 400 }]);
  assert.deepEqual(d.shrank, [{ frame: "tlsHandshake", aPerUnit: 200, bPerUnit: 0, change: -200 }]);
  assert.deepEqual(
    frameChanges(A, B).map((c) => c.frame),
    ["burn", "handle", "tlsHandshake"],
  );
});

test("in the lists, the time of a builtin, native code or Node's own is its application caller's: the function that spins on performance.now is named", () => {
  const ref: DiffArm = {
    name: "a",
    units: 10,
    windowed: true,
    stacks: parseFolded("main app.js:1;handle app.js:5 10\n"),
  };
  const cand: DiffArm = {
    name: "b",
    units: 10,
    windowed: true,
    stacks: parseFolded(
      "main app.js:1;handle app.js:5 10\nmain app.js:1;handle app.js:5;burn app.js:13;now node:internal/perf/performance:137;now 30\nmain app.js:1;handle app.js:5;burn app.js:13 10\n(garbage collector) 5\n",
    ),
  };
  const d = diffData(ref, cand, "request");
  assert.deepEqual(
    d.grew.map((c) => [c.frame, c.change]),
    [
      ["burn app.js:13", 4000],
      ["(garbage collector)", 500],
    ],
  );
  // the graph keeps every frame, and colours as the lists count: burn (its own time with the
  // now it calls) is the reddest frame; now, a built-in, is red by its own time, above it
  const burn = at(d.views.diff, "main app.js:1", "handle app.js:5", "burn app.js:13")!;
  assert.equal(burn.value, 4000);
  assert.equal(burn.delta, 4000);
  assert.equal(burn.colour, "rgb(255,0,0)");
  const now = at(burn, "now node:internal/perf/performance:137", "now")!;
  assert.equal(now.delta, 3000);
  assert.ok(isRed(now.colour) && now.colour !== burn.colour, now.colour);
  // handle, an application frame that calls an application frame, is not charged burn's time
  assert.equal(at(d.views.diff, "main app.js:1", "handle app.js:5")!.delta, 0);
});

test("an arm that completed no unit of work has nothing to divide by: refused", () => {
  assert.throws(() => diffData(A, { ...B, units: 0 }, "order"), /candidate: no orders completed/);
});

test("colour depth follows the size of the change against the largest", () => {
  assert.equal(diffColour(0, 10), "rgb(220,220,220)");
  assert.equal(diffColour(5, 10), "rgb(255,110,110)");
  assert.equal(diffColour(-10, 10), "rgb(0,0,255)");
  assert.equal(diffColour(3, 0), "rgb(220,220,220)");
});

test("a function the change moved to other lines is one row of the lists, named where the candidate runs it", () => {
  const a: DiffArm = { ...A, stacks: parseFolded("main app.js:1;slowPath app.js:8 40\nmain app.js:1 60\n") };
  const b: DiffArm = {
    ...B,
    units: 100,
    stacks: parseFolded("main app.js:1;slowPath app.js:11 90\nmain app.js:1 60\n"),
  };
  const rows = frameChanges(a, b).filter((c) => c.frame.startsWith("slowPath"));
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.frame, "slowPath app.js:11");
  assert.ok(rows[0]!.change > 0 && rows[0]!.aPerUnit > 0);
});
