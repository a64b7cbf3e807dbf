import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { UsageError } from "../../../harness/errors.js";
import { buildPlan } from "../../../harness/plan/order.js";
import {
  checkoutChange,
  clashingFlags,
  planDiff,
  recordedConfig,
  remainingTrials,
  resumeRefusal,
} from "../../../harness/plan/resume.js";
import { presets } from "../../../harness/plan/variants.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";

/** A recorded run: the sample quick run (perfpack 0.1.0, 4 scenarios × 2 variants × 2 rounds). */
const sample = (): Results => JSON.parse(readFileSync(fixturePath("sample-baseline.json"), "utf8")) as Results;
const here = (r: Results) => ({ version: r.perfpack, machine: r.machine, gate: false, scenarios: r.plan.scenarios });

test("beside --resume only --json may be given: every other run option is named by its flag", () => {
  assert.deepEqual(clashingFlags({ json: true }), []);
  assert.deepEqual(clashingFlags({ env: [], matrix: [] }), [], "a repeatable flag that was not repeated is not given");
  assert.deepEqual(clashingFlags({ rounds: "3", quick: true, env: ["A=1"], json: true }), [
    "--env",
    "--rounds",
    "--quick",
  ]);
  assert.deepEqual(clashingFlags({ config: "x.json", requests: {} }), ["requests", "--config"]);
});

test("a recorded run of this version, machine and registry can be resumed", () => {
  const r = sample();
  assert.equal(resumeRefusal(r, here(r)), undefined);
});

test("what cannot be resumed says why: another version, a gate, imported trials, another machine, a secret, a duet without its seed", () => {
  const r = sample();
  const why = (edit: (x: Results) => void, o: Partial<ReturnType<typeof here>> = {}) => {
    const x = sample();
    edit(x);
    return resumeRefusal(x, { ...here(r), ...o }) ?? "";
  };
  assert.match(
    why(() => {}, { version: "0.2.0" }),
    /written by perfpack 0\.1\.0, and this is perfpack 0\.2\.0/,
  );
  assert.match(
    why(() => {}, { gate: true }),
    /a gate's run .*looks cannot be resumed; rerun the gate/,
  );
  assert.match(
    why((x) => (x.plan.variants[1]!.system = { kind: "revision", ref: "HEAD~1", commit: "abc" })),
    /a gate's run/,
  );
  assert.match(
    why((x) => (x.plan.imported = "artillery")),
    /imported from Artillery reports/,
  );
  assert.match(
    why((x) => (x.plan.order = [])),
    /records no trial order/,
  );
  assert.match(
    why(() => {}, { machine: { ...r.machine, node: "v22.1.0" } }),
    /measured on .*Node v20\.20\.2, and this is .*Node v22\.1\.0/,
  );
  assert.equal(
    why(() => {}, { machine: { ...r.machine, hostname: "another" } }),
    "",
    "a host name alone is no refusal",
  );
  assert.match(
    why(() => {}, { scenarios: ["latency"] }),
    /scenario batch, json, ws is not in this perfpack/,
  );
  assert.match(
    why((x) => (x.plan.variants[0]!.env.API_TOKEN = "[redacted]")),
    /variant baseline's API_TOKEN held a secret, which results\.json does not keep/,
  );
  assert.match(
    why(
      (x) =>
        (x.plan.requests = {
          latency: { protocol: "http", method: "GET", path: "/x", headers: { authorization: "[redacted]" } },
        }),
    ),
    /the latency request's header authorization held a secret.*\$\{env:NAME\} is kept/,
  );
  assert.match(
    why((x) => (x.plan.design = "duet")),
    /a duet whose slices' seed is not recorded/,
  );
  assert.equal(
    why((x) => Object.assign(x.plan, { design: "duet", duetSeed: 7 })),
    "",
  );
});

test("the recorded config is the run's: variants, load, folder; its plan has the recorded order", () => {
  const r = sample();
  const cfg = recordedConfig(r, { outDir: "/runs/x", cwd: "/team", updateLatest: false, requestDefaults: {} });
  assert.deepEqual(
    cfg.variants.map((v) => [v.name, v.env, v.system]),
    r.plan.variants.map((v) => [v.name, v.env, undefined]),
  );
  assert.deepEqual(
    [cfg.scenarios, cfg.rounds, cfg.durationS, cfg.warmupS, cfg.connections, cfg.rate, cfg.wsClients, cfg.quick],
    [r.plan.scenarios, 2, 1, 0.5, 32, undefined, 10, true],
  );
  assert.deepEqual(
    [cfg.runId, cfg.outDir, cfg.design, cfg.duetExchange, cfg.readyTimeoutMs, cfg.maxErrors, cfg.allocation],
    [r.runId, "/runs/x", "alternate", "shared", 15_000, 0.01, true],
  );
  const plan = buildPlan(cfg.variants, cfg.scenarios, cfg.rounds, r.plan.seed);
  assert.deepEqual(
    plan.trials.map((t) => ({ variant: t.variant.name, scenario: t.scenario, round: t.round })),
    r.plan.order,
  );
});

test("the recorded config: a team's command runs in the resuming directory with its readiness path; the options kept only when not their defaults", () => {
  const r = sample();
  r.plan.variants[0]!.system = { kind: "command", cmd: "node svc.mjs", readyPath: "/ready" };
  r.plan.variants[1]!.system = { kind: "command", cmd: "node svc.mjs" };
  Object.assign(r.plan, { readyTimeoutS: 40, skipAllocation: true, profile: "cpuprof", design: "duet", duetSeed: 3 });
  const cfg = recordedConfig(r, { outDir: "/runs/x", cwd: "/team", updateLatest: true, requestDefaults: {} });
  assert.deepEqual(
    cfg.variants.map((v) => v.system),
    [
      { kind: "command", cmd: "node svc.mjs", cwd: "/team", readyPath: "/ready" },
      { kind: "command", cmd: "node svc.mjs", cwd: "/team", readyPath: "/health" },
    ],
  );
  assert.deepEqual(
    [cfg.readyTimeoutMs, cfg.allocation, cfg.profile, cfg.design, cfg.updateLatest],
    [40_000, false, "cpuprof", "duet", true],
  );
  r.plan.variants[0]!.system = { kind: "revision", ref: "HEAD", commit: "abc" };
  assert.throws(
    () => recordedConfig(r, { outDir: "/x", cwd: "/team", updateLatest: false, requestDefaults: {} }),
    /ran a revision \(HEAD\): only the gate builds one/,
  );
});

test("plan records differ by key, whatever order their keys were written in; the checkout is compared apart", () => {
  const a = sample().plan;
  const b = JSON.parse(
    JSON.stringify({ ...a, variants: a.variants.map((v) => ({ env: v.env, kind: v.kind, name: v.name })) }),
  ) as typeof a;
  assert.deepEqual(planDiff(a, b), []);
  assert.deepEqual(planDiff(a, { ...b, checkout: { commit: "abc", dirty: true } }), []);
  assert.deepEqual(planDiff(a, { ...b, headlines: {}, rounds: 3 }), ["rounds", "headlines"]);
  assert.deepEqual(planDiff(a, { ...b, readyTimeoutS: 20 }), ["readyTimeoutS"]);
});

test("the code under test: another commit or changes that came or went refuse; changes then and now warn", () => {
  const c = (commit: string, dirty = false) => ({ commit, dirty });
  assert.deepEqual(checkoutChange(undefined, c("a")), {});
  assert.deepEqual(checkoutChange(c("a"), c("a")), {});
  assert.match(
    checkoutChange(c("a".repeat(40)), c("b".repeat(40))).refusal!,
    /was at aaaaaaaaaa and is now at bbbbbbbbbb/,
  );
  assert.match(checkoutChange(c("a"), undefined).refusal!, /is now not a git checkout/);
  assert.match(checkoutChange(c("a"), c("a", true)).refusal!, /has uncommitted changes since the run started/);
  assert.match(checkoutChange(c("a", true), c("a")).refusal!, /had uncommitted changes, and has none now/);
  assert.match(checkoutChange(c("a", true), c("a", true)).warning!, /cannot tell whether they are the same/);
});

test("the remaining trials: the plan's, in plan order, but those recorded (by index); a stranger or a twin is refused", () => {
  const plan = buildPlan(presets(), ["latency", "ws"], 2);
  const rec = (i: number) => {
    const t = plan.trials[i]!;
    return { index: i, variant: t.variant.name, scenario: t.scenario, round: t.round };
  };
  const { done, remaining } = remainingTrials(plan, [rec(0), rec(1), rec(3)]);
  assert.deepEqual([...done], [0, 1, 3]);
  assert.deepEqual(
    remaining.map((t) => t.index),
    [2, 4, 5, 6, 7],
  );
  assert.equal(remainingTrials(plan, []).remaining.length, 8);
  assert.equal(
    remainingTrials(
      plan,
      plan.trials.map((_, i) => rec(i)),
    ).remaining.length,
    0,
  );
  assert.throws(
    () => remainingTrials(plan, [{ ...rec(2), variant: "other" }]),
    (e: unknown) =>
      e instanceof UsageError &&
      /trial #3 \(other · ws · round 1\) is not the plan's \(baseline · ws · round 1\)/.test(e.message),
  );
  assert.throws(() => remainingTrials(plan, [{ ...rec(0), index: 8 }]), /the plan has no such trial/);
  assert.throws(() => remainingTrials(plan, [rec(1), rec(1)]), /trial #2 .* is recorded twice/);
});
