import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { testbedOf, type HistoryRecord, type RunFacts } from "../../harness/history/record.js";
import { seededRandom } from "../../services/common/src/rng.js";

/** The testbed of the synthetic histories below. */
export const TREND_TESTBED = testbedOf({ cpuModel: "Intel(R) Xeon(R) Processor", cores: 2, node: "v20.20.2" });

/** A commit of a synthetic branch, as git names one (40 hex digits): a hash of the branch's letter and the commit's number. */
export const commitOf = (i: number, tag = "a"): string => createHash("sha1").update(`${tag}${i}`).digest("hex");

const T0 = Date.parse("2026-11-01T09:00:00.000Z");

export interface SeriesSpec {
  /** Commits (one run each), numbered 1..commits; commit 0 is the first one's parent. */
  commits: number;
  metric: string;
  label?: string;
  better: "higher" | "lower";
  /** The value of commit i, before noise. */
  value: (i: number) => number;
  /** Relative noise of each run's median (uniform ±noise). */
  noise?: number;
  /** Each commit gated against its parent: the paired ratio of commit i over i − 1 (its interval ± linkHalf); undefined: a plain run. */
  link?: (i: number) => number | undefined;
  linkHalf?: number;
  /** The stored run of commit i (results.json), when it has one. */
  source?: (i: number) => string | undefined;
  testbed?: RunFacts["testbed"];
  branch?: string;
  scenario?: string;
  variant?: string;
  seed?: number;
  /** The commits' letter (see commitOf); the runs' ids start with it too. */
  tag?: string;
}

/** One run per commit of one metric along a branch, as a store returns them (by time). */
export function seriesRecords(o: SeriesSpec): HistoryRecord[] {
  const rand = seededRandom(o.seed ?? 1);
  const tag = o.tag ?? "a";
  const out: HistoryRecord[] = [];
  for (let i = 1; i <= o.commits; i++) {
    const median = o.value(i) * (1 + (rand() - 0.5) * 2 * (o.noise ?? 0.01));
    const ratio = o.link?.(i);
    const half = o.linkHalf ?? 0.02;
    const source = o.source?.(i);
    out.push({
      runId: `${tag}-${i}`,
      kind: ratio === undefined ? "run" : "gate",
      commit: commitOf(i, tag),
      parent: commitOf(i - 1, tag),
      branch: o.branch ?? "main",
      time: new Date(T0 + i * 3_600_000).toISOString(),
      testbed: o.testbed ?? TREND_TESTBED,
      ...(source ? { source } : {}),
      ...(ratio !== undefined
        ? {
            gate: { baselineCommit: commitOf(i - 1, tag), baselineRef: "HEAD^", outcome: "pass", maxRegression: 0.05 },
            link: {
              ratio,
              lo: ratio / (1 + half),
              hi: ratio * (1 + half),
              level: 0.95,
              n: 10,
              method: "t" as const,
              p: 0.2,
              baselineMedian: median / ratio,
            },
          }
        : {}),
      variant: o.variant ?? "optimized",
      scenario: o.scenario ?? "latency",
      metric: o.metric,
      ...(o.label ? { label: o.label } : {}),
      better: o.better,
      median,
      lo: median * 0.98,
      hi: median * 1.02,
      level: 0.98,
      n: 8,
    });
  }
  return out;
}

/**
 * Run folders for commits 1..n under `dir` (r1, r2, …), each with a results.json, and a report.html
 * in the folders `withReport` picks: what a history's points link to.
 */
export function runFolders(dir: string, n: number, withReport: (i: number) => boolean): (i: number) => string {
  const source = (i: number) => join(dir, `r${i}`, "results.json");
  for (let i = 1; i <= n; i++) {
    mkdirSync(join(dir, `r${i}`), { recursive: true });
    writeFileSync(source(i), "{}");
    if (withReport(i)) writeFileSync(join(dir, `r${i}`, "report.html"), `<p>run ${i}</p>`);
  }
  return source;
}

const byTime = (a: HistoryRecord, b: HistoryRecord): number => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0);

/**
 * A small history with each thing history.html draws, on one testbed along main:
 * - latency p95 (lower is better), 30 runs at 20 ms, 23 ms from commit 20 on: a regression that stands;
 * - req/s (higher is better), 30 runs at 1,000, 1,100 from commit 12 on: an improvement;
 * - batch CPU per request, 10 commits each gated against its parent, +1.5% each: the creep.
 * Runs 1..30 of latency have folders under `dir`, with a report.html at the odd commits only.
 */
export function sampleHistory(dir: string): HistoryRecord[] {
  const source = runFolders(dir, 30, (i) => i % 2 === 1);
  const latency = { scenario: "latency", commits: 30, source };
  return [
    ...seriesRecords({
      ...latency,
      metric: "latency_p95_ms",
      label: "p95 ms",
      better: "lower",
      value: (i) => (i >= 20 ? 23 : 20),
    }),
    ...seriesRecords({
      ...latency,
      metric: "rps",
      label: "req/s",
      better: "higher",
      value: (i) => (i >= 12 ? 1100 : 1000),
      seed: 3,
    }),
    ...seriesRecords({
      commits: 10,
      scenario: "batch",
      metric: "cpu_us_per_req",
      label: "CPU µs/req",
      better: "lower",
      value: (i) => 50 * 1.015 ** i,
      link: () => 1.015,
      source,
      seed: 5,
      tag: "c",
    }),
  ].sort(byTime);
}
