// Measures the regression gate (a benchmark of perfpack itself, not a test), through the library API.
//
// Against a revision (the recommended gate):
//   node scripts/gate-quality.mjs N auto '{}' --ref HEAD
//   N A/A gates of HEAD against this checkout (every failure is a false alarm), interleaved with N gates
//   whose checkout side burns EXECUTOR_CPU_BURN_US more CPU per request (every pass is a miss).
//   "auto" calibrates the burn to 10% of the executor's CPU per request, measured by the first A/A gate
//   ("auto:0.05" to 5%). --max-regression X moves the gate's line (default 0.05).
//   From a team's repository (perfpack installed, executorCmd in its perfpack.config.json), a copy of
//   this script gates the team's service: its burn is EXECUTOR_CPU_BURN_US, which the service honours.
//   Each of those runs is also gated as a stored run against the first A/A run's results.json
//   (`gate --baseline`, unpaired, across separate runs), for contrast: the same machine time, the
//   same trials, the other method.
// Against a stored run (the old gate, for contrast):
//   node scripts/gate-quality.mjs N burnUs ['{"quick": true, "scenarios": "latency"}']
// The third argument: run options as in perfpack.config.json. Build first: npm run build.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gate, gateRevision, run } from "perfpack";

const args = process.argv.slice(2);
const refAt = args.indexOf("--ref");
const ref = refAt >= 0 ? args.splice(refAt, 2)[1] : undefined;
const lineAt = args.indexOf("--max-regression");
const maxRegression = lineAt >= 0 ? Number(args.splice(lineAt, 2)[1]) : undefined;
const [n = "10", burnArg = ref ? "auto" : "130", opts] = args;
const options = opts ? JSON.parse(opts) : ref ? {} : { quick: true, scenarios: "latency" };
const dir = mkdtempSync(join(tmpdir(), "gate-quality-"));
const timed = async (f) => {
  const t0 = Date.now();
  const r = await f();
  return { ...r, secs: (Date.now() - t0) / 1000 };
};
const metric = (d, m) => d.comparisons.find((c) => c.candidate.startsWith("optimized") && c.metric === m);

const autoShare = burnArg === "auto" ? 0.1 : burnArg.startsWith("auto:") ? Number(burnArg.slice(5)) : undefined;
let burn = autoShare !== undefined ? undefined : Number(burnArg);
let base;
if (!ref) {
  base = await timed(() => run({ ...options, out: join(dir, "base") }));
  console.log(
    `baseline run: ${base.results.summary.failedTrials} failed trial(s), ${base.secs.toFixed(0)} s (${JSON.stringify(options)})`,
  );
}
const tally = { aa: { fail: 0, secs: [], outcomes: {} }, reg: { fail: 0, secs: [], outcomes: {} } };
// --ref: the same runs gated as stored runs against the first A/A run (across runs, unpaired)
const across = { aa: { fail: 0, n: 0 }, reg: { fail: 0, n: 0 } };
let stored;
for (let i = 0; i < Number(n) * 2; i++) {
  const kind = i % 2 === 0 ? "aa" : "reg"; // interleaved, so drift hits both kinds alike
  const out = join(dir, `${kind}-${i}`);
  let r;
  if (ref) {
    r = await timed(() =>
      gateRevision({
        ref,
        options: { ...options, out },
        seed: i + 1,
        ...(maxRegression !== undefined ? { maxRegression } : {}),
        ...(kind === "reg" ? { candidateEnv: { EXECUTOR_CPU_BURN_US: String(burn) } } : {}),
      }),
    );
    if (!r.doc)
      throw new Error(
        `the gate gave no decision: ${r.run ? `${r.run.results.summary.failedTrials} failed trial(s)` : "interrupted"}`,
      );
  } else {
    const c = await timed(() =>
      run({ ...options, out, ...(kind === "reg" ? { env: [`EXECUTOR_CPU_BURN_US=${burn}`] } : {}) }),
    );
    if (c.interrupted || c.results.summary.failedTrials > 0)
      throw new Error(`the current run ${c.interrupted ? "was interrupted" : "had failed trials"}`);
    r = { doc: gate({ baseline: base.results, current: c.results }), secs: c.secs };
  }
  const d = r.doc;
  if (ref) {
    if (!stored) stored = r.run.results;
    else {
      const g = gate({ baseline: stored, current: r.run.results });
      const row = g.comparisons.find(
        (c) => c.reference.startsWith("optimized (") && c.metric === "executor_cpu_us_per_request",
      );
      // this checkout's arm only ("optimized"): in the burn runs it is the one that carries the burn
      const failed = g.regressions.some((c) => c.reference.startsWith("optimized ("));
      across[kind].n++;
      if (failed) across[kind].fail++;
      console.log(
        `  across runs (gate --baseline the first A/A run): ${failed ? "FAIL" : "pass"}; CPU/req ratio ${row?.estimate.ratio.toFixed(2) ?? "?"}`,
      );
    }
  }
  if (burn === undefined) {
    // calibrate on the first A/A: a share of the baseline side's CPU per request
    burn = Math.round(autoShare * metric(d, "executor_cpu_us_per_request").referenceMedian);
    console.log(
      `burn calibrated to ${burn} µs/request (${autoShare * 100}% of the executor's CPU per request in the first A/A gate)`,
    );
  }
  // what CI sees: exit 1 for a regression (by default an inconclusive gate exits 0)
  const outcome = d.outcome;
  const failed = outcome === "regression";
  if (failed) tally[kind].fail++;
  tally[kind].outcomes[outcome] = (tally[kind].outcomes[outcome] ?? 0) + 1;
  tally[kind].secs.push(r.secs);
  const show = (m) => metric(d, m)?.estimate.ratio.toFixed(2) ?? "?";
  const rounds = d.looks ? `, ${d.looks.at(-1)?.rounds} rounds in ${d.looks.length} look(s)` : "";
  console.log(
    `${kind} #${Math.floor(i / 2) + 1}: ${outcome}, exit ${failed ? 1 : 0}, ${r.secs.toFixed(0)} s${rounds}; ratios req/s ${show("rps")}, p95 ${show("latency_p95_ms")}, CPU/req ${show("executor_cpu_us_per_request")}`,
  );
}
const sorted = (xs) => [...xs].sort((a, b) => a - b);
for (const [kind, label] of [
  ["aa", "A/A (false alarms)"],
  ["reg", `burn ${burn} µs/request (detections)`],
]) {
  const t = tally[kind];
  const s = sorted(t.secs);
  const outcomes = Object.entries(t.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  console.log(
    `${label}: exit 1 in ${t.fail}/${n} (${((100 * t.fail) / Number(n)).toFixed(0)}%) [${outcomes}]; gate wall time median ${s[Math.floor(s.length / 2)].toFixed(0)} s, worst ${s.at(-1).toFixed(0)} s`,
  );
}
if (ref) {
  console.log(
    `across runs, gate --baseline <first A/A run> on the same runs: A/A exit 1 in ${across.aa.fail}/${across.aa.n}; burn exit 1 in ${across.reg.fail}/${across.reg.n}`,
  );
}
console.log(`runs kept in ${dir}`);
