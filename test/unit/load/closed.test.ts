import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mock, test } from "node:test";
import { closedLoad, closedLoadAutocannon, closedLoadWire } from "../../../harness/load/closed.js";

async function serve(
  handler: http.RequestListener,
): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  return { url, server, close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

for (const [name, load] of [
  ["perfpack's wire client", closedLoadWire],
  ["autocannon", closedLoadAutocannon],
] as const) {
  test(`closed model on ${name}: every answer counted and timed, non-2xx and refused connections apart, done at its duration`, async () => {
    let n = 0;
    const s = await serve((_req, res) => {
      // every fifth answer is a 503; the bodies are large enough to arrive in several reads
      const status = n++ % 5 === 4 ? 503 : 200;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ pad: "x".repeat(40_000) }));
    });
    try {
      const r = await load({ url: s.url, connections: 4, durationS: 0.4, signal: new AbortController().signal });
      assert.ok(r.responses > 20, `${r.responses} responses`);
      assert.equal(r.ok + r.non2xx, r.responses);
      assert.ok(Math.abs(r.non2xx - r.responses / 5) <= 4, `${r.non2xx} of ${r.responses} were 503`);
      // latency is the successes' alone; the 503s have their own
      assert.equal(r.latency?.count, r.ok);
      assert.equal(r.answers.failedLatency.count, r.non2xx);
      assert.deepEqual(r.answers.record().statuses, { "503": r.non2xx });
      assert.ok(r.latency!.p50 > 0);
      assert.ok(r.elapsedS >= 0.39, `elapsed ${r.elapsedS}`);
      assert.equal(r.errors, 0);
    } finally {
      await s.close();
    }
    // nobody listening: errors, no responses, and still done (a second: time enough for a refusal,
    // however busy the machine, to arrive before the duration ends)
    const dead = await load({ url: s.url, connections: 2, durationS: 1, signal: new AbortController().signal });
    assert.equal(dead.responses, 0);
    assert.ok(dead.errors > 0);
  });
}

test("closedLoad takes the wire client for plain HTTP, and the wire client's answers match the server's count", async () => {
  let served = 0;
  const sockets = new Set<unknown>();
  const s = await serve((req, res) => {
    sockets.add(req.socket);
    served++;
    res.end("ok");
  });
  try {
    const r = await closedLoad({ url: s.url, connections: 3, durationS: 0.3, signal: new AbortController().signal });
    // answers in flight at the end are dropped, at most one per connection
    assert.ok(
      served - r.responses >= 0 && served - r.responses <= 3,
      `server answered ${served}, client counted ${r.responses}`,
    );
    assert.equal(sockets.size, 3, "kept alive: one connection each");
  } finally {
    await s.close();
  }
});

test("the wire client: POST bodies and headers arrive intact, chunked and Connection: close answers, an unanswered request times out", async () => {
  const ORDER = JSON.stringify({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001", note: "é" });
  let posts = 0;
  let bad = 0;
  let n = 0;
  const connections = new Set<unknown>();
  const s = await serve((req, res) => {
    connections.add(req.socket);
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      posts++;
      if (
        req.method !== "POST" ||
        body !== ORDER ||
        req.headers["content-type"] !== "application/json" ||
        req.headers["x-api-key"] !== "k"
      )
        bad++;
      const i = n++;
      if (i === 7) return; // never answered: the client's timeout (1 s) replaces the connection
      if (i % 3 === 0) {
        // chunked, in several writes
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"a":');
        setImmediate(() => res.end(`"${"y".repeat(5000)}"}`));
      } else if (i % 3 === 1) res.writeHead(201, { connection: "close" }).end("{}");
      else res.writeHead(404).end();
    });
  });
  try {
    const r = await closedLoadWire({
      url: s.url,
      method: "POST",
      body: ORDER,
      headers: { "content-type": "application/json", "x-api-key": "k" },
      connections: 2,
      // the timeout well past any answer's time on a busy machine (a stall past it would time out
      // an answered request too), and the duration well past the timeout
      durationS: 2.5,
      signal: new AbortController().signal,
      timeoutMs: 1000,
    });
    assert.equal(bad, 0, "every request as sent");
    assert.ok(r.responses > 10, `${r.responses} responses`);
    assert.equal(r.errors, 1, "the one unanswered request");
    assert.ok(r.non2xx > 0 && r.ok > 0);
    assert.ok(connections.size > 3, "Connection: close answers were followed by new connections");
    assert.ok(posts - r.responses - r.errors <= 2);
  } finally {
    await s.close();
  }
});

test("the wire client stops at once on abort", async () => {
  const ac = new AbortController();
  let n = 0;
  // the abort comes once answers flow (the event), never at a time a busy machine's load may not have reached
  const s = await serve((_req, res) => {
    res.end("ok");
    if (++n === 10) ac.abort();
  });
  // the duration's timer is mocked and never ticks: only the abort can end the load, so that its
  // ending at all is the proof, without a bound on how long it took
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const r = await closedLoadWire({ url: s.url, connections: 2, durationS: 30, signal: ac.signal });
    assert.ok(r.responses > 0);
  } finally {
    mock.timers.reset();
    await s.close();
  }
});

test("the wire client's drain: at the end it sends nothing more and waits for every answer in flight; abort still ends it at once", async () => {
  let served = 0;
  let release = false;
  // each answer waits until the test releases it, so that the connections are mid-request when the duration ends
  const held = new Map<string, http.ServerResponse[]>();
  const waiters: Array<{ path: string; n: number; resolve: () => void }> = [];
  const s = await serve((req, res) => {
    if (release) {
      served++;
      return void res.end("ok");
    }
    const list = held.get(req.url!) ?? [];
    held.set(req.url!, list);
    list.push(res);
    for (const w of waiters) if (w.path === req.url && list.length >= w.n) w.resolve();
  });
  /**
   * Starts a load on `path` whose duration ends (its timer, mocked, ticked) once `n` of its requests
   * are held by the server: the event, not a time, so that a busy machine, slower to connect, cannot
   * let the duration end before the requests are in flight.
   */
  const endWhenInFlight = async (path: string, n: number, o: { connections: number; signal: AbortSignal }) => {
    const inFlight = new Promise<void>((resolve) => waiters.push({ path: new URL(s.url + path).pathname, n, resolve }));
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const load = closedLoadWire({ url: s.url + path, durationS: 0.1, drain: true, ...o });
      await inFlight;
      mock.timers.tick(100);
      return { load };
    } finally {
      mock.timers.reset();
    }
  };
  try {
    const { load: draining } = await endWhenInFlight("/drain", 3, {
      connections: 3,
      signal: new AbortController().signal,
    });
    release = true;
    for (const res of held.get("/api/drain")!.splice(0)) {
      served++;
      res.end("ok");
    }
    const r = await draining;
    assert.equal(r.responses, 3, "the three answers in flight were awaited and counted");
    assert.equal(served, 3, "nothing sent after the duration");
    assert.equal(r.errors, 0);
    // without drain, the same requests are dropped at the end
    release = false;
    const cut = await closedLoadWire({
      url: s.url + "/cut",
      connections: 3,
      durationS: 0.1,
      signal: new AbortController().signal,
    });
    assert.equal(cut.responses, 0);
    // an abort while draining does not wait
    const ac = new AbortController();
    const { load: aborted } = await endWhenInFlight("/abort", 2, { connections: 2, signal: ac.signal });
    ac.abort();
    assert.equal((await aborted).responses, 0);
  } finally {
    for (const list of held.values()) for (const res of list) res.destroy();
    await s.close();
  }
});
