import { spawn, type ChildProcess } from "node:child_process";
import { testbedOf, type HistoryRecord, type RunFacts } from "../../harness/history/record.js";
import type { HistoryStore } from "../../harness/history/store.js";
import { seededRandom } from "../../services/common/src/rng.js";

export const TESTBED_A = testbedOf({ cpuModel: "Intel(R) Xeon(R) Processor", cores: 2, node: "v20.20.2" });
export const TESTBED_B = testbedOf({ cpuModel: "AMD EPYC 7763 64-Core Processor", cores: 4, node: "v20.20.2" });

const METRICS = [
  { metric: "rps", label: "req/s", better: "higher" as const, level: 1000 },
  { metric: "latency_p95_ms", label: "p95 ms", better: "lower" as const, level: 20 },
  { metric: "failure_share", label: "failed", better: "lower" as const, unit: "share" as const, level: 0 },
];

/** The records of one synthetic run: three latency metrics of `optimized`, a gate's links when `gate`. */
export function syntheticRun(
  facts: Omit<RunFacts, "kind" | "testbed"> & { testbed?: RunFacts["testbed"] },
  o: { gate?: boolean; seed?: number } = {},
): HistoryRecord[] {
  const rand = seededRandom(o.seed ?? 1);
  const run: RunFacts = {
    ...facts,
    kind: o.gate ? "gate" : "run",
    testbed: facts.testbed ?? TESTBED_A,
    ...(o.gate
      ? { gate: { baselineCommit: facts.parent ?? "0", baselineRef: "HEAD^", outcome: "pass", maxRegression: 0.05 } }
      : {}),
  };
  return METRICS.map((m) => {
    const median = m.level * (1 + (rand() - 0.5) * 0.04);
    const ratio = 1 + (rand() - 0.5) * 0.03;
    return {
      ...run,
      variant: "optimized",
      scenario: "latency",
      metric: m.metric,
      label: m.label,
      better: m.better,
      ...(m.unit ? { unit: m.unit } : {}),
      median,
      lo: median * 0.97,
      hi: median * 1.03,
      level: 0.9921875,
      n: 8,
      ...(o.gate && m.level > 0
        ? {
            link: {
              ratio,
              lo: ratio * 0.98,
              hi: ratio * 1.02,
              level: m.metric === "rps" ? 0.9993644202569079 : 0.95,
              n: 8,
              method: "t" as const,
              p: rand(),
              baselineMedian: median / ratio,
              ...(m.metric === "rps" ? { call: "clear" as const } : {}),
            },
          }
        : {}),
    };
  });
}

const sha = (i: number, branch: string): string => `${branch.padEnd(4, "x").slice(0, 4)}${String(i).padStart(36, "0")}`;

/**
 * A small history with every shape the stores must keep apart: `commits` gated commits on main on
 * testbed A, the same commits run on testbed B, a feature branch, a run with no branch (a
 * backfilled artifact), a dirty checkout, and two runs at the same second.
 */
export function syntheticHistory(commits = 12): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  const t0 = Date.parse("2026-11-01T09:00:00.000Z");
  for (let i = 1; i <= commits; i++) {
    const time = new Date(t0 + i * 3_600_000).toISOString();
    const commit = sha(i, "main");
    const parent = sha(i - 1, "main");
    out.push(...syntheticRun({ runId: `main-a-${i}`, commit, parent, branch: "main", time }, { gate: true, seed: i }));
    out.push(
      ...syntheticRun(
        { runId: `main-b-${i}`, commit, parent, branch: "main", time, testbed: TESTBED_B, perfpack: "0.1.0" },
        { seed: 100 + i },
      ),
    );
  }
  const late = new Date(t0 + (commits + 1) * 3_600_000).toISOString();
  out.push(
    ...syntheticRun(
      { runId: "feat-1", commit: sha(1, "feat"), branch: "feature/x", time: late, dirty: true },
      { seed: 7 },
    ),
    ...syntheticRun({ runId: "feat-0", commit: sha(2, "feat"), branch: "feature/x", time: late }, { seed: 8 }),
    ...syntheticRun(
      { runId: "artifact-1", commit: sha(3, "none"), time: late, source: "/ci/results.json" },
      { seed: 9 },
    ),
  );
  return out;
}

/** Everything a store answers about a history, for comparing two engines (or a store with the records it was given). */
export async function answersOf(store: HistoryStore) {
  const keys = await store.seriesKeys();
  return {
    runs: await store.runs(),
    runsOnMain: await store.runs({ branch: "main", testbed: TESTBED_A.id }),
    records: await store.records(),
    oneRun: await store.records({ runId: "main-a-3" }),
    keys,
    keysOfB: await store.seriesKeys({ testbed: TESTBED_B.id }),
    series: await Promise.all(keys.map((k) => store.series(k))),
    testbeds: await store.testbeds(),
    has: [await store.has("main-a-1"), await store.has("nope")],
  };
}

/**
 * The child of the concurrency tests: opens the store, appends `own` runs of its own and `shared`
 * runs that every child appends too, one run per call (so one transaction each), interleaved, and
 * prints what was added and skipped.
 */
const CHILD = `
const [storeUrl, helperUrl, spec, prefix, own, shared] = process.argv.slice(1);
const { openStore } = await import(storeUrl);
const { syntheticRun } = await import(helperUrl);
const store = await openStore(spec, process.cwd());
const added = [], skipped = [];
const time = (i) => new Date(Date.parse("2026-11-01T00:00:00.000Z") + i * 1000).toISOString();
for (let i = 0; i < Math.max(+own, +shared); i++) {
  const names = [];
  if (i < +own) names.push(prefix + "-" + i);
  if (i < +shared) names.push("shared-" + i);
  for (const runId of names) {
    const r = await store.append(syntheticRun({ runId, commit: "c" + i, branch: "main", time: time(i) }, { seed: i }));
    added.push(...r.added); skipped.push(...r.skipped);
  }
}
await store.close();
process.stdout.write(JSON.stringify({ added, skipped }));
`;

/**
 * Runs the appender in a child process: `own` runs named `<prefix>-<i>`, and `shared` runs named
 * `shared-<i>` that every appender also appends.
 */
export function appendInChild(
  spec: string,
  prefix: string,
  own: number,
  shared: number,
  onStart?: (child: ChildProcess) => void,
): Promise<{ added: string[]; skipped: string[] }> {
  const storeUrl = new URL("../../harness/history/open.js", import.meta.url).href;
  const helperUrl = new URL("./history.js", import.meta.url).href;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", CHILD, storeUrl, helperUrl, spec, prefix, String(own), String(shared)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    onStart?.(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`appender ${prefix} exited ${code}: ${err}`)),
    );
  });
}
