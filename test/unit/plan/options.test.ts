import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { UsageError } from "../../../harness/errors.js";
import {
  findConfigFile,
  flagsFromObject,
  layeredFlags,
  mergeFlags,
  readConfigFile,
} from "../../../harness/plan/file.js";
import { CAPACITY_OPTIONS, configSchema, FILE_OPTIONS, RUN_ONLY_OPTIONS } from "../../../harness/plan/options.js";
import { projectRoot } from "../../../services/common/src/project.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-config-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("perfpack.schema.json is the schema the options table generates (npm run build && node scripts/make-schema.mjs)", () => {
  const committed = JSON.parse(readFileSync(join(projectRoot(), "perfpack.schema.json"), "utf8")) as unknown;
  assert.deepEqual(committed, configSchema());
});

test("the schema carries each option's range and choices from the table", () => {
  const p = (configSchema() as { properties: Record<string, Record<string, unknown>> }).properties;
  assert.deepEqual([p.rounds!.minimum, p.rounds!.maximum], [1, 1000]);
  assert.deepEqual([p.maxErrors!.minimum, p.maxErrors!.maximum], [0, 1]);
  assert.deepEqual([p.soak!.minimum, p.soak!.maximum], [2, 86_400], "a plain number in the file is seconds");
  assert.deepEqual(
    [p.maxRegression!.minimum, p.maxRegression!.exclusiveMaximum, p.maxRegression!.maximum],
    [0, 10, undefined],
  );
  assert.deepEqual(p.design!.enum, ["alternate", "duet"]);
  assert.deepEqual(p.profile!.enum, ["0x", "clinic-flame", "clinic-doctor", "cpuprof"]);
});

test("every run, gate and capacity option is documented in docs/cli.md with its flag and config key", () => {
  const doc = readFileSync(join(projectRoot(), "docs", "cli.md"), "utf8");
  for (const [key, o] of Object.entries(FILE_OPTIONS)) {
    const flag = o.flag.split(" ")[0]!;
    if (!o.fileOnly) assert.ok(doc.includes(`\`${flag}`), `docs/cli.md does not show ${flag}`);
    if (o.inFile !== false) assert.ok(doc.includes(`\`${key}\``), `docs/cli.md does not show the config key ${key}`);
  }
  for (const o of [...Object.values(RUN_ONLY_OPTIONS), ...Object.values(CAPACITY_OPTIONS)])
    assert.ok(doc.includes(`\`${o.flag.split(" ")[0]}`), `docs/cli.md does not show ${o.flag}`);
});

test("a config file becomes the flags it stands for; flags win over it", () => {
  const file = join(tmp, "perfpack.config.json");
  writeFileSync(
    file,
    JSON.stringify({
      $schema: "./perfpack.schema.json",
      rounds: 5,
      scenarios: ["latency", "ws"],
      quick: true,
      env: ["BATCH_FLUSH_MS=20"],
      soak: "10m",
    }),
  );
  const fromFile = readConfigFile(file);
  assert.deepEqual(fromFile, {
    rounds: "5",
    scenarios: "latency,ws",
    quick: true,
    env: ["BATCH_FLUSH_MS=20"],
    soak: "10m",
  });
  assert.deepEqual(mergeFlags(fromFile, { rounds: "2", env: [], matrix: [] }), { ...fromFile, rounds: "2" });
  assert.equal(findConfigFile(tmp, undefined), file);
  assert.equal(findConfigFile(join(tmp, "nowhere"), undefined), undefined);
  assert.equal(findConfigFile(tmp, "other.json"), join(tmp, "other.json"));
});

test("layered flags: each value that won from the file carries the file's name; flags and defaults carry none", () => {
  const dir = join(tmp, "layered");
  mkdirSync(dir);
  const file = join(dir, "perfpack.config.json");
  writeFileSync(file, JSON.stringify({ rounds: 5, duration: 2, env: ["A=1"], maxRegression: 0.2 }));
  const { flags, from } = layeredFlags(dir, { rounds: "7", env: [] }, { warmup: "0.5", duration: "9" });
  assert.deepEqual(flags, { warmup: "0.5", duration: "2", rounds: "7", env: ["A=1"], maxRegression: "0.2" });
  assert.deepEqual(from, { duration: file, env: file, maxRegression: file });
  assert.deepEqual(layeredFlags(join(tmp, "nowhere"), { rounds: "7" }, { warmup: "0.5" }), {
    flags: { warmup: "0.5", rounds: "7" },
    from: {},
  });
  assert.throws(() => layeredFlags(dir, { config: "missing.json" }), {
    message: /^config file .*missing\.json: cannot be read \(ENOENT\)$/,
  });
});

test("an unknown key or a value of the wrong type names the file, the key and what is accepted", () => {
  const where = "config file x.json";
  assert.throws(
    () => flagsFromObject({ roundz: 3 }, where),
    (e: unknown) =>
      e instanceof UsageError && /x\.json: unknown key "roundz": valid keys are variants, .*rounds/.test(e.message),
  );
  assert.throws(
    () => flagsFromObject({ rounds: "3" }, where),
    (e: unknown) => e instanceof UsageError && /"rounds" is "3": it accepts a whole number/.test(e.message),
  );
  assert.throws(() => flagsFromObject({ ablation: "yes" }, where), /"ablation" is "yes": it accepts true or false/);
  assert.throws(
    () => flagsFromObject({ profile: 1 }, where),
    /"profile" is 1: it accepts one of 0x, clinic-flame, clinic-doctor, cpuprof/,
  );
  assert.throws(() => flagsFromObject({ config: "a.json" }, where), /unknown key "config"/);
  assert.throws(() => flagsFromObject([1], where), /expected an object of run options/);
  // the gate's keys are the table's too, typed the same way
  assert.deepEqual(flagsFromObject({ maxRegression: 0.1, budget: "5m", strict: true, candidateEnv: ["A=1"] }, where), {
    maxRegression: "0.1",
    budget: "5m",
    strict: true,
    candidateEnv: ["A=1"],
  });
  assert.throws(
    () => flagsFromObject({ maxRegression: "ten" }, where),
    /"maxRegression" is "ten": it accepts a number/,
  );
});
