// A user's own executor, written with Fastify: the kind of service `perfpack run --executor-cmd`
// measures. It follows perfpack's contract for a user's service (docs/cli.md, "Your own service"):
//   - it listens on PORT and HOST, and prints `listening <url>` when ready;
//   - its upstream is EXCHANGE_URL, trusted through EXCHANGE_CA_FILE;
//   - it reads the variant's toggles from its environment; this one honours HTTP_KEEPALIVE only.
// It has no metrics endpoint, so perfpack reports its metric-based figures as not measured.
//
//   npx perfpack run --executor-cmd "node examples/fastify-executor/server.mjs" --scenarios latency,batch
import { readFileSync } from "node:fs";
import Fastify from "fastify";
import { Agent } from "undici";

const env = process.env;
const keepAlive = env.HTTP_KEEPALIVE === "true";
const upstream = new URL(env.EXCHANGE_URL);
const agent = new Agent({
  connect: upstream.protocol === "https:" ? { ca: readFileSync(env.EXCHANGE_CA_FILE) } : {},
  connections: Number(env.HTTP_KEEPALIVE_MAX_SOCKETS ?? 256),
  keepAliveTimeout: Number(env.HTTP_KEEPALIVE_TIMEOUT_MS ?? 60000),
});
let seq = 0;

/** One call to the exchange; keep-alive off means a fresh connection per request. */
async function exchange(method, path, body) {
  const res = await agent.request({
    origin: upstream.origin,
    path,
    method,
    reset: !keepAlive,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: await res.body.json() };
}

const app = Fastify({ bodyLimit: 16384 });

app.get("/health", async () => ({ ok: true }));

app.get("/api/private/open-orders", async (_req, reply) => {
  const r = await exchange("GET", "/fapi/v1/openOrders");
  if (r.status !== 200) return reply.code(502).send({ error: "upstream", message: `exchange answered ${r.status}` });
  return { count: r.body.length, orders: r.body };
});

const SYMBOLS = new Set(["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
app.post("/api/private/order", async (req, reply) => {
  const o = req.body ?? {};
  if (!SYMBOLS.has(o.symbol) || !["BUY", "SELL"].includes(o.side) || o.type !== "MARKET" || !(Number(o.quantity) > 0)) {
    return reply.code(400).send({ error: "bad_order", message: "expected symbol (BTCUSDT, ETHUSDT, SOLUSDT), side (BUY, SELL), type MARKET and a positive quantity" });
  }
  const newClientOrderId = typeof o.clientOrderId === "string" ? o.clientOrderId : `fx${process.pid.toString(36)}-${(seq++).toString(36)}`;
  const r = await exchange("POST", "/fapi/v1/order", { symbol: o.symbol, side: o.side, type: "MARKET", quantity: String(o.quantity), newClientOrderId });
  if (r.status !== 200) return reply.code(502).send({ error: "upstream", message: `exchange answered ${r.status}`, upstream: r.body });
  return { order: r.body };
});

const address = await app.listen({ port: Number(env.PORT ?? 4001), host: env.HOST ?? "127.0.0.1" });
console.log(`listening ${address}`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, async () => {
    await app.close();
    await agent.close();
    process.exit(0);
  });
}
