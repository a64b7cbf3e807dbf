import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../../../harness/errors.js";
import { testbedId } from "../../../harness/history/record.js";
import { medianInterval, readStoredRun, recordsOf } from "../../../harness/history/records.js";
import type { GateReport, Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { seededRandom } from "../../../services/common/src/rng.js";

const json = <T>(...p: string[]): T => JSON.parse(readFileSync(fixturePath(...p), "utf8")) as T;
const gateRun = () => ({
  results: json<Results>("sample-gate", "results.json"),
  gate: json<GateReport>("sample-gate", "gate.json"),
});

test("a gate against a revision: points of this checkout's arm only, each gate metric linked to the baseline commit with the gate's own interval and call", () => {
  const { results, gate } = gateRun();
  const records = recordsOf(results, gate, { branch: "main", parent: "p0" });
  assert.deepEqual(
    [...new Set(records.map((r) => r.variant))],
    ["optimized"],
    "the optimized@HEAD arm measured the baseline commit",
  );
  const rps = records.find((r) => r.metric === "rps")!;
  assert.equal(rps.kind, "gate");
  assert.equal(rps.commit, results.plan.checkout!.commit);
  assert.deepEqual([rps.branch, rps.parent, rps.dirty, rps.time], ["main", "p0", true, "2026-12-02T01:31:19.762Z"]);
  assert.deepEqual(rps.gate, {
    baselineCommit: "b2b14448109250444032f8ac1638bd9d264dcf4c",
    baselineRef: "HEAD",
    outcome: "regression",
    maxRegression: 0.05,
  });
  const fromGate = gate.comparisons.find((c) => c.metric === "rps")!.estimate;
  assert.deepEqual(rps.link, {
    ratio: fromGate.ratio,
    lo: fromGate.lo,
    hi: fromGate.hi,
    level: fromGate.level,
    n: 8,
    method: "t",
    p: fromGate.p,
    baselineMedian: results.summary.medians["optimized@HEAD"]!.latency!.rps,
    call: "undecided",
  });
  const cpu = records.find((r) => r.metric === "executor_cpu_us_per_request")!;
  assert.equal(cpu.link?.call, "regression");
  // p50 is no gate metric: its link is the run's own paired comparison, at 95%, with no call
  const p50 = records.find((r) => r.metric === "latency_p50_ms")!;
  const fromSummary = results.summary.comparisons!.find((c) => c.metric === "latency_p50_ms")!.estimate;
  assert.deepEqual(
    [p50.link?.ratio, p50.link?.lo, p50.link?.level, p50.link?.call],
    [fromSummary.ratio, fromSummary.lo, 0.95, undefined],
  );
});

test("each point is the run's median over its ok rounds (as the summary has it), with the headline's words and direction", () => {
  const { results, gate } = gateRun();
  const records = recordsOf(results, gate, { branch: "main" });
  const headlines = results.plan.headlines!.latency!;
  for (const r of records) {
    assert.equal(r.median, results.summary.medians.optimized!.latency![r.metric], r.metric);
    const h = headlines.find((x) => x.metric === r.metric)!;
    assert.deepEqual([r.label, r.better, r.unit], [h.label, h.better, h.unit]);
    assert.ok(r.lo <= r.median && r.median <= r.hi, r.metric);
  }
  const measured = headlines.filter((h) => h.metric in results.summary.medians.optimized!.latency!);
  assert.deepEqual(
    records.map((r) => r.metric),
    measured.map((h) => h.metric),
    "headline metrics the run measured, in the scenario's order",
  );
});

test("the testbed: CPU model, cores and Node, with an id that is the same for the same machine type on any host", () => {
  const { results, gate } = gateRun();
  const [r] = recordsOf(results, gate, {});
  assert.deepEqual(r!.testbed, {
    id: "63655f7b985f",
    cpuModel: "Intel(R) Xeon(R) Processor",
    cores: 2,
    node: "v20.20.2",
  });
  assert.equal(
    testbedId("Intel(R) Xeon(R) Processor", 2, "v20.20.2"),
    "63655f7b985f",
    "pinned: stored ids must not move",
  );
  assert.notEqual(testbedId("Intel(R) Xeon(R) Processor", 2, "v22.1.0"), r!.testbed.id);
  results.machine.hostname = "another-runner";
  assert.equal(recordsOf(results, gate, {})[0]!.testbed.id, r!.testbed.id);
});

test("a plain run: every variant's points, no links; a run that records no commit needs one given", () => {
  const results = json<Results>("sample-baseline.json");
  assert.throws(
    () => recordsOf(results),
    (e: unknown) => e instanceof UsageError && /--commit/.test(e.message),
  );
  const records = recordsOf(results, undefined, { commit: "abc", branch: "main" });
  assert.deepEqual([...new Set(records.map((r) => r.variant))].sort(), ["baseline", "optimized"]);
  assert.ok(records.every((r) => r.kind === "run" && r.link === undefined && r.gate === undefined));
  assert.ok(
    records.every((r) => r.commit === "abc" && r.dirty === undefined),
    "dirty is the checkout's, not the given commit's",
  );
  assert.deepEqual([...new Set(records.map((r) => r.scenario))].sort(), [...results.plan.scenarios].sort());
});

test("a gate's results without its gate.json: the baseline arm is still left out (it measured another commit)", () => {
  const { results } = gateRun();
  const records = recordsOf(results, undefined, {});
  assert.ok(records.length > 0);
  assert.ok(records.every((r) => r.variant === "optimized" && r.kind === "run" && !r.link));
});

test("the median's interval: order statistics with the largest k still covering 95%, the range (with its coverage) under 6 rounds", () => {
  const xs = [5, 1, 4, 2, 3, 8, 7, 6];
  assert.deepEqual(medianInterval(xs), { median: 4.5, lo: 1, hi: 8, level: 1 - 2 / 256, n: 8 });
  const nine = medianInterval([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([nine.median, nine.lo, nine.hi, nine.level], [5, 2, 8, 1 - (2 * 10) / 512]);
  assert.deepEqual(medianInterval([3, 1, 2, 5, 4]), { median: 3, lo: 1, hi: 5, level: 1 - 2 / 32, n: 5 });
  assert.deepEqual(medianInterval([7]), { median: 7, lo: 7, hi: 7, level: 0, n: 1 });
});

test("the median's interval covers the true median at least 95% of the time (lognormal rounds, 12 per run)", () => {
  const rand = seededRandom(35);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let covered = 0;
  const runs = 4000;
  for (let i = 0; i < runs; i++) {
    const xs = Array.from({ length: 12 }, () => 100 * Math.exp(0.1 * normal()));
    const m = medianInterval(xs);
    if (m.lo <= 100 && 100 <= m.hi) covered++;
    assert.ok(m.level >= 0.95);
  }
  assert.ok(covered / runs >= 0.95, `coverage ${covered / runs}`);
  assert.ok(covered / runs <= 0.995, `coverage ${covered / runs}: no wider than it says`);
});

test("readStoredRun: a results.json or its folder; gate.json beside it makes a gate when it decided this run", () => {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-history-"));
  cpSync(fixturePath("sample-gate"), dir, { recursive: true });
  const byDir = readStoredRun(dir);
  assert.equal(byDir.source, join(dir, "results.json"));
  assert.equal(byDir.gate?.outcome, "regression");
  assert.equal(readStoredRun(join(dir, "results.json")).gate?.outcome, "regression");
  const other = JSON.parse(readFileSync(join(dir, "gate.json"), "utf8"));
  writeFileSync(join(dir, "gate.json"), JSON.stringify({ ...other, current: "another-run" }));
  assert.equal(readStoredRun(dir).gate, undefined, "gate.json of another run is not this run's decision");
  const empty = mkdtempSync(join(tmpdir(), "perfpack-history-"));
  assert.throws(
    () => readStoredRun(empty),
    (e: unknown) => e instanceof UsageError && /holds no results.json/.test(e.message),
  );
  assert.throws(() => readStoredRun(join(empty, "missing.json")), UsageError);
});
