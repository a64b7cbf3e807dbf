/** `perfpack harden`: the job (api/harden.ts), its steps printed as they happen; exit 0 when every check held, 1 when one did not (the lines say which). */
import { EXIT } from "../errors.js";
import { harden, type HardenEvent, type HardenOptions } from "../api/harden.js";
import type { IO } from "./io.js";

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** A step's lines: what starts, then what it found (the first ten failures, if any). */
function stepLines(e: HardenEvent): string[] {
  switch (e.type) {
    case "fuzz-start":
      return [`fuzz: ${e.count} malformed requests to ${e.url} (seed ${e.seed})`];
    case "fuzz-sent":
      return e.sent % 2000 === 0 ? [`  ${e.sent} sent`] : [];
    case "fuzz-end": {
      const f = e.fuzz;
      return [
        `  sent ${f.sent} in ${(f.ms / 1000).toFixed(1)} s; clear 4xx errors: ${f.clearErrors}; failures: ${f.failures.length}; statuses ${JSON.stringify(f.byStatus)}`,
        `  executor alive after: ${f.executorAlive ? "yes" : "NO"}; clean exit on SIGTERM: ${e.cleanExit ? "yes" : `NO (${f.executorExit})`}`,
        ...f.failures
          .slice(0, 10)
          .map((x) => `  FAIL #${x.index} ${x.kind}: ${x.why}  ${JSON.stringify(x.head.slice(0, 80))}`),
      ];
    }
    case "drill-start": {
      const d = e.faults;
      return [
        `faults: ${e.orders} orders, batching ${e.batching ? "on" : "off"}, exchange with ${pct(d.fault5xx)} 5xx, ${pct(d.faultReset)} resets, ${pct(d.faultStall)} ${d.stallMs / 1000} s stalls`,
      ];
    }
    case "drill-end": {
      const r = e.drill;
      return [
        `  requests ${r.requests} (${r.requests - r.orders} repeats of an order), answered ${r.answered}, unanswered ${r.unanswered}; statuses ${JSON.stringify(r.statuses)}`,
        `  faults survived: ${r.exchange.faults.http5xx} 5xx, ${r.exchange.faults.resets} resets, ${r.exchange.faults.stalls} stalls; executor retries ${r.executor.retries}, recovered by query ${r.executor.recovered}, repeats joined ${r.executor.deduplicated}`,
        `  orders ${r.orders}: placed ${r.placedOk}, not placed ${r.failedNotPlaced}, unknown ${r.failedUnknown}; on the exchange ${r.exchange.ordersAccepted} (a second copy refused ${r.exchange.duplicateClientOrderIdsRefused} times); placed twice ${r.duplicatesPlaced}; lost ${r.lost}`,
        ...r.problems.slice(0, 10).map((p) => `  PROBLEM ${p}`),
      ];
    }
  }
}

export async function hardenCommand(o: HardenOptions, io: IO): Promise<number> {
  const doc = await harden(o, io, (e) => {
    for (const l of stepLines(e)) io.out.write(l + "\n");
  });
  io.out.write(doc.held ? "harden: every check held\n" : "harden: FAILED\n");
  return doc.held ? EXIT.ok : EXIT.gateFailed;
}
