// Benchmark (not a test): GET /api/private/open-orders through the reference executor to the
// HTTPS mock exchange, HTTP_KEEPALIVE=false against true, rounds interleaved (A B, B A, ...).
// Latency comes from autocannon's per-response events (sub-millisecond), into an HDR histogram.
// Usage: npm run build && node scripts/bench-keepalive.mjs [rounds=3] [seconds=10] [connections=32]
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";
import { startStack } from "../dist/harness/engine/rig.js";

const [rounds = 3, seconds = 10, connections = 32] = process.argv.slice(2).map(Number);
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
};

async function trial(keepAlive) {
  const stack = await startStack({ executorEnv: { HTTP_KEEPALIVE: String(keepAlive) } });
  try {
    const url = `${stack.executor.url}/api/private/open-orders`;
    await autocannon({ url, connections, duration: 2 }); // warm-up, discarded
    const h = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3,
    });
    const opened = async () =>
      Number(
        /^spark_http_upstream_connections_opened_total (\S+)/m.exec(
          await (await fetch(`${stack.executor.url}/api/public/metrics/prom`)).text(),
        )?.[1],
      );
    const opened0 = await opened();
    const cpu0 = cpuSeconds(stack.executor.pid);
    const me0 = process.cpuUsage();
    const inst = autocannon({ url, connections, duration: seconds });
    inst.on("response", (_c, _status, _bytes, ms) => h.recordValue(Math.round(ms * 1000)));
    const r = await inst;
    const me = process.cpuUsage(me0);
    const cpu = cpuSeconds(stack.executor.pid) - cpu0;
    const openedDuring = (await opened()) - opened0;
    const reqs = r.requests.total;
    return {
      keepAlive,
      rps: r.requests.average,
      p50: h.getValueAtPercentile(50) / 1000,
      p95: h.getValueAtPercentile(95) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      errors: r.errors + r.non2xx,
      cpuMsPerReq: (cpu * 1000) / reqs,
      genCpuShare: (me.user + me.system) / 1e6 / seconds,
      upstreamConnsPerReq: openedDuring / reqs,
    };
  } finally {
    await stack.stop();
  }
}

const rows = [];
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  for (const ka of order) {
    const row = await trial(ka);
    rows.push(row);
    console.log(JSON.stringify({ round, ...row }));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const ka of [false, true]) {
  const rs = rows.filter((r) => r.keepAlive === ka);
  console.log(
    `HTTP_KEEPALIVE=${ka}: median req/s ${median(rs.map((r) => r.rps)).toFixed(0)}, p50 ${median(rs.map((r) => r.p50)).toFixed(2)} ms, ` +
      `p95 ${median(rs.map((r) => r.p95)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.p99)).toFixed(2)} ms, ` +
      `executor CPU ${median(rs.map((r) => r.cpuMsPerReq)).toFixed(3)} ms/req, upstream conns/req ${median(rs.map((r) => r.upstreamConnsPerReq)).toFixed(3)}, ` +
      `generator CPU ${median(rs.map((r) => r.genCpuShare)).toFixed(2)} cores, errors ${rs.reduce((a, r) => a + r.errors, 0)}`,
  );
}
