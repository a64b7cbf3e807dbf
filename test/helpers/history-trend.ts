/**
 * Synthetic history records with known answers, for the history's tests: a throughput series
 * whose last links each lose 1.5% (a creep that no single gate fails), and a p95 series with one
 * step of +30% (a change point). Deterministic: the noise is a fixed pattern, not random.
 */
import type { HistoryRecord, Testbed } from "../../harness/history/record.js";

export const TREND_TESTBED: Testbed = { id: "0123456789ab", cpuModel: "Test CPU", cores: 2, node: "v20.0.0" };

/** The i-th synthetic commit: 40 hex digits. */
export const sha = (i: number): string => (0xc0ffee00 + i).toString(16).padEnd(40, "0");

/** A ±1% pattern that sums to about nothing. */
const wobble = (i: number): number => 1 + 0.01 * Math.sin(i * 2.3);

export interface SyntheticHistory {
  records: HistoryRecord[];
  /** The commit where p95's step starts. */
  stepAt: number;
  /** The first commit gated against its parent. */
  firstLink: number;
  commits: number;
}

/**
 * `commits` runs on `branch`: commits before `firstLink` are plain runs; from it on each is a gate
 * against its parent whose req/s link is 0.985 (0.965–1.005: inconclusive); p95 steps from 10 to 13 ms at `stepAt`.
 */
export function trendHistory(commits = 20, stepAt = 12, firstLink = 8, branch = "main"): SyntheticHistory {
  const records: HistoryRecord[] = [];
  for (let i = 0; i < commits; i++) {
    const gated = i >= firstLink;
    const facts = {
      runId: `run-${String(i).padStart(3, "0")}`,
      kind: gated ? ("gate" as const) : ("run" as const),
      commit: sha(i),
      ...(i > 0 ? { parent: sha(i - 1) } : {}),
      branch,
      time: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
      testbed: TREND_TESTBED,
      source: `/nowhere/run-${i}/results.json`,
      ...(gated
        ? {
            gate: {
              baselineCommit: sha(i - 1),
              baselineRef: "HEAD^",
              outcome: "inconclusive" as const,
              maxRegression: 0.05,
            },
          }
        : {}),
    };
    const rps = 1000 * 0.985 ** Math.max(0, i - firstLink + 1) * wobble(i);
    const p95 = (i >= stepAt ? 13 : 10) * wobble(i + 7);
    records.push({
      ...facts,
      variant: "optimized",
      scenario: "latency",
      metric: "latency_p95_ms",
      label: "p95 ms",
      better: "lower",
      median: p95,
      lo: p95 * 0.99,
      hi: p95 * 1.01,
      level: 0.95,
      n: 10,
    });
    records.push({
      ...facts,
      variant: "optimized",
      scenario: "latency",
      metric: "rps",
      label: "req/s",
      better: "higher",
      median: rps,
      lo: rps * 0.99,
      hi: rps * 1.01,
      level: 0.95,
      n: 10,
      ...(gated
        ? {
            link: {
              ratio: 0.985,
              lo: 0.965,
              hi: 1.005,
              level: 0.95,
              n: 10,
              method: "t" as const,
              p: 0.1,
              baselineMedian: rps / 0.985,
            },
          }
        : {}),
    });
  }
  return { records, stepAt, firstLink, commits };
}
