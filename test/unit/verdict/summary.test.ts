import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize } from "../../../harness/verdict/summary.js";
import type { TrialRecord } from "../../../harness/results/schema.js";

test("summarize takes medians over rounds of ok trials only", () => {
  const t = (round: number, rps: number, status: "ok" | "failed" = "ok") =>
    ({
      index: round,
      variant: "v",
      scenario: "latency",
      round,
      env: {},
      startedAt: "",
      wallS: 1,
      generatorBound: false,
      metrics: { rps },
      status,
      ...(status === "failed" ? { error: "x" } : {}),
    }) as TrialRecord;
  const s = summarize([t(1, 100), t(2, 300), t(3, 200), t(4, 9999, "failed")]);
  assert.equal(s.medians.v!.latency!.rps, 200);
  assert.equal(s.failedTrials, 1);
});
