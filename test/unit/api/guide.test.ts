import assert from "node:assert/strict";
import { test } from "node:test";
import { guide } from "../../../harness/api/guide.js";
import type { JobEvent } from "../../../harness/api/context.js";
import { UsageError } from "../../../harness/errors.js";
import { SCENARIOS } from "../../../scenarios/index.js";

test("guide json: the guide's two lines as its document and as line events when measured, the commentary as a note; an unknown check is a usage error naming the four", async () => {
  const events: JobEvent[] = [];
  const doc = await guide("json", SCENARIOS, { cwd: ".", env: {}, events: (e) => events.push(e) });
  assert.equal(doc.ok, true);
  assert.equal(doc.lines.length, 2);
  assert.match(doc.lines[0]!, /^fast_json=\d+\.\d{3}s$/);
  assert.match(doc.lines[1]!, /^native_json=\d+\.\d{3}s$/);
  assert.deepEqual(events, [
    {
      type: "note",
      text: "# seconds for 1,000 serializations of 50 open orders (median of 7 interleaved timed batches)",
    },
    ...doc.lines.map((text) => ({ type: "line", text })),
  ]);
  for (const name of ["nope", "constructor"])
    await assert.rejects(
      guide(name, SCENARIOS, { cwd: ".", env: {} }),
      (e: Error) =>
        e instanceof UsageError &&
        e.message === `unknown guide check "${name}": valid checks are latency, batch, json, profile-http`,
    );
});
