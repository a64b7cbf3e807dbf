/**
 * `perfpack harden` as a job: the fuzzer against a fresh executor, then the upstream-fault drill
 * with batching off and on. It tells each step as it starts and ends (a drill takes a while), and
 * returns the report and whether every check held; the CLI prints the steps and picks the exit code.
 */
import { resolve } from "node:path";
import { getJson } from "../engine/launcher.js";
import { serviceEnv, startStack } from "../engine/rig.js";
import { FAULT_DRILL_DEFAULTS, runFaultDrill, type FaultDrillReport } from "../hardening/faults.js";
import { fuzzExecutor, type FuzzReport } from "../hardening/fuzz.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import type { JobContext } from "./context.js";

export interface HardenOptions {
  /** Malformed requests to send (0 skips the fuzzer). */
  fuzz: number;
  /** Orders per fault drill (0 skips the drills). */
  orders: number;
  seed: number;
  /** Also write the report here, as JSON (relative to the context's cwd). */
  json?: string;
}

/** The --json file. */
export interface HardenReport {
  fuzz?: FuzzReport & { executorAlive: boolean; executorExit: string };
  faults: FaultDrillReport[];
}

/** The job's steps as they happen. */
export type HardenEvent =
  | { type: "fuzz-start"; url: string; count: number; seed: number }
  | { type: "fuzz-sent"; sent: number }
  /** The executor stopped after the fuzz; `cleanExit`: it exited 0 on SIGTERM. */
  | { type: "fuzz-end"; fuzz: NonNullable<HardenReport["fuzz"]>; cleanExit: boolean }
  | {
      type: "drill-start";
      orders: number;
      batching: boolean;
      faults: Pick<typeof FAULT_DRILL_DEFAULTS, "fault5xx" | "faultReset" | "faultStall" | "stallMs">;
    }
  | { type: "drill-end"; drill: FaultDrillReport };

export interface HardenDocument {
  report: HardenReport;
  /** Every check held: no fuzz failure, the executor alive and clean on exit, no drill problem, lost, unanswered or doubled order. */
  held: boolean;
  /** Where the report was written (--json). */
  jsonFile?: string;
}

/** The fuzzer against a fresh executor with a small body limit; whether it held. */
async function fuzzStep(
  o: HardenOptions,
  baseEnv: NodeJS.ProcessEnv,
  tell: (e: HardenEvent) => void,
): Promise<{ fuzz: NonNullable<HardenReport["fuzz"]>; held: boolean }> {
  const bodyLimit = 16384;
  const stack = await startStack({
    baseEnv,
    exchangeArgs: ["--latency-ms", "1"],
    executorEnv: { HTTP_KEEPALIVE: "true", EXECUTOR_BODY_LIMIT_BYTES: String(bodyLimit) },
  });
  let fuzz: FuzzReport;
  let alive = false;
  try {
    tell({ type: "fuzz-start", url: stack.executor.url, count: o.fuzz, seed: o.seed });
    fuzz = await fuzzExecutor({
      url: stack.executor.url,
      count: o.fuzz,
      seed: o.seed,
      concurrency: 8,
      bodyLimit,
      timeoutMs: 10_000,
      onProgress: (sent) => tell({ type: "fuzz-sent", sent }),
    });
    alive = (await getJson(`${stack.executor.url}/health`).catch(() => ({ status: 0 }))).status === 200;
  } finally {
    await stack.stop();
  }
  const exit = await stack.executor.exited;
  const cleanExit = exit.code === 0;
  const report = { ...fuzz, executorAlive: alive, executorExit: exit.signal ?? String(exit.code) };
  tell({ type: "fuzz-end", fuzz: report, cleanExit });
  return { fuzz: report, held: fuzz.failures.length === 0 && alive && cleanExit };
}

export async function harden(
  o: HardenOptions,
  ctx: Pick<JobContext, "cwd" | "env">,
  events?: (e: HardenEvent) => void,
): Promise<HardenDocument> {
  const tell = (e: HardenEvent) => events?.(e);
  // the services get the variant's env alone: nothing of the executor's leaks in from the shell
  const baseEnv = serviceEnv(ctx.env);
  const report: HardenReport = { faults: [] };
  let held = true;
  if (o.fuzz > 0) {
    const f = await fuzzStep(o, baseEnv, tell);
    report.fuzz = f.fuzz;
    held &&= f.held;
  }
  if (o.orders > 0) {
    for (const batching of [false, true]) {
      const { fault5xx, faultReset, faultStall, stallMs } = FAULT_DRILL_DEFAULTS;
      tell({ type: "drill-start", orders: o.orders, batching, faults: { fault5xx, faultReset, faultStall, stallMs } });
      const r = await runFaultDrill({ orders: o.orders, batching, seed: o.seed, baseEnv });
      report.faults.push(r);
      tell({ type: "drill-end", drill: r });
      if (r.problems.length > 0 || r.lost > 0 || r.unanswered > 0 || r.duplicatesPlaced !== 0) held = false;
    }
  }
  const jsonFile = o.json ? resolve(ctx.cwd, o.json) : undefined;
  if (jsonFile) writeFileAtomic(jsonFile, JSON.stringify(report, null, 2) + "\n");
  return { report, held, jsonFile };
}
