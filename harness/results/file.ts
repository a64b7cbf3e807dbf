import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RESULTS_SCHEMA, type Results } from "./schema.js";

import { UsageError } from "../errors.js";

/** Reads and checks a results.json; a missing or invalid file is a usage error (exit 2). */
export function readResultsFile(file: string, what = "results file"): Results {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let r: Results;
  try {
    r = JSON.parse(text) as Results;
  } catch (err) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (r?.schema !== RESULTS_SCHEMA) throw new UsageError(`${what} ${file} is not a perfpack results file: schema is ${JSON.stringify(r?.schema)}, expected "${RESULTS_SCHEMA}"`);
  if (!Array.isArray(r.trials) || !r.plan || !Array.isArray(r.plan.variants)) throw new UsageError(`${what} ${file} lacks trials[] or plan`);
  return r;
}

/** Writes results.json atomically (temp file + rename), so a reader never sees half a file. */
export function writeResults(file: string, results: Results): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.results.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(results, null, 2) + "\n");
  renameSync(tmp, file);
}
