// What the history store costs at the size of the goal (a benchmark, not a test):
// 1,000 commits × 10 metrics on one branch and testbed, appended one run per transaction (as CI
// does), then read the way `perfpack history` reads: the series keys of the branch, then every
// series, and all of the branch's records in one query. Needs `npm run build` first.
//   node scripts/history-store-bench.mjs [--commits 1000] [--metrics 10] [--postgres postgres://…]
// Without --postgres it measures the embedded SQLite file (in a temporary folder). Then the whole
// `perfpack history` (a process of its own: open, read, change points and chains of every series,
// history.md and history.html written) is timed over the same store, three times.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openStore } from "../dist/harness/history/open.js";
import { testbedOf } from "../dist/harness/history/record.js";

const { values: o } = parseArgs({
  options: {
    commits: { type: "string", default: "1000" },
    metrics: { type: "string", default: "10" },
    postgres: { type: "string" },
  },
});
const cli = fileURLToPath(new URL("../dist/harness/cli.js", import.meta.url));
const commits = Number(o.commits);
const metrics = Number(o.metrics);
const testbed = testbedOf({ cpuModel: "bench CPU", cores: 2, node: process.version });

function run(i) {
  const facts = {
    runId: `bench-${i}`,
    kind: "gate",
    commit: i.toString(16).padStart(40, "0"),
    parent: (i - 1).toString(16).padStart(40, "0"),
    branch: "main",
    time: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    testbed,
    gate: {
      baselineCommit: (i - 1).toString(16).padStart(40, "0"),
      baselineRef: "HEAD^",
      outcome: "pass",
      maxRegression: 0.05,
    },
  };
  return Array.from({ length: metrics }, (_, m) => ({
    ...facts,
    variant: "optimized",
    scenario: "latency",
    metric: `metric_${m}`,
    better: m % 2 ? "lower" : "higher",
    // a step of 8% at commit 600 in every third metric, for the change points to find
    median: (100 + m + Math.sin(i)) * (m % 3 === 0 && i >= 600 ? 0.92 : 1),
    lo: 99 + m,
    hi: 102 + m,
    level: 0.99,
    n: 8,
    link: { ratio: 1.001, lo: 0.98, hi: 1.02, level: 0.95, n: 8, method: "t", p: 0.5, baselineMedian: 100 },
  }));
}

const dir = mkdtempSync(join(tmpdir(), "perfpack-history-bench-"));
const spec = o.postgres ?? join(dir, "history.db");
const ms = (t0) => (performance.now() - t0).toFixed(0);
const store = await openStore(spec, dir);
let t0 = performance.now();
for (let i = 1; i <= commits; i++) await store.append(run(i));
const appendMs = ms(t0);
t0 = performance.now();
const keys = await store.seriesKeys({ testbed: testbed.id, branch: "main" });
let points = 0;
for (const k of keys) points += (await store.series(k)).length;
const seriesMs = ms(t0);
t0 = performance.now();
const all = await store.records({ testbed: testbed.id, branch: "main" });
const oneQueryMs = ms(t0);
await store.close();
// the whole command, as a user runs it
const renders = [];
for (let k = 0; k < 3; k++) {
  t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, "history", "--history", spec, "--out", join(dir, "out")], {
    cwd: dir,
    encoding: "utf8",
  });
  renders.push(ms(t0));
  if (r.status !== 0 && r.status !== 1) throw new Error(`perfpack history exited ${r.status}: ${r.stderr}`);
}
// a fresh process reads a store it did not write: the open (with its quick_check) counts too
t0 = performance.now();
const again = await openStore(spec, dir);
await again.records({ testbed: testbed.id, branch: "main" });
await again.close();
const coldMs = ms(t0);
console.log(
  `engine ${store.engine}, ${commits} commits × ${metrics} metrics (${points} points in ${keys.length} series)`,
);
console.log(`  append, one run per transaction: ${appendMs} ms in all (${(appendMs / commits).toFixed(2)} ms a run)`);
console.log(`  every series, one query each:    ${seriesMs} ms`);
console.log(`  the branch's records, one query: ${oneQueryMs} ms (${all.length} records)`);
console.log(`  open + that query, again:        ${coldMs} ms`);
if (!o.postgres) console.log(`  file: ${(statSync(spec).size / 1e6).toFixed(1)} MB`);
console.log(
  `  perfpack history (a process: read, analyse, write history.md and history.html of ${(statSync(join(dir, "out", "history.html")).size / 1e6).toFixed(1)} MB): ${renders.join(", ")} ms`,
);
rmSync(dir, { recursive: true, force: true });
