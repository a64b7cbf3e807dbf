import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { projectRoot } from "../../../services/common/src/project.js";
import { ENV_SPECS } from "../../../services/executor/src/config.js";

const read = (...p: string[]) => readFileSync(join(projectRoot(), ...p), "utf8");
const readme = read("README.md");
const docs = readdirSync(join(projectRoot(), "docs")).filter((f) => f.endsWith(".md"));

test("docs/performance-pack.md documents every executor environment variable with its default", () => {
  const doc = read("docs", "performance-pack.md");
  for (const spec of Object.values(ENV_SPECS)) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${spec.name}\` |`));
    assert.ok(row, `docs/performance-pack.md has no row for ${spec.name}`);
    const def = spec.default === "" ? "(unset)" : `\`${spec.default}\``;
    assert.ok(row.includes(def), `the row for ${spec.name} does not show its default ${def}`);
  }
});

test("README is a quick start with the two set-up commands, and links to every reference page", () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm ci && npm test/);
  assert.ok(readme.split("\n").length <= 170, `README has ${readme.split("\n").length} lines`);
  for (const d of docs) assert.ok(readme.includes(`(docs/${d})`), `README does not link docs/${d}`);
});

test("README and docs stand alone: no path outside the repository, no promise of a later issue", () => {
  for (const [name, text] of [["README.md", readme], ...docs.map((d) => [`docs/${d}`, read("docs", d)])] as const) {
    assert.doesNotMatch(text, /\.\.\/shared|later issue/, name);
  }
});
