import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import type { RevisionGateDocument } from "../../../harness/api/gate.js";
import { projectRoot } from "../../../services/common/src/project.js";
import { perfpack, waitForOutput } from "../../helpers/cli.js";
import { descendantWith, descendants, waitFor } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-gate-ref-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
// a cache of its own, so the test builds the revision as a first run in CI does
const env = { ...process.env, XDG_CACHE_HOME: join(tmp, "cache") };
const worktrees = () =>
  spawnSync("git", ["worktree", "list"], { cwd: projectRoot(), encoding: "utf8" }).stdout.trim().split("\n").length;

/** What the gate prints for each outcome (without --strict). */
const OUTCOME_LINE = {
  pass: /gate: PASS — every gate metric's interval is wholly better than 5% worse/,
  regression: /gate: FAIL \(regression\)/,
  inconclusive: /gate: INCONCLUSIVE — the budget ended before every metric was decided; exit 0/,
} as const;

describe("gate --baseline-ref: the baseline revision beside this checkout, in one run", () => {
  test("A/A: HEAD against this checkout; its decision and exit code agree; both commits, the seeded order and the looks are recorded; the built tree is cached", async (t) => {
    const before = worktrees();
    const out = join(tmp, "aa");
    // two rounds, and a 15 s budget that leaves room for a batch more at most when the built tree is
    // cached (how many looks fit is a timing, so the test counts none). Its outcome is a
    // measurement (beside a busy neighbour, 2 warm rounds once showed req/s 0.82×, 0.749–0.904), so
    // the test checks that the decision, the printed outcome and the exit code agree, not which it is
    const args = [
      "gate",
      "--baseline-ref",
      "HEAD",
      "--rounds",
      "2",
      "--duration",
      "1",
      "--warmup",
      "0.5",
      "--budget",
      "15s",
      "--seed",
      "7",
      "--out",
      out,
      "--json",
    ];
    const summary = join(tmp, "step-summary.md");
    const run = perfpack(args, { ...env, GITHUB_STEP_SUMMARY: summary });
    const code = await run.exit;
    const doc = JSON.parse(
      run.output().slice(run.output().indexOf('{\n  "schema": "perfpack/gate@1"')),
    ) as RevisionGateDocument;
    t.diagnostic(
      `A/A outcome ${doc.outcome}: ${doc.comparisons.map((c, i) => `${c.label} ${c.estimate.ratio.toFixed(3)} (${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}) ${doc.calls[i]}`).join("; ")}`,
    );
    assert.equal(code, doc.outcome === "regression" ? 1 : 0, run.output());
    assert.match(run.output(), OUTCOME_LINE[doc.outcome]);
    assert.equal(
      doc.outcome,
      doc.calls.includes("regression") ? "regression" : doc.calls.every((c) => c === "clear") ? "pass" : "inconclusive",
    );
    assert.equal(doc.seed, 7);
    assert.deepEqual(
      [...new Set(doc.comparisons.map((c) => `${c.candidate} vs ${c.reference}`))],
      ["optimized vs optimized@HEAD"],
    );
    assert.deepEqual(doc.comparisons.map((c) => c.metric).sort(), [
      "executor_cpu_us_per_request",
      "latency_p95_ms",
      "rps",
    ]);
    assert.ok(doc.looks.length >= 1 && doc.looks.length <= doc.design.maxLooks, `${doc.looks.length} looks`);
    assert.equal(doc.looks[0]!.rounds, 2);
    for (const [i, look] of doc.looks.entries()) if (i > 0) assert.ok(look.rounds > doc.looks[i - 1]!.rounds);
    assert.ok(doc.looks[0]!.level > 0.95 && doc.looks[0]!.level < 1, `level ${doc.looks[0]!.level}`);
    assert.deepEqual(
      JSON.parse(readFileSync(join(out, "gate.json"), "utf8")),
      doc,
      "gate.json beside results.json holds the same decision",
    );
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: projectRoot(), encoding: "utf8" }).stdout.trim();
    assert.deepEqual(r.plan.variants[0]!.system, { kind: "revision", ref: "HEAD", commit: head });
    assert.equal(r.plan.checkout?.commit, head);
    assert.equal(r.plan.seed, 7);
    assert.equal(r.plan.warm, true, "the gate keeps both arms' services warm");
    assert.equal(r.trials.length, 2 * doc.looks.at(-1)!.rounds, "a trial per arm and round, up to the last look");
    assert.equal(r.plan.design, "duet", "the gate runs its arms as a duet by default");
    // the decision where a reviewer reads it: report.md (the PR comment) and the job summary, look by look
    const md = readFileSync(join(out, "report.md"), "utf8");
    const outcomeText = { pass: "PASS", regression: "FAIL (regression)", inconclusive: "INCONCLUSIVE" }[doc.outcome];
    assert.ok(md.includes(`## Gate against HEAD (${head.slice(0, 10)}): ${outcomeText}`), md);
    assert.match(
      md,
      /\| look \| rounds \| s \| level \| latency · req\/s \(line 0\.950\) \| latency · p95 ms \(line 1\.053\) \| latency · CPU µs\/req \(line 1\.053\) \|/,
    );
    assert.match(
      md,
      new RegExp(
        `\\| 1/${doc.design.maxLooks} \\| 2 \\| \\d+ \\| \\d+\\.\\d\\d% \\| [\\d.]+ \\([\\d.]+–[\\d.]+\\) (✓ clear|✗ regression|… undecided) \\|`,
      ),
    );
    const step = readFileSync(summary, "utf8");
    assert.equal(step.split("## Gate against HEAD").length, 2, "the job summary holds the gate's report once");
    assert.equal(worktrees(), before, "no worktree registered in the repository");
    assert.deepEqual(descendants(run.child.pid!), []);
    // the second gate reuses the built tree; under --strict, anything but a pass exits 1
    const cached = readdirSync(join(tmp, "cache", "perfpack", "revisions"));
    assert.equal(cached.length, 1);
    assert.ok(existsSync(join(tmp, "cache", "perfpack", "revisions", cached[0]!, ".perfpack-built")));
    const again = perfpack([...args.slice(0, -3), "--strict", "--out", join(tmp, "aa2")], env);
    const strictCode = await again.exit;
    assert.match(again.output(), /built tree reused/);
    const strictDoc = JSON.parse(readFileSync(join(tmp, "aa2", "gate.json"), "utf8")) as RevisionGateDocument;
    assert.equal(strictCode, strictDoc.outcome === "pass" ? 0 : 1, again.output());
    assert.match(
      again.output(),
      strictDoc.outcome === "inconclusive" ? /gate: FAIL \(inconclusive, --strict\)/ : OUTCOME_LINE[strictDoc.outcome],
    );
  });

  test("sequential: a gross regression on this checkout's side is called at an early look and exits 1, naming the metric and its interval", async (t) => {
    const out = join(tmp, "burn");
    const run = perfpack(
      [
        "gate",
        "--baseline-ref",
        "HEAD",
        "--rounds",
        "3",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--candidate-env",
        "EXECUTOR_CPU_BURN_US=3000",
        "--seed",
        "3",
        "--out",
        out,
        "--json",
      ],
      env,
    );
    assert.equal(await run.exit, 1, run.output());
    const doc = JSON.parse(readFileSync(join(out, "gate.json"), "utf8")) as RevisionGateDocument;
    t.diagnostic(
      `look ${doc.looks.length}/${doc.design.maxLooks}: ${doc.comparisons.map((c, i) => `${c.label} ${c.estimate.ratio.toFixed(3)} (${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}) ${doc.calls[i]}`).join("; ")}`,
    );
    assert.equal(doc.outcome, "regression");
    assert.ok(doc.looks.length < doc.design.maxLooks, `stopped at look ${doc.looks.length} of ${doc.design.maxLooks}`);
    assert.match(
      doc.reasons.join("\n"),
      /optimized · latency · (req\/s|p95 ms|CPU µs\/req): [\d.]+% worse than optimized@HEAD \(ratio [\d.]+, 99\.\d\d% interval [\d.]+–[\d.]+, wholly beyond the 5\.0% line\)/,
    );
    assert.match(run.output(), /gate: look 1\/\d+ after 3 rounds/);
    // the gate's decision is the only verdict printed
    assert.doesNotMatch(run.output(), /verdict: (PASS|FAIL)/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("Ctrl-C during the gate's run stops every child, keeps the finished trials and exits 130", async () => {
    const run = perfpack(
      [
        "gate",
        "--baseline-ref",
        "HEAD",
        "--rounds",
        "3",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--out",
        join(tmp, "int"),
      ],
      env,
    );
    await waitForOutput(run, /✓ \[1\/6\]/, 120_000);
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 130, run.output());
    assert.deepEqual(descendants(run.child.pid!), []);
    const r = JSON.parse(readFileSync(join(tmp, "int", "results.json"), "utf8")) as Results;
    assert.ok(r.interrupted && r.trials.length >= 1);
  });

  test("Ctrl-C while the baseline revision builds stops the build and everything it started, removes the half-built tree and exits 130", async () => {
    const cache = join(tmp, "cold-cache");
    const run = perfpack(["gate", "--baseline-ref", "HEAD", "--out", join(tmp, "build-int")], {
      ...env,
      XDG_CACHE_HOME: cache,
    });
    await waitForOutput(run, /building its executor in /, 60_000);
    // inside the build: Ctrl-C once its `npm run build` step is running (the event, not a time:
    // on a fast machine the copy and the build can end within two seconds)
    await waitFor(
      () => descendantWith(run.child.pid!, "npm", "run", "build"),
      run.child,
      "the build's npm step",
      120_000,
    );
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 130, run.output());
    assert.match(run.output(), /was interrupted; its partial tree is set aside, and the next build removes it/);
    assert.deepEqual(descendants(run.child.pid!), []);
    assert.deepEqual(
      readdirSync(join(cache, "perfpack", "revisions")).filter((d) => !/\.partial-\d+$/.test(d)),
      [],
      "no half-built tree is left in the cache under a tree's name",
    );
    assert.equal(existsSync(join(tmp, "build-int", "results.json")), false, "no run started");
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
