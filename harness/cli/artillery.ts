/** `perfpack export artillery` and `perfpack import artillery`: each calls its job (api/artillery.ts) and prints what it wrote. */
import { EXIT } from "../errors.js";
import { exportArtillery, importArtillery, type ArtilleryImportOptions } from "../api/artillery.js";
import type { RunFlags } from "../plan/config.js";
import { verdictText } from "../report/terminal.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { IO } from "./io.js";

/** `perfpack export artillery --out DIR`: the scripts, the processor and a README; nothing is started. */
export function exportArtilleryCommand(
  flags: RunFlags & { out?: string },
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): number {
  const doc = exportArtillery(flags, scenarios, io);
  if (doc.skipped.length) io.err.write(`not exported: ${doc.skipped.join("; ")}\n`);
  for (const f of doc.scripts) io.out.write(`script: ${f}\n`);
  io.out.write(`readme: ${doc.readme}\n`);
  return EXIT.ok;
}

/** `perfpack import artillery REPORT.json`: the trial it added, the verdict over the file's trials, the files; 3 when a report could not be written. */
export function importArtilleryCommand(
  file: string,
  o: ArtilleryImportOptions,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): number {
  const doc = importArtillery(file, o, scenarios, io);
  const t = doc.trial;
  io.out.write(
    `imported: ${t.variant} · ${t.scenario} · round ${t.round} from ${file} (Artillery's latency: sketches, ~1% relative accuracy, whole-ms response times)\n`,
  );
  io.out.write(verdictText(doc.results, io.paint) + "\n");
  io.out.write(`results: ${doc.resultsFile}\n`);
  for (const f of doc.written) io.out.write(`report: ${f}\n`);
  for (const e of doc.errors) io.err.write(io.paint.red(`failed: ${e}\n`));
  return doc.errors.length ? EXIT.runFailure : EXIT.ok;
}
