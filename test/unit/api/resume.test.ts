import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { prepareResume } from "../../../harness/api/resume.js";
import { planRecordOf, prepareRun, withCapacity } from "../../../harness/api/run.js";
import { describeMachine } from "../../../harness/engine/probes.js";
import { UsageError } from "../../../harness/errors.js";
import { resume } from "../../../harness/index.js";
import type { RunConfig, RunFlags } from "../../../harness/plan/config.js";
import { buildPlan } from "../../../harness/plan/order.js";
import { newResults } from "../../../harness/results/create.js";
import { writeResults } from "../../../harness/results/file.js";
import type { Results, TrialRecord } from "../../../harness/results/schema.js";
import { SCENARIOS } from "../../../scenarios/index.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-resume-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ctx = { cwd: tmp, env: { API_KEY: "k-123" }, version: "0.0.0-test" };

/** A run of these flags as the runner records it, its first `kept` trials finished, in its folder. */
function recorded(
  flags: RunFlags,
  kept: number,
  duetSeed?: number,
): { cfg: RunConfig; results: Results; file: string } {
  const { cfg } = prepareRun(flags, SCENARIOS, ctx);
  const plan = buildPlan(cfg.variants, cfg.scenarios, cfg.rounds);
  const results = newResults({
    runId: cfg.runId,
    startedAt: new Date().toISOString(),
    version: ctx.version,
    machine: describeMachine(),
    plan: planRecordOf(cfg, plan, SCENARIOS, ctx.cwd, { duetSeed }),
    pid: 1 << 22, // past any pid_max: no such process
  });
  results.trials = plan.trials.slice(0, kept).map((t): TrialRecord => ({
    index: t.index,
    variant: t.variant.name,
    scenario: t.scenario,
    round: t.round,
    env: t.variant.env,
    startedAt: results.startedAt,
    wallS: 1,
    metrics: { rps: 100 + t.index },
    generatorBound: false,
    status: "ok",
  }));
  const file = join(cfg.outDir, "results.json");
  writeResults(file, results);
  return { cfg, results, file };
}

/** What a resumed run must have of the original config: all but its warnings, and the requests its scenarios send. */
const comparable = (c: RunConfig) => ({
  ...c,
  warnings: [],
  requests: Object.fromEntries(
    Object.entries(c.requests).filter(([name]) => c.scenarios.some((s) => SCENARIOS.get(s)!.uses.includes(name))),
  ),
});

const RUNS: Array<[string, RunFlags, number?]> = [
  ["--quick, two scenarios", { quick: true, scenarios: "latency,ws", out: "q" }],
  [
    "a matrix with --env, an open model, a link, non-default timeouts and limits, no allocation pass",
    {
      matrix: ["BATCH_FLUSH_MS=5,40"],
      env: ["BATCH_ENABLED=true"],
      scenarios: "latency,batch",
      rounds: "3",
      rate: "200",
      readyTimeout: "40",
      stopGrace: "1",
      skipAllocation: true,
      maxErrors: "0.05",
      upstreamRtt: "10",
      wsRate: "100",
      out: "m",
    },
  ],
  [
    "a duet of warm services, a team's command with its readiness path, a header from the environment, a profile",
    {
      design: "duet",
      duetExchange: "each",
      warm: true,
      connections: "33",
      executorCmd: "node svc.mjs",
      readyPath: "/ready",
      header: ["x-api-key: ${env:API_KEY}"],
      profile: "cpuprof",
      scenarios: "latency,json",
      out: "d",
    },
    12345,
  ],
  ["a soak", { soak: "5s", out: "s" }],
  ["--target", { target: "http://127.0.0.1:4001", scenarios: "latency", out: "t" }],
];

for (const [what, flags, duetSeed] of RUNS)
  test(`resume rebuilds the recorded run's config and plan: ${what}`, () => {
    const { cfg, results } = recorded(flags, 1, duetSeed);
    const p = prepareResume(cfg.outDir, {}, SCENARIOS, ctx);
    assert.deepEqual(comparable(p.cfg), comparable({ ...cfg, updateLatest: false }));
    assert.deepEqual([p.total, p.remaining], [results.plan.order.length, results.plan.order.length - 1]);
    assert.deepEqual([p.steer.seed, p.steer.duetSeed, p.steer.resumed.trials], [undefined, duetSeed, results.trials]);
  });

test("a run in the default folder moves reports/latest when resumed; --resume may name its results.json", () => {
  const { cfg } = recorded({ quick: true, scenarios: "latency" }, 2);
  assert.equal(cfg.outDir, join(tmp, "reports", cfg.runId));
  const p = prepareResume(join("reports", cfg.runId, "results.json"), { json: true }, SCENARIOS, ctx);
  assert.deepEqual([p.cfg.outDir, p.cfg.updateLatest, p.json, p.remaining], [cfg.outDir, true, true, 2]);
});

/** The refusal of resuming the folder after `edit`, which must leave results.json as it was. */
function refusal(edit: (r: Results, dir: string) => void, flags: RunFlags = {}, version = ctx.version): string {
  const { cfg, results, file } = recorded({ quick: true, scenarios: "latency", out: `r-${Math.random()}` }, 1);
  edit(results, cfg.outDir);
  writeResults(file, results);
  const before = readFileSync(file);
  try {
    prepareResume(cfg.outDir, flags, SCENARIOS, { ...ctx, version });
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    assert.deepEqual(readFileSync(file), before, "results.json is left as it was");
    return err.message;
  }
  assert.fail("resumed");
}

test("what cannot be resumed is a usage error saying why, and nothing is written", () => {
  assert.match(
    refusal(() => {}, {}, "9.9.9"),
    /^cannot resume .*: its results\.json was written by perfpack 0\.0\.0-test, and this is perfpack 9\.9\.9/,
  );
  assert.match(
    refusal(() => {}, { rounds: "5", env: ["A=1"] }),
    /^--resume takes the plan .*: --env, --rounds cannot be given beside it \(only --json can\)$/,
  );
  assert.match(
    refusal((_, dir) => writeFileSync(join(dir, "gate.json"), "{}")),
    /a gate's run .*; rerun the gate \(the finished rounds stay in this folder's results\.json\)$/,
  );
  assert.match(
    refusal((r) => (r.plan.headlines!.latency = [])),
    /the plan this perfpack makes of its recorded options differs from the recorded one in headlines/,
  );
  assert.match(
    refusal((r) => (r.plan.checkout = { commit: "0123456789abcdef", dirty: false })),
    /the checkout under test was at 0123456789 and is now/,
  );
  assert.match(
    refusal((r) => (r.trials[0]!.round = 2)),
    /its trial #1 \(baseline · latency · round 2\) is not the plan's/,
  );
  assert.match(
    refusal((r) => r.trials.push(r.trials[0]!)),
    /its trial #1 .* is recorded twice/,
  );
});

test("a run whose perfpack is still alive is not resumed beside it", async () => {
  // a live process that looks like perfpack: its command line names it
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", "perfpack"], { stdio: "ignore" });
  try {
    assert.match(
      refusal((r) => (r.pid = child.pid)),
      /perfpack \(pid \d+\) is still running it: let it finish, or stop it/,
    );
    // a run that finished is not asked
    assert.throws(() => {
      refusal((r) => Object.assign(r, { pid: child.pid, finishedAt: new Date().toISOString() }));
    }, /resumed/);
  } finally {
    child.kill("SIGKILL");
  }
});

test("a folder without a perfpack results file is refused, naming it", () => {
  const dir = join(tmp, "empty");
  mkdirSync(dir);
  assert.throws(
    () => prepareResume(dir, {}, SCENARIOS, ctx),
    /cannot resume .*empty: its results file .*results\.json cannot be read: ENOENT/,
  );
  writeFileSync(join(dir, "results.json"), "{ half");
  assert.throws(() => prepareResume(dir, {}, SCENARIOS, ctx), /its results file .* is not valid JSON/);
  assert.throws(() => prepareResume("nowhere", {}, SCENARIOS, ctx), /--resume nowhere: no such run folder/);
});

test("the library's resume(folder) is the same job: a folder it cannot resume rejects with the UsageError", async () => {
  const { cfg } = recorded({ quick: true, scenarios: "latency", out: "lib" }, 1);
  await assert.rejects(
    resume(cfg.outDir, { cwd: tmp }),
    (e: unknown) => e instanceof UsageError && /perfpack 0\.0\.0-test, and this is perfpack \d/.test(e.message),
  );
});

test("a run made with --capacity searches again when resumed, with its recorded SLO and resolution", () => {
  const dir = mkdtempSync(join(tmp, "cap-"));
  writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ slo: "p99<250ms,errors<0.5%", resolution: 0.1 }));
  const c = { ...ctx, cwd: dir };
  const { cfg } = withCapacity(prepareRun({ quick: true, scenarios: "latency", out: "c" }, SCENARIOS, c), SCENARIOS, c);
  assert.deepEqual([cfg.capacity?.slo?.label, cfg.capacity?.slo?.maxMs, cfg.capacity?.resolution], ["p99", 250, 0.1]);
  const plan = buildPlan(cfg.variants, cfg.scenarios, cfg.rounds);
  const record = planRecordOf(cfg, plan, SCENARIOS, dir, {});
  assert.deepEqual(record.capacity, { slo: "p99<250ms,errors<0.5%", resolution: 0.1 });
  const results = newResults({
    runId: cfg.runId,
    startedAt: new Date().toISOString(),
    version: ctx.version,
    machine: describeMachine(),
    plan: record,
    pid: 1 << 22,
  });
  writeResults(join(cfg.outDir, "results.json"), results);
  // the config file changes after the run: the resumed search is the recorded one's
  writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ slo: "p50<1ms" }));
  const p = prepareResume(cfg.outDir, {}, SCENARIOS, c);
  assert.deepEqual(p.cfg.capacity, cfg.capacity);
  // a run with neither latency nor batch has nothing to search
  assert.throws(
    () => withCapacity(prepareRun({ scenarios: "json" }, SCENARIOS, c), SCENARIOS, c),
    /--capacity searches the latency and batch scenarios, and this run has neither \(--scenarios json\)/,
  );
});
