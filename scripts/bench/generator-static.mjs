// perfpack's wire client against wrk on a static server, where nothing else competes for the
// CPU: the generator's own cost per request (docs/performance.md). A benchmark, not a test.
//   node scripts/bench/generator-static.mjs [--rounds 4] [--duration 4] [--bytes 20652]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { closedLoadWire } from "../../dist/harness/load/closed.js";
import { childrenCpuS, median, start, stopAll } from "./procs.mjs";

const { values: a } = parseArgs({ options: { rounds: { type: "string", default: "4" }, duration: { type: "string", default: "4" }, bytes: { type: "string", default: "20652" } } });
if (spawnSync("sh", ["-c", "command -v wrk"]).status !== 0) {
  console.error("generator-static.mjs needs wrk (Debian package wrk)");
  process.exit(2);
}
const durationS = Number(a.duration);
const server = await start("static server", process.execPath, [
  "-e",
  `const b = Buffer.alloc(${Number(a.bytes)}, 0x61); require("node:http").createServer((q, r) => r.writeHead(200, { "content-length": b.length }).end(b)).listen(0, "127.0.0.1", function () { console.log("listening http://127.0.0.1:" + this.address().port + "/"); });`,
]);
const wire = [];
const wrk = [];
for (let k = 0; k < Number(a.rounds); k++) {
  const c0 = process.cpuUsage();
  const r = await closedLoadWire({ url: server.url, connections: 32, durationS, signal: new AbortController().signal });
  const c = process.cpuUsage(c0);
  wire.push({ rps: r.responses / durationS, us: (c.user + c.system) / r.responses });
  const out = spawnSync("sh", ["-c", `wrk -t1 -c32 -d${durationS}s ${server.url}; cat /proc/$$/stat`], { encoding: "utf8" }).stdout;
  const n = Number(/(\d+) requests in/.exec(out)[1]);
  wrk.push({ rps: n / durationS, us: (childrenCpuS(out) * 1e6) / n });
  console.error(`round ${k + 1}: wire ${wire.at(-1).rps.toFixed(0)} req/s ${wire.at(-1).us.toFixed(1)} µs/req; wrk ${wrk.at(-1).rps.toFixed(0)} req/s ${wrk.at(-1).us.toFixed(1)} µs/req`);
}
await stopAll();
const row = (name, xs) =>
  `| ${name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${median(xs.map((x) => x.us)).toFixed(1)} (${Math.min(...xs.map((x) => x.us)).toFixed(1)}–${Math.max(...xs.map((x) => x.us)).toFixed(1)}) |`;
console.log(`| generator (c32, ${a.bytes}-byte answers) | req/s | CPU µs/req, median (range) |\n|---|---|---|\n${row("perfpack wire client", wire)}\n${row("wrk -t1", wrk)}`);
