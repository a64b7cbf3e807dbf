// perfpack's wire client against wrk on a static server, where nothing else competes for the
// CPU: the generator's own cost per request (docs/performance.md). A benchmark, not a test.
// Besides GET: POST with the batch scenario's fixed body, and with a body template whose
// {{seq}} and {{uuid}} are filled per request (issue 22: what a unique order id costs).
//   node scripts/bench/generator-static.mjs [--rounds 4] [--duration 4] [--bytes 20652]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { closedLoadWire } from "../../dist/harness/load/closed.js";
import { BodyTemplate } from "../../dist/harness/load/request.js";
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
const ORDER = { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" };
const arms = [
  ["perfpack wire client, GET", {}],
  ["wire client, POST, fixed body", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ORDER) }],
  ["wire client, POST, {{seq}} + {{uuid}} body", { method: "POST", headers: { "content-type": "application/json" }, body: new BodyTemplate(JSON.stringify({ ...ORDER, clientOrderId: "pp-{{seq}}", trace: "{{uuid}}" })) }],
];
const wires = arms.map(() => []);
const wrk = [];
for (let k = 0; k < Number(a.rounds); k++) {
  for (const [i, [, o]] of arms.entries()) {
    const c0 = process.cpuUsage();
    const r = await closedLoadWire({ url: server.url, connections: 32, durationS, signal: new AbortController().signal, ...o });
    const c = process.cpuUsage(c0);
    wires[i].push({ rps: r.responses / durationS, us: (c.user + c.system) / r.responses });
  }
  const wire = wires[0];
  const out = spawnSync("sh", ["-c", `wrk -t1 -c32 -d${durationS}s ${server.url}; cat /proc/$$/stat`], { encoding: "utf8" }).stdout;
  const n = Number(/(\d+) requests in/.exec(out)[1]);
  wrk.push({ rps: n / durationS, us: (childrenCpuS(out) * 1e6) / n });
  console.error(`round ${k + 1}: wire ${wire.at(-1).rps.toFixed(0)} req/s ${wire.at(-1).us.toFixed(1)} µs/req (POST ${wires[1].at(-1).us.toFixed(1)}, templated ${wires[2].at(-1).us.toFixed(1)}); wrk ${wrk.at(-1).rps.toFixed(0)} req/s ${wrk.at(-1).us.toFixed(1)} µs/req`);
}
await stopAll();
const row = (name, xs) =>
  `| ${name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${median(xs.map((x) => x.us)).toFixed(1)} (${Math.min(...xs.map((x) => x.us)).toFixed(1)}–${Math.max(...xs.map((x) => x.us)).toFixed(1)}) |`;
console.log(`| generator (c32, ${a.bytes}-byte answers) | req/s | CPU µs/req, median (range) |\n|---|---|---|\n${arms.map(([name], i) => row(name, wires[i])).join("\n")}\n${row("wrk -t1 (GET)", wrk)}`);
