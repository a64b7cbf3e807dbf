import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";

test("export artillery writes a script and a warm-up per scenario and variant, the processor and a README; json is named as not exported", async () => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-art-export-"));
  const run = perfpack([
    "export",
    "artillery",
    "--scenarios",
    "latency,batch,json,ws",
    "--target",
    "https://staging.example:8443",
    "--out",
    out,
  ]);
  assert.equal(await run.exit, 0, run.output());
  for (const v of ["baseline", "optimized"]) {
    for (const s of ["latency", "batch", "ws"]) {
      // JSON under the documented .yml name: Artillery reads both with its YAML parser
      const script = JSON.parse(readFileSync(join(out, v, `${s}.yml`), "utf8"));
      assert.equal(script.config.target, s === "ws" ? "wss://staging.example:8443" : "https://staging.example:8443");
      assert.equal(script.config.variables.perfpackVariant, v);
      assert.ok(
        script.config.phases.length > 0 &&
          script.config.phases.every((p: { name: string }) => p.name.startsWith("measure: ")),
      );
      const warmup = JSON.parse(readFileSync(join(out, v, `${s}.warmup.yml`), "utf8"));
      assert.ok(warmup.config.phases.every((p: { name: string }) => p.name.startsWith("warmup: ")));
    }
    assert.match(readFileSync(join(out, v, "perfpack-processor.js"), "utf8"), /recordWsLatency/);
    assert.equal(existsSync(join(out, v, "json.yml")), false);
  }
  const readme = readFileSync(join(out, "README.md"), "utf8");
  assert.match(readme, /HTTP_KEEPALIVE=true/);
  assert.match(readme, /Not exported: json \(it times serializers inside perfpack's own process/);
  assert.match(run.output(), /not exported: json/);
});

test("import artillery: reports become trials of one results.json, with a verdict; a malformed report or a repeated trial exits 2 naming what is wrong", async () => {
  const out = mkdtempSync(join(tmpdir(), "perfpack-art-import-"));
  const a = perfpack([
    "import",
    "artillery",
    fixturePath("artillery/latency-open-report.json"),
    "--variant",
    "baseline",
    "--scenario",
    "latency",
    "--out",
    out,
  ]);
  assert.equal(await a.exit, 0, a.output());
  const b = perfpack([
    "import",
    "artillery",
    fixturePath("artillery/latency-report.json"),
    "--variant",
    "optimized",
    "--scenario",
    "latency",
    "--out",
    out,
  ]);
  assert.equal(await b.exit, 0, b.output());
  assert.match(b.output(), /verdict: /);
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.deepEqual(
    r.trials.map((t) => [t.variant, t.scenario, t.round, t.status]),
    [
      ["baseline", "latency", 1, "ok"],
      ["optimized", "latency", 1, "ok"],
    ],
  );
  assert.equal(r.trials[1]!.metrics.latency_sketch_relative_accuracy, 0.01);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Pick<Results, "summary">;
  assert.ok(summary.summary.comparisons?.some((c) => c.metric === "rps" && c.candidate === "optimized"));
  // the reports say where the load came from instead of "0 cores, 0 connections"
  const md = readFileSync(join(out, "report.md"), "utf8");
  assert.match(md, /optimized/);
  assert.match(
    md,
    /^Load: imported from Artillery reports made elsewhere \(their machine, connections and warm-up are not recorded here/m,
  );
  assert.doesNotMatch(md, /0 cores|0 connections/);
  assert.match(readFileSync(join(out, "report.html"), "utf8"), /Load: imported from Artillery reports made elsewhere/);

  const again = perfpack([
    "import",
    "artillery",
    fixturePath("artillery/latency-report.json"),
    "--variant",
    "optimized",
    "--scenario",
    "latency",
    "--out",
    out,
  ]);
  assert.equal(await again.exit, 2, again.output());
  assert.match(again.output(), /already has optimized · latency · round 1: give another --round/);

  const bad = join(out, "bad.json");
  const broken = JSON.parse(readFileSync(fixturePath("artillery/latency-report.json"), "utf8"));
  // the successes' response time (Artillery 2 splits it by class): what perfpack reads
  broken.aggregate.summaries["http.response_time.2xx"].p95 = null;
  writeFileSync(bad, JSON.stringify(broken));
  const c = perfpack([
    "import",
    "artillery",
    bad,
    "--variant",
    "optimized",
    "--scenario",
    "latency",
    "--round",
    "2",
    "--out",
    out,
  ]);
  assert.equal(await c.exit, 2, c.output());
  assert.match(c.output(), /aggregate\.summaries\["http\.response_time\.2xx"\]\.p95 is null: expected a number/);
  const d = perfpack(["import", "artillery", bad, "--variant", "optimized", "--scenario", "json", "--out", out]);
  assert.equal(await d.exit, 2);
  assert.match(d.output(), /--scenario "json": expected one of latency, batch, ws/);
});
