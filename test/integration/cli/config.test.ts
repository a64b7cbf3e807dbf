import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "perfpack-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const SAMPLE = fixturePath("sample-baseline.json");

/** Every command that reads perfpack.config.json, with what it needs besides; none gets far enough to start anything here. */
const COMMANDS: Array<[string, string[]]> = [
  ["run", ["--out", join(dir, "never")]],
  ["gate", ["--baseline-ref", "HEAD", "--out", join(dir, "never")]],
  ["profile", ["--out", join(dir, "never")]],
  ["export artillery", ["--out", join(dir, "never")]],
];

describe("every command that reads perfpack.config.json takes --config", () => {
  // a bad value for each: the run's requests (run, profile, export) and the gate's line (gate, before its run)
  writeFileSync(
    join(dir, "other.json"),
    JSON.stringify({ requests: { orders: { path: "/v2/orders" } }, maxRegression: 20 }),
  );

  for (const [command, extra] of COMMANDS) {
    test(`${command} --config: its help shows it; a missing file is exit 2 naming it; a bad value in the file names the file`, async () => {
      const help = perfpack([...command.split(" "), "--help"], process.env, dir);
      assert.equal(await help.exit, 0, help.output());
      assert.match(help.output(), /--config <file>/);
      const missing = perfpack([...command.split(" "), "--config", "nope.json", ...extra], process.env, dir);
      assert.equal(await missing.exit, 2, missing.output());
      assert.match(missing.output(), /perfpack: config file .*nope\.json: cannot be read \(ENOENT\)/);
      const bad = perfpack([...command.split(" "), "--config", "other.json", ...extra], process.env, dir);
      assert.equal(await bad.exit, 2, bad.output());
      assert.match(
        bad.output(),
        command === "gate"
          ? /config file .*other\.json: "maxRegression": --max-regression "20" is not valid/
          : /config file .*other\.json: requests: unknown scenario "orders"/,
      );
    });
  }

  test("the stored gate reads its options from --config too", async () => {
    writeFileSync(join(dir, "gate.json"), JSON.stringify({ maxRegression: 0.5, baseline: SAMPLE }));
    const run = perfpack(["gate", "--config", "gate.json", "--current", SAMPLE], process.env, dir);
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /line 50% worse/);
  });
});
