import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-gate-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const SAMPLE = fixturePath("sample-baseline.json");

describe("report, compare, gate on results files", () => {
  test("report re-renders every format from a results file", async () => {
    const run = perfpack(["report", SAMPLE, "--out", join(tmp, "re")]);
    assert.equal(await run.exit, 0, run.output());
    const md = readFileSync(join(tmp, "re", "report.md"), "utf8");
    assert.match(md, /Verdict: (PASS|FAIL)/);
    assert.match(md, /p95/);
    assert.match(md, /2×/);
    assert.match(md, /95% interval/);
    const html = readFileSync(join(tmp, "re", "report.html"), "utf8");
    assert.match(html, /<canvas id="chart-0"/);
    assert.ok(!/<script src=/.test(html), "self-contained: no external script");
    const summary = JSON.parse(readFileSync(join(tmp, "re", "summary.json"), "utf8"));
    assert.equal(summary.schema, "perfpack/summary@1");
    assert.ok(summary.summary.targets.length >= 13);
  });

  test("report appends the Markdown to $GITHUB_STEP_SUMMARY when it is set", async () => {
    const step = join(tmp, "step-summary.md");
    const run = perfpack(["report", SAMPLE, "--out", join(tmp, "gh")], { ...process.env, GITHUB_STEP_SUMMARY: step });
    assert.equal(await run.exit, 0);
    assert.match(readFileSync(step, "utf8"), /# perfpack run/);
  });

  test("compare shows two runs side by side with intervals", async () => {
    const run = perfpack(["compare", SAMPLE, SAMPLE]);
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /95% interval/);
    assert.match(run.output(), /1\.00×/);
  });

  test("A/A: a run against itself is never a regression; two rounds a side are too few to pass, so it is inconclusive (exit 0, 1 under --strict)", async () => {
    const run = perfpack(["gate", "--baseline", SAMPLE, "--current", SAMPLE]);
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /intervals at 99\.38% \(Bonferroni over them\), line 10% worse/);
    assert.match(run.output(), /gate: INCONCLUSIVE — too few rounds or too much noise to decide every metric/);
    assert.match(
      run.output(),
      /optimized · latency · req\/s: undecided \(ratio 1\.000, 99\.38% interval [\d.]+–[\d.]+ reaches across the 10\.0% line\)/,
    );
    const strict = perfpack(["gate", "--baseline", SAMPLE, "--current", SAMPLE, "--strict", "--json"]);
    assert.equal(await strict.exit, 1, strict.output());
    assert.match(strict.output(), /gate: FAIL \(inconclusive, --strict\)/);
  });

  test("the gate's options come from the config file too; a bad one names the file and the key", async () => {
    const dir = join(tmp, "cfg");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ maxRegression: 0.5, baseline: SAMPLE }));
    const run = perfpack(["gate", "--current", SAMPLE], process.env, dir);
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /line 50% worse/);
    writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ maxRegression: 20, baseline: SAMPLE }));
    const bad = perfpack(["gate", "--current", SAMPLE], process.env, dir);
    assert.equal(await bad.exit, 2, bad.output());
    assert.match(
      bad.output(),
      /config file .*perfpack\.config\.json: "maxRegression": --max-regression "20" is not valid/,
    );
  });

  test("a missing or invalid baseline exits 2 with a message", async () => {
    const missing = perfpack(["gate", "--baseline", join(tmp, "nope.json"), "--current", SAMPLE]);
    assert.equal(await missing.exit, 2);
    assert.match(missing.output(), /baseline .*nope\.json cannot be read: ENOENT/);
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, JSON.stringify({ schema: "something/else" }));
    const invalid = perfpack(["gate", "--baseline", bad, "--current", SAMPLE]);
    assert.equal(await invalid.exit, 2);
    assert.match(invalid.output(), /not a perfpack results file/);
    const notJson = join(tmp, "text.json");
    writeFileSync(notJson, "{");
    const broken = perfpack(["report", notJson]);
    assert.equal(await broken.exit, 2);
    assert.match(broken.output(), /not valid JSON/);
  });
});

describe("the gate on real runs", () => {
  // small runs: one variant, the latency scenario, 5 rounds of 1 s (a few seconds each)
  const small = (out: string, extra: string[] = []) => [
    "--variants",
    "optimized",
    "--scenarios",
    "latency",
    "--rounds",
    "5",
    "--duration",
    "1",
    "--warmup",
    "0.3",
    "--out",
    out,
    ...extra,
  ];

  test("a gross CPU burn (20 ms per request) fails the gate; the same run against itself is never a regression", async (t) => {
    const base = join(tmp, "base");
    const a = perfpack(["run", ...small(base)]);
    assert.ok([0, 1].includes((await a.exit)!), a.output());
    const aa = perfpack(["gate", "--baseline", join(base, "results.json"), "--current", join(base, "results.json")]);
    // identical rounds: every ratio is exactly 1, which no interval can put beyond the line
    assert.equal(await aa.exit, 0, aa.output());
    assert.match(aa.output(), /gate: (PASS|INCONCLUSIVE)/);
    // optimized spends about 0.4-1.4 ms of CPU per request on 2-core machines: 20 ms more caps the
    // executor near 50 req/s against its 500-2,000, a 10-40× drop that no machine's noise can hide
    const slow = perfpack([
      "gate",
      "--baseline",
      join(base, "results.json"),
      ...small(join(tmp, "slow"), ["--env", "EXECUTOR_CPU_BURN_US=20000"]),
    ]);
    const code = await slow.exit;
    // the margin, for the record: each gate metric's ratio and interval
    t.diagnostic(
      slow
        .output()
        .split("\n")
        .filter((l) => /│ optimized/.test(l))
        .join("\n"),
    );
    assert.equal(code, 1, slow.output());
    assert.match(slow.output(), /gate: FAIL \(regression\)/);
    assert.match(
      slow.output(),
      /optimized · latency · req\/s: [\d.]+% worse \(ratio 0\.\d+, 96\.67% interval .* wholly beyond the 10\.0% line\)/,
    );
    assert.ok(existsSync(join(tmp, "slow", "results.json")), "the gate's own run is kept");
  });
});
