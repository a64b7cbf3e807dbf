#!/usr/bin/env node
// How much `perfpack capacity` varies from run to run (issue 34's goal: at most 10%). It runs
// `perfpack capacity --json` RUNS times (default 3) with ARGS (default none: latency, baseline and
// optimized, p95 < 100 ms, the default budget) and prints each run's capacity and bracket per
// variant, the ratio with its range, the time taken, and per variant the spread: max/min − 1.
//
//   node scripts/capacity-repeat.mjs
//   RUNS=2 ARGS="--scenarios batch --budget 120" node scripts/capacity-repeat.mjs
//
// Run from the project root after `npm run build`. Loopback only; every run is bounded by its budget.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const cli = resolve("dist/harness/cli.js");
if (!existsSync(cli)) {
  console.error("capacity-repeat: dist/harness/cli.js is missing: run `npm run build` first");
  process.exit(2);
}
const runs = Number(process.env.RUNS ?? 3);
const extra = (process.env.ARGS ?? "").split(" ").filter(Boolean);
const tmp = mkdtempSync(join(tmpdir(), "perfpack-capacity-repeat-"));
const fmt = (n) => (n == null ? "—" : Math.round(n).toLocaleString("en-US"));
const seen = new Map();

for (let i = 1; i <= runs; i++) {
  const out = join(tmp, `run-${i}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, "capacity", "--json", "--out", out, ...extra], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const took = ((Date.now() - t0) / 1000).toFixed(0);
  if (r.status !== 0 && r.status !== 1) {
    console.log(`run ${i}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
    continue;
  }
  const doc = JSON.parse(r.stdout);
  const cells = doc.results.map((x) => {
    const key = `${x.scenario} ${x.variant}`;
    if (x.capacity != null) seen.set(key, [...(seen.get(key) ?? []), x.capacity]);
    const lb = x.lowerBound ? "≥" : "";
    return `${key} ${lb}${fmt(x.capacity)} [${fmt(x.bracket[0])}–${fmt(x.bracket[1])}] (${x.steps} steps)`;
  });
  const ratios = doc.ratios.map(
    (x) =>
      `${x.scenario} ${x.candidate}/${x.reference} ${x.ratio?.toFixed(2) ?? "—"}× (${x.lo?.toFixed(2) ?? "—"}–${x.hi?.toFixed(2) ?? "—"})`,
  );
  console.log(`run ${i}: exit ${r.status}, ${took} s, ${out}\n  ${cells.join("\n  ")}\n  ${ratios.join("\n  ")}`);
}
for (const [key, values] of seen) {
  const spread = Math.max(...values) / Math.min(...values) - 1;
  console.log(`${key}: ${values.map(fmt).join(", ")}; spread ${(spread * 100).toFixed(1)}%`);
}
