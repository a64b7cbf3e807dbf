import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../../../harness/errors.js";
import { capacity, run } from "../../../harness/index.js";

const cwd = mkdtempSync(join(tmpdir(), "perfpack-capacity-api-"));

test("the library's capacity refuses what the CLI refuses, before anything starts (UsageError)", async () => {
  const refused = async (options: Parameters<typeof capacity>[0], why: RegExp) =>
    assert.rejects(capacity(options, { cwd }), (err: Error) => err instanceof UsageError && why.test(err.message));
  await refused({ rounds: 3 }, /--rounds is an option capacity does not take: it takes --variants, .*--slo/);
  await refused({ slo: "p95<soon" }, /--slo "p95<soon" is not valid/);
  await refused({ scenarios: "json" }, /json has no capacity search/);
  await refused({ budget: "1s" }, /--budget/);
  assert.deepEqual(readdirSync(cwd), [], "nothing was written");
});

test("perfpack.config.json gives capacity its slo; a bad one names the file and key", async () => {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-capacity-config-"));
  const file = join(dir, "perfpack.config.json");
  writeFileSync(file, JSON.stringify({ slo: "p95<fast" }));
  await assert.rejects(
    capacity({}, { cwd: dir }),
    (err: Error) => err instanceof UsageError && err.message.startsWith(`config file ${file}: "slo": --slo "p95<fast"`),
  );
});

test("the library's run({ capacity: true }) is run --capacity: refused before anything starts where it has nothing to search", async () => {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-run-capacity-api-"));
  await assert.rejects(
    run({ scenarios: "json", capacity: true }, { cwd: dir }),
    (err: Error) =>
      err instanceof UsageError && /--capacity searches the latency and batch scenarios/.test(err.message),
  );
  // a bad slo in the config file is refused by name, before the trials
  writeFileSync(join(dir, "perfpack.config.json"), JSON.stringify({ slo: "p95<fast" }));
  await assert.rejects(
    run({ scenarios: "latency", capacity: true }, { cwd: dir }),
    (err: Error) => err instanceof UsageError && /"slo": --slo "p95<fast"/.test(err.message),
  );
  assert.deepEqual(readdirSync(dir), ["perfpack.config.json"], "nothing was written");
});
