import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveGateConfig } from "../../../harness/plan/gate-config.js";
import type { GateFlags } from "../../../harness/plan/options.js";

test("the gate's config: against a revision or a stored run, with its defaults", () => {
  assert.deepEqual(resolveGateConfig({ baselineRef: "origin/main" }, { now: 1_234_567 }), {
    kind: "revision",
    ref: "origin/main",
    maxRegression: 0.05,
    seed: 234_567,
    strict: false,
  });
  assert.deepEqual(
    resolveGateConfig({
      baselineRef: "HEAD",
      seed: "7",
      budget: "90s",
      strict: true,
      candidateEnv: ["EXECUTOR_CPU_BURN_US=70"],
    }),
    {
      kind: "revision",
      ref: "HEAD",
      maxRegression: 0.05,
      seed: 7,
      strict: true,
      budgetS: 90,
      candidateEnv: { EXECUTOR_CPU_BURN_US: "70" },
    },
  );
  // a regression's profile: skipped (--no-profile, or noProfile in the file), or capped
  assert.deepEqual(resolveGateConfig({ baselineRef: "HEAD", seed: "1", noProfile: true, profileCap: "45s" }), {
    kind: "revision",
    ref: "HEAD",
    maxRegression: 0.05,
    seed: 1,
    strict: false,
    noProfile: true,
    profileCapS: 45,
  });
  assert.deepEqual(resolveGateConfig({ baseline: "a.json", current: "b.json", strict: true }), {
    kind: "stored",
    baseline: "a.json",
    current: "b.json",
    maxRegression: 0.1,
    strict: true,
  });
});

test("a gate option that does not fit is a usage error naming it and what is accepted", () => {
  const cases: Array<[GateFlags, RegExp]> = [
    [{}, /the gate needs one baseline: --baseline-ref REV .* or --baseline results\.json/],
    [{ baseline: "a.json", baselineRef: "HEAD" }, /the gate needs one baseline/],
    [
      { baselineRef: "HEAD", maxRegression: "-1" },
      /--max-regression "-1" is not valid: expected a share such as 0\.05 for 5%/,
    ],
    [{ baselineRef: "HEAD", seed: "1.5" }, /--seed "1\.5" is not valid: expected a whole number/],
    [{ baselineRef: "HEAD", budget: "5s" }, /--budget "5s" is not valid: expected a duration from 10 s/],
    [{ baselineRef: "HEAD", current: "b.json" }, /--current goes with --baseline/],
    [{ baseline: "a.json", budget: "3m" }, /--budget goes with --baseline-ref/],
    [{ baseline: "a.json", candidateEnv: ["A=1"] }, /--candidate-env goes with --baseline-ref/],
    [{ baselineRef: "HEAD", profileCap: "1s" }, /--profile-cap "1s" is not valid: expected a duration from 8 s/],
    [{ baseline: "a.json", profileCap: "30s" }, /--profile-cap goes with --baseline-ref/],
  ];
  for (const [f, re] of cases) assert.throws(() => resolveGateConfig(f), re, JSON.stringify(f));
  assert.throws(() => resolveGateConfig({ baselineRef: "HEAD" }, { soak: "10m" }), /--soak is not for the gate/);
});

test("a gate option from the config file names the file and the key; the same from a flag names the flag", () => {
  const from = { maxRegression: "/repo/perfpack.config.json", budget: "/repo/perfpack.config.json" };
  assert.throws(() => resolveGateConfig({ baselineRef: "HEAD", maxRegression: "20" }, { from }), {
    message: /^config file \/repo\/perfpack\.config\.json: "maxRegression": --max-regression "20" is not valid/,
  });
  assert.throws(() => resolveGateConfig({ baseline: "a.json", budget: "3m" }, { from }), {
    message: /^config file \/repo\/perfpack\.config\.json: "budget": --budget goes with --baseline-ref/,
  });
  assert.throws(() => resolveGateConfig({ baselineRef: "HEAD", seed: "-1" }, { from }), {
    message: /^--seed "-1" is not valid: expected a whole number$/,
  });
});
