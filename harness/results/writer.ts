import { join } from "node:path";
import type { Results } from "./schema.js";
import { writeResults } from "./file.js";

/** The runner's events that the writer needs (a structural subset of RunnerEvent). */
type WriterEvent = { type: "start"; results: Results } | { type: string };

/**
 * Keeps results.json current: it listens to the runner's events and rewrites the file
 * (atomically) at the start and after every trial, so that no finished trial is lost if a later
 * one fails or the run is interrupted (hyperfine's ExportManager); `finish` writes the last one.
 */
export class ResultsWriter {
  readonly file: string;
  private results: Results | undefined;

  constructor(outDir: string) {
    this.file = join(outDir, "results.json");
  }

  readonly listener = (e: WriterEvent): void => {
    if (e.type === "start" && "results" in e) this.results = e.results;
    if ((e.type === "start" || e.type === "trial-end") && this.results) writeResults(this.file, this.results);
  };

  /** The final file, with the verdict the analysis added. */
  finish(results: Results): void {
    this.results = results;
    writeResults(this.file, results);
  }
}
