import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

test("perfpack run --soak: the optimized variant under steady load; RSS and GC share over time in results and reports", async () => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-soak-"));
  const run = perfpack(["run", "--soak", "5s", "--warmup", "0.5", "--rate", "100", "--ws-clients", "3", "--out", out]);
  const code = await run.exit;
  assert.equal(code, 0, run.output());
  assert.match(run.output(), /soak \d+ s: rss [\d.]+ MB, gc [\d.]+%/);
  assert.deepEqual(descendants(run.child.pid!), []);

  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.deepEqual(
    r.plan.variants.map((v) => v.name),
    ["optimized"],
  );
  assert.deepEqual(r.plan.scenarios, ["soak"]);
  assert.equal(r.trials.length, 1);
  const t = r.trials[0]!;
  assert.equal(t.status, "ok");
  const series = t.series ?? [];
  assert.ok(series.length >= 4, `samples: ${series.length}`);
  for (const p of series) {
    for (const k of ["t_s", "rss_mb", "heap_mb", "gc_share", "rps", "errors"])
      assert.ok(Number.isFinite(p[k]), `sample at ${p.t_s} s lacks ${k}`);
  }
  assert.ok(
    series.every((p, i) => i === 0 || p.t_s > series[i - 1]!.t_s),
    "samples in time order",
  );
  for (const k of [
    "soak_rps",
    "soak_rss_max_mb",
    "soak_rss_growth_mb_per_min",
    "soak_gc_share",
    "soak_gc_share_max",
    "soak_p95_ms",
    "executor_rss_max_mb",
    "executor_gc_share",
  ]) {
    assert.ok(Number.isFinite(t.metrics[k]), `no ${k}`);
  }
  assert.equal(t.metrics.soak_errors, 0);
  // the guide's memory rows are evaluated on the soak
  const rows = r.summary.targets ?? [];
  for (const id of ["memory", "gc_pressure"])
    assert.notEqual(rows.find((x) => x.id === id)?.status, "not-measured", id);

  const md = readFileSync(join(out, "report.md"), "utf8");
  assert.match(md, /## Soak: memory and GC over time/);
  assert.match(md, /\| t \(s\) \| RSS MB \| heap MB \| GC share \|/);
  const html = readFileSync(join(out, "report.html"), "utf8");
  assert.match(html, /soak: RSS, heap and GC time share over time/);
  assert.match(html, /"soak":\{"t":\[/);
});

test("perfpack run --soak refuses flags it cannot honour (exit 2)", async () => {
  const run = perfpack(["run", "--soak", "10m", "--variants", "baseline"]);
  assert.equal(await run.exit, 2);
  assert.match(
    run.output(),
    /--soak runs the optimized variant alone, for its own duration: it cannot combine with --variants/,
  );
  const gate = perfpack(["gate", "--baseline", fixturePath("sample-baseline.json"), "--soak", "10s"]);
  assert.equal(await gate.exit, 2);
  assert.match(gate.output(), /--soak is not for the gate/);
});
