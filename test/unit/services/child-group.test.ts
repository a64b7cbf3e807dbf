import assert from "node:assert/strict";
import { test } from "node:test";
import { runGroup } from "../../../services/common/src/child-group.js";
import { alive } from "../../helpers/procs.js";

test("runGroup: exit code, both streams' lines as they come, and the output's tail", async () => {
  const lines: string[] = [];
  const r = await runGroup("sh", ["-c", "echo one; echo two >&2; sleep 0.2; printf 'no newline'; exit 3"], {
    env: process.env,
    signal: new AbortController().signal,
    onLine: (l) => lines.push(l),
    keep: 8,
  });
  assert.equal(r.code, 3);
  assert.deepEqual(lines.sort(), ["one", "two"]);
  assert.ok(r.output.endsWith("newline"), `kept to its tail: ${JSON.stringify(r.output)}`);
  assert.equal(r.output.length, 8);
});

test("runGroup: an abort ends the command and what it started; a command that cannot start rejects; already aborted starts nothing", async () => {
  const ac = new AbortController();
  let grandchild = 0;
  const run = runGroup("sh", ["-c", "sleep 30 & echo $!; wait"], {
    env: process.env,
    signal: ac.signal,
    onLine: (l) => {
      grandchild = Number(l);
      ac.abort();
    },
  });
  const r = await run;
  assert.equal(r.code, null, "ended by a signal");
  assert.ok(grandchild > 0);
  for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(alive(grandchild), false, "the sleep the shell started is gone too");

  await assert.rejects(
    runGroup("/nonexistent/perfpack-no-such-command", [], { env: process.env, signal: new AbortController().signal }),
    /ENOENT/,
  );
  const before = new AbortController();
  before.abort();
  assert.deepEqual(await runGroup("sh", ["-c", "exit 0"], { env: process.env, signal: before.signal }), {
    code: null,
    output: "",
  });
});
