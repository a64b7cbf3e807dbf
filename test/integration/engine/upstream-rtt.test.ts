import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

test("--upstream-rtt: a fresh TCP + TLS 1.3 connection per upstream call pays at least 3 RTT, a kept-alive call at least 1; the report says the RTT", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-rtt-"));
  const rtt = 20;
  const run = perfpack([
    "run",
    "--upstream-rtt",
    String(rtt),
    "--upstream-bandwidth",
    "1000",
    "--scenarios",
    "latency",
    "--rounds",
    "1",
    "--duration",
    "2",
    "--warmup",
    "0.5",
    "--connections",
    "8",
    "--out",
    out,
  ]);
  assert.ok([0, 1].includes((await run.exit)!), run.output());
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  const p50 = (v: string) => r.trials.find((t) => t.variant === v && t.status === "ok")!.metrics.latency_p50_ms!;
  const [b, o] = [p50("baseline"), p50("optimized")];
  t.diagnostic(`p50 at RTT ${rtt} ms: baseline ${b} ms (floor ${3 * rtt}), optimized ${o} ms (floor ${rtt})`);
  assert.ok(b >= 3 * rtt, `baseline p50 ${b} ms at RTT ${rtt} ms: a new connection per call should cost 3 RTT`);
  assert.ok(o >= rtt, `optimized p50 ${o} ms at RTT ${rtt} ms`);
  // what keep-alive saves is counted, not timed: a new upstream connection per request against none
  const conns = (v: string) =>
    r.trials.find((t) => t.variant === v && t.status === "ok")!.metrics.upstream_conns_per_request!;
  assert.ok(
    conns("baseline") >= 0.9 && conns("optimized") < 0.1,
    `upstream connections per request: baseline ${conns("baseline")}, optimized ${conns("optimized")}`,
  );
  assert.ok(
    r.plan.variants.every((v) => v.env.UPSTREAM_RTT_MS === String(rtt) && v.env.UPSTREAM_BANDWIDTH_MBPS === "1000"),
  );
  const md = readFileSync(join(out, "report.md"), "utf8");
  assert.match(md, /upstream RTT 20 ms, 1000 Mbit\/s \(emulated in user space\)/);
  // beside the latency figures of every variant
  assert.match(md, /\| variant \| upstream link \| req\/s \|/);
  assert.match(md, /\| optimized \| 20 ms, 1000 Mbit\/s \| /);
  // the link is a process of its own: its CPU is recorded apart, its log kept beside the trial's
  for (const t of r.trials.filter((t) => t.status === "ok"))
    assert.ok(t.metrics.link_cpu_cores! > 0, `${t.variant}: link_cpu_cores ${t.metrics.link_cpu_cores}`);
  assert.ok(readdirSync(join(out, "logs")).some((f) => f.endsWith(".link.log")));
  assert.deepEqual(descendants(run.child.pid!), []);
});

test("--upstream-rtt out of range, or with --target, is a usage error naming what is accepted", async () => {
  for (const [args, re] of [
    [
      ["--upstream-rtt", "20000"],
      /--upstream-rtt "20000" is not valid: expected MS or MS:JITTER in milliseconds, 0 to 10000/,
    ],
    [["--matrix", "UPSTREAM_RTT_MS=5,abc"], /--upstream-rtt "abc" is not valid/],
    [["--upstream-rtt", "10", "--target", "http://127.0.0.1:9"], /--target launches neither/],
  ] as const) {
    const run = perfpack(["run", ...args, "--scenarios", "latency"]);
    assert.equal(await run.exit, 2, run.output());
    assert.match(run.output(), re);
  }
});
