import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  causeFromProfiles,
  gateCause,
  worstRegression,
  writeFlameDiff,
  type FlameDiffInput,
} from "../../../harness/api/gate-cause.js";
import type { DuetProfile } from "../../../harness/profile/duet.js";
import type { CpuProfile } from "../../../harness/profile/hotpath.js";
import type { Comparison } from "../../../harness/results/schema.js";
import type { RunConfig } from "../../../harness/plan/config.js";
import { SCENARIOS } from "../../../scenarios/index.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-cause-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const regression = (scenario: string, metric: string, better: "higher" | "lower", ratio: number): Comparison => ({
  scenario,
  metric,
  label: metric,
  better,
  reference: "optimized@HEAD~1",
  candidate: "optimized",
  referenceMedian: 1,
  candidateMedian: ratio,
  estimate: { ratio, lo: ratio, hi: ratio } as Comparison["estimate"],
  pAdjusted: 0.001,
  significant: true,
  direction: "worse",
  gate: true,
});

test("the regression explained is the gate metric that got worst, among the scenarios that load both arms at once", () => {
  const rps = regression("latency", "rps", "higher", 0.8); // 25% worse
  const cpu = regression("latency", "executor_cpu_us_per_request", "lower", 1.4); // 40% worse
  const batch = regression("batch", "orders_per_s", "higher", 0.9);
  const json = regression("json", "ops_per_s", "higher", 0.2); // worst, but json runs alone
  assert.equal(worstRegression({ regressions: [rps, batch, cpu, json] }, SCENARIOS), cpu);
  assert.equal(worstRegression({ regressions: [json] }, SCENARIOS), undefined);
});

test("no regression that can be profiled: one line, and nothing is started", async () => {
  const cause = await gateCause(
    { variants: [] } as unknown as RunConfig,
    { regressions: [] },
    SCENARIOS,
    { cwd: tmp, env: {}, version: "0" },
    { capS: 20, seed: 1 },
  );
  assert.equal(cause.status, "not-profiled");
  assert.match(
    cause.status === "not-profiled" ? cause.reason : "",
    /^no regressed scenario can load both arms at once/,
  );
});

/** root → handler → slowPath; `slow` samples in slowPath, `rest` in handler. */
const cpuprofile = (slow: number, rest: number): CpuProfile & { startTime: number } => ({
  nodes: [
    { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 }, children: [2] },
    { id: 2, callFrame: { functionName: "handler", url: "file:///home/team/svc.mjs", lineNumber: 11 }, children: [3] },
    { id: 3, callFrame: { functionName: "slowPath", url: "file:///home/team/svc.mjs", lineNumber: 2 } },
  ],
  startTime: 0,
  samples: [...Array(slow).fill(3), ...Array(rest).fill(2)],
  timeDeltas: Array(slow + rest).fill(1000),
});

/** Two arms' profiles in <dir>/flame, as the duet leaves them. */
function duet(dir: string): DuetProfile {
  mkdirSync(join(dir, "flame"), { recursive: true });
  const arm = (role: "reference" | "candidate", variant: string, p: CpuProfile, units: number) => {
    const file = join(dir, "flame", `${role}.cpuprofile`);
    writeFileSync(file, JSON.stringify(p));
    const check = {
      samples: p.samples.length,
      expected: 1,
      basis: "cpu" as const,
      basisMs: 1,
      intervalMs: 1,
      coverage: 1,
      ok: true,
    };
    // the load's window holds every sample
    return { role, variant, file, units, unit: "request" as const, window: { startUs: 0, endUs: 1e9 }, check };
  };
  return {
    // 100 requests: slowPath 10 ms (100 µs/req), handler 50 ms (500 µs/req)
    reference: arm("reference", "optimized@HEAD~1", cpuprofile(10, 50), 100),
    // 50 requests: slowPath 1,005 ms (20,100 µs/req), handler 25 ms (500 µs/req)
    candidate: arm("candidate", "optimized", cpuprofile(1005, 25), 50),
    loadS: 12.5,
  };
}

test("the cause from two profiles: each arm per request, what grew, and the differential flamegraph drawn from the same files", async () => {
  const dir = join(tmp, "drawn");
  const p = duet(dir);
  const asked: FlameDiffInput[] = [];
  const cause = await causeFromProfiles(
    dir,
    p,
    "latency",
    () => 14.2,
    (input) => {
      asked.push(input);
      return {
        file: join(input.dir, "diff.html"),
        grew: [{ fn: "slowPath", location: "svc.mjs:3", referenceUs: 100, candidateUs: 20_100, deltaUs: 20_000 }],
        busyUsPerUnit: { reference: 600, candidate: 20_600 },
      };
    },
  );
  assert.deepEqual(asked, [
    {
      dir: join(dir, "flame"),
      reference: {
        variant: "optimized@HEAD~1",
        profile: join(dir, "flame", "reference.cpuprofile"),
        units: 100,
        window: { startUs: 0, endUs: 1e9 },
      },
      candidate: {
        variant: "optimized",
        profile: join(dir, "flame", "candidate.cpuprofile"),
        units: 50,
        window: { startUs: 0, endUs: 1e9 },
      },
      unit: "request",
    },
  ]);
  assert.deepEqual(cause, {
    status: "profiled",
    scenario: "latency",
    tool: "cpuprof",
    unit: "request",
    loadS: 12.5,
    reference: {
      variant: "optimized@HEAD~1",
      profile: join("flame", "reference.cpuprofile"),
      units: 100,
      samples: 60,
      busyUsPerUnit: 600,
    },
    candidate: {
      variant: "optimized",
      profile: join("flame", "candidate.cpuprofile"),
      units: 50,
      samples: 1030,
      busyUsPerUnit: 20_600,
    },
    // the writer's rows and busy times are the cause's: the page and report.md agree
    grew: [{ fn: "slowPath", location: "svc.mjs:3", referenceUs: 100, candidateUs: 20_100, deltaUs: 20_000 }],
    diff: join("flame", "diff.html"),
    wallS: 14.2,
  });
});

test("when the flamegraph writer fails, the cause stands and says why there is no diff.html; perfpack's own writer draws it", async () => {
  const dir = join(tmp, "undrawn");
  const p = duet(dir);
  const failed = await causeFromProfiles(
    dir,
    p,
    "latency",
    () => 1,
    () => {
      throw new Error("no d3");
    },
  );
  assert.equal(failed.status === "profiled" && failed.diffNote, "the differential flamegraph failed: no d3");
  // no page, no rows: the table comes from the page's own samples only
  assert.deepEqual(failed.status === "profiled" && failed.grew, []);
  assert.equal(failed.status === "profiled" && failed.reference.busyUsPerUnit, undefined);
  // perfpack's own writer: flame/diff.html, and the table is its rows
  const drawn = await causeFromProfiles(dir, p, "latency", () => 1, writeFlameDiff);
  assert.equal(drawn.status === "profiled" && drawn.diff, join("flame", "diff.html"));
  assert.ok(existsSync(join(dir, "flame", "diff.html")));
  assert.equal(drawn.status === "profiled" && drawn.grew[0]!.fn, "slowPath");
  assert.match(drawn.status === "profiled" ? drawn.grew[0]!.location : "", /svc\.mjs:3$/);
  // 100 requests with 60 ms busy against 50 with 1,030 ms: 600 and 20,600 µs per request
  assert.deepEqual(
    drawn.status === "profiled" && [drawn.reference.busyUsPerUnit, drawn.candidate.busyUsPerUnit],
    [600, 20_600],
  );
});
