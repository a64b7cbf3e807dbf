import { readFileSync } from "node:fs";
import { fixturePath } from "../../services/common/src/project.js";
import type { TargetsFile } from "../verdict/targets.js";

/** The guide's targets, from the installed package's fixtures/targets.json (or `file`). The verdict takes them as a value. */
export function loadTargets(file = fixturePath("targets.json")): TargetsFile {
  const t = JSON.parse(readFileSync(file, "utf8")) as TargetsFile;
  if (t.schema !== "perfpack/targets@1") throw new Error(`${file}: schema is ${t.schema}, expected perfpack/targets@1`);
  return t;
}
