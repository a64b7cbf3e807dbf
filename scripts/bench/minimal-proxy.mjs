// The least work GET /api/private/open-orders needs: one kept-alive HTTPS call to the exchange,
// parse its JSON, answer { count, orders }. bench-overhead.mjs measures the executor against it.
// Contract as perfpack's --executor-cmd: PORT, EXCHANGE_URL, EXCHANGE_CA_FILE; prints `listening <url>`.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Agent, request } from "undici";

const upstream = process.env.EXCHANGE_URL;
const agent = new Agent({ connect: { ca: readFileSync(process.env.EXCHANGE_CA_FILE) }, keepAliveTimeout: 60_000, connections: 256 });
const server = createServer(async (req, res) => {
  try {
    const r = await request(`${upstream}/fapi/v1/openOrders`, { dispatcher: agent });
    const orders = await r.body.json();
    const body = JSON.stringify({ count: orders.length, orders });
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) }).end(body);
  } catch {
    res.writeHead(502).end();
  }
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => console.log(`listening http://127.0.0.1:${server.address().port}`));
process.on("SIGTERM", () => server.close(() => agent.close().then(() => process.exit(0))));
