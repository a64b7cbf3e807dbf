import { writeFileSync } from "node:fs";
import { getJson } from "../engine/launcher.js";
import { serviceEnv, startStack } from "../engine/rig.js";
import type { IO } from "./io.js";
import { EXIT } from "../errors.js";
import { FAULT_DRILL_DEFAULTS, runFaultDrill, type FaultDrillReport } from "../hardening/faults.js";
import { fuzzExecutor, type FuzzReport } from "../hardening/fuzz.js";

export interface HardenOptions {
  fuzz: number;
  orders: number;
  seed: number;
  json?: string;
}

export interface HardenReport {
  fuzz?: FuzzReport & { executorAlive: boolean; executorExit: string };
  faults: FaultDrillReport[];
}

/**
 * `perfpack harden`: the fuzzer against a fresh executor, then the upstream-fault drill with
 * batching off and on. Exit 0 when every check holds, 1 when one does not (the report says which).
 */
export async function hardenCommand(o: HardenOptions, io: IO): Promise<number> {
  const out = (l: string) => io.out.write(l + "\n");
  // the services get the variant's env alone: nothing of the executor's leaks in from the shell
  const baseEnv = serviceEnv(io.env);
  const report: HardenReport = { faults: [] };
  let failed = false;
  if (o.fuzz > 0) {
    const bodyLimit = 16384;
    const stack = await startStack({ baseEnv, exchangeArgs: ["--latency-ms", "1"], executorEnv: { HTTP_KEEPALIVE: "true", EXECUTOR_BODY_LIMIT_BYTES: String(bodyLimit) } });
    let fuzz: FuzzReport;
    let alive = false;
    try {
      out(`fuzz: ${o.fuzz} malformed requests to ${stack.executor.url} (seed ${o.seed})`);
      fuzz = await fuzzExecutor({ url: stack.executor.url, count: o.fuzz, seed: o.seed, concurrency: 8, bodyLimit, timeoutMs: 10_000, onProgress: (n) => n % 2000 === 0 && out(`  ${n} sent`) });
      alive = (await getJson(`${stack.executor.url}/health`).catch(() => ({ status: 0 }))).status === 200;
    } finally {
      await stack.stop();
    }
    const exit = await stack.executor.exited;
    const clean = exit.code === 0;
    report.fuzz = { ...fuzz, executorAlive: alive, executorExit: exit.signal ?? String(exit.code) };
    out(`  sent ${fuzz.sent} in ${(fuzz.ms / 1000).toFixed(1)} s; clear 4xx errors: ${fuzz.clearErrors}; failures: ${fuzz.failures.length}; statuses ${JSON.stringify(fuzz.byStatus)}`);
    out(`  executor alive after: ${alive ? "yes" : "NO"}; clean exit on SIGTERM: ${clean ? "yes" : `NO (${report.fuzz.executorExit})`}`);
    for (const f of fuzz.failures.slice(0, 10)) out(`  FAIL #${f.index} ${f.kind}: ${f.why}  ${JSON.stringify(f.head.slice(0, 80))}`);
    if (fuzz.failures.length > 0 || !alive || !clean) failed = true;
  }
  if (o.orders > 0) {
    for (const batching of [false, true]) {
      const d = FAULT_DRILL_DEFAULTS;
      const pct = (x: number) => `${Math.round(x * 100)}%`;
      out(`faults: ${o.orders} orders, batching ${batching ? "on" : "off"}, exchange with ${pct(d.fault5xx)} 5xx, ${pct(d.faultReset)} resets, ${pct(d.faultStall)} ${d.stallMs / 1000} s stalls`);
      const r = await runFaultDrill({ orders: o.orders, batching, seed: o.seed, baseEnv });
      report.faults.push(r);
      out(`  requests ${r.requests} (${r.requests - r.orders} repeats of an order), answered ${r.answered}, unanswered ${r.unanswered}; statuses ${JSON.stringify(r.statuses)}`);
      out(
        `  faults survived: ${r.exchange.faults.http5xx} 5xx, ${r.exchange.faults.resets} resets, ${r.exchange.faults.stalls} stalls; executor retries ${r.executor.retries}, recovered by query ${r.executor.recovered}, repeats joined ${r.executor.deduplicated}`,
      );
      out(
        `  orders ${r.orders}: placed ${r.placedOk}, not placed ${r.failedNotPlaced}, unknown ${r.failedUnknown}; on the exchange ${r.exchange.ordersAccepted} (a second copy refused ${r.exchange.duplicateClientOrderIdsRefused} times); placed twice ${r.duplicatesPlaced}; lost ${r.lost}`,
      );
      for (const p of r.problems.slice(0, 10)) out(`  PROBLEM ${p}`);
      if (r.problems.length > 0 || r.lost > 0 || r.unanswered > 0 || r.duplicatesPlaced !== 0) failed = true;
    }
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + "\n");
  out(failed ? "harden: FAILED" : "harden: every check held");
  return failed ? EXIT.gateFailed : EXIT.ok;
}
