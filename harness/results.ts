import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";

export const RESULTS_SCHEMA = "perfpack/results@1";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  hostname: string;
}

export const describeMachine = (): Machine => ({
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  hostname: os.hostname(),
});

/** A finished trial: ok, or failed with why. */
export type TrialRecord = {
  index: number;
  variant: string;
  scenario: string;
  round: number;
  /** The executor's toggles for this trial (the variant's env plus --env). */
  env: Record<string, string>;
  startedAt: string;
  wallS: number;
  /** Flat named numbers; only what was measured. */
  metrics: Record<string, number>;
  /** The load generator used about a full core: its figures measure the generator, not the executor. */
  generatorBound: boolean;
  /** Executor spark_* counters and histogram parts over the measured window (after − before). */
  executorDelta?: Record<string, number>;
  /** Samples over the window, for scenarios that keep them (soak: RSS, GC share, latency per interval). */
  series?: import("./scenario.js").SeriesPoint[];
} & ({ status: "ok" } | { status: "failed"; error: string; service?: string; exit?: { code: number | null; signal: string | null }; logTail?: string });

export interface PlanRecord {
  variants: Array<{ name: string; kind: string; env: Record<string, string> }>;
  scenarios: string[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  rate: number | null;
  wsClients: number;
  quick: boolean;
  target: string | null;
  order: Array<{ variant: string; scenario: string; round: number }>;
  /** Each scenario's headline metrics and which way is better, so the file explains itself. */
  headlines?: Record<string, Array<{ metric: string; label: string; better: "higher" | "lower"; gate?: true }>>;
}

export interface Results {
  schema: typeof RESULTS_SCHEMA;
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  /** true when the run was interrupted (SIGINT/SIGTERM): the trials here are the finished ones. */
  interrupted: boolean;
  perfpack: string;
  machine: Machine;
  plan: PlanRecord;
  trials: TrialRecord[];
  summary: Summary;
}

export interface Summary {
  /** median over rounds of each metric, by variant then scenario, over ok trials. */
  medians: Record<string, Record<string, Record<string, number>>>;
  failedTrials: number;
  /** Every other variant against the reference, paired by round (filled when the run ends). */
  comparisons?: import("./compare.js").Comparison[];
  targets?: import("./targets.js").TargetVerdict[];
  verdict?: { pass: boolean; reasons: string[] };
}

/** Writes results.json atomically (temp file + rename), so a reader never sees half a file. */
export function writeResults(file: string, results: Results): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.results.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(results, null, 2) + "\n");
  renameSync(tmp, file);
}
