import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { closedLoadPool } from "../../../harness/load/closed.js";

test("the undici Pool closed model: every answer counted and timed, non-2xx and refused connections apart, done at its duration", async () => {
  let n = 0;
  const server = http.createServer((_req, res) => {
    // every fifth answer is a 503; the bodies are large enough to arrive in several chunks
    const status = n++ % 5 === 4 ? 503 : 200;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ pad: "x".repeat(40_000) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  try {
    const r = await closedLoadPool({ url, connections: 4, durationS: 0.4, signal: new AbortController().signal });
    assert.ok(r.responses > 20, `${r.responses} responses`);
    assert.equal(r.ok + r.non2xx, r.responses);
    assert.ok(Math.abs(r.non2xx - r.responses / 5) <= 4, `${r.non2xx} of ${r.responses} were 503`);
    assert.equal(r.latency?.count, r.responses);
    assert.ok(r.latency!.p50 > 0 && r.latency!.p50 < 1000);
    assert.ok(r.elapsedS >= 0.4 && r.elapsedS < 5, `elapsed ${r.elapsedS}`);
    assert.equal(r.errors, 0);
  } finally {
    await new Promise((r) => server.close(r));
  }
  // nobody listening: errors, no responses, and still done
  const dead = await closedLoadPool({ url, connections: 2, durationS: 0.2, signal: new AbortController().signal });
  assert.equal(dead.responses, 0);
  assert.ok(dead.errors > 0);
});
