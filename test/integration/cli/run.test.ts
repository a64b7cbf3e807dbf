import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startStack } from "../../../harness/engine/rig.js";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack, waitForOutput } from "../../helpers/cli.js";
import { waitForLoad } from "../../helpers/load.js";
import { alive, descendants, descendantWith, waitFor } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-run-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const read = (dir: string): Results => JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));

/** Metrics each scenario must report in an ok trial. */
const EXPECTED: Record<string, string[]> = {
  latency: [
    "open_orders_1_s",
    "open_orders_2_s",
    "open_orders_3_s",
    "rps",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "errors",
    "non_2xx",
    "upstream_conns_per_request",
    "executor_cpu_us_per_request",
  ],
  batch: [
    "orders_per_s",
    "latency_p95_ms",
    "batch_flushes",
    "batch_flush_btcusdt",
    "upstream_calls_per_order",
    "executor_cpu_us_per_order",
  ],
  json: [
    "json_fast_ns_per_op_50",
    "json_native_ns_per_op_50",
    "json_fast_ns_per_op_500",
    "json_native_ns_per_op_500",
    "json_serialization_p95_ms",
    "rps",
  ],
  ws: [
    "ws_msgs_per_s",
    "ws_latency_p50_ms",
    "ws_latency_p95_ms",
    "ws_latency_p99_ms",
    "ws_wire_bytes",
    "ws_compression_ratio",
    "ws_bandwidth_saved_bytes",
    "executor_cpu_us_per_message",
    "ws_ping_ok",
  ],
};
const COMMON = [
  "window_s",
  "generator_cpu_cores",
  "executor_cpu_cores",
  "executor_rss_max_mb",
  "executor_gc_share",
  "generator_bound",
];

describe("perfpack run", () => {
  test("--quick: every trial ok, results.json complete, nothing left running", async () => {
    const out = join(tmp, "quick");
    const run = perfpack(["run", "--quick", "--out", out]);
    const code = await run.exit;
    // the verdict is a measurement (keep-alive's ≥ 2× on this machine): 0 or 1, whichever it measured
    assert.ok(code === 0 || code === 1, run.output());
    const r = read(out);
    assert.equal(code, r.summary.verdict?.pass ? 0 : 1, "the exit code is the recorded verdict's");
    assert.equal(r.schema, "perfpack/results@1");
    assert.equal(r.interrupted, false);
    assert.ok(r.machine.cores >= 1 && r.machine.node.startsWith("v") && r.machine.cpuModel.length > 0);
    assert.deepEqual(
      r.plan.variants.map((v) => v.name),
      ["baseline", "optimized"],
    );
    assert.deepEqual(r.plan.scenarios, ["latency", "batch", "json", "ws"]);
    assert.equal(r.trials.length, 2 * 4 * r.plan.rounds);
    assert.deepEqual(
      r.trials.map((t) => `${t.round}:${t.scenario}:${t.variant}`),
      r.plan.order.map((o) => `${o.round}:${o.scenario}:${o.variant}`),
      "trials ran in the plan's interleaved order",
    );
    for (const t of r.trials) {
      assert.equal(t.status, "ok", `${t.variant}/${t.scenario}/${t.round}: ${t.status === "failed" ? t.error : ""}`);
      assert.equal(typeof t.generatorBound, "boolean");
      assert.equal(t.env.HTTP_KEEPALIVE, t.variant === "optimized" ? "true" : "false");
      for (const m of [...EXPECTED[t.scenario]!, ...COMMON])
        assert.equal(typeof t.metrics[m], "number", `${t.variant}/${t.scenario} lacks ${m}`);
      for (const v of Object.values(t.metrics)) assert.ok(Number.isFinite(v));
    }
    const opt = r.trials.find((t) => t.variant === "optimized" && t.scenario === "batch")!;
    assert.ok(opt.metrics.batch_flushes! > 0 && opt.metrics.batch_mean_size! > 0);
    assert.ok(opt.executorDelta && Object.keys(opt.executorDelta).some((k) => k.startsWith("spark_batch_flush_total")));
    const ws = r.trials.find((t) => t.variant === "optimized" && t.scenario === "ws")!;
    assert.equal(ws.metrics.ws_compressed, 1);
    assert.equal(ws.metrics.ws_ping_ok, 1, "ping/pong works with compression on");
    assert.ok(r.summary.medians.baseline?.latency?.rps);
    // the allocation pass, on the candidate: its counts, and the targets table measured in full
    const a = r.allocation?.variants.optimized;
    assert.ok(a && !("error" in a), JSON.stringify(r.allocation));
    assert.ok(
      a.objects > 0 && a.requests > 0 && a.objectsPerRequest > 0 && a.backgroundObjectsPerS > 0 && a.top.length > 0,
    );
    assert.equal(a.trialRps, r.summary.medians.optimized?.latency?.rps);
    assert.equal(r.allocation?.variants.baseline, undefined, "the reference is not a candidate");
    const table = r.summary.targets!.filter((t) => t.kind === "table");
    assert.deepEqual(
      table.filter((t) => t.status === "not-measured").map((t) => t.label),
      [],
    );
    assert.equal(table.find((t) => t.id === "object_allocation")?.measured, a.objectsPerS);
    const md = readFileSync(join(out, "report.md"), "utf8");
    assert.match(md, /## Allocation pass \(latency scenario's load/);
    assert.match(md, /\| optimized \| [\d,]+ \| [\d,]+–[\d,]+ \| [\d,]+ \|/);
    assert.match(md, /V8's allocation tracker/);
    assert.match(md, /optimized, most objects allocated by: /);
    assert.match(run.output(), /16 trials, about \d+ s/);
    assert.match(run.output(), /optimized \/ baseline/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("a service that dies mid-trial fails that trial with its exit and log tail; the run goes on and exits 3", async () => {
    const out = join(tmp, "crash");
    const run = perfpack([
      "run",
      "--variants",
      "baseline",
      "--scenarios",
      "latency",
      "--rounds",
      "2",
      "--duration",
      "4",
      "--warmup",
      "0",
      "--out",
      out,
    ]);
    await waitForOutput(run, /baseline · latency · round 1|results: /);
    // find the executor among perfpack's children, and kill it once the trial's load is under way
    // (the event), never a fixed time after it appeared: a busy machine may not have it ready by then
    const victim = await waitFor(() => descendantWith(run.child.pid!, "executor"), run.child, "the executor");
    await waitForLoad(victim, run.child);
    process.kill(victim, "SIGKILL");
    const code = await run.exit;
    assert.equal(code, 3, run.output());
    const r = read(out);
    assert.equal(r.trials.length, 2);
    const failed = r.trials.find((t) => t.status === "failed");
    assert.ok(failed && failed.status === "failed");
    assert.equal(failed.service, "executor");
    assert.equal(failed.exit?.signal, "SIGKILL");
    assert.match(failed.logTail ?? "", /listening http/);
    assert.ok(
      r.trials.some((t) => t.status === "ok"),
      "the next trial ran",
    );
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("SIGINT mid-run stops every child, keeps the finished trials in a valid results.json, exits 130", async () => {
    const out = join(tmp, "sigint");
    const run = perfpack([
      "run",
      "--scenarios",
      "latency",
      "--rounds",
      "5",
      "--duration",
      "1",
      "--warmup",
      "0",
      "--out",
      out,
    ]);
    await waitForOutput(run, /✓ \[1\/10\]/);
    const kids = await waitFor(
      () => {
        const d = descendants(run.child.pid!);
        return d.length >= 2 ? d : undefined;
      },
      run.child,
      "the trial's services",
    );
    run.child.kill("SIGINT");
    const code = await run.exit;
    assert.equal(code, 130, run.output());
    for (const pid of kids) assert.equal(alive(pid), false, `child ${pid} outlived perfpack`);
    const r = read(out);
    assert.equal(r.interrupted, true);
    assert.ok(r.trials.length >= 1 && r.trials.length < 10);
    assert.ok(r.trials.every((t) => t.status === "ok"));
  });

  test("--target drives a running executor and launches nothing", async () => {
    const stack = await startStack();
    try {
      const out = join(tmp, "target");
      const run = perfpack([
        "run",
        "--target",
        stack.executor.url,
        "--scenarios",
        "latency,batch",
        "--rounds",
        "1",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--out",
        out,
      ]);
      const code = await run.exit;
      assert.equal(code, 0, run.output());
      const r = read(out);
      assert.deepEqual(
        r.trials.map((t) => `${t.variant}/${t.scenario}/${t.status}`),
        ["target/latency/ok", "target/batch/ok"],
      );
      assert.equal(r.plan.target, stack.executor.url);
      assert.ok(r.trials[0]!.metrics.rps! > 0);
      assert.ok(r.trials[0]!.metrics.executor_cpu_cores !== undefined, "the target's pid comes from its health");
    } finally {
      await stack.stop();
    }
  });

  for (const [args, pattern] of [
    [["--target", "http://192.0.2.10:4001"], /not on loopback/],
    [["--scenarios", "latency,nope"], /unknown scenario "nope": valid scenarios are latency, batch, json, ws/],
    [["--variants", "fastest"], /unknown variant "fastest": valid variants are baseline, optimized/],
    [["--matrix", "BATCH_FLUSH_MS"], /expected KEY=v1,v2/],
    [["--env", "WS_DEFLATE_LEVEL=12"], /WS_DEFLATE_LEVEL="12" is not valid/],
    [["--rounds", "many"], /--rounds "many" is not valid/],
    [["--no-such-flag"], /unknown option/],
  ] as const) {
    test(`usage error exits 2 before anything starts: ${args.join(" ")}`, async () => {
      const run = perfpack(["run", ...args, "--out", join(tmp, "never")]);
      assert.equal(await run.exit, 2);
      assert.match(run.output(), pattern);
      assert.throws(() => readFileSync(join(tmp, "never", "results.json")));
    });
  }

  test("a bad value in perfpack.config.json names the file and the key; a flag wins over it; a missing --config file is exit 2 naming it", async () => {
    const dir = join(tmp, "config");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ rounds: 0 }));
    const bad = perfpack(["run", "--out", join(tmp, "never")], process.env, dir);
    assert.equal(await bad.exit, 2, bad.output());
    assert.match(
      bad.output(),
      /perfpack: config file .*perfpack\.config\.json: "rounds": --rounds "0" is not valid: expected an integer from 1 to 1000\n/,
    );
    // the flag's value is the one resolved (the file's is never used): the error is the flag's next one
    const over = perfpack(
      ["run", "--rounds", "2", "--scenarios", "nope", "--out", join(tmp, "never")],
      process.env,
      dir,
    );
    assert.equal(await over.exit, 2, over.output());
    assert.match(over.output(), /perfpack: unknown scenario "nope": valid scenarios are/);
    assert.doesNotMatch(over.output(), /--rounds/);
    const missing = perfpack(["run", "--config", "nope.json", "--out", join(tmp, "never")], process.env, dir);
    assert.equal(await missing.exit, 2, missing.output());
    assert.match(missing.output(), /perfpack: config file .*nope\.json: cannot be read \(ENOENT\)/);
  });
});
