import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan, duetSplit, rotate } from "../../../harness/plan/order.js";
import { seededRandom } from "../../../services/common/src/rng.js";
import { ablation, crossProduct, matrixVariants, parseMatrixArg, presets } from "../../../harness/plan/variants.js";
import { UsageError } from "../../../harness/errors.js";

test("the cross product varies the first axis slowest and the last fastest", () => {
  const points = crossProduct([
    ["HTTP_KEEPALIVE", ["false", "true"]],
    ["BATCH_FLUSH_MS", ["10", "40", "80"]],
  ]);
  assert.deepEqual(
    points.map((p) => p.map(([k, v]) => `${k}=${v}`).join(" ")),
    [
      "HTTP_KEEPALIVE=false BATCH_FLUSH_MS=10",
      "HTTP_KEEPALIVE=false BATCH_FLUSH_MS=40",
      "HTTP_KEEPALIVE=false BATCH_FLUSH_MS=80",
      "HTTP_KEEPALIVE=true BATCH_FLUSH_MS=10",
      "HTTP_KEEPALIVE=true BATCH_FLUSH_MS=40",
      "HTTP_KEEPALIVE=true BATCH_FLUSH_MS=80",
    ],
  );
  assert.deepEqual(crossProduct([]), []);
  assert.throws(
    () =>
      crossProduct([
        ["A", ["1"]],
        ["A", ["2"]],
      ]),
    UsageError,
  );
});

test("matrix variants are named from their settings and sit on top of baseline", () => {
  const vs = matrixVariants([parseMatrixArg("BATCH_ENABLED=true"), parseMatrixArg("BATCH_MODE=fixed,adaptive")]);
  assert.deepEqual(
    vs.map((v) => v.name),
    ["BATCH_ENABLED=true+BATCH_MODE=fixed", "BATCH_ENABLED=true+BATCH_MODE=adaptive"],
  );
  assert.equal(vs[1]!.env.BATCH_MODE, "adaptive");
  assert.equal(vs[1]!.env.HTTP_KEEPALIVE, "false");
});

test("matrix syntax errors say what is expected", () => {
  for (const bad of ["BATCH_FLUSH_MS", "=1,2", "batch=1", "A=1,,2", "A=1,1"])
    assert.throws(() => parseMatrixArg(bad), UsageError, bad);
});

test("ablation is baseline plus one toggle at a time", () => {
  const vs = ablation();
  assert.deepEqual(
    vs.map((v) => v.name),
    [
      "baseline+HTTP_KEEPALIVE=true",
      "baseline+BATCH_ENABLED=true",
      "baseline+JSON_STRINGIFIER=fast",
      "baseline+WS_COMPRESS=true",
    ],
  );
  const base = presets()[0]!.env;
  for (const v of vs) {
    const changed = Object.keys(base).filter((k) => v.env[k] !== base[k]);
    assert.equal(changed.length, 1, v.name);
  }
});

test("rounds interleave variants and rotate their order each round (A B, B A)", () => {
  const [a, b] = presets();
  const plan = buildPlan([a!, b!], ["latency", "batch"], 3);
  assert.deepEqual(
    plan.trials.map((t) => `${t.round}:${t.scenario}:${t.variant.name}`),
    [
      "1:latency:baseline",
      "1:latency:optimized",
      "1:batch:baseline",
      "1:batch:optimized",
      "2:latency:optimized",
      "2:latency:baseline",
      "2:batch:optimized",
      "2:batch:baseline",
      "3:latency:baseline",
      "3:latency:optimized",
      "3:batch:baseline",
      "3:batch:optimized",
    ],
  );
  assert.deepEqual(
    plan.trials.map((t) => t.index),
    [...plan.trials.keys()],
  );
});

test("with three variants each takes every position once in three rounds", () => {
  assert.deepEqual(rotate(["A", "B", "C"], 0), ["A", "B", "C"]);
  assert.deepEqual(rotate(["A", "B", "C"], 1), ["B", "C", "A"]);
  assert.deepEqual(rotate(["A", "B", "C"], 2), ["C", "A", "B"]);
  const vs = ["A", "B", "C"].map((name) => ({ name, kind: "matrix" as const, env: {} }));
  const plan = buildPlan(vs, ["json"], 3);
  const firsts = [1, 2, 3].map((r) => plan.trials.find((t) => t.round === r)!.variant.name);
  assert.deepEqual(firsts, ["A", "B", "C"]);
});

test("a seeded plan (the gate): each round a random order, the next its reverse, so each arm goes first equally; the same seed, the same order", () => {
  const [a, b] = presets();
  const plan = buildPlan([a!, b!], ["latency"], 6, 42);
  const firsts = [1, 2, 3, 4, 5, 6].map((r) => plan.trials.find((t) => t.round === r)!.variant.name);
  assert.equal(firsts.filter((n) => n === "baseline").length, 3);
  for (const r of [1, 3, 5]) assert.notEqual(firsts[r - 1], firsts[r], `round ${r + 1} reverses round ${r}`);
  assert.deepEqual(
    buildPlan([a!, b!], ["latency"], 6, 42).trials.map((t) => t.variant.name),
    plan.trials.map((t) => t.variant.name),
  );
  const orders = new Set(
    [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => buildPlan([a!, b!], ["latency"], 2, seed).trials[0]!.variant.name),
  );
  assert.equal(orders.size, 2, "across seeds either arm can go first");
});

test("a duet slice's split: the start order is a permutation of the arms, the load splits evenly with the remainder on random arms, each arm at least one", () => {
  const rand = seededRandom(11);
  for (let i = 0; i < 200; i++) {
    const arms = ["baseline", "optimized", "a", "b"].slice(0, 2 + (i % 3));
    const connections = 1 + (i % 37);
    const s = duetSplit(arms, connections, 20, rand);
    assert.deepEqual([...s.order].sort(), [...arms].sort());
    assert.equal(s.connections.length, arms.length);
    const even = Math.floor(connections / arms.length);
    assert.ok(
      s.connections.every((c) => c >= Math.max(1, even) && c <= Math.max(1, even + 1)),
      `${s.connections}`,
    );
    if (connections >= arms.length)
      assert.equal(
        s.connections.reduce((a, b) => a + b, 0),
        connections,
      );
    assert.equal(
      s.wsClients.reduce((a, b) => a + b, 0),
      20,
    );
  }
  assert.deepEqual(duetSplit(["x", "y"], 7, 3, seededRandom(5)), duetSplit(["x", "y"], 7, 3, seededRandom(5)));
});
