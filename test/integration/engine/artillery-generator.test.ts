import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { artilleryBin, artilleryHome } from "../../../harness/load/artillery-run.js";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

const BIN = artilleryBin(artilleryHome(process.env));

test("run --generator perfpack,artillery: the same variant and scenario through both generators, side by side; Artillery's CPU counted as the generator's", async (t) => {
  if (!existsSync(BIN)) {
    if (process.env.CI) assert.fail(`${BIN} is missing: .ci/run installs Artillery 2.0.21 into perfpack's cache`);
    t.skip(
      `Artillery is not in perfpack's cache (npm install --prefix ${dirname(dirname(dirname(BIN)))} --ignore-scripts artillery@2.0.21)`,
    );
    return;
  }
  const out = mkdtempSync(join(tmpdir(), "perfpack-gen-"));
  const run = perfpack([
    "run",
    "--generator",
    "perfpack,artillery",
    "--variants",
    "optimized",
    "--scenarios",
    "latency",
    "--rounds",
    "1",
    "--duration",
    "2",
    "--warmup",
    "0",
    "--connections",
    "4",
    "--out",
    out,
  ]);
  assert.equal(await run.exit, 0, run.output());
  const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
  assert.deepEqual(r.plan.variants.map((v) => v.name).sort(), [
    "optimized+generator=artillery",
    "optimized+generator=perfpack",
  ]);
  for (const tr of r.trials) {
    assert.equal(tr.status, "ok", JSON.stringify(tr));
    assert.ok(tr.metrics.requests! > 0 && tr.metrics.latency_p95_ms! > 0);
    assert.ok(tr.metrics.generator_cpu_cores! > 0);
  }
  const art = r.trials.find((x) => x.variant.endsWith("artillery"))!;
  assert.equal(art.metrics.latency_sketch_relative_accuracy, 0.01);
  // the script, its report and Artillery's output are kept with the trial's logs
  const kept = readdirSync(join(out, "logs")).find((f) => f.endsWith(".artillery"))!;
  assert.ok(existsSync(join(out, "logs", kept, "latency.measure.report.json")));
  // the executor never sees perfpack's own variables
  const exeLog = readdirSync(join(out, "logs")).filter((f) => f.endsWith(".executor.log"));
  for (const f of exeLog) assert.doesNotMatch(readFileSync(join(out, "logs", f), "utf8"), /LOAD_GENERATOR/);
  assert.deepEqual(descendants(run.child.pid!), []);
});

test("a broken Artillery, or one that cannot be fetched, fails the trial with a message that says so (exit 3); nothing is left running", async () => {
  const cache = mkdtempSync(join(tmpdir(), "perfpack-artcache-"));
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const bin = artilleryBin(artilleryHome(env));
  mkdirSync(dirname(bin), { recursive: true });
  writeFileSync(bin, "#!/bin/sh\necho 'artillery: cannot find module @artilleryio/int-core' >&2\nexit 7\n");
  chmodSync(bin, 0o755);
  const broken = perfpack(
    [
      "run",
      "--generator",
      "artillery",
      "--variants",
      "optimized",
      "--scenarios",
      "batch",
      "--rounds",
      "1",
      "--duration",
      "1",
      "--warmup",
      "0",
    ],
    env,
  );
  assert.equal(await broken.exit, 3, broken.output());
  assert.match(broken.output(), /artillery run exited 7: artillery: cannot find module/);
  assert.deepEqual(descendants(broken.child.pid!), []);

  // an empty cache and a registry that refuses: the fetch fails, and the message says how to install by hand
  const empty = mkdtempSync(join(tmpdir(), "perfpack-artcache-"));
  const offline = {
    ...process.env,
    XDG_CACHE_HOME: empty,
    npm_config_registry: "http://127.0.0.1:9/",
    npm_config_fetch_retries: "0",
  };
  const missing = perfpack(
    [
      "run",
      "--generator",
      "artillery",
      "--variants",
      "optimized",
      "--scenarios",
      "batch",
      "--rounds",
      "1",
      "--duration",
      "1",
      "--warmup",
      "0",
    ],
    offline,
  );
  assert.equal(await missing.exit, 3, missing.output());
  assert.match(
    missing.output(),
    /Artillery 2\.0\.21 is not installed and could not be fetched into .*Install it there by hand with: npm install --prefix .* --ignore-scripts artillery@2\.0\.21/,
  );
  assert.deepEqual(descendants(missing.child.pid!), []);
});

test("--generator names what it accepts (exit 2)", async () => {
  const run = perfpack(["run", "--generator", "k6", "--scenarios", "latency"]);
  assert.equal(await run.exit, 2);
  assert.match(run.output(), /--generator "k6" is not valid: expected perfpack or artillery/);
});
