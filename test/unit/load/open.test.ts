import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { openLoad } from "../../../harness/load/open.js";

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
    const r = await openLoad({ url: `http://127.0.0.1:${port}/`, rate: 100, durationS: 1, connections: 1, signal: new AbortController().signal });
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
