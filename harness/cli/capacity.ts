/** `perfpack capacity`: the job (api/capacity.ts), its steps shown as they end, its summary printed, its exit code picked. */
import { EXIT } from "../errors.js";
import { capacity, type CapacityDocument } from "../api/capacity.js";
import { capacityTerminal } from "../report/capacity.js";
import { capacitySummary } from "../report/capacity-json.js";
import type { CapacityFlags, RunFlags } from "../plan/options.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { IO } from "./io.js";
import { jobContext } from "./run.js";

/**
 * 130: Ctrl-C (the finished steps are kept in capacity.json and the reports); 3: a service died
 * or could not be loaded; 1: a service missed the SLO even at the lowest level tried; 0 otherwise,
 * a search cut by its budget included (the reports say what it reached). The guide's targets judged
 * on the capacities are reported, and gate nothing, as the targets table of a run.
 */
function capacityExit(doc: CapacityDocument): number {
  if (doc.interrupted) return EXIT.interrupted;
  if (doc.searches.some((s) => s.ended === "failed")) return EXIT.runFailure;
  if (doc.searches.some((s) => s.ended === "below-min")) return EXIT.gateFailed;
  return EXIT.ok;
}

export async function capacityCommand(
  flags: RunFlags & CapacityFlags,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<number> {
  const ctx = jobContext(
    io,
    "\nperfpack capacity: interrupted; stopping the services and keeping the finished steps\n",
  );
  const human = flags.json ? io.err : io.out;
  const job = await capacity(flags, scenarios, {
    ...ctx,
    events: (e) => {
      if (e.type === "note" || e.type === "warning") io.err.write(e.text + "\n");
    },
  });
  human.write("\n" + capacityTerminal(job.doc, io.paint) + "\n");
  for (const s of job.doc.searches.filter((x) => x.ended === "failed"))
    human.write(
      `perfpack capacity: ${s.variant} · ${s.scenario}: ${s.error ?? "failed"}\n${s.logTail ? `--- last lines of its log ---\n${s.logTail}\n` : ""}`,
    );
  human.write(`\ncapacity: ${job.file}\n${job.written.map((w) => `report:   ${w}\n`).join("")}`);
  if (flags.json) io.out.write(JSON.stringify(capacitySummary(job.doc), null, 2) + "\n");
  return capacityExit(job.doc);
}
