import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { AnswerTally } from "../../../harness/load/answers.js";
import { dueTimes, openLoad } from "../../../harness/load/open.js";
import { WireOpenPool } from "../../../harness/load/open-wire.js";
import { BodyTemplate } from "../../../harness/load/request.js";

test("the open model keeps its schedule through a stall, and counts the stall against every request that fell due in it", async () => {
  // one connection, and a server that stalls once for 300 ms: requests that fall due meanwhile
  // wait; a closed-loop clock (uncorrected) starts when they finally go, the corrected one when they were due
  let n = 0;
  const server = http.createServer((_req, res) => {
    const stall = n++ === 5 ? 300 : 0;
    setTimeout(() => res.end("ok"), stall);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  try {
    const r = await openLoad({
      url: `http://127.0.0.1:${port}/`,
      rate: 100,
      durationS: 1,
      connections: 1,
      signal: new AbortController().signal,
    });
    assert.equal(r.sent, 100);
    assert.equal(r.responses, 100);
    assert.equal(r.ok, 100);
    assert.equal(r.errors, 0);
    assert.ok(r.corrected && r.uncorrected);
    // corrected latency ≥ uncorrected for every request, so for every percentile
    assert.ok(r.corrected.p99 >= r.uncorrected.p99);
    assert.ok(r.corrected.p50 >= r.uncorrected.p50);
    // about 30 requests fell due inside the stall: the corrected p95 sees it, the uncorrected p95 does not
    assert.ok(r.corrected.p95 > 100, `corrected p95 ${r.corrected.p95} ms`);
    assert.ok(r.uncorrected.p95 < r.corrected.p95 / 2, `uncorrected p95 ${r.uncorrected.p95} ms`);
  } finally {
    server.close();
  }
});

test("on plain HTTP the open model opens at most --connections connections, fills the body template per request, and tallies failing answers with their body", async () => {
  const sockets = new Set<unknown>();
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      bodies.push(body);
      const n = bodies.length;
      // every fifth answer refuses the order; the answers come late enough that requests queue
      setTimeout(() => (n % 5 === 0 ? res.writeHead(422).end('{"error":"rejected"}') : res.end("ok")), 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  try {
    const r = await openLoad({
      url: `http://127.0.0.1:${port}/orders`,
      method: "POST",
      body: new BodyTemplate('{"id":"o-{{seq}}"}'),
      rate: 200,
      durationS: 0.5,
      connections: 3,
      signal: new AbortController().signal,
    });
    assert.equal(r.sent, 100);
    assert.equal(r.responses, 100);
    assert.equal(r.ok, 80);
    assert.equal(r.non2xx, 20);
    assert.ok(sockets.size <= 3, `${sockets.size} connections`);
    assert.equal(new Set(bodies).size, 100, "a fresh body per request");
    assert.deepEqual(r.answers.record().first, { status: 422, body: '{"error":"rejected"}' });
  } finally {
    server.close();
  }
});

test("a refused target: every request that fell due fails as refused, and none is left waiting", async () => {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  const r = await openLoad({
    url: `http://127.0.0.1:${port}/`,
    rate: 50,
    durationS: 0.2,
    connections: 2,
    signal: new AbortController().signal,
  });
  assert.equal(r.sent, 10);
  assert.equal(r.responses, 0);
  assert.equal(r.answers.record().transport.refused, 10);
});

test("aborting the open model settles what is queued and in flight at once", async () => {
  const server = http.createServer(() => {
    // never answers
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  try {
    const r = await openLoad({
      url: `http://127.0.0.1:${port}/`,
      rate: 100,
      durationS: 5,
      connections: 2,
      signal: ac.signal,
    });
    assert.ok(r.sent > 0 && r.sent < 500, `sent ${r.sent}: the schedule stopped at the abort`);
    assert.equal(r.responses, 0);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("one wire pool carries a mix of requests (the soak's orders and reads): each with its own method, path, headers and body, a HEAD answer framed without its body", async () => {
  const seen: string[] = [];
  const sockets = new Set<unknown>();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      seen.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers["x-k"] ?? "-"} ${body || "-"}`);
      // HEAD: the length of the body a GET would get, and no body
      if (req.method === "HEAD") res.writeHead(200, { "content-length": "1000" }).end();
      else
        res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "text/plain" }).end(`${req.method} answer`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const tally = new AnswerTally();
  const pool = new WireOpenPool({ url: `http://127.0.0.1:${port}/default` }, 1, tally, { recordMs: () => {} });
  try {
    const now = performance.now();
    await Promise.all([
      pool.fire(now, { method: "post", path: "/orders", headers: { "x-k": "1" }, body: '{"n":1}' }),
      pool.fire(now, { method: "HEAD", path: "/orders?symbol=BTCUSDT" }),
      pool.fire(now, { method: "GET", path: "/orders?symbol=ETHUSDT", headers: { "x-k": "2" } }),
      pool.fire(now),
    ]);
    assert.deepEqual(seen, [
      `POST /orders 127.0.0.1:${port} 1 {"n":1}`,
      `HEAD /orders?symbol=BTCUSDT 127.0.0.1:${port} - -`,
      `GET /orders?symbol=ETHUSDT 127.0.0.1:${port} 2 -`,
      `GET /default 127.0.0.1:${port} - -`,
    ]);
    assert.equal(sockets.size, 1, "one kept-alive connection carried all four");
    assert.equal(tally.ok, 4);
    assert.equal(tally.errors, 0);
  } finally {
    pool.close();
    server.close();
  }
});

test("dueTimes: constant arrivals without a ramp; along a ramp, slower at first, then the rate, continuous", () => {
  const flat = dueTimes(1000, undefined);
  assert.equal(flat(0), 0);
  assert.equal(flat(500), 500);
  // 1,000/s, from a tenth over 1 s: 100 + 900/2 = 550 requests by the ramp's end
  const due = dueTimes(1000, { ms: 1000, from: 0.1 });
  assert.equal(due(0), 0);
  assert.ok(Math.abs(due(550) - 1000) < 1e-6, `${due(550)}`);
  // the first interval is about the starting rate's (10 ms, a little less: the rate climbs), the last ones the full rate's (1 ms)
  assert.ok(due(1) > 9 && due(1) <= 10, `${due(1)}`);
  assert.ok(Math.abs(due(1550) - due(1549) - 1) < 1e-9);
  for (let n = 1; n < 2000; n++) assert.ok(due(n) > due(n - 1), `due times rise at ${n}`);
  assert.ok(Math.abs(due(1550) - 2000) < 1e-6);
});
