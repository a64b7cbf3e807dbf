import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { exportArtillery, importArtillery } from "../../../harness/api/artillery.js";
import { UsageError } from "../../../harness/errors.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { SCENARIOS } from "../../../scenarios/index.js";

const scratch = (name: string) => ({
  cwd: mkdtempSync(join(tmpdir(), `perfpack-${name}-`)),
  env: {},
  version: "0.0.0-test",
});

test("export: the scripts it wrote, relative to cwd; a remote --target beside --variants is the export's business (no --allow-remote); the left-out scenarios say why", () => {
  const ctx = scratch("art-export");
  const doc = exportArtillery(
    {
      scenarios: "latency,json,ws",
      variants: "optimized",
      target: "https://staging.example:8443/ignored",
      warmup: "0",
      out: "art",
    },
    SCENARIOS,
    ctx,
  );
  assert.deepEqual(doc.scripts, [
    join(ctx.cwd, "art", "optimized", "latency.yml"),
    join(ctx.cwd, "art", "optimized", "ws.yml"),
  ]);
  assert.equal(doc.readme, join(ctx.cwd, "art", "README.md"));
  assert.deepEqual(doc.skipped, [
    "json (it times serializers inside perfpack's own process: there is no load to hand to Artillery)",
  ]);
  for (const f of [...doc.scripts, doc.readme, join(ctx.cwd, "art", "optimized", "perfpack-processor.js")])
    assert.ok(existsSync(f), f);
  assert.equal(
    existsSync(join(ctx.cwd, "art", "optimized", "latency.warmup.yml")),
    false,
    "--warmup 0: no warm-up script",
  );
  assert.match(readFileSync(doc.readme, "utf8"), /^Target: https:\/\/staging\.example:8443\. /m);

  const refused: Array<[Parameters<typeof exportArtillery>[0], RegExp]> = [
    [{ scenarios: "latency" }, /needs --out DIR/],
    [{ out: "x", target: "ftp://h" }, /--target "ftp:\/\/h": expected an http:\/\/ or https:\/\/ URL/],
    [{ out: "x", target: "not a url" }, /is not a URL/],
    [{ out: "x", scenarios: "json" }, /none has an Artillery script; exportable: latency, batch, ws/],
  ];
  for (const [flags, re] of refused)
    assert.throws(
      () => exportArtillery(flags, SCENARIOS, ctx),
      (e: Error) => e instanceof UsageError && re.test(e.message),
      String(re),
    );
});

test("import: each report a trial of one results.json (an import's run id, the report's start); a report over --max-errors is a failed trial saying why; a repeated trial is refused", () => {
  const ctx = scratch("art-import");
  const report = JSON.parse(readFileSync(fixturePath("artillery/latency-report.json"), "utf8"));
  report.aggregate.counters["http.codes.503"] = 100;
  report.aggregate.counters["http.responses"] += 100;
  writeFileSync(join(ctx.cwd, "failing.json"), JSON.stringify(report));

  const a = importArtillery("failing.json", { variant: "optimized", scenario: "latency", out: "run" }, SCENARIOS, ctx);
  assert.equal(a.resultsFile, join(ctx.cwd, "run", "results.json"));
  assert.equal(a.trial.status, "failed");
  assert.match(
    a.trial.status === "failed" ? a.trial.error : "",
    /^100 of 1576 requests failed \(6\.3%, over --max-errors 0\.01\): 503 ×100$/,
  );
  assert.equal(a.trial.startedAt, new Date(report.aggregate.firstCounterAt).toISOString());
  const b = importArtillery(
    fixturePath("artillery/latency-open-report.json"),
    { variant: "optimized", scenario: "latency", round: "2", out: "run" },
    SCENARIOS,
    ctx,
  );
  assert.equal(b.trial.status, "ok");
  assert.ok(b.written.some((f) => f.endsWith("report.md")) && b.errors.length === 0);

  const r = JSON.parse(readFileSync(a.resultsFile, "utf8")) as Results;
  assert.match(r.runId, /^import-\d{8}-\d{6}-[a-z0-9]{1,4}$/);
  assert.equal(r.perfpack, "0.0.0-test");
  assert.equal(r.plan.imported, "artillery");
  assert.equal(r.plan.rounds, 2);
  assert.deepEqual(r.plan.order, [
    { variant: "optimized", scenario: "latency", round: 1 },
    { variant: "optimized", scenario: "latency", round: 2 },
  ]);
  assert.equal(r.summary.failedTrials, 1);

  assert.throws(
    () => importArtillery("failing.json", { variant: "optimized", scenario: "latency", out: "run" }, SCENARIOS, ctx),
    /already has optimized · latency · round 1: give another --round/,
  );
  assert.throws(
    () =>
      importArtillery(
        "failing.json",
        { variant: "optimized", scenario: "latency", round: "0", out: "run" },
        SCENARIOS,
        ctx,
      ),
    /--round "0" is not valid/,
  );
  assert.throws(
    () => importArtillery("missing.json", { variant: "optimized", scenario: "latency", out: "run" }, SCENARIOS, ctx),
    /Artillery report missing\.json cannot be read as JSON/,
  );
});
