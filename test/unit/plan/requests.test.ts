import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../harness/errors.js";
import {
  defaultRequests,
  literalHeaderSecrets,
  parseHeaderArg,
  recordedRequests,
  resolveRequests,
} from "../../../harness/plan/requests.js";
import { SCENARIOS } from "../../../scenarios/index.js";

const D = defaultRequests(SCENARIOS.values());

test("the defaults are today's routes and bodies; an entry replaces the fields it names and merges headers", () => {
  assert.deepEqual(Object.keys(D).sort(), ["batch", "json", "latency", "ws"]);
  assert.equal(D.batch!.method, "POST");
  assert.equal(D.batch!.path, "/api/private/order");
  assert.equal(JSON.parse(D.batch!.body!).symbol, "BTCUSDT");
  assert.deepEqual(D.ws, { protocol: "ws", method: "GET", path: "/ws/market", headers: {} });
  const r = resolveRequests(
    {
      batch: { path: "/v2/orders?account=main", body: { id: "{{uuid}}" }, headers: { "X-Trace": "perf" } },
      latency: { method: "post", path: "/q" },
    },
    ["x-api-key: ${env:API_KEY}"],
    D,
    { API_KEY: "abc" },
  );
  assert.deepEqual(r.batch, {
    protocol: "http",
    method: "POST",
    path: "/v2/orders?account=main",
    headers: { "content-type": "application/json", "x-api-key": "${env:API_KEY}", "x-trace": "perf" },
    body: '{"id":"{{uuid}}"}',
  });
  assert.equal(r.latency!.method, "POST");
  assert.deepEqual(r.json!.headers, { "x-api-key": "${env:API_KEY}" }, "--header reaches every scenario");
  assert.deepEqual(r.ws!.headers, { "x-api-key": "${env:API_KEY}" });
});

test("bad entries are usage errors that name the key and what is accepted", () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ foo: {} }, /requests: unknown scenario "foo": requests can be given for latency, batch, json, ws/],
    [{ batch: { method: "FETCH" } }, /requests\.batch\.method "FETCH" is not valid: expected one of GET, HEAD, POST/],
    [{ batch: { path: "v2/orders" } }, /requests\.batch\.path "v2\/orders" is not an absolute path/],
    [{ batch: { path: "http://elsewhere/x" } }, /requests\.batch\.path .* is not an absolute path/],
    [{ batch: { path: "//elsewhere/x" } }, /not an absolute path/],
    [{ batch: { path: 3 } }, /requests\.batch\.path is 3: expected an absolute path/],
    [{ batch: { path: "/a b" } }, /white space/],
    [{ latency: { body: { a: 1 } } }, /requests\.latency: a GET request carries no body/],
    [
      { batch: { body: { id: "{{nonce}}" } } },
      /requests\.batch\.body holds \{\{nonce\}\}: the placeholders are \{\{seq\}\} and \{\{uuid\}\}/,
    ],
    [{ batch: { url: "/x" } }, /requests\.batch: unknown key "url": an entry takes method, path, headers, body/],
    [{ batch: { headers: { "content-length": "3" } } }, /content-length is written by perfpack's clients/],
    [{ batch: { headers: { "x-a": 1 } } }, /requests\.batch\.headers\.x-a is 1: expected a string/],
    [{ batch: { headers: { "bad name": "v" } } }, /"bad name" is not a header name/],
    [{ batch: { headers: { "x-a": "1\r\nx-b: 2" } } }, /holds a line break/],
    [{ ws: { method: "POST" } }, /requests\.ws\.method "POST": a WebSocket subscription is a GET upgrade/],
    [{ ws: { body: {} } }, /requests\.ws\.body: a WebSocket subscription sends no body/],
    [{ batch: "POST /x" }, /requests\.batch is "POST \/x": expected an object/],
    [[1], /requests is \[1\]: expected an object/],
  ];
  for (const [raw, re] of cases)
    assert.throws(
      () => resolveRequests(raw, [], D, {}),
      (e: Error) => e instanceof UsageError && re.test(e.message),
      `${JSON.stringify(raw)} → ${re}`,
    );
  assert.throws(
    () => resolveRequests({ batch: { headers: { "x-api-key": "${env:NOPE}" } } }, [], D, {}),
    /requests\.batch\.headers x-api-key names \$\{env:NOPE\}, which is not set/,
  );
  assert.throws(
    () => resolveRequests(undefined, ["x-api-key: ${env:NOPE}"], D, {}),
    /--header x-api-key names \$\{env:NOPE\}/,
  );
  assert.throws(() => parseHeaderArg("nocolon"), /--header "nocolon" is not valid: expected "Name: value"/);
  assert.throws(() => parseHeaderArg("host: x"), /host is written by perfpack's clients/);
  assert.deepEqual(parseHeaderArg("X-Api-Key:  v:1 "), ["x-api-key", "v:1"]);
});

test("what results.json records: env references kept, secret-looking literal values redacted", () => {
  const r = resolveRequests(
    {
      batch: {
        headers: { authorization: "Bearer literal-token", "x-api-key": "${env:K}", accept: "application/json" },
      },
    },
    [],
    D,
    { K: "v" },
  );
  const rec = recordedRequests(r);
  assert.deepEqual(rec.batch!.headers, {
    "content-type": "application/json",
    authorization: "[redacted]",
    "x-api-key": "${env:K}",
    accept: "application/json",
  });
  assert.deepEqual(literalHeaderSecrets(r), ["Bearer literal-token"]);
});
