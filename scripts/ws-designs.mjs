// The WebSocket fan-out designs side by side (a benchmark, not a test): for each subscriber
// count, one `perfpack run` of the ws scenario over the uncompressed baseline and every
// WS_FANOUT × WS_COALESCE design, then one markdown table of the medians over rounds.
// N@R runs N subscribers at a feed of R msg/s (--ws-rate; default 500): 1000@50 makes the same
// deliveries per second as 100 subscribers at 500.
//   npm run build && node scripts/ws-designs.mjs [--clients 10,100,1000,1000@50] [--rounds 2] [--out /tmp/ws-designs]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "10,100,1000,1000@50" },
    rounds: { type: "string", default: "2" },
    out: { type: "string", default: "/tmp/ws-designs" },
  },
});
const cli = new URL("../dist/harness/cli.js", import.meta.url).pathname;
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, d = 1) =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "—";
const name = (v) =>
  v === "baseline"
    ? "uncompressed (baseline)"
    : v
        .replace("WS_COMPRESS=true+", "")
        .replace("WS_FANOUT=", "")
        .replace("+WS_COALESCE=false", "")
        .replace("+WS_COALESCE=true", " + coalesce");

const rows = [];
for (const spec of values.clients.split(",")) {
  const [n, rate] = spec.split("@");
  const out = join(values.out, `n${n}${rate ? `-r${rate}` : ""}`);
  const common = [
    "--scenarios",
    "ws",
    "--ws-clients",
    n,
    "--rounds",
    values.rounds,
    ...(rate ? ["--ws-rate", rate] : []),
  ];
  const runs = [
    [...common, "--variants", "baseline", "--out", `${out}-baseline`],
    [
      ...common,
      "--matrix",
      "WS_COMPRESS=true",
      "--matrix",
      "WS_FANOUT=shared,shared-stateless,per-client-sync,per-client",
      "--matrix",
      "WS_COALESCE=false,true",
      "--out",
      out,
    ],
  ];
  for (const args of runs) {
    process.stderr.write(`perfpack run ${args.join(" ")}\n`);
    try {
      execFileSync(process.execPath, [cli, "run", ...args], { stdio: ["ignore", "ignore", "inherit"] });
    } catch {
      // a run with failed trials exits non-zero; its results.json still holds what finished
    }
    const r = JSON.parse(readFileSync(join(args[args.indexOf("--out") + 1], "results.json"), "utf8"));
    for (const v of r.plan.variants.map((x) => x.name)) {
      const trials = r.trials.filter((t) => t.variant === v);
      const ok = trials.filter((t) => t.status === "ok");
      const m = (k) => median(ok.map((t) => t.metrics[k]));
      rows.push([
        rate ? `${n} at ${rate} msg/s` : n,
        name(v),
        `${ok.length}/${trials.length}`,
        fmt(m("ws_msgs_per_s"), 0),
        fmt(m("ws_wire_bytes_per_msg")),
        fmt(m("ws_compression_ratio"), 2),
        fmt(m("executor_cpu_us_per_message")),
        fmt(m("executor_cpu_cores"), 2),
        fmt(m("ws_latency_p50_ms"), 2),
        fmt(m("ws_latency_p95_ms"), 2),
        fmt(m("generator_cpu_cores"), 2),
        fmt(m("executor_rss_max_mb"), 0),
      ]);
    }
  }
}
console.log(
  "| subscribers | design | trials ok | msgs/s | wire B/msg | ratio | executor CPU µs/msg | executor cores | p50 ms | p95 ms | generator cores | executor peak RSS MB |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
