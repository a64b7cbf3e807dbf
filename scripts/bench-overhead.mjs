// What the harness and the reference executor cost, side by side in one run (a benchmark, not a test).
//   npm run bench:overhead [-- --rounds 3 --duration 8 --warmup 2 --connections 32 --out reports/overhead.json]
//   --services <dir>: start the executor and the exchange from another built checkout of perfpack
//   (its dist/harness/cli.js), to measure a before and an after on the same machine.
// Each round runs, in a seeded random order, GET /api/private/open-orders (50 orders) under c32:
//   exe·wrk    the optimized executor, loaded by wrk (the leanest generator)
//   proxy·wrk  scripts/bench/minimal-proxy.mjs (the least work the endpoint needs), loaded by wrk
//   exe·ac     the executor, loaded by autocannon's CLI
//   exe·pp     the executor, loaded by perfpack's closed-model generator (closedLoad: the wire client, in this process)
//   exe·acl    the executor, loaded by autocannon as a library in this process (perfpack's generator before issue 13)
//   exe·floor  the executor, loaded by scripts/bench/node-floor.mjs in this process: the least a Node.js
//              client can do per answer, so the table shows how much of perfpack's gap to wrk is Node.js
// CPU comes from /proc (utime + stime) of each process over each window. Without wrk (Debian
// package wrk), autocannon's CLI takes its place as the reference generator, and the script says so.
// --slices N (default 4) cuts each arm's measured time in a round into N slices, interleaved
// between the arms in a fresh random order per slice: on a shared VM the machine's speed drifts
// by 2× and more within a minute (wrk's own CPU per request, a constant of the work, was
// measured at 46–209 µs/req between 8 s windows of one run), and a ratio of two arms measured
// minutes apart is mostly that drift. Each arm's figures in a round are the sums over its
// slices. autocannon's CLI then pays its start-up once per slice.
import { spawn, spawnSync } from "node:child_process";
import { nodeFloorLoad } from "./bench/node-floor.mjs";
import { childrenCpuS, cpuS, median, root, start, stopAll } from "./bench/procs.mjs";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { closedLoad, closedLoadAutocannon } from "../dist/harness/load/closed.js";
import { OPTIMIZED_ENV } from "../dist/harness/plan/variants.js";
import { tlsFixture } from "../dist/services/common/src/project.js";
import { seededRandom } from "../dist/services/common/src/rng.js";

const { values: a } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    seed: { type: "string", default: "1" },
    slices: { type: "string", default: "4" },
    out: { type: "string", default: join(root, "reports", "overhead.json") },
    services: { type: "string", default: root },
  },
});
const rounds = Number(a.rounds);
const durationS = Number(a.duration);
const warmupS = Number(a.warmup);
const connections = Number(a.connections);
const slices = Math.max(1, Number(a.slices));
// wrk takes whole seconds
const sliceS = Math.max(1, Math.round(durationS / slices));
const hasWrk = spawnSync("sh", ["-c", "command -v wrk"]).status === 0;
if (!hasWrk)
  console.error("wrk is not installed (apt-get install wrk): autocannon's CLI is the reference generator instead");

const ca = tlsFixture.ca();
const servicesCli = join(a.services, "dist/harness/cli.js");
const exchange = await start("exchange", process.execPath, [servicesCli, "exchange", "--port", "0"], {});
const upstream = { EXCHANGE_URL: exchange.url, EXCHANGE_CA_FILE: ca };
const [executor, proxy] = await Promise.all([
  start("executor", process.execPath, [servicesCli, "executor", "--port", "0"], { ...OPTIMIZED_ENV, ...upstream }),
  start("proxy", process.execPath, [join(root, "scripts/bench/minimal-proxy.mjs")], { PORT: "0", ...upstream }),
]);
const exAgent = new Agent({ connect: { ca: readFileSync(ca) } });
const exchangeCalls = async () =>
  (await (await request(`${exchange.url}/stats`, { dispatcher: exAgent })).body.json()).openOrdersCalls;

/** One external generator run; returns its requests and its CPU seconds (the shell's waited-for child). */
function external(kind, url) {
  const cmd =
    kind === "wrk"
      ? `wrk -t1 -c${connections} -d${sliceS}s ${url}`
      : `"${join(root, "node_modules/.bin/autocannon")}" -c ${connections} -d ${sliceS} --json ${url} 2>/dev/null`;
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", `${cmd} > "$1"; cat /proc/$$/stat`, "sh", join(tmpOut, `${kind}.out`)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stat = "";
    child.stdout.on("data", (d) => (stat += d));
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${kind} exited ${code}`));
      const genCpuS = childrenCpuS(stat);
      const text = readFileSync(join(tmpOut, `${kind}.out`), "utf8");
      const requests = kind === "wrk" ? Number(/(\d+) requests in/.exec(text)?.[1]) : JSON.parse(text).requests.total;
      resolve({ requests, genCpuS });
    });
  });
}

async function perfpackGenerator(url, load) {
  const c0 = process.cpuUsage();
  const r = await load({ url, connections, durationS: sliceS, signal: new AbortController().signal });
  const c = process.cpuUsage(c0);
  return { requests: r.responses, genCpuS: (c.user + c.system) / 1e6 };
}

const tmpOut = join(dirname(a.out), ".overhead-tmp");
mkdirSync(tmpOut, { recursive: true });
const gen0 = hasWrk ? "wrk" : "ac";
const ARMS = [
  { id: `exe·${gen0}`, target: executor, gen: gen0 },
  { id: `proxy·${gen0}`, target: proxy, gen: gen0 },
  ...(hasWrk ? [{ id: "exe·ac", target: executor, gen: "ac" }] : []),
  { id: "exe·pp", target: executor, gen: "pp" },
  { id: "exe·acl", target: executor, gen: "acl" },
  { id: "exe·floor", target: executor, gen: "floor" },
];
const path = "/api/private/open-orders";
const rand = seededRandom(Number(a.seed));
const rows = [];
for (let round = 1; round <= rounds; round++) {
  const acc = new Map(
    ARMS.map((arm) => [arm.id, { requests: 0, targetCpuS: 0, genCpuS: 0, exchangeCpuS: 0, calls: 0, wallS: 0 }]),
  );
  for (let slice = 0; slice < slices; slice++) {
    // Fisher–Yates, seeded: each slice its own order, so no arm always runs first
    const order = [...ARMS];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const arm of order) {
      // the proxy answers open orders on any path
      const url = `${arm.target.url}${path}`;
      // warm-up, not counted: the same target under perfpack's generator
      await closedLoad({ url, connections, durationS: warmupS / slices, signal: new AbortController().signal });
      const t0 = cpuS(arm.target.pid);
      const x0 = cpuS(exchange.pid);
      const calls0 = await exchangeCalls();
      const w0 = performance.now();
      const g =
        arm.gen === "pp"
          ? await perfpackGenerator(url, closedLoad)
          : arm.gen === "acl"
            ? await perfpackGenerator(url, closedLoadAutocannon)
            : arm.gen === "floor"
              ? await perfpackGenerator(url, nodeFloorLoad)
              : await external(arm.gen === "wrk" ? "wrk" : "autocannon", url);
      const s = acc.get(arm.id);
      s.wallS += (performance.now() - w0) / 1000;
      s.targetCpuS += cpuS(arm.target.pid) - t0;
      s.exchangeCpuS += cpuS(exchange.pid) - x0;
      s.calls += (await exchangeCalls()) - calls0;
      s.requests += g.requests;
      s.genCpuS += g.genCpuS;
    }
  }
  for (const arm of ARMS) {
    const s = acc.get(arm.id);
    const row = {
      round,
      arm: arm.id,
      requests: s.requests,
      rps: s.requests / (sliceS * slices),
      targetUsPerReq: (s.targetCpuS * 1e6) / s.requests,
      generatorUsPerReq: (s.genCpuS * 1e6) / s.requests,
      exchangeUsPerCall: s.calls > 0 ? (s.exchangeCpuS * 1e6) / s.calls : NaN,
      wallS: s.wallS,
    };
    rows.push(row);
    console.error(
      `round ${round} ${arm.id.padEnd(9)} ${row.rps.toFixed(0).padStart(5)} req/s; target ${row.targetUsPerReq.toFixed(0)} µs/req, generator ${row.generatorUsPerReq.toFixed(0)} µs/req, exchange ${row.exchangeUsPerCall.toFixed(0)} µs/call`,
    );
  }
}
await stopAll();
await exAgent.close();

const per = (arm, round, k) => rows.find((r) => r.arm === arm && r.round === round)?.[k];
const ratio = (label, goal, num, den) => {
  const xs = [];
  for (let round = 1; round <= rounds; round++) xs.push(num(round) / den(round));
  return { label, goal, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), perRound: xs };
};
const ratios = [
  ratio(
    "executor / minimal proxy, CPU per request (optimized, open-orders)",
    1.1,
    (r) => per(`exe·${gen0}`, r, "targetUsPerReq"),
    (r) => per(`proxy·${gen0}`, r, "targetUsPerReq"),
  ),
  ratio(
    `perfpack's generator / ${hasWrk ? "wrk" : "autocannon CLI"}, CPU per request`,
    1.3,
    (r) => per("exe·pp", r, "generatorUsPerReq"),
    (r) => per(`exe·${gen0}`, r, "generatorUsPerReq"),
  ),
  ratio(
    `autocannon in-process (the generator before) / ${hasWrk ? "wrk" : "autocannon CLI"}, CPU per request`,
    undefined,
    (r) => per("exe·acl", r, "generatorUsPerReq"),
    (r) => per(`exe·${gen0}`, r, "generatorUsPerReq"),
  ),
  ratio(
    `the Node.js floor (scripts/bench/node-floor.mjs) / ${hasWrk ? "wrk" : "autocannon CLI"}, CPU per request`,
    undefined,
    (r) => per("exe·floor", r, "generatorUsPerReq"),
    (r) => per(`exe·${gen0}`, r, "generatorUsPerReq"),
  ),
  ratio(
    "perfpack's generator / the Node.js floor, CPU per request",
    undefined,
    (r) => per("exe·pp", r, "generatorUsPerReq"),
    (r) => per("exe·floor", r, "generatorUsPerReq"),
  ),
  ...(hasWrk
    ? [
        ratio(
          "autocannon CLI / wrk, CPU per request",
          undefined,
          (r) => per("exe·ac", r, "generatorUsPerReq"),
          (r) => per("exe·wrk", r, "generatorUsPerReq"),
        ),
      ]
    : []),
  ratio(
    "exchange per call / executor per request, CPU",
    0.2,
    (r) => per(`exe·${gen0}`, r, "exchangeUsPerCall"),
    (r) => per(`exe·${gen0}`, r, "targetUsPerReq"),
  ),
];
console.log(
  `\n${rounds} rounds of ${slices} × ${sliceS} s per arm, each after ${warmupS / slices} s, arms interleaved per slice; c${connections}, seed ${a.seed}; reference generator: ${hasWrk ? "wrk" : "autocannon CLI (wrk not installed)"}`,
);
console.log("| ratio | median | rounds' range | goal | rounds over 1.5× |\n|---|---|---|---|---|");
for (const r of ratios)
  console.log(
    `| ${r.label} | ${r.median.toFixed(2)}× | ${r.min.toFixed(2)}–${r.max.toFixed(2)} | ${r.goal === undefined ? "" : `≤ ${r.goal}×`} | ${r.perRound.filter((x) => x > 1.5).length} |`,
  );
mkdirSync(dirname(a.out), { recursive: true });
writeFileSync(
  a.out,
  JSON.stringify(
    {
      schema: "perfpack/overhead@1",
      services: a.services,
      rounds,
      durationS,
      slices,
      sliceS,
      warmupS,
      connections,
      seed: Number(a.seed),
      referenceGenerator: hasWrk ? "wrk" : "autocannon",
      rows,
      ratios,
    },
    null,
    2,
  ) + "\n",
);
console.log(`written: ${a.out}`);
