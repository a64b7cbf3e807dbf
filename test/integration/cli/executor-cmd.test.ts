import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { projectRoot } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-cmd-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
// absolute: the tests run perfpack in a scratch directory (test/helpers/cli.ts)
const FASTIFY = `node ${join(projectRoot(), "examples", "fastify-executor", "server.mjs")}`;

describe("run --executor-cmd: a user's own service as the system under test", () => {
  test("the Fastify example runs the latency scenario; the ws route it lacks fails those trials by name; no metrics endpoint means not measured", async () => {
    const out = join(tmp, "fastify");
    const run = perfpack([
      "run",
      "--executor-cmd",
      FASTIFY,
      "--scenarios",
      "latency,ws",
      "--rounds",
      "1",
      "--duration",
      "1",
      "--warmup",
      "0.2",
      "--out",
      out,
    ]);
    assert.equal(await run.exit, 3, run.output());
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    assert.deepEqual(r.plan.variants[0]!.system, { kind: "command", cmd: FASTIFY });
    const latency = r.trials.filter((t) => t.scenario === "latency");
    assert.equal(latency.length, 2);
    for (const t of latency) {
      assert.equal(t.status, "ok", JSON.stringify(t));
      assert.ok(t.metrics.rps! > 0 && t.metrics.latency_p95_ms! > 0 && t.metrics.executor_cpu_us_per_request! > 0);
      assert.equal(t.metrics.executor_gc_share, undefined, "GC share needs the metrics endpoint");
      assert.equal(t.executorDelta, undefined);
    }
    // the variant's env reached the service: keep-alive on means no new upstream connection per request
    const conns = (v: string) => latency.find((t) => t.variant === v)!.metrics.upstream_conns_per_request!;
    assert.ok(
      conns("baseline") >= 0.9 && conns("optimized") < 0.1,
      `upstream connections per request: baseline ${conns("baseline")}, optimized ${conns("optimized")}`,
    );
    for (const t of r.trials.filter((x) => x.scenario === "ws")) {
      assert.equal(t.status, "failed");
      assert.match(
        t.status === "failed" ? t.error : "",
        /the service does not serve WS \/ws\/market \(.*404\), set by requests\.ws, which the ws scenario needs/,
      );
    }
    // the allocation pass counted the team's own service: the agent came in through NODE_OPTIONS
    const a = r.allocation?.variants.optimized;
    assert.ok(a && !("error" in a), JSON.stringify(r.allocation));
    assert.ok(a.objects > 0 && a.objectsPerRequest > 0 && a.top.length > 0);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("a soak of a service with no WebSocket stream: --ws-clients 0 sends HTTP only, and the ws scenario refuses 0 (exit 2)", async () => {
    const out = join(tmp, "soak-no-ws");
    const run = perfpack([
      "run",
      "--executor-cmd",
      FASTIFY,
      "--soak",
      "3s",
      "--warmup",
      "0.3",
      "--rate",
      "50",
      "--ws-clients",
      "0",
      "--out",
      out,
    ]);
    assert.equal(await run.exit, 0, run.output());
    const t = (JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results).trials[0]!;
    assert.equal(t.status, "ok", JSON.stringify(t));
    assert.ok(t.metrics.soak_requests! > 0 && t.metrics.soak_errors === 0, JSON.stringify(t.metrics));
    assert.equal(t.metrics.ws_msgs_per_s, 0);
    // the example serves no metrics: RSS and CPU per interval come from the OS, heap and GC share from nowhere
    const series = t.status === "ok" ? (t.series ?? []) : [];
    assert.ok(
      series.length >= 2 && series.every((p) => p.rss_mb! > 10 && p.heap_mb === undefined && p.gc_share === undefined),
      JSON.stringify(series),
    );
    // CPU over each interval since the previous point: the OS counts it in 10 ms ticks, so a short or
    // quiet interval (a busy machine's tail) may show none; the figure is at every point, and the window's is not 0
    assert.ok(
      series.slice(1).every((p) => typeof p.cpu_cores === "number" && p.cpu_cores >= 0) &&
        series.some((p) => p.cpu_cores! > 0),
      JSON.stringify(series),
    );
    const ws = perfpack([
      "run",
      "--executor-cmd",
      FASTIFY,
      "--scenarios",
      "ws",
      "--ws-clients",
      "0",
      "--out",
      join(tmp, "ws-0"),
    ]);
    assert.equal(await ws.exit, 2);
    assert.match(ws.output(), /--ws-clients 0 leaves the ws scenario no subscriber to measure/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("a service that does not load the allocation agent is not signalled; its allocation row says why", async () => {
    const out = join(tmp, "no-agent");
    const run = perfpack([
      "run",
      "--executor-cmd",
      `env -u NODE_OPTIONS ${FASTIFY}`,
      "--variants",
      "optimized",
      "--scenarios",
      "latency",
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
    assert.ok(code === 0 || code === 1, run.output());
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    const a = r.allocation?.variants.optimized;
    assert.ok(a && "error" in a);
    assert.match(
      a.error,
      /did not load the allocation agent: it is not a Node\.js process, or its start command does not pass NODE_OPTIONS on/,
    );
    const row = r.summary.targets!.find((t) => t.id === "object_allocation")!;
    assert.equal(row.status, "not-measured");
    assert.match(row.note!, /the allocation pass failed: the service \(pid \d+\) did not load the allocation agent/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("a service that never becomes ready fails its trial with the ready timeout and its log tail", async () => {
    const out = join(tmp, "silent");
    const cmd = `node -e "console.log('starting, never listening'); setInterval(() => {}, 1000)"`;
    const run = perfpack([
      "run",
      "--executor-cmd",
      cmd,
      "--variants",
      "optimized",
      "--scenarios",
      "latency",
      "--rounds",
      "1",
      "--duration",
      "0.5",
      // small, so that the test does not wait out the default; the exchange starts under the same
      // timeout, so not so small that a busy machine's exchange misses it and fails the trial instead
      "--ready-timeout",
      "5",
      // the allocation pass would wait out the same timeout again
      "--skip-allocation",
      "--out",
      out,
    ]);
    assert.equal(await run.exit, 3, run.output());
    const t = (JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results).trials[0]!;
    assert.equal(t.status, "failed");
    if (t.status === "failed") {
      assert.match(
        t.error,
        /printed no 'listening <url>' line and http:\/\/127\.0\.0\.1:\d+\/health did not answer below 500 within 5000 ms/,
      );
      assert.match(t.logTail ?? "", /starting, never listening/);
    }
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  for (const [args, pattern] of [
    [
      ["--executor-cmd", FASTIFY, "--target", "http://127.0.0.1:4001"],
      /--executor-cmd launches your service per trial; --target drives one/,
    ],
    [["--ready-path", "/ready"], /--ready-path goes with --executor-cmd/],
    [["--executor-cmd", FASTIFY, "--ready-path", "ready"], /--ready-path "ready" is not valid/],
  ] as const) {
    test(`refused with exit 2: ${args.join(" ")}`, async () => {
      const run = perfpack(["run", ...args, "--out", join(tmp, "never")]);
      assert.equal(await run.exit, 2);
      assert.match(run.output(), pattern);
    });
  }
});
