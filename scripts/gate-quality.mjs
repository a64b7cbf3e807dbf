// Measures the regression gate (a benchmark of perfpack itself, not a test), through the library API:
//   1 baseline run, then N gate runs of the same code (A/A: every failure is a false positive)
//   and N gate runs with EXECUTOR_CPU_BURN_US=<burn> (an injected regression: every pass is a miss).
// Usage: npm run build && node scripts/gate-quality.mjs [N=10] [burnUs=130] ['{"quick": true, "scenarios": "latency"}']
//   the third argument: run options as in perfpack.config.json
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gate, run } from "perfpack";

const [n = "10", burn = "130", opts] = process.argv.slice(2);
const runOptions = opts ? JSON.parse(opts) : { quick: true, scenarios: "latency" };
const dir = mkdtempSync(join(tmpdir(), "gate-quality-"));
const timed = async (f) => {
  const t0 = Date.now();
  const r = await f();
  return { ...r, secs: (Date.now() - t0) / 1000 };
};

const b = await timed(() => run({ ...runOptions, out: join(dir, "base") }));
console.log(`baseline run: exit ${b.code}, ${b.secs.toFixed(0)} s (${JSON.stringify(runOptions)})`);
const tally = { aa: { fail: 0, regress: 0, target: 0, secs: [] }, reg: { fail: 0, regress: 0, target: 0, secs: [] } };
for (let i = 0; i < Number(n) * 2; i++) {
  const kind = i % 2 === 0 ? "aa" : "reg"; // interleaved, so drift hits both
  const env = kind === "reg" ? [`EXECUTOR_CPU_BURN_US=${burn}`] : [];
  const c = await timed(() => run({ ...runOptions, env, out: join(dir, `${kind}-${i}`) }));
  if (c.code === 3 || c.code === 130) throw new Error(`the current run exited ${c.code}`);
  const d = gate({ baseline: b.results, current: c.results });
  const regression = d.regressions.length > 0;
  const target = d.reasons.some((r) => r.startsWith("target failed"));
  if (!d.pass) tally[kind].fail++;
  if (regression) tally[kind].regress++;
  if (target) tally[kind].target++;
  tally[kind].secs.push(c.secs);
  const ratio = d.comparisons.find((x) => x.candidate.startsWith("optimized") && x.metric === "rps")?.estimate.ratio;
  const why = d.pass ? "" : ` (${[regression ? "regression" : "", target ? "headline target" : ""].filter(Boolean).join(" + ")})`;
  console.log(`${kind} #${Math.floor(i / 2) + 1}: ${d.pass ? "pass" : "FAIL"}${why}, ${c.secs.toFixed(0)} s, optimized req/s ratio ${ratio?.toFixed(2) ?? "?"}`);
}
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
for (const [kind, label] of [
  ["aa", "A/A"],
  ["reg", `burn ${burn} µs`],
]) {
  const t = tally[kind];
  console.log(
    `${label}: exit 1 in ${t.fail}/${n} (${((100 * t.fail) / Number(n)).toFixed(0)}%): regression flagged in ${t.regress}, headline target failed in ${t.target}; mean gate run ${mean(t.secs).toFixed(1)} s`,
  );
}
console.log(`runs kept in ${dir}`);
