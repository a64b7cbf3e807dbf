import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { planText } from "../../../harness/report/format.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";

const sample = (): Results => JSON.parse(readFileSync(fixturePath("sample-baseline.json"), "utf8")) as Results;

test("the plan line of a resumed run says when each resume came and which trials were measured after it", () => {
  const r = sample();
  assert.doesNotMatch(planText(r), /Resumed/);
  // 16 trials; resumed with 5 recorded, then again with 9; the trials after a resume in the order they ran
  r.resumed = [
    { at: "2026-12-01T10:00:00.000Z", kept: 5 },
    { at: "2026-12-01T11:00:00.000Z", kept: 9, hostname: "other" },
  ];
  r.trials = [...r.trials.slice(0, 5), ...r.trials.slice(5, 8), r.trials[15]!, ...r.trials.slice(8, 15)];
  assert.match(
    planText(r),
    /\*\*Resumed\*\* 2026-12-01T10:00:00\.000Z \(trials measured after it: #6–#8, #16\); 2026-12-01T11:00:00\.000Z on other \(trials measured after it: #9–#15\): those trials ran later than the ones before, so the machine's drift between the two stretches is not balanced by the interleaving\.$/,
  );
  r.resumed = [{ at: "2026-12-01T12:00:00.000Z", kept: 16 }];
  assert.match(planText(r), /\(trials measured after it: none\)/);
});
