import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import { projectRoot } from "../../../services/common/src/project.js";
import { MIN_COVERAGE, readDoctorSamples } from "../../../harness/profile/samples.js";
import { flameRows, screenshotPath, withPage } from "../../helpers/browser.js";
import { perfpack } from "../../helpers/cli.js";
import { waitForLoad } from "../../helpers/load.js";
import { descendants, descendantWith, waitFor } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-prof-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
/** The samples a tool left, counted from its raw output: for 0x the V8 log itself, not ticks.json. */
async function rawSamples(tool: string, dir: string): Promise<number> {
  switch (tool) {
    case "0x":
      return readFileSync(files(dir, /-v8\.log$/)[0]!, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("tick,")).length;
    case "clinic-flame":
      return (JSON.parse(readFileSync(files(dir, /\.clinic-flame-samples$/)[0]!, "utf8")) as unknown[]).length;
    case "clinic-doctor":
      return (await readDoctorSamples(files(dir, /\.clinic-doctor-processstat$/)[0]!)).length;
    default:
      return (JSON.parse(readFileSync(files(dir, /\.cpuprofile$/)[0]!, "utf8")) as { samples: unknown[] }).samples
        .length;
  }
}

/**
 * The content check: the samples cover the profiled window at the sampler's rate, within
 * MIN_COVERAGE (half). profile.json holds the basis (the executor's CPU time, or the wall time
 * for doctor's timer); the count comes from the tool's raw output.
 */
function assertSamples(flame: string, variant: string, raw: number, t?: TestContext): void {
  const p = JSON.parse(readFileSync(join(flame, "profile.json"), "utf8")) as {
    variants: Array<{
      variant: string;
      check: { ok: boolean; basisMs: number; expected: number; samples: number; coverage: number; delayMs?: number };
    }>;
  };
  const c = p.variants.find((v) => v.variant === variant)?.check;
  assert.ok(c, `no sample check for ${variant} in profile.json`);
  // the margin, for the record: coverage against the 50% floor
  t?.diagnostic(
    `${variant}: basis ${c.basisMs} ms; ${c.samples} samples, coverage ${(c.coverage * 100).toFixed(0)}% of ${c.expected}${c.delayMs !== undefined ? ` (mean loop delay ${c.delayMs.toFixed(1)} ms)` : ""}`,
  );
  // the window is real: a tenth of a second at least (the executor's CPU time, for the stack
  // samplers, is its share of a busy machine's cores: half a second of it from a 1 s load was a bet)
  assert.ok(c.basisMs >= 100, `${variant}: the basis is ${c.basisMs} ms`);
  assert.ok(
    raw >= MIN_COVERAGE * c.expected,
    `${variant}: ${raw} samples in the tool's output, expected at least ${MIN_COVERAGE} × ${c.expected}`,
  );
  assert.equal(c.ok, true);
}

/** About one frame's height of pixel rows: what the root bar alone paints (measured: 19 and 27). */
const ROOT_ROWS = 30;

const files = (dir: string, re: RegExp): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && re.test(e.name))
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));

describe("perfpack profile (no TTY: stdin closed, output piped)", () => {
  test("cpuprof: a .cpuprofile per variant and a hot-path diff of self time", async (t) => {
    const out = join(tmp, "cpuprof");
    const run = perfpack([
      "profile",
      "--tool",
      "cpuprof",
      "--variants",
      "baseline,optimized",
      "--duration",
      "1",
      "--out",
      out,
    ]);
    assert.equal(await run.exit, 0, run.output());
    for (const v of ["baseline", "optimized"]) {
      assert.equal(files(join(out, "flame", v), /\.cpuprofile$/).length, 1, v);
      assertSamples(join(out, "flame"), v, await rawSamples("cpuprof", join(out, "flame", v)), t);
    }
    const diff = readFileSync(join(out, "flame", "hot-path-diff.md"), "utf8");
    assert.match(diff, /self time/);
    assert.match(diff, /\| function \| baseline self \| optimized self \| change \|/);
    assert.match(diff, /Samples: V8's CPU profiler/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  for (const [tool, artifact, duration] of [
    ["0x", /^flamegraph\.html$/, "2"],
    ["clinic-flame", /\.clinic-flame\.html$/, "2"],
    ["clinic-doctor", /\.clinic-doctor\.html$/, "1"],
  ] as const) {
    test(`${tool}: its HTML under <out>/flame/<variant>/, drawn from samples that cover the profiled window`, async (t) => {
      const out = join(tmp, tool);
      const run = perfpack([
        "profile",
        "--tool",
        tool,
        "--variants",
        "optimized",
        "--duration",
        duration,
        "--out",
        out,
      ]);
      assert.equal(await run.exit, 0, run.output());
      const html = files(join(out, "flame", "optimized"), artifact);
      assert.equal(html.length, 1, run.output());
      assertSamples(join(out, "flame"), "optimized", await rawSamples(tool, join(out, "flame", "optimized")), t);
      if (tool === "clinic-doctor") return;
      // what a user sees: frames stacked above the root bar, not the root alone
      await withPage(t, async (page) => {
        await page.goto(`file://${html[0]}`);
        const rows = await flameRows(page, ROOT_ROWS * 5);
        assert.ok(
          rows >= ROOT_ROWS * 5,
          `${tool}: ${rows} painted pixel rows in the flamegraph; the root bar alone paints about ${ROOT_ROWS}`,
        );
        if (tool === "0x") {
          const shot = screenshotPath("flamegraph-0x.png");
          await page.screenshot({ path: shot });
          t.diagnostic(`screenshot: ${shot}`);
        }
      });
    });
  }

  test("a profiler starved of samples is reported with its count, and profile exits 3", async () => {
    // an agent running V8's CPU profiler inside the executor (as an APM's profiler does) takes --prof's sampler
    const agent = join(tmp, "agent.cjs");
    writeFileSync(
      agent,
      'if (process.argv.includes("executor")) { const s = new (require("node:inspector").Session)(); s.connect(); s.post("Profiler.enable", () => s.post("Profiler.start")); }\n',
    );
    const out = join(tmp, "starved");
    const run = perfpack(["profile", "--tool", "0x", "--variants", "optimized", "--duration", "1", "--out", out], {
      ...process.env,
      NODE_OPTIONS: `--require ${agent}`,
    });
    assert.equal(await run.exit, 3, run.output());
    assert.match(
      run.output(),
      /⚠ optimized: 0x recorded too few samples: \d+ samples, \d+% of the \d+ that one per 1 ms promises/,
    );
    assert.match(run.output(), /profile\.json has the counts/);
    const p = JSON.parse(readFileSync(join(out, "flame", "profile.json"), "utf8")) as {
      variants: Array<{ check: { ok: boolean; coverage: number } }>;
    };
    assert.equal(p.variants[0]!.check.ok, false);
    assert.ok(p.variants[0]!.check.coverage < MIN_COVERAGE);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("run --profile 0x: flamegraphs after the trials, linked from the reports with their sample counts, the differential flamegraph, hot path in the Markdown", async (t) => {
    const out = join(tmp, "run-profile");
    const run = perfpack([
      "run",
      "--scenarios",
      "latency",
      "--rounds",
      "1",
      "--duration",
      "1",
      "--warmup",
      "0",
      "--profile",
      "0x",
      "--out",
      out,
    ]);
    assert.ok([0, 1].includes((await run.exit)!), run.output());
    const html = readFileSync(join(out, "report.html"), "utf8");
    for (const v of ["baseline", "optimized"]) {
      assert.match(
        html,
        new RegExp(`href="flame/${v}/flamegraph\\.html">${v}: flamegraph\\.html — [\\d,]+ samples, \\d+% of expected<`),
      );
      assertSamples(join(out, "flame"), v, await rawSamples("0x", join(out, "flame", v)), t);
    }
    // the differential flamegraph from 0x's ticks, linked first
    assert.match(
      html,
      /<li><a href="flame\/diff\.html">differential flamegraph: optimized against baseline, per request /,
    );
    const md = readFileSync(join(out, "report.md"), "utf8");
    assert.match(
      md,
      /- \[differential flamegraph: optimized against baseline, per request [^\]]*\]\(flame\/diff\.html\)/,
    );
    assert.match(md, /## Hot path: baseline → optimized/);
    assert.match(md, /Samples: 0x's own samples/);
  });

  test("a tool that leaves no artifact is an error (exit 3) that shows the tool's output, never silence", async () => {
    const out = join(tmp, "killed");
    const run = perfpack(["profile", "--tool", "cpuprof", "--variants", "optimized", "--duration", "3", "--out", out]);
    // kill the profiled executor before it can write its .cpuprofile: once the load is under way
    // (the event: it is ready and serving), never a fixed time after it appeared, when a busy
    // machine may not have it ready yet ("exited before it was ready" instead of this error)
    const victim = await waitFor(
      () => descendantWith(run.child.pid!, "--cpu-prof", "executor"),
      run.child,
      "the profiled executor",
    );
    await waitForLoad(victim, run.child);
    process.kill(victim, "SIGKILL");
    assert.equal(await run.exit, 3, run.output());
    assert.match(run.output(), /cpuprof produced no .*cpuprofile.*signal SIGKILL/);
    assert.match(run.output(), /--- the tool's output ---[\s\S]*listening http/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  for (const [args, pattern] of [
    [["--tool", "perf"], /unknown profiling tool "perf": valid tools are 0x, clinic-flame, clinic-doctor, cpuprof/],
    [["--variants", "fastest"], /unknown variant "fastest": valid variants are baseline, optimized/],
    [["--scenario", "nope"], /unknown scenario "nope"/],
  ] as const) {
    test(`refused with exit 2: ${args.join(" ")}`, async () => {
      const run = perfpack(["profile", ...args, "--out", join(tmp, "never")]);
      assert.equal(await run.exit, 2);
      assert.match(run.output(), pattern);
    });
  }
});

/** Runs a runtime script as an operator would, without a TTY. */
function script(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(projectRoot(), "runtime", `${name}.sh`), [], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PERF_PROFILE_SECONDS: "1", PERF_PROFILE_OUT: join(tmp, `guide-${name}`) },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("runtime scripts print the guide's lines", () => {
  test("perf_latency_test: open_orders_1..3 in seconds", async () => {
    const r = await script("perf_latency_test");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^open_orders_1=\d+\.\d{3}s\nopen_orders_2=\d+\.\d{3}s\nopen_orders_3=\d+\.\d{3}s\n$/);
  });
  test('perf_batch_test: spark_batch_flush_total{key="BTCUSDT"} N', async () => {
    const r = await script("perf_batch_test");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^spark_batch_flush_total\{key="BTCUSDT"\} [1-9]\d*\n$/);
  });
  test("perf_json_test: fast_json= and native_json= in seconds", async () => {
    const r = await script("perf_json_test");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^fast_json=\d+\.\d{3}s\nnative_json=\d+\.\d{3}s\n$/);
  });
  test("perf_profile_http: the path of a 0x flamegraph that exists", async () => {
    const r = await script("perf_profile_http");
    assert.equal(r.code, 0, r.stderr);
    const m = /^flamegraph=(\S+flamegraph\.html)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(statSync(m[1]!).size > 20_000);
    assertSamples(join(m[1]!, "..", ".."), "optimized", await rawSamples("0x", join(m[1]!, "..")));
    assert.ok(
      m[1]!.startsWith(join(tmp, "guide-perf_profile_http")),
      `the flamegraph is where PERF_PROFILE_OUT says: ${m[1]}`,
    );
  });
  test("every script has a .cmd twin for Windows", () => {
    for (const n of ["perf_latency_test", "perf_batch_test", "perf_json_test", "perf_profile_http"]) {
      const cmd = readFileSync(join(projectRoot(), "runtime", `${n}.cmd`), "utf8");
      assert.match(cmd, /node dist\\harness\\cli\.js guide /);
    }
  });
});
