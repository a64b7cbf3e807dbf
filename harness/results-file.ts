import { readFileSync } from "node:fs";
import { RESULTS_SCHEMA, type Results } from "./results.js";
import { PlanError } from "./variants.js";

/** Reads and checks a results.json; a missing or invalid file is a usage error (exit 2). */
export function readResultsFile(file: string, what = "results file"): Results {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new PlanError(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let r: Results;
  try {
    r = JSON.parse(text) as Results;
  } catch (err) {
    throw new PlanError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (r?.schema !== RESULTS_SCHEMA) throw new PlanError(`${what} ${file} is not a perfpack results file: schema is ${JSON.stringify(r?.schema)}, expected "${RESULTS_SCHEMA}"`);
  if (!Array.isArray(r.trials) || !r.plan || !Array.isArray(r.plan.variants)) throw new PlanError(`${what} ${file} lacks trials[] or plan`);
  return r;
}
