import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startStack } from "../../../harness/engine/rig.js";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack } from "../../helpers/cli.js";
import { alive, descendants } from "../../helpers/procs.js";

const fds = () => readdirSync("/proc/self/fd").length;
const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

test("50 launch/stop cycles of the trial stack leak no process, port or file descriptor", async (t) => {
  // one cycle first, so lazily created handles (undici's agent, the TLS context) are counted in the baseline
  await (await startStack({ plainHttp: true })).stop();
  const fdBefore = fds();
  const pids: number[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) {
    const stack = await startStack({ plainHttp: i % 2 === 1, executorEnv: { HTTP_KEEPALIVE: String(i % 3 === 0) } });
    pids.push(stack.executor.pid, stack.exchange.pid);
    ports.push(Number(new URL(stack.executor.url).port), Number(new URL(stack.exchange.url).port));
    await stack.stop();
    const exits = await Promise.all([stack.executor.exited, stack.exchange.exited]);
    assert.ok(
      exits.every((e) => e.code === 0),
      `cycle ${i}: a service did not exit cleanly: ${JSON.stringify(exits)}`,
    );
  }
  const fdAfter = fds();
  t.diagnostic(`fds before ${fdBefore}, after 50 cycles ${fdAfter}; ${pids.length} processes started`);
  assert.deepEqual(descendants(process.pid), [], "a started service outlived its stop");
  assert.deepEqual(pids.filter(alive), []);
  // a leaked fd a cycle would show as 50+; allow a few for handles Node opens lazily
  assert.ok(fdAfter - fdBefore <= 5, `file descriptors grew from ${fdBefore} to ${fdAfter}`);
  const stuck: number[] = [];
  for (const p of ports) if (!(await bindable(p))) stuck.push(p);
  assert.deepEqual(stuck, [], "ports still held after their service stopped");
});

test("an executor that never becomes ready fails its trial after --ready-timeout, with its log tail; nothing is left running", async () => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-hung-"));
  const run = perfpack([
    "run",
    "--quick",
    "--scenarios",
    "latency",
    "--variants",
    "baseline,optimized",
    "--rounds",
    "1",
    "--env",
    "EXECUTOR_START_DELAY_MS=600000",
    // small, so that the test does not wait out the default; the exchange starts under the same
    // timeout, so not so small that a busy machine's exchange misses it and fails the trial instead
    "--ready-timeout",
    "5",
    // the allocation pass would wait out the same timeout again
    "--skip-allocation",
    "--out",
    out,
  ]);
  const code = await run.exit;
  assert.equal(code, 3, run.output());
  assert.match(run.output(), /within 5000 ms \(the ready timeout/);
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.equal(r.trials.length, 2);
  for (const trial of r.trials) {
    assert.equal(trial.status, "failed");
    if (trial.status !== "failed") continue;
    assert.equal(trial.service, "executor");
    assert.match(trial.error, /no 'listening <url>' line within 5000 ms/);
    assert.match(trial.logTail ?? "", /EXECUTOR_START_DELAY_MS=600000/);
  }
  assert.deepEqual(descendants(run.child.pid!), []);
});

test("secrets (env keys with KEY, SECRET or TOKEN) never reach results, reports or the terminal", async () => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-secret-"));
  const secrets = ["s3cr3t-api-key-value", "tok-AAAA-1111", "tok-BBBB-2222"];
  const run = perfpack(
    [
      "run",
      "--quick",
      "--scenarios",
      "latency",
      "--rounds",
      "1",
      "--duration",
      "0.5",
      "--warmup",
      "0",
      "--env",
      `EXECUTOR_API_KEY=${secrets[0]}`,
      "--env",
      "PERFPACK_NOTE=visible",
      "--matrix",
      `UPSTREAM_TOKEN=${secrets[1]},${secrets[2]}`,
      // the executor needs the key: without it every request is a 401 and the trials fail; the
      // header names it in perfpack's environment, so its value is a secret of the run too
      "--header",
      "X-API-Key: ${env:PERFPACK_TEST_API_KEY}",
      "--out",
      out,
    ],
    { ...process.env, PERFPACK_TEST_API_KEY: secrets[0] },
  );
  const code = await run.exit;
  assert.ok(code === 0 || code === 1, run.output());
  const files = readdirSync(out, { recursive: true, encoding: "utf8" }).filter((f) => /\.(json|md|html|log)$/.test(f));
  assert.ok(
    files.includes("results.json") && files.includes("report.md") && files.includes("report.html"),
    files.join(", "),
  );
  for (const f of files) {
    const text = readFileSync(join(out, f), "utf8");
    for (const s of secrets) assert.ok(!text.includes(s), `${f} contains a secret`);
  }
  for (const s of secrets) assert.ok(!run.output().includes(s), "the terminal output contains a secret");
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.deepEqual(
    r.plan.variants.map((v) => v.name),
    ["UPSTREAM_TOKEN=[redacted#1]", "UPSTREAM_TOKEN=[redacted#2]"],
  );
  for (const v of r.plan.variants) {
    assert.equal(v.env.EXECUTOR_API_KEY, "[redacted]");
    assert.equal(v.env.PERFPACK_NOTE, "visible");
  }
  assert.ok(
    r.trials.every((t) => t.status === "ok"),
    JSON.stringify(r.trials.map((t) => t.status === "failed" && t.error)),
  );
});

test("--warm: each variant's services start once and serve every round's slice; nothing is left running", async () => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-warm-"));
  const run = perfpack(["run", "--warm", "--quick", "--scenarios", "latency", "--rounds", "3", "--out", out]);
  // 0 or 1: the verdict is a measurement; a failed trial (3) is not
  const code = await run.exit;
  assert.ok(code === 0 || code === 1, run.output());
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.equal(code, r.summary.verdict?.pass ? 0 : 1, "the exit code is the recorded verdict's");
  assert.equal(r.plan.warm, true);
  assert.equal(r.trials.filter((t) => t.status === "ok").length, 6);
  // one executor and one exchange per variant, for all three rounds: their logs, under each variant's first trial
  const logs = readdirSync(join(out, "logs")).sort();
  const executorLogs = logs.filter((f) => f.endsWith(".executor.log"));
  assert.deepEqual(executorLogs.map((f) => f.replace(/^\d+-/, "").replace(/-r\d\.executor\.log$/, "")).sort(), [
    "baseline-latency",
    "optimized-latency",
  ]);
  for (const f of executorLogs)
    assert.equal(readFileSync(join(out, "logs", f), "utf8").match(/listening /g)?.length, 1, f);
  assert.deepEqual(descendants(run.child.pid!), []);
});
