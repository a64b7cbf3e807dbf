// What three parts of the Performance Pack's design cost the executor per open-orders request
// (issue 13), each timed in this process against the same work without it. A benchmark, not a test.
//   node scripts/bench/executor-parts.mjs
//   view copy      toOpenOrderView over the 50 fixture orders, against the schema loop it replaced
//   metrics        the observations one open-orders request makes (HTTP histogram, JSON histogram,
//                  JSON gauge and counter, upstream counter), against none
//   accounting     an undici request to a local server with the connection-accounting subscriber
//                  on undici:client:sendHeaders, against the same request without it (CPU per request)
import diagnostics from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import http from "node:http";
import { Agent } from "undici";
import { OPEN_ORDER_SCHEMA, toOpenOrderView } from "../../dist/services/executor/src/lib/fastJson.js";
import { createMetrics } from "../../dist/services/executor/src/lib/metrics.js";
import { fixturePath } from "../../dist/services/common/src/project.js";
import { median, usPerCall } from "./procs.mjs";

const orders = JSON.parse(readFileSync(fixturePath("open-orders-50.json"), "utf8"));
const bySchema = (o) => {
  const out = {};
  for (const [k, t] of OPEN_ORDER_SCHEMA) out[k] = t === "number" ? Number(o[k] ?? 0) : t === "boolean" ? Boolean(o[k]) : String(o[k] ?? "");
  return out;
};
const perCall = (fn) => usPerCall(fn, 7);
const rows = [];
let sink = 0;
rows.push(["view copy of 50 orders, written out (now)", perCall(() => (sink += orders.map(toOpenOrderView).length))]);
rows.push(["view copy of 50 orders, schema loop (before)", perCall(() => (sink += orders.map(bySchema).length))]);

const m = createMetrics();
const hist = m.jsonSerialization.labels("fast");
const mem = m.jsonMemory.labels("fast");
rows.push([
  "metric observations of one open-orders request",
  perCall(() => {
    m.httpDuration.labels("GET", "/api/private/open-orders", "200").observe(3.2);
    hist.observe(0.04);
    mem.set(20652);
    m.jsonCacheHits.inc();
    m.upstreamRequests.labels("openOrders", "ok").inc();
  }),
]);

// accounting: CPU per request of undici against a local keep-alive server, subscriber on and off
const body = Buffer.from(JSON.stringify(orders));
const server = http.createServer((_q, res) => res.writeHead(200, { "content-length": body.length }).end(body));
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;
const agent = new Agent({ connections: 8, pipelining: 1 });
const counts = new WeakMap();
const onSend = ({ socket }) => counts.set(socket, (counts.get(socket) ?? 0) + 1);
async function cpuPerRequest(n) {
  const c0 = process.cpuUsage();
  let left = n;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0) await (await agent.request({ origin, path: "/", method: "GET" })).body.dump();
    }),
  );
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}
await cpuPerRequest(3000);
const on = [];
const off = [];
for (let r = 0; r < 6; r++) {
  diagnostics.subscribe("undici:client:sendHeaders", onSend);
  on.push(await cpuPerRequest(4000));
  diagnostics.unsubscribe("undici:client:sendHeaders", onSend);
  off.push(await cpuPerRequest(4000));
}
rows.push(["undici request + sendHeaders subscriber (CPU of client and server, one process)", median(on)]);
rows.push(["undici request, no subscriber (CPU of client and server, one process)", median(off)]);
await agent.close();
server.close();
console.log("| part | µs per request |\n|---|---|");
for (const [k, v] of rows) console.log(`| ${k} | ${v.toFixed(2)} |`);
if (sink < 0) console.log(sink);
