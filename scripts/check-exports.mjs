// Lists exported values (functions, constants, classes) that nothing else uses (npm test runs it; exit 1 when there is one).
// An export counts as used when another source file names it. The library API (harness/index.ts)
// is public, so what it re-exports counts as used.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const files = execFileSync(
  "git",
  ["ls-files", "--cached", "--others", "--exclude-standard", "harness", "scenarios", "services", "test", "scripts"],
  { cwd: root, encoding: "utf8" },
)
  .split("\n")
  .filter((f) => /\.(ts|mjs)$/.test(f) && !f.endsWith(".d.ts"));
const text = new Map(files.map((f) => [f, readFileSync(join(root, f), "utf8")]));
const DECL = /^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|enum)\s+([A-Za-z_$][\w$]*)/gm;
const unused = [];
for (const [file, src] of text) {
  if (!/^(harness|scenarios|services)\//.test(file) || file === "harness/index.ts") continue;
  for (const m of src.matchAll(DECL)) {
    const name = m[1];
    const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
    const used = [...text].some(([f, s]) => f !== file && word.test(s));
    if (!used) unused.push(`${file}: ${name}`);
  }
}
if (unused.length) {
  console.log(
    `${unused.length} export(s) used nowhere else (drop the export, or the code):\n${unused.map((u) => `  ${u}`).join("\n")}`,
  );
  process.exit(1);
}
console.log(`exports: every export of ${files.length} files is used elsewhere`);
