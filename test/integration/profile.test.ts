import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { projectRoot } from "../../services/common/src/project.js";
import { perfpack } from "../helpers/cli.js";
import { descendants, descendantWith, waitFor } from "../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-prof-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const files = (dir: string, re: RegExp): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && re.test(e.name)).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));

describe("perfpack profile (no TTY: stdin closed, output piped)", () => {
  test("cpuprof: a .cpuprofile per variant and a hot-path diff of self time", async () => {
    const out = join(tmp, "cpuprof");
    const run = perfpack(["profile", "--tool", "cpuprof", "--variants", "baseline,optimized", "--duration", "1", "--out", out]);
    assert.equal(await run.exit, 0, run.output());
    for (const v of ["baseline", "optimized"]) assert.equal(files(join(out, "flame", v), /\.cpuprofile$/).length, 1, v);
    const diff = readFileSync(join(out, "flame", "hot-path-diff.md"), "utf8");
    assert.match(diff, /self time/);
    assert.match(diff, /\| function \| baseline self \| optimized self \| change \|/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  for (const [tool, artifact] of [
    ["0x", /^flamegraph\.html$/],
    ["clinic-doctor", /\.clinic-doctor\.html$/],
    ["clinic-flame", /\.clinic-flame\.html$/],
  ] as const) {
    test(`${tool}: writes its HTML under <out>/flame/<variant>/`, async () => {
      const out = join(tmp, tool);
      const run = perfpack(["profile", "--tool", tool, "--variants", "optimized", "--duration", "1", "--out", out]);
      assert.equal(await run.exit, 0, run.output());
      const html = files(join(out, "flame", "optimized"), artifact);
      assert.equal(html.length, 1, run.output());
      assert.ok(statSync(html[0]!).size > 20_000);
    });
  }

  test("run --profile 0x: flamegraphs after the trials, linked from the HTML report, hot path in the Markdown", async () => {
    const out = join(tmp, "run-profile");
    const run = perfpack(["run", "--scenarios", "latency", "--rounds", "1", "--duration", "0.5", "--warmup", "0", "--profile", "0x", "--out", out]);
    assert.ok([0, 1].includes((await run.exit)!), run.output());
    const html = readFileSync(join(out, "report.html"), "utf8");
    for (const v of ["baseline", "optimized"]) assert.match(html, new RegExp(`href="flame/${v}/flamegraph\\.html"`));
    assert.match(readFileSync(join(out, "report.md"), "utf8"), /## Hot path: baseline → optimized/);
  });

  test("a tool that leaves no artifact is an error (exit 3) that shows the tool's output, never silence", async () => {
    const out = join(tmp, "killed");
    const run = perfpack(["profile", "--tool", "cpuprof", "--variants", "optimized", "--duration", "3", "--out", out]);
    // kill the profiled executor before it can write its .cpuprofile
    const victim = await waitFor(() => descendantWith(run.child.pid!, "--cpu-prof", "executor"), run.child, "the profiled executor");
    await new Promise((r) => setTimeout(r, 1000));
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
    const child = spawn(join(projectRoot(), "runtime", `${name}.sh`), [], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PERF_PROFILE_SECONDS: "1" } });
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
    rmSync(join(m[1]!, "..", "..", ".."), { recursive: true, force: true });
  });
  test("every script has a .cmd twin for Windows", () => {
    for (const n of ["perf_latency_test", "perf_batch_test", "perf_json_test", "perf_profile_http"]) {
      const cmd = readFileSync(join(projectRoot(), "runtime", `${n}.cmd`), "utf8");
      assert.match(cmd, /node dist\\harness\\cli\.js guide /);
    }
  });
});
