import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { openStore } from "../../../harness/history/open.js";
import type { CapacityDocument } from "../../../harness/results/capacity.js";
import type { Results } from "../../../harness/results/schema.js";
import type { CapacitySummary } from "../../../harness/report/capacity-json.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack, waitForOutput } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-capacity-"));
/** A service that answers one request at a time after `waitMs`: it can never answer more than 1000 / waitMs per second. */
const ceiling = (waitMs: number, extra: Record<string, string> = {}) => ({
  env: { ...process.env, CEILING_WAIT_MS: String(waitMs), ...extra },
  args: ["--executor-cmd", `node ${fixturePath("ceiling-service.mjs")}`, "--scenarios", "latency"],
});
const read = (dir: string) => JSON.parse(readFileSync(join(dir, "capacity.json"), "utf8")) as CapacityDocument;

describe("perfpack capacity", () => {
  test("bad input is exit 2 naming what is accepted, before anything starts", async () => {
    const slo = perfpack(["capacity", "--slo", "p95<fast"]);
    assert.equal(await slo.exit, 2, slo.output());
    assert.match(slo.output(), /--slo "p95<fast" is not valid: .*expected .*pNN from p50 to p99\.9/);
    const rounds = perfpack(["capacity", "--rounds", "3"]);
    assert.equal(await rounds.exit, 2);
    assert.match(rounds.output(), /unknown option '--rounds'/);
    const json = perfpack(["capacity", "--scenarios", "json"]);
    assert.equal(await json.exit, 2);
    assert.match(json.output(), /--scenarios: json has no capacity search; capacity searches latency, batch, ws/);
  });

  test("a service with a known ceiling: the search brackets a capacity that is never above it, steps interleaved, every step kept", async () => {
    const out = join(tmp, "ceiling");
    // 10 ms one at a time: at most 100 req/s, whatever the machine
    const { env, args } = ceiling(10);
    const run = perfpack(
      [
        "capacity",
        ...args,
        "--variants",
        "baseline,optimized",
        "--budget",
        "120",
        "--window",
        "1",
        "--resolution",
        "0.1",
        "--out",
        out,
        "--json",
      ],
      env,
    );
    const code = await run.exit;
    assert.equal(code, 0, run.output());
    const doc = read(out);
    const summary = JSON.parse(
      run.output().slice(run.output().indexOf('{\n  "schema": "perfpack/capacity-summary@1"')),
    ) as CapacitySummary;
    assert.equal(summary.results.length, 2);
    for (const s of doc.searches) {
      t_diag(
        `${s.variant}: capacity ${s.capacity} bracket ${s.bracket.join("–")} ended ${s.ended}, ${s.steps.length} steps`,
      );
      assert.ok(s.capacity !== undefined && s.capacity > 0, `${s.variant} found a capacity`);
      assert.ok(
        s.capacity <= 100 * 1.05,
        `${s.variant}: ${s.capacity} req/s is not above the service's ceiling of 100`,
      );
      assert.ok(["bracketed", "budget"].includes(s.ended!), s.ended);
      if (s.ended === "bracketed") {
        assert.equal(s.lowerBound, false, "a bracketed capacity is not a lower bound");
        assert.ok(s.bracket[1]! > s.capacity, "its first fail lies above it");
      }
      // every level above the ceiling that was measured failed: the service cannot serve it
      for (const step of s.steps.filter((x) => x.level > 105)) assert.notEqual(step.call.call, "pass", `${step.level}`);
      // 3 to 8 windows; a level tried again decides on its first try's too, so its own may be fewer
      // (none: a level whose load could not be applied, which fails)
      for (const step of s.steps)
        assert.ok(
          step.windows.length === 0
            ? step.call.call === "fail"
            : step.windows.length >= (step.pooledWith ? 1 : 3) && step.windows.length <= 8,
          `${step.level}: ${step.windows.length} windows, ${step.call.reason}`,
        );
      const r = summary.results.find((x) => x.variant === s.variant)!;
      assert.equal(r.capacity, s.capacity);
      assert.deepEqual(r.bracket, [s.bracket[0] ?? null, s.bracket[1] ?? null]);
    }
    // the variants take turns (the one that goes first rotates): the first two steps are one of each
    const seqs = doc.order.map((o) => o.variant);
    assert.deepEqual([...new Set(seqs.slice(0, 2))].sort(), ["baseline", "optimized"]);
    assert.equal(
      doc.order.length,
      doc.searches.reduce((a, x) => a + x.steps.length, 0),
      "every step once in the order",
    );
    assert.equal(doc.ratios.length, 1);
    assert.match(readFileSync(join(out, "report.md"), "utf8"), /capacity/i);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("a service that misses the SLO even at the lowest rate: exit 1, with the steps it measured", async () => {
    const out = join(tmp, "slow");
    const { env, args } = ceiling(200);
    const run = perfpack(
      ["capacity", ...args, "--variants", "baseline", "--slo", "p95<50ms", "--window", "0.5", "--out", out],
      env,
    );
    assert.equal(await run.exit, 1, run.output());
    const [s] = read(out).searches;
    assert.equal(s!.ended, "below-min");
    assert.equal(s!.capacity, undefined);
    assert.ok(s!.steps.length >= 1 && s!.steps.every((x) => x.call.call === "fail"));
    assert.match(run.output(), /none/);
  });

  test("a service that dies mid-search is exit 3 with its log's tail", async () => {
    const out = join(tmp, "dies");
    // 1 ms one at a time: its 3 s probe answers at most 3,000 requests, so the 5,000th comes in a step
    const { env, args } = ceiling(1, { CEILING_DIE_AFTER: "5000" });
    const run = perfpack(["capacity", ...args, "--variants", "baseline", "--window", "1", "--out", out], env);
    assert.equal(await run.exit, 3, run.output());
    const [s] = read(out).searches;
    assert.equal(s!.ended, "failed");
    assert.ok(s!.probe, "it died after the probe, in the search");
    assert.match(s!.error!, /exited during the search/);
    assert.match(run.output(), /exiting at request 5000 \(CEILING_DIE_AFTER\)/);
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("Ctrl-C keeps every finished step, exits 130 and leaves nothing running", async () => {
    const out = join(tmp, "int");
    const { env, args } = ceiling(5);
    const run = perfpack(["capacity", ...args, "--window", "1", "--out", out], env);
    await waitForOutput(run, /\[1\] /, 120_000);
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 130, run.output());
    const doc = read(out);
    assert.equal(doc.interrupted, true);
    assert.ok(doc.searches.reduce((a, s) => a + s.steps.length, 0) >= 1, "the finished step is kept");
    assert.ok(doc.searches.every((s) => s.ended));
    assert.deepEqual(descendants(run.child.pid!), []);
  });
});

describe("perfpack run --capacity", () => {
  test("bad input is exit 2: no rate scenario to search, or beside --resume", async () => {
    const json = perfpack(["run", "--capacity", "--scenarios", "json"]);
    assert.equal(await json.exit, 2, json.output());
    assert.match(json.output(), /--capacity searches the latency and batch scenarios, and this run has neither/);
    const resume = perfpack(["run", "--capacity", "--resume", tmp]);
    assert.equal(await resume.exit, 2, resume.output());
    assert.match(resume.output(), /--capacity cannot be given beside --resume/);
  });

  test("the search follows the trials, and the targets table judges HTTP requests/sec on the capacity at the SLO", async () => {
    const dir = mkdtempSync(join(tmp, "run-cap-"));
    // the config file's resolution: 100% brackets after the first failed doubling, so the search is short
    writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ resolution: 1, slo: "p95<200ms" }));
    // a team's repository: the run is appended to its history at its commit
    const git = (...a: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...a], { cwd: dir });
    git("init", "-q", "-b", "main");
    git("commit", "-q", "--allow-empty", "-m", "one");
    const head = git("rev-parse", "HEAD").toString().trim();
    const { env, args } = ceiling(10);
    const run = perfpack(
      [
        ...["run", "--quick", "--capacity", ...args, "--variants", "optimized", "--skip-allocation", "--out", "out"],
        ...["--history", "h.db"],
      ],
      env,
      dir,
    );
    const code = await run.exit;
    assert.ok(code === 0 || code === 1, run.output());
    const results = JSON.parse(readFileSync(join(dir, "out", "results.json"), "utf8")) as Results;
    assert.deepEqual(results.plan.capacity, { slo: "p95<200ms", resolution: 1 });
    const [s] = results.capacity!.searches;
    assert.equal(s!.metric, "rps");
    assert.equal(s!.slo, "p95 < 200 ms, errors < 1%");
    assert.ok(s!.capacity !== undefined && s!.capacity <= 105, `${s!.capacity}: never above the ceiling of 100`);
    // 100 req/s at most: under the guide's 1,000, judged on the capacity, not on the closed model
    const row = results.summary.targets!.find((t) => t.id === "http_rps" && t.variant === "optimized")!;
    assert.equal(row.measured, s!.capacity);
    // below the line, it fails; unless the search ended (its budget, on a busy machine) before a
    // level failed above it: a capacity that is only "at least" cannot fail its row
    assert.equal(row.status, s!.atLeast ? "not-measured" : "fail", `ended ${s!.ended}, atLeast ${s!.atLeast}`);
    assert.match(row.note!, /capacity at the SLO: the highest offered rate \(open model\) at which p95 < 200 ms/);
    assert.match(row.note!, /the trials' closed model read [\d,]+ req\/s at saturation/);
    const doc = read(join(dir, "out", "capacity"));
    assert.equal(doc.searches[0]!.capacity, s!.capacity);
    assert.match(readFileSync(join(dir, "out", "capacity", "report.md"), "utf8"), /capacity/i);
    assert.match(run.output(), /capacity: .*out\/capacity\/\{capacity\.json,report\.md,report\.html\}/);
    assert.match(readFileSync(join(dir, "out", "report.md"), "utf8"), /capacity at the SLO/);
    // --history: the finished run went to the store, at the checkout's commit and branch
    assert.match(
      run.output(),
      new RegExp(
        `history: added run ${results.runId} \\(\\d+ points, commit ${head.slice(0, 12)} on main\\) to .*h\\.db`,
      ),
    );
    const store = await openStore(join(dir, "h.db"), dir, { mustExist: true });
    try {
      const records = await store.records();
      assert.ok(
        records.length > 0 && records.every((r) => r.commit === head && r.branch === "main" && r.kind === "run"),
      );
    } finally {
      await store.close();
    }
    assert.deepEqual(descendants(run.child.pid!), []);
  });
});

function t_diag(line: string): void {
  process.stdout.write(`# ${line}\n`);
}
