import assert from "node:assert/strict";
import { test } from "node:test";
import { FUZZ_KINDS, fuzzCase, judge } from "../../../harness/hardening/fuzz.js";

test("fuzz cases are replayable from (seed, index) and cycle through every kind", () => {
  const a = Array.from({ length: 40 }, (_, i) => fuzzCase(9, i, 16384));
  const b = Array.from({ length: 40 }, (_, i) => fuzzCase(9, i, 16384));
  assert.deepEqual(
    a.map((c) => c.bytes.toString("base64")),
    b.map((c) => c.bytes.toString("base64")),
  );
  assert.deepEqual(new Set(a.map((c) => c.kind)), new Set(FUZZ_KINDS));
  assert.notDeepEqual(fuzzCase(10, 0, 16384).bytes, fuzzCase(9, 0, 16384).bytes);
});

test("judge: only a 4xx with a JSON {error, message} counts as a clear error", () => {
  const json = "application/json; charset=utf-8";
  assert.equal(
    judge({ status: 400, contentType: json, body: '{"error":"invalid_json","message":"the body is not valid JSON"}' }),
    undefined,
  );
  assert.match(judge({ status: 502, contentType: json, body: '{"error":"x","message":"upstream went away"}' })!, /502/);
  assert.match(judge({ status: 200, contentType: json, body: "{}" })!, /200 to a malformed request/);
  assert.match(judge({ status: 400, contentType: "text/plain", body: "Bad Request" })!, /without a JSON body/);
  assert.match(judge({ status: 400, contentType: json, body: '{"error":"x"}' })!, /clear/);
  assert.match(judge({ body: "", error: "ECONNRESET" })!, /no answer \(ECONNRESET\)/);
});
