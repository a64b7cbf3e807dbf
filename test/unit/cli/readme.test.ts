import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { projectRoot } from "../../../services/common/src/project.js";
import { ENV_SPECS } from "../../../services/executor/src/config.js";

const readme = readFileSync(join(projectRoot(), "README.md"), "utf8");

test("README documents every executor environment variable with its default", () => {
  for (const spec of Object.values(ENV_SPECS)) {
    const row = readme.split("\n").find((l) => l.startsWith(`| \`${spec.name}\` |`));
    assert.ok(row, `README has no row for ${spec.name}`);
    const def = spec.default === "" ? "(unset)" : `\`${spec.default}\``;
    assert.ok(row.includes(def), `README's row for ${spec.name} does not show its default ${def}`);
  }
});

test("README shows the two set-up commands", () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm ci && npm test/);
});
