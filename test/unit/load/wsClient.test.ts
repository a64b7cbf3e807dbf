import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { WebSocketServer, type WebSocket, type PerMessageDeflateOptions } from "ws";
import { connectWs, parseDeflateAnswer } from "../../../harness/load/wsClient.js";
import { subscribeMarket } from "../../../harness/load/ws.js";

// the generator's own client against `ws`'s server, an implementation it shares no code with

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) (s.closeAllConnections(), s.close());
});

async function serve(
  perMessageDeflate: PerMessageDeflateOptions | false,
  onConnection: (ws: WebSocket) => void = () => {},
) {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate });
  wss.on("connection", onConnection);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const messages = (ws: { on(e: "message", f: (d: Buffer) => void): unknown }, n: number) =>
  new Promise<string[]>((resolve) => {
    const got: string[] = [];
    ws.on("message", (d) => {
      if (got.push(d.toString()) === n) resolve(got);
    });
  });

const payloads = Array.from({ length: 40 }, (_, i) =>
  JSON.stringify({ type: "ticker", data: { symbol: "BTC-USD", price: 100 + i, seq: i } }),
);

for (const [name, pmd] of [
  ["uncompressed", false],
  ["permessage-deflate with context takeover", { threshold: 0 }],
  ["permessage-deflate, server_no_context_takeover", { threshold: 0, serverNoContextTakeover: true }],
  ["permessage-deflate, a 9-bit window", { threshold: 0, serverMaxWindowBits: 9 }],
] as const) {
  test(`the lean client reads ${name}: plain, fragmented and large messages in order`, async () => {
    const url = await serve(pmd, (ws) => {
      for (const p of payloads) ws.send(p);
      // one message in three fragments, and one over 64 KiB (the 64-bit length, several inflate rounds)
      ws.send("frag-", { fin: false });
      ws.send("ment", { fin: false });
      ws.send("ed", { fin: true });
      ws.send("x".repeat(200_000));
    });
    const c = await connectWs(url + "/m");
    assert.equal(c.extensions.includes("permessage-deflate"), pmd !== false);
    const got = await messages(c, payloads.length + 2);
    assert.deepEqual(got.slice(0, payloads.length), payloads);
    assert.equal(got[payloads.length], "frag-mented");
    assert.equal(got[payloads.length + 1], "x".repeat(200_000));
    c.terminate();
  });
}

test("the lean client answers the server's pings, hears its pongs and sees its close", async () => {
  let server!: WebSocket;
  const url = await serve({ threshold: 0 }, (ws) => (server = ws));
  const c = await connectWs(url);
  const pong = new Promise<Buffer>((r) => server.once("pong", r));
  server.ping(Buffer.from("hi"));
  assert.equal((await pong).toString(), "hi");
  const heard = new Promise<void>((r) => c.once("pong", r));
  c.ping();
  await heard;
  const closed = new Promise<void>((r) => c.once("close", r));
  const serverSaw = new Promise<number>((r) => server.once("close", r));
  server.close(1001, "bye");
  await closed;
  assert.equal(await serverSaw, 1001);
});

test("a refused handshake names the URL and the status, as `ws` does", async () => {
  const server = http.createServer((_req, res) => res.writeHead(403).end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/market`;
  await assert.rejects(connectWs(url), { message: `WebSocket ${url}: Unexpected server response: 403` });
  await assert.rejects(connectWs("http://127.0.0.1:1/"), /must start with ws:\/\/ or wss:\/\//);
  await assert.rejects(
    subscribeMarket(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 3, new AbortController().signal),
    /Unexpected server response: 403 \(after 0 of 3 subscribers opened\)/,
  );
});

test("a thousand subscribers open against a server with the default accept backlog", async () => {
  let n = 0;
  const url = await serve(false, () => n++);
  const ac = new AbortController();
  const subs = await subscribeMarket(url.replace(/^ws/, "http"), 1000, ac.signal, { path: "/", headers: {} });
  assert.equal(subs.length, 1000);
  ac.abort();
  assert.equal(n, 1000);
});

test("the extension answer is read for permessage-deflate and its context takeover", () => {
  assert.equal(parseDeflateAnswer(undefined), undefined);
  assert.equal(parseDeflateAnswer("x-other"), undefined);
  assert.deepEqual(parseDeflateAnswer("permessage-deflate; client_max_window_bits=15"), {
    serverNoContextTakeover: false,
  });
  assert.deepEqual(parseDeflateAnswer("permessage-deflate; server_no_context_takeover; client_no_context_takeover"), {
    serverNoContextTakeover: true,
  });
});
