// Cost curves of the executor path as the work grows (issue 13; docs/performance.md). A benchmark.
//   node scripts/bench/curves.mjs connections [--points 1,4,16,64,256]
//   node scripts/bench/curves.mjs open-orders [--points 50,500,5000] [--out curve.json]
// Each point: a fresh exchange (HTTPS, 5 ms) and the optimized executor, 2 s warm-up, then
// --duration seconds of perfpack's closed-model load on GET /api/private/open-orders, --rounds
// times with the points interleaved. CPU from /proc; the generator's is this process's own.
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { readFileSync, writeFileSync } from "node:fs";
import { closedLoad } from "../../dist/harness/load/closed.js";
import { delta, scrape } from "../../dist/harness/load/exposition.js";
import { OPTIMIZED_ENV } from "../../dist/harness/plan/variants.js";
import { tlsFixture } from "../../dist/services/common/src/project.js";
import { cpuS, median, root, start, stop } from "./procs.mjs";
import { join } from "node:path";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string" },
    points: { type: "string" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
  },
});
const curve = positionals[0];
const DEFAULT_POINTS = { connections: "1,4,16,64,256", "open-orders": "50,500,5000" };
if (!(curve in DEFAULT_POINTS)) {
  console.error(`curves.mjs: unknown curve ${JSON.stringify(curve)}; accepted: ${Object.keys(DEFAULT_POINTS).join(", ")}`);
  process.exit(2);
}
const points = (a.points ?? DEFAULT_POINTS[curve]).split(",").map(Number);
const durationS = Number(a.duration);
const cli = join(root, "dist/harness/cli.js");
const ca = tlsFixture.ca();
const exAgent = new Agent({ connect: { ca: readFileSync(ca) } });

async function measure(point) {
  const orders = curve === "open-orders" ? point : 50;
  const connections = curve === "connections" ? point : Number(a.connections);
  const exchange = await start("exchange", process.execPath, [cli, "exchange", "--port", "0", "--open-orders", String(orders), "--max-open-orders", String(Math.max(1000, orders))], {});
  const executor = await start("executor", process.execPath, [cli, "executor", "--port", "0"], { ...OPTIMIZED_ENV, EXCHANGE_URL: exchange.url, EXCHANGE_CA_FILE: ca });
  try {
    const url = `${executor.url}/api/private/open-orders`;
    const signal = new AbortController().signal;
    await closedLoad({ url, connections, durationS: 2, signal });
    const calls = async () => (await (await request(`${exchange.url}/stats`, { dispatcher: exAgent })).body.json()).openOrdersCalls;
    const m0 = await scrape(executor.url);
    const [e0, x0, k0, g0] = [cpuS(executor.pid), cpuS(exchange.pid), await calls(), process.cpuUsage()];
    const r = await closedLoad({ url, connections, durationS, signal });
    const g = process.cpuUsage(g0);
    const d = delta(m0, await scrape(executor.url));
    const k = (await calls()) - k0;
    return {
      rps: r.perSecond,
      p50: r.latency?.p50,
      p95: r.latency?.p95,
      exeUs: ((cpuS(executor.pid) - e0) * 1e6) / r.responses,
      exchUs: ((cpuS(exchange.pid) - x0) * 1e6) / k,
      genUs: (g.user + g.system) / r.responses,
      // the executor's GC pauses (prom-client's histogram), as a share of the window
      gcMinor: (d.get('nodejs_gc_duration_seconds_sum{kind="minor"}') ?? 0) / r.elapsedS,
      gcMajor: ((d.get('nodejs_gc_duration_seconds_sum{kind="major"}') ?? 0) + (d.get('nodejs_gc_duration_seconds_sum{kind="incremental"}') ?? 0)) / r.elapsedS,
      errors: r.errors + r.non2xx,
    };
  } finally {
    await stop(executor);
    await stop(exchange);
  }
}

const rows = new Map(points.map((p) => [p, []]));
for (let round = 0; round < Number(a.rounds); round++) {
  const order = round % 2 ? [...points].reverse() : points;
  for (const p of order) {
    const m = await measure(p);
    rows.get(p).push(m);
    console.error(
      `round ${round + 1} ${curve}=${p}: ${m.rps.toFixed(0)} req/s, p95 ${m.p95?.toFixed(2)} ms, executor ${m.exeUs.toFixed(0)} µs/req, exchange ${m.exchUs.toFixed(0)} µs/call, generator ${m.genUs.toFixed(0)} µs/req`,
    );
  }
}
await exAgent.close();
const col = (ms, k, d) => median(ms.map((m) => m[k])).toFixed(d);
console.log(`\n${curve}: median of ${a.rounds} rounds of ${durationS} s${curve === "open-orders" ? `, c${a.connections}` : ", 50 open orders"}`);
console.log(`| ${curve} | req/s | p50 ms | p95 ms | executor µs/req | exchange µs/call | generator µs/req | executor GC minor / major | errors |\n|---|---|---|---|---|---|---|---|---|`);
const pct = (ms, k) => `${(100 * median(ms.map((m) => m[k]))).toFixed(1)}%`;
for (const [p, ms] of rows) {
  console.log(
    `| ${p} | ${col(ms, "rps", 0)} | ${col(ms, "p50", 2)} | ${col(ms, "p95", 2)} | ${col(ms, "exeUs", 0)} | ${col(ms, "exchUs", 0)} | ${col(ms, "genUs", 1)} | ${pct(ms, "gcMinor")} / ${pct(ms, "gcMajor")} | ${ms.reduce((s, m) => s + m.errors, 0)} |`,
  );
}
if (a.out) writeFileSync(a.out, JSON.stringify({ curve, points, rounds: Number(a.rounds), durationS, rows: Object.fromEntries(rows) }, null, 2) + "\n");
