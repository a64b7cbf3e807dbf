import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

const dir = mkdtempSync(join(tmpdir(), "perfpack-duet-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("--design duet: the variants of a round run at once on one exchange, the connections split evenly, the start order recorded; json runs alone", async () => {
  const out = join(dir, "run");
  const run = perfpack([
    "run",
    "--design",
    "duet",
    "--quick",
    "--scenarios",
    "latency,json",
    "--connections",
    "31",
    "--out",
    out,
  ]);
  // the verdict is a measurement (keep-alive's ≥ 2× on this machine): 0 or 1, whichever it measured
  const code = await run.exit;
  assert.ok(code === 0 || code === 1, run.output());
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.equal(code, r.summary.verdict?.pass ? 0 : 1, "the exit code is the recorded verdict's");
  assert.equal(r.plan.design, "duet");
  const latency = r.trials.filter((t) => t.scenario === "latency");
  assert.equal(latency.length, 4);
  for (const round of [1, 2]) {
    const pair = latency.filter((t) => t.round === round);
    assert.deepEqual(
      pair.map((t) => t.status),
      ["ok", "ok"],
    );
    // one slice: the same start, both arms named in the order their load started, one of them first
    assert.equal(pair[0]!.startedAt, pair[1]!.startedAt);
    assert.deepEqual([...pair[0]!.duet!.arms].sort(), ["baseline", "optimized"]);
    assert.deepEqual(pair[0]!.duet!.arms, pair[1]!.duet!.arms);
    assert.equal(pair.filter((t) => t.duet!.first).length, 1);
    assert.equal(pair.find((t) => t.duet!.first)!.variant, pair[0]!.duet!.arms[0]);
    // 31 connections: 15 and 16
    assert.deepEqual(pair.map((t) => t.duet!.connections).sort(), [15, 16]);
    for (const t of pair) assert.ok(t.metrics.executor_cpu_us_per_request! > 0 && t.metrics.rps! > 0);
    // a shared exchange's connection counts cannot be split between the arms: not attributed
    for (const t of pair) assert.equal(t.metrics.upstream_conns_per_request, undefined);
  }
  // json times serializers in perfpack's process: its trials run one at a time
  for (const t of r.trials.filter((x) => x.scenario === "json")) assert.equal(t.duet, undefined);
  const logs = readdirSync(join(out, "logs"));
  assert.equal(logs.filter((f) => /latency-r1\.executor\.log$/.test(f)).length, 2, logs.join(", "));
  assert.equal(logs.filter((f) => /latency-r1\.exchange\.log$/.test(f)).length, 1, "one exchange for the slice");
  assert.deepEqual(descendants(run.child.pid!), []);
});

test("--design duet refuses what it cannot align, exit 2 naming why", async () => {
  for (const [args, re] of [
    [
      ["--design", "duet", "--target", "http://127.0.0.1:9"],
      /--design duet starts every arm's executor on one exchange; --target/,
    ],
    [["--design", "duet", "--generator", "artillery"], /--generator artillery starts a child per trial/],
    [["--design", "pairs"], /--design "pairs" is not valid: expected alternate or duet/],
  ] as const) {
    const run = perfpack(["run", ...args]);
    assert.equal(await run.exit, 2, run.output());
    assert.match(run.output(), re);
  }
});
