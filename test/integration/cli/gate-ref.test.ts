import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { projectRoot } from "../../../services/common/src/project.js";
import { perfpack, waitForOutput } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-gate-ref-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
// a cache of its own, so the test builds the revision as a first run in CI does
const env = { ...process.env, XDG_CACHE_HOME: join(tmp, "cache") };
const worktrees = () => spawnSync("git", ["worktree", "list"], { cwd: projectRoot(), encoding: "utf8" }).stdout.trim().split("\n").length;

describe("gate --baseline-ref: the baseline revision beside this checkout, in one run", () => {
  test("A/A: HEAD against this checkout passes; both commits and the seeded order are recorded; the built tree is cached", async () => {
    const before = worktrees();
    const out = join(tmp, "aa");
    const args = ["gate", "--baseline-ref", "HEAD", "--rounds", "2", "--duration", "1", "--warmup", "0.5", "--seed", "7", "--out", out, "--json"];
    const run = perfpack(args, env);
    assert.equal(await run.exit, 0, run.output());
    const doc = JSON.parse(run.output().slice(run.output().indexOf('{\n  "schema": "perfpack/gate@1"'))) as {
      pass: boolean;
      comparisons: Array<{ reference: string; candidate: string; metric: string }>;
      seed: number;
    };
    assert.equal(doc.pass, true);
    assert.equal(doc.seed, 7);
    assert.deepEqual([...new Set(doc.comparisons.map((c) => `${c.candidate} vs ${c.reference}`))], ["optimized vs optimized@HEAD"]);
    assert.deepEqual(doc.comparisons.map((c) => c.metric).sort(), ["executor_cpu_us_per_request", "latency_p95_ms", "rps"]);
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: projectRoot(), encoding: "utf8" }).stdout.trim();
    assert.deepEqual(r.plan.variants[0]!.system, { kind: "revision", ref: "HEAD", commit: head });
    assert.equal(r.plan.checkout?.commit, head);
    assert.equal(r.plan.seed, 7);
    assert.equal(r.trials.length, 4);
    assert.equal(worktrees(), before, "no worktree registered in the repository");
    assert.deepEqual(descendants(run.child.pid!), []);
    // the second gate reuses the built tree
    const cached = readdirSync(join(tmp, "cache", "perfpack", "revisions"));
    assert.equal(cached.length, 1);
    assert.ok(existsSync(join(tmp, "cache", "perfpack", "revisions", cached[0]!, ".perfpack-built")));
    const again = perfpack([...args.slice(0, -3), "--out", join(tmp, "aa2")], env);
    assert.ok([0, 1].includes((await again.exit)!), again.output());
    assert.match(again.output(), /built tree reused/);
  });

  test("Ctrl-C during the gate's run stops every child, keeps the finished trials and exits 130", async () => {
    const run = perfpack(["gate", "--baseline-ref", "HEAD", "--rounds", "3", "--duration", "1", "--warmup", "0.2", "--out", join(tmp, "int")], env);
    await waitForOutput(run, /✓ \[1\/6\]/, 120_000);
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 130, run.output());
    assert.deepEqual(descendants(run.child.pid!), []);
    const r = JSON.parse(readFileSync(join(tmp, "int", "results.json"), "utf8")) as Results;
    assert.ok(r.interrupted && r.trials.length >= 1);
  });

  test("an unknown revision is a usage error (exit 2) before anything starts; --baseline and --baseline-ref exclude each other", async () => {
    const bad = perfpack(["gate", "--baseline-ref", "no-such-rev-xyz"], env);
    assert.equal(await bad.exit, 2);
    assert.match(bad.output(), /--baseline-ref "no-such-rev-xyz" is not a revision of this repository/);
    const both = perfpack(["gate", "--baseline-ref", "HEAD", "--baseline", "x.json"], env);
    assert.equal(await both.exit, 2);
    assert.match(both.output(), /the gate needs one baseline/);
  });
});
