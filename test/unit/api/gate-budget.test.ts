import assert from "node:assert/strict";
import { test } from "node:test";
import { budgetOverrun } from "../../../harness/api/gate.js";

test("the gate warns before its minimum rounds when their estimate is past the budget left, and names what to change", () => {
  assert.equal(budgetOverrun(6, 170, 180), undefined);
  assert.equal(
    budgetOverrun(6, 432, 360.4),
    "the first 6 rounds (the minimum before the first look) take about 432 s, past the 360 s left of --budget: the gate will run over it; give fewer --rounds, a shorter --duration or a larger --budget",
  );
  // the build already used the whole budget
  assert.match(budgetOverrun(2, 8, -5)!, /past the 0 s left of --budget/);
});
