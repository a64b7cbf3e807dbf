import assert from "node:assert/strict";
import { test } from "node:test";
import { leastSquaresSlope } from "../../../services/common/src/slope.js";

test("leastSquaresSlope: exact on a line, 0 when it cannot say", () => {
  assert.equal(leastSquaresSlope([0, 1, 2, 3], [5, 7, 9, 11]), 2);
  assert.ok(Math.abs(leastSquaresSlope([0, 10, 20], [1, 1.5, 2]) - 0.05) < 1e-12);
  assert.equal(leastSquaresSlope([1], [3]), 0);
  assert.equal(leastSquaresSlope([2, 2, 2], [1, 5, 9]), 0);
  assert.equal(leastSquaresSlope([0, 1, 2, 99], [1, 3, 5]), 2, "the pairs both series have");
});
