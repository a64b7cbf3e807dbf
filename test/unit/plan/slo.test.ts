import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../harness/errors.js";
import { resolveCapacityConfig } from "../../../harness/plan/capacity-config.js";
import { DEFAULT_SLO, parseSlo, sloText } from "../../../harness/plan/slo.js";

test("an SLO: any percentile from p50 to p99.9 under a line in ms or s, errors in % (1% when left out)", () => {
  assert.deepEqual(parseSlo(DEFAULT_SLO), { percentile: 0.95, label: "p95", maxMs: 100, maxErrorShare: 0.01 });
  assert.deepEqual(parseSlo("p99.9<0.5s"), { percentile: 0.999, label: "p99.9", maxMs: 500, maxErrorShare: 0.01 });
  assert.deepEqual(parseSlo(" errors < 0.1% , p50<20ms "), {
    percentile: 0.5,
    label: "p50",
    maxMs: 20,
    maxErrorShare: 0.001,
  });
  assert.equal(sloText(parseSlo("p97.5<250ms,errors<2%")), "p97.5 < 250 ms, errors < 2%");
});

test("a bad SLO is a usage error that names what was wrong and what is accepted", () => {
  const cases: Array<[string, RegExp]> = [
    ["p100<10ms", /p100 is outside p50 … p99.9/],
    ["p40<10ms", /p40 is outside p50 … p99.9/],
    ["p95<0ms", /the line 0ms is not above 0/],
    ["p95<100", /"p95<100" is neither pNN<line nor errors<N%/],
    ["errors<1%", /it has no latency line/],
    ["p95<100ms,p99<200ms", /two latency lines/],
    ["p95<100ms,errors<100%", /errors<100% is not from 0% to below 100%/],
    ["p95<100ms,", /it has an empty part/],
  ];
  for (const [spec, why] of cases) {
    assert.throws(
      () => parseSlo(spec),
      (err: Error) =>
        err instanceof UsageError &&
        why.test(err.message) &&
        err.message.startsWith(`--slo ${JSON.stringify(spec)} is not valid: `) &&
        /expected .*pNN from p50 to p99\.9/.test(err.message),
      spec,
    );
  }
});

test("capacity's config: its defaults; --slo with or without an error line; a bad value names the config file", () => {
  const d = resolveCapacityConfig({});
  assert.deepEqual(
    { slo: d.slo, resolution: d.resolution, budgetS: d.budgetS, windowS: d.windowS },
    { slo: undefined, resolution: 0.05, budgetS: 300, windowS: 2 },
  );
  assert.equal(resolveCapacityConfig({ slo: "p95<100ms" }).sloNamesErrors, false);
  assert.equal(resolveCapacityConfig({ slo: "p95<100ms,errors<5%" }).sloNamesErrors, true);
  assert.equal(resolveCapacityConfig({ budget: "90s", window: "1" }).budgetS, 90);
  assert.throws(
    () => resolveCapacityConfig({ slo: "p95" }, { slo: "/x/perfpack.config.json" }),
    /^Error: config file \/x\/perfpack\.config\.json: "slo": --slo "p95" is not valid/,
  );
  assert.throws(() => resolveCapacityConfig({ resolution: "0" }), /--resolution "0" is not valid: expected a share/);
});
