import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { projectRoot } from "../../../services/common/src/project.js";

test("the package a team installs: what perfpack needs at run time, and no tests", () => {
  // --ignore-scripts: what `files` selects from the tree as built (npm pack itself builds first, prepack)
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: projectRoot(),
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const [pack] = JSON.parse(r.stdout) as Array<{
    entryCount: number;
    unpackedSize: number;
    files: Array<{ path: string }>;
  }>;
  const paths = pack!.files.map((f) => f.path);
  for (const need of [
    "package.json",
    "README.md",
    "dist/harness/cli.js",
    "dist/harness/index.js",
    "dist/harness/index.d.ts",
    "dist/harness/profile/agent.js",
    "dist/services/exchange/src/main.js",
    "fixtures/targets.json",
    "fixtures/tls/ca.pem",
    "fixtures/open-orders-500.json",
    "perfpack.schema.json",
    "runtime/perf_latency_test.sh",
    "docs/own-service.md",
  ])
    assert.ok(paths.includes(need), `the package lacks ${need}`);
  const tests = paths.filter((p) => p.startsWith("test/") || p.startsWith("dist/test/") || /\.test\.[jt]s$/.test(p));
  assert.deepEqual(tests, [], "no tests in the package");
  assert.deepEqual(
    paths.filter((p) => p.endsWith(".map") || (p.endsWith(".ts") && !p.endsWith(".d.ts"))),
    [],
    "no sources or source maps",
  );
});
