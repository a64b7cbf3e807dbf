// The noise study behind the gate's design (a benchmark of the machine and of perfpack's designs,
// not a test): A/A runs through perfpack's own runner, one per design, and per design the SD,
// across slices, of the paired log ratio of each gate metric, with the seconds a paired slice takes.
//   npm run build && node scripts/noise-study.mjs [rounds=20] [rows=alternate,duet,duet-each,open]
// Rows: alternate (one arm at a time, the gate's old default), duet (both arms at once on one mock
// exchange), duet-each (both at once, one exchange each), open (duet under an open-model load at half
// the capacity the duet row measured). Every row is the gate's window: latency, warm, 3 s after 0.5 s.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "perfpack";

const [roundsArg = "20", rowsArg = "alternate,duet,duet-each,open"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const dir = mkdtempSync(join(tmpdir(), "noise-study-"));
// A/A: two identical executors (the settings differ only in a keep-alive timeout no request reaches)
const aa = {
  matrix: ["HTTP_KEEPALIVE_TIMEOUT_MS=60000,60001"],
  env: ["HTTP_KEEPALIVE=true", "JSON_STRINGIFIER=fast"],
  scenarios: "latency",
  warm: true,
  duration: 3,
  warmup: 0.5,
  rounds,
};
const metrics = [
  ["rps", "req/s"],
  ["latency_p95_ms", "p95"],
  ["executor_cpu_us_per_request", "CPU/req"],
];
const sd = (xs) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function study(results) {
  const ok = results.trials.filter((t) => t.status === "ok");
  const [a, b] = results.plan.variants.map((v) => v.name);
  const row = {};
  for (const [m] of metrics) {
    const logs = [];
    for (let r = 1; r <= results.plan.rounds; r++) {
      const x = ok.find((t) => t.variant === a && t.round === r)?.metrics[m];
      const y = ok.find((t) => t.variant === b && t.round === r)?.metrics[m];
      if (x > 0 && y > 0) logs.push(Math.log(y / x));
    }
    row[m] = logs.length >= 3 ? sd(logs) : NaN;
  }
  // a duet slice's wall time is both arms' trial's: it counts once
  row.sliceS = ok.reduce((s, t) => s + t.wallS / (t.duet?.arms.length ?? 1), 0) / results.plan.rounds;
  row.generator = median(ok.map((t) => t.metrics.generator_cpu_cores ?? NaN).filter(Number.isFinite));
  row.rpsList = ok.map((t) => t.metrics.rps);
  row.executorCores = median(ok.map((t) => t.metrics.executor_cpu_cores ?? NaN).filter(Number.isFinite));
  row.failed = results.summary.failedTrials;
  return row;
}

const rows = rowsArg.split(",");
const out = [];
let capacity;
for (const name of rows) {
  const options = { ...aa, out: join(dir, name) };
  if (name !== "alternate") options.design = "duet";
  if (name === "duet-each") options.duetExchange = "each";
  if (name === "open") {
    if (capacity === undefined) throw new Error("the open row is calibrated on the duet row: list duet before it");
    // half the machine's capacity, split evenly between the arms by the duet
    options.rate = Math.round(capacity / 2);
  }
  const t0 = Date.now();
  const doc = await run(options);
  const row = study(doc.results);
  // the duet's capacity: both arms' successful answers per second, summed per slice
  if (name === "duet") capacity = 2 * median(row.rpsList);
  out.push({ name, row, rate: options.rate, secs: (Date.now() - t0) / 1000 });
  console.log(
    `${name}: ${doc.results.plan.rounds} rounds in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${row.failed} failed trial(s), kept in ${options.out}`,
  );
}
console.log(
  `\n| design | rounds | s per paired slice | SD req/s | SD p95 | SD CPU/req | generator cores (median) | executor cores (median) |`,
);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const { name, row, rate } of out) {
  const label = name === "open" ? `open model, duet, ${rate} req/s in all` : name;
  const f = (x) => (Number.isFinite(x) ? x.toFixed(3) : "—");
  console.log(
    `| ${label} | ${rounds} | ${row.sliceS.toFixed(1)} | ${f(row.rps)} | ${f(row.latency_p95_ms)} | ${f(row.executor_cpu_us_per_request)} | ${f(row.generator)} | ${f(row.executorCores)} |`,
  );
}
