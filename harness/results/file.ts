import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RESULTS_SCHEMA, type GateReport, type Results } from "./schema.js";

import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";

/** Reads and checks a results.json; a missing or invalid file is a usage error (exit 2). */
export function readResultsFile(file: string, what = "results file"): Results {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let r: Results;
  try {
    r = JSON.parse(text) as Results;
  } catch (err) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (r?.schema !== RESULTS_SCHEMA)
    throw new UsageError(
      `${what} ${file} is not a perfpack results file: schema is ${JSON.stringify(r?.schema)}, expected "${RESULTS_SCHEMA}"`,
    );
  if (!Array.isArray(r.trials) || !r.plan || !Array.isArray(r.plan.variants))
    throw new UsageError(`${what} ${file} lacks trials[] or plan`);
  return r;
}

/**
 * The gate's decision beside a run (gate.json, written by `gate --baseline-ref`), for the reports;
 * undefined when there is none, or when it is not a revision gate's (no looks).
 */
export function readGateReport(runDir: string): GateReport | undefined {
  const file = join(runDir, "gate.json");
  if (!existsSync(file)) return undefined;
  let g: GateReport & { schema?: string };
  try {
    g = JSON.parse(readFileSync(file, "utf8")) as GateReport & { schema?: string };
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return g.schema === "perfpack/gate@1" && Array.isArray(g.looks) && Array.isArray(g.comparisons) ? g : undefined;
}

/**
 * Writes results.json atomically and durably (temp file, fsync, rename, fsync of the folder), so
 * that neither a reader nor a kill or crash mid-write ever leaves half a file as the only copy.
 */
export function writeResults(file: string, results: Results): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(results, null, 2) + "\n");
}
