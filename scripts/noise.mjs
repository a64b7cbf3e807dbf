// The noise of an A/A run (a benchmark of the machine and of perfpack's settings, not a test):
// the SD, across rounds, of the paired log ratio between two identical variants, for each gate
// metric, and the rounds a paired t interval needs to resolve a given effect.
//   npx perfpack run --matrix HTTP_KEEPALIVE_TIMEOUT_MS=60000,60001 --env HTTP_KEEPALIVE=true \
//     --env JSON_STRINGIFIER=fast --scenarios latency --rounds 10 --duration 5 --warmup 1 --out /tmp/aa
//   node scripts/noise.mjs /tmp/aa/results.json [effect=0.05]
import { readFileSync } from "node:fs";

const [file, effectArg = "0.05"] = process.argv.slice(2);
const r = JSON.parse(readFileSync(file, "utf8"));
const effect = Number(effectArg);
const [a, b] = r.plan.variants.map((v) => v.name);
const ok = r.trials.filter((t) => t.status === "ok");
const metrics = ["rps", "latency_p50_ms", "latency_p95_ms", "executor_cpu_us_per_request"];
const sd = (xs) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};
const wall = ok.reduce((s, t) => s + t.wallS, 0);
console.log(
  `${file}: ${a} vs ${b}, ${r.plan.rounds} rounds of ${r.plan.durationS} s after ${r.plan.warmupS} s; ${ok.length} ok trials, ${wall.toFixed(0)} s of trials`,
);
for (const m of metrics) {
  const logs = [];
  for (let round = 1; round <= r.plan.rounds; round++) {
    const x = ok.find((t) => t.variant === a && t.round === round)?.metrics[m];
    const y = ok.find((t) => t.variant === b && t.round === round)?.metrics[m];
    if (x > 0 && y > 0) logs.push(Math.log(y / x));
  }
  if (logs.length < 3) continue;
  const s = sd(logs);
  // rounds for a 95% one-sided bound to clear `effect` with 90% power: n ≈ ((z.95 + z.90)·s/effect)²
  const n = Math.ceil((((1.645 + 1.282) * s) / effect) ** 2);
  console.log(
    `  ${m.padEnd(30)} paired log-ratio SD ${s.toFixed(3)} over ${logs.length} rounds; rounds for ±${effect * 100}% at 90% power ≈ ${n}`,
  );
}
