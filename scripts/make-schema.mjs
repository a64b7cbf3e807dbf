// Writes perfpack.schema.json, the JSON Schema of perfpack.config.json, from the options table.
// Usage: npm run build && node scripts/make-schema.mjs (a unit test fails when the file is stale)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configSchema } from "../dist/harness/plan/options.js";

const file = join(import.meta.dirname, "..", "perfpack.schema.json");
writeFileSync(file, JSON.stringify(configSchema(), null, 2) + "\n");
console.log(`wrote ${file}`);
