import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { AnswerTally, failureText, tooManyFailures } from "../../../harness/load/answers.js";
import { closedLoadAutocannon, closedLoadWire } from "../../../harness/load/closed.js";
import { openLoad } from "../../../harness/load/open.js";
import { BodyTemplate, liveRequest } from "../../../harness/load/request.js";

test("a tally keeps successes, failed answers by code and transport failures apart; latency is the successes'", () => {
  const t = new AnswerTally();
  t.answer(200, 1);
  t.answer(204, 3);
  t.answer(400, 0.1, '{"msg":"no clientOrderId"}');
  t.answer(503, 0.2, "busy");
  t.error("refused", "connect ECONNREFUSED 127.0.0.1:9");
  assert.equal(t.ok, 2);
  assert.equal(t.total, 5);
  assert.equal(t.failureShare, 3 / 5);
  assert.equal(t.okLatency.count, 2);
  assert.equal(t.failedLatency.count, 2);
  const r = t.record();
  assert.deepEqual(r.statuses, { "400": 1, "503": 1 });
  assert.deepEqual(r.transport, { refused: 1, reset: 0, timeout: 0, other: 0 });
  assert.deepEqual(r.first, { status: 400, body: '{"msg":"no clientOrderId"}' });
  assert.equal(failureText(r), "400 ×1, 503 ×1, refused ×1");
  const m = t.metrics();
  assert.equal(m.failure_share, 0.6);
  assert.equal(m.ok, 2);
  assert.equal(m.failed, 3);
  // p50 of the two successes (1 and 3 ms), not of the fast refusals
  assert.ok(m.latency_p50_ms! >= 1 && m.latency_max_ms! >= 3, JSON.stringify(m));
  assert.equal(new AnswerTally().failureShare, 0);
});

test("a trial over --max-errors says why: the share, the codes with their counts, and the first failing answer on one line", () => {
  const t = new AnswerTally();
  for (let i = 0; i < 7; i++) t.answer(200, 1);
  t.answer(400, 0.1, '{"code":-1102,\n  "msg":"no clientOrderId"}');
  t.answer(400, 0.1);
  t.error("reset", "socket hang up");
  assert.equal(
    tooManyFailures(t.record(), 0.01),
    '3 of 10 requests failed (30.0%, over --max-errors 0.01): 400 ×2, reset ×1; first failing answer: 400 {"code":-1102, "msg":"no clientOrderId"}',
  );
  const refused = new AnswerTally();
  refused.error("refused", "connect ECONNREFUSED 127.0.0.1:9");
  assert.equal(
    tooManyFailures(refused.record(), 0.05),
    "1 of 1 requests failed (100.0%, over --max-errors 0.05): refused ×1; first failure: connect ECONNREFUSED 127.0.0.1:9",
  );
  const long = new AnswerTally();
  long.answer(503, 1, "x".repeat(300));
  assert.match(tooManyFailures(long.record(), 0), /; first failing answer: 503 x{200}…$/);
});

test("a body template fills {{seq}} and {{uuid}} per request and leaves a fixed body alone", () => {
  const fixed = new BodyTemplate('{"a":"b"}');
  assert.equal(fixed.fixed, true);
  assert.equal(fixed.next(), '{"a":"b"}');
  const t = new BodyTemplate('{"id":"o-{{seq}}","key":"{{uuid}}","n":"{{ seq }}"}');
  assert.equal(t.fixed, false);
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const o = JSON.parse(t.next()) as { id: string; key: string; n: string };
    assert.match(o.key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(o.id, /^o-\d+$/);
    seen.add(o.id).add(o.key);
  }
  assert.equal(seen.size, 2000, "every seq and every uuid is unique");
});

test("header values that name the environment are resolved, and become secrets; a missing one names itself", () => {
  const spec = {
    protocol: "http" as const,
    method: "GET",
    path: "/x",
    headers: { "x-api-key": "${env:K}", authorization: "Bearer ${env:T}", accept: "json" },
  };
  const { request, secrets } = liveRequest(spec, { K: "k-123", T: "t-456" });
  assert.deepEqual(request.headers, { "x-api-key": "k-123", authorization: "Bearer t-456", accept: "json" });
  assert.deepEqual(secrets.sort(), ["k-123", "t-456"]);
  assert.equal(request.spec, spec);
  assert.throws(() => liveRequest(spec, { K: "x" }), /\$\{env:T\}, which is not set/);
});

/** Answers 503 "busy" to every 4th request; records every request body. */
async function server(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  let n = 0;
  const bodies: string[] = [];
  const s = http.createServer((req, res) => {
    let b = "";
    req.on("data", (c: Buffer) => (b += c.toString()));
    req.on("end", () => {
      bodies.push(b);
      if (++n % 4 === 0) {
        res.writeHead(503, { "content-type": "text/plain" });
        return res.end("busy: retry later");
      }
      res.end("ok");
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise((r) => s.close(() => r())),
  };
}

for (const [name, load] of [
  ["the wire client", closedLoadWire],
  ["autocannon", closedLoadAutocannon],
] as const) {
  test(`${name} counts the 503s apart, keeps the first failing body, and sends each request its own body`, async () => {
    const s = await server();
    try {
      const r = await load({
        url: `${s.url}/orders`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new BodyTemplate('{"id":"{{seq}}"}'),
        connections: 2,
        durationS: 0.4,
        signal: new AbortController().signal,
      });
      const a = r.answers.record();
      assert.ok(a.ok > 10, JSON.stringify(a));
      // the server's count: 1 in 4 (answers in flight at the end are dropped, so within a few)
      assert.ok(Math.abs(a.statuses["503"]! - a.ok / 3) <= 3, JSON.stringify(a));
      assert.equal(r.latency?.count, a.ok);
      if (name === "the wire client") assert.deepEqual(a.first, { status: 503, body: "busy: retry later" });
      const ids = s.bodies.map((b) => (JSON.parse(b) as { id: string }).id);
      assert.equal(new Set(ids).size, ids.length, "no body repeats");
    } finally {
      await s.close();
    }
  });
}

test("the open model counts failures apart and samples the first failing body", async () => {
  const s = await server();
  try {
    const r = await openLoad({
      url: s.url,
      rate: 200,
      durationS: 0.3,
      connections: 2,
      signal: new AbortController().signal,
    });
    const a = r.answers.record();
    assert.equal(a.ok + (a.statuses["503"] ?? 0), r.responses);
    assert.ok((a.statuses["503"] ?? 0) >= 10, JSON.stringify(a));
    assert.deepEqual(a.first, { status: 503, body: "busy: retry later" });
    assert.equal(r.corrected?.count, a.ok);
  } finally {
    await s.close();
  }
});

test("a target that refuses connections is a transport failure, named", async () => {
  const s = await server();
  const url = s.url;
  await s.close();
  // a second: time enough for a refusal, however busy the machine, to arrive before the duration ends
  const r = await closedLoadWire({ url, connections: 1, durationS: 1, signal: new AbortController().signal });
  const a = r.answers.record();
  assert.equal(a.ok, 0);
  assert.ok(a.transport.refused > 0, JSON.stringify(a));
  assert.equal(a.failureShare, 1);
  assert.match(a.first?.error ?? "", /ECONNREFUSED/);
});
