import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { resumedResults } from "../../../harness/results/create.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";

const sample = (): Results => JSON.parse(readFileSync(fixturePath("sample-baseline.json"), "utf8")) as Results;

test("a resumed run's document keeps every recorded trial, runs again (not interrupted, not finished) and records the resume", () => {
  const from = { ...sample(), interrupted: true };
  from.trials = from.trials.slice(0, 5);
  (from.trials[1] as { status: string }).status = "failed";
  const r = resumedResults(from, { at: "2026-12-01T10:00:00.000Z", hostname: from.machine.hostname, pid: 42 });
  assert.deepEqual(r.trials, from.trials);
  assert.notEqual(r.trials, from.trials, "a copy: the runner's pushes do not reach the recorded document");
  assert.deepEqual(
    [r.interrupted, r.finishedAt, r.pid, r.startedAt, r.runId],
    [false, null, 42, from.startedAt, from.runId],
  );
  assert.deepEqual(r.resumed, [{ at: "2026-12-01T10:00:00.000Z", kept: 5 }]);
  assert.deepEqual(
    r.summary,
    { medians: {}, failedTrials: 1 },
    "the analysis fills the summary again, over every trial",
  );
  assert.deepEqual([r.machine, r.plan], [from.machine, from.plan]);
  // a second resume, on another host: appended, with the host named
  const again = resumedResults(r, { at: "2026-12-01T11:00:00.000Z", hostname: "other" });
  assert.deepEqual(again.resumed, [
    { at: "2026-12-01T10:00:00.000Z", kept: 5 },
    { at: "2026-12-01T11:00:00.000Z", kept: 5, hostname: "other" },
  ]);
});
