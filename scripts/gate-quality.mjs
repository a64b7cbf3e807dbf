// Measures the regression gate (a benchmark of perfpack itself, not a test):
//   1 baseline run, then N gate runs of the same code (A/A: every failure is a false positive)
//   and N gate runs with EXECUTOR_CPU_BURN_US=<burn> (an injected regression: every pass is a miss).
// Usage: npm run build && node scripts/gate-quality.mjs [N=10] [burnUs=130] [run options…]
//   default run options: --quick --scenarios latency
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [n = "10", burn = "130", ...rest] = process.argv.slice(2);
const runArgs = rest.length ? rest : ["--quick", "--scenarios", "latency"];
const dir = mkdtempSync(join(tmpdir(), "gate-quality-"));
const cli = join(import.meta.dirname, "..", "dist", "harness", "cli.js");
const perfpack = (args) => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  return { code: r.status, secs: (Date.now() - t0) / 1000, out: r.stdout + r.stderr };
};

const base = join(dir, "base");
const b = perfpack(["run", ...runArgs, "--out", base]);
console.log(`baseline run: exit ${b.code}, ${b.secs.toFixed(0)} s (${runArgs.join(" ")})`);
const tally = { aa: { fail: 0, regress: 0, target: 0, secs: [] }, reg: { fail: 0, regress: 0, target: 0, secs: [] } };
for (let i = 0; i < Number(n) * 2; i++) {
  const kind = i % 2 === 0 ? "aa" : "reg"; // interleaved, so drift hits both
  const env = kind === "reg" ? ["--env", `EXECUTOR_CPU_BURN_US=${burn}`] : [];
  const g = perfpack(["gate", "--baseline", join(base, "results.json"), ...runArgs, ...env, "--out", join(dir, `${kind}-${i}`)]);
  if (g.code !== 0 && g.code !== 1) throw new Error(`gate exited ${g.code}:\n${g.out}`);
  if (g.code === 1) tally[kind].fail++;
  // why it failed: a significant regression beyond the threshold, and/or a failed headline target
  if (/% worse/.test(g.out)) tally[kind].regress++;
  if (/target failed in the current run/.test(g.out)) tally[kind].target++;
  tally[kind].secs.push(g.secs);
  const ratio = /optimized.*req\/s ◆.*?(\d+\.\d+)×/.exec(g.out)?.[1];
  const why = g.code === 1 ? ` (${[/% worse/.test(g.out) ? "regression" : "", /target failed/.test(g.out) ? "headline target" : ""].filter(Boolean).join(" + ")})` : "";
  console.log(`${kind} #${Math.floor(i / 2) + 1}: exit ${g.code}${why}, ${g.secs.toFixed(0)} s, optimized req/s ratio ${ratio ?? "?"}`);
}
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
for (const [kind, label] of [["aa", "A/A"], ["reg", `burn ${burn} µs`]]) {
  const t = tally[kind];
  console.log(`${label}: exit 1 in ${t.fail}/${n} (${((100 * t.fail) / Number(n)).toFixed(0)}%): regression flagged in ${t.regress}, headline target failed in ${t.target}; mean gate run ${mean(t.secs).toFixed(1)} s`);
}
console.log(`runs kept in ${dir}`);
