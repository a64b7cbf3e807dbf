// Measures perfpack's history analysis (a benchmark of perfpack itself, never run by npm test):
// 1. change points (harness/verdict/changepoints.ts) on synthetic series with known steps at known
//    commits, several step sizes and noise levels, many seeds: found at the right commit (±0, ±1),
//    missed, and false change points per 100 commits;
// 2. the same series through Apache Otava's own code (the reference), when --otava names a folder
//    holding its `otava` Python package (numpy and scipy needed): how often the two agree, as
//    Otava is and with the two differences perfpack makes on purpose patched in (a direct port check);
// 3. the creep: 8 commits, each +1.5% CPU per request, each gated against its parent (paired
//    rounds, simulated at the duet's measured noise), chained (harness/verdict/chain.ts): at which
//    commit the creep is reported, and how often a chain of unchanged commits raises a false one;
// 4. the time to analyse 1,000 commits × 10 metrics.
//
//   npm run build && node scripts/changepoints-eval.mjs [--seeds 50] [--otava DIR]
//
// The reference: DIR is a clone of https://github.com/apache/otava (measured against its commit
// 1ceb153). Only otava/analysis.py and otava/change_point_divisive/ are imported (otava/ has no
// __init__.py there: a namespace package), and they need numpy and scipy, nothing else of Otava's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { changePoints } from "../dist/harness/verdict/changepoints.js";
import { chain, changeOf } from "../dist/harness/verdict/chain.js";
import { callMetric } from "../dist/harness/verdict/sequential.js";
import { pairedRatio, rng } from "../dist/harness/verdict/stats.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SEEDS = Number(opt("--seeds", "50"));
const OTAVA = opt("--otava", undefined);

const gauss = (r) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
const pct = (x, d = 1) => `${(x * 100).toFixed(d)}%`;

// ---------------------------------------------------------------- 1. synthetic change points
const N = 200;
const STEPS = [0.02, 0.05, 0.1, 0.2];
const CVS = [0.01, 0.03, 0.05];
/** 200 commits at 1000: a regression of `step` at commit 60, and a fix of the same size at 130. */
const truth = (step) =>
  step === 0
    ? []
    : [
        { at: 60, ratio: 1 - step },
        { at: 130, ratio: 1 / (1 - step) },
      ];
function makeSeries(step, cv, seed) {
  const r = rng(seed);
  const steps = truth(step);
  return Array.from({ length: N }, (_, i) => {
    const level = steps.reduce((l, s) => (i >= s.at ? l * s.ratio : l), 1000);
    return { commit: `c${i}`, value: level * Math.exp(cv * gauss(r)) };
  });
}

/** Detected indices matched to the true steps: exact, off by one, missed, and the false ones. */
function score(found, steps) {
  const used = new Set();
  let exact = 0;
  let near = 0;
  for (const s of steps) {
    const hit = [0, -1, 1].map((d) => s.at + d).find((i) => found.includes(i) && !used.has(i));
    if (hit === undefined) continue;
    used.add(hit);
    if (hit === s.at) exact++;
    else near++;
  }
  return { exact, near, missed: steps.length - exact - near, falsePos: found.filter((i) => !used.has(i)).length };
}

const cases = [];
for (const cv of CVS)
  for (const step of [0, ...STEPS])
    for (let seed = 1; seed <= SEEDS; seed++) cases.push({ cv, step, seed, series: makeSeries(step, cv, seed) });
for (const c of cases) {
  c.cps = changePoints(c.series).changePoints;
  c.found = c.cps.map((p) => p.index);
}

/** Of the change points found at the right commit, how many intervals hold the true step. */
function coverage(mine) {
  let n = 0;
  let covered = 0;
  for (const c of mine)
    for (const p of c.cps) {
      const t = truth(c.step).find((s) => s.at === p.index);
      if (!t) continue;
      n++;
      if (p.lo <= t.ratio && t.ratio <= p.hi) covered++;
    }
  return { n, covered };
}

function table(found, withCoverage) {
  const rows = [
    `| noise (CV) | step | steps | at the commit | ±1 | missed | false per 100 commits |${withCoverage ? " 95% interval holds the step |" : ""}`,
    `|---|---|---|---|---|---|---|${withCoverage ? "---|" : ""}`,
  ];
  for (const cv of CVS)
    for (const step of [0, ...STEPS]) {
      const mine = cases.filter((c) => c.cv === cv && c.step === step);
      const t = mine.reduce(
        (a, c) => {
          const s = score(found(c), truth(step));
          return {
            exact: a.exact + s.exact,
            near: a.near + s.near,
            missed: a.missed + s.missed,
            fp: a.fp + s.falsePos,
          };
        },
        { exact: 0, near: 0, missed: 0, fp: 0 },
      );
      const total = mine.length * truth(step).length;
      const per100 = (100 * t.fp) / (mine.length * N);
      const cov = coverage(mine);
      const covCell = !withCoverage ? "" : cov.n === 0 ? " – |" : ` ${cov.covered}/${cov.n} |`;
      rows.push(
        `| ${pct(cv, 0)} | ${step === 0 ? "none" : pct(step, 0)} | ${total} | ${t.exact} | ${t.near} | ${t.missed} | ${per100.toFixed(2)} |${covCell}`,
      );
    }
  return rows.join("\n");
}

console.log(`## 1. Change points on synthetic series\n`);
console.log(
  `${N} commits each, log-normal noise; a regression of the step at commit 60 and its fix at 130 (none: pure noise). ` +
    `${SEEDS} seeds per row. E-divisive means, t-test at p = 0.001, windows of 50 (perfpack's defaults).\n`,
);
console.log(table((c) => c.found, true));
const all = coverage(cases);
console.log(
  `\nThe magnitude's 95% interval holds the true step for ${all.covered} of ${all.n} change points found at the right commit (${pct(all.covered / all.n)}).`,
);

// ---------------------------------------------------------------- 2. the reference: Apache Otava
const PY = String.raw`
import json, sys
import numpy as np
from scipy.stats import ttest_ind_from_stats
sys.path.insert(0, sys.argv[1])
from otava import analysis
from otava.analysis import compute_change_points, split, TTestSignificanceTester, TTestStats

series = json.load(open(sys.argv[2]))
out = {"asIs": [], "patched": []}
for s in series:
    cps, _ = compute_change_points(s, window_len=50, max_pvalue=0.001)
    out["asIs"].append([int(c.index) for c in cps])

# perfpack's two differences, patched in: the sample SD (n - 1), and both neighbours re-tested in the merge
def compare(self, left, right):
    ml, mr = np.mean(left), np.mean(right)
    sl = np.std(left, ddof=1) if len(left) >= 2 else 0.0
    sr = np.std(right, ddof=1) if len(right) >= 2 else 0.0
    p = ttest_ind_from_stats(ml, sl, len(left), mr, sr, len(right))[1] if len(left) + len(right) > 2 else 1.0
    return TTestStats(mean_1=ml, mean_2=mr, std_1=sl, std_2=sr, pvalue=p)
TTestSignificanceTester.compare = compare

def merge(cps, series, max_p):
    tester = TTestSignificanceTester(max_p)
    while cps:
        k = max(range(len(cps)), key=lambda i: cps[i].stats.pvalue)
        if cps[k].stats.pvalue < max_p:
            return cps
        del cps[k]
        intervals = tester.get_intervals(cps)
        for i in (k - 1, k):
            if 0 <= i < len(cps):
                cps[i] = tester.change_point(cps[i].to_candidate(), series, intervals)
    return cps

for s in series:
    weak = split(s, 50, 0.01)
    out["patched"].append([int(c.index) for c in merge(weak, s, 0.001)])
json.dump(out, sys.stdout)
`;

function reference() {
  const dir = mkdtempSync(join(tmpdir(), "cp-eval-"));
  writeFileSync(join(dir, "ref.py"), PY);
  writeFileSync(join(dir, "series.json"), JSON.stringify(cases.map((c) => c.series.map((p) => Math.log(p.value)))));
  const text = execFileSync("python3", [join(dir, "ref.py"), OTAVA, join(dir, "series.json")], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  return JSON.parse(text);
}

console.log(
  `\n## 2. Against the reference (Apache Otava's compute_change_points, window 50, p = 0.001, on the same logs)\n`,
);
if (!OTAVA) console.log("Skipped: --otava DIR names no copy of Otava's Python package.");
else {
  const ref = reference();
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  for (const [name, got] of [
    ["Otava as it is", ref.asIs],
    ["Otava with perfpack's two changes", ref.patched],
  ]) {
    const agree = cases.filter((c, i) => same(c.found, got[i])).length;
    console.log(`- ${name}: the same change points on ${agree} of ${cases.length} series.`);
  }
  const diffs = cases.flatMap((c, i) => (same(c.found, ref.asIs[i]) ? [] : [{ c, theirs: ref.asIs[i] }]));
  for (const { c, theirs } of diffs.slice(0, 8))
    console.log(
      `  - CV ${pct(c.cv, 0)}, step ${pct(c.step, 0)}, seed ${c.seed}: perfpack [${c.found}], Otava [${theirs}]`,
    );
  console.log(`\nOtava as it is, scored the same way:\n`);
  const byCase = new Map(cases.map((c, i) => [c, ref.asIs[i]]));
  console.log(table((c) => byCase.get(c)));
}

// ---------------------------------------------------------------- 3. the creep
/** A gate of a commit against its parent: 6 paired rounds of log-ratio noise `sd` around `ratio`. */
function gateLink(r, i, ratio, sd, better) {
  const rounds = Array.from({ length: 6 }, () => [100, 100 * ratio * Math.exp(sd * gauss(r))]);
  const estimate = pairedRatio(rounds);
  const call = callMetric({ better, estimate }, 0.05);
  return {
    commit: `c${i + 1}`,
    parent: `c${i}`,
    estimate,
    outcome: call === "clear" ? "pass" : call === "regression" ? "regression" : "inconclusive",
  };
}
const METRICS = [
  // the noise study's paired SD per duet slice (docs/statistics.md): req/s 0.023, CPU/request 0.032
  { name: "throughput (req/s)", better: "higher", perCommit: 1 / 1.015, sd: 0.023 },
  { name: "CPU per request", better: "lower", perCommit: 1.015, sd: 0.032 },
  { name: "throughput, a quieter gate (SD 0.012)", better: "higher", perCommit: 1 / 1.015, sd: 0.012 },
];

console.log(`\n## 3. The creep: 8 commits, each +1.5% CPU per request, each gated against its parent\n`);
console.log(
  "Each link: 6 paired duet rounds (Student's t, 95%), its call against the 5% line as the gate makes it; chained with chain.ts, line 5%.\n",
);
const example = METRICS[0];
const r0 = rng(2024);
const exLinks = Array.from({ length: 8 }, (_, i) => gateLink(r0, i, example.perCommit, example.sd, example.better));
const ex = chain(exLinks, { better: example.better, line: 0.05 });
console.log(`One run (${example.name}, seed 2024):\n`);
console.log(
  "| commit | true cumulative | link ratio | link 95% interval | gate | chained ratio | chained 95% interval | call |",
);
console.log("|---|---|---|---|---|---|---|---|");
ex.points.forEach((p, i) => {
  const trueCum = pct(changeOf(example.perCommit ** (i + 1), example.better));
  console.log(
    `| ${p.commit} | ${trueCum} | ${p.link.ratio.toFixed(4)} | ${p.link.lo.toFixed(4)}–${p.link.hi.toFixed(4)} | ${p.link.outcome} | ` +
      `${p.cumulative.ratio.toFixed(4)} | ${p.cumulative.lo.toFixed(4)}–${p.cumulative.hi.toFixed(4)} | ${p.call} |`,
  );
});

const TRIALS = 2000;
console.log(`\nOver ${TRIALS} simulated histories per metric:\n`);
console.log(
  "| metric | link SD per round | links passed / inconclusive / failed | suspected first at (median) | suspected by commit 5 (7.7%) | creep first at (median) | creep by commit 5 | creep by commit 8 |",
);
console.log("|---|---|---|---|---|---|---|---|");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
for (const m of METRICS) {
  const r = rng(77);
  const firstS = [];
  const firstC = [];
  const outcomes = { pass: 0, inconclusive: 0, regression: 0 };
  for (let t = 0; t < TRIALS; t++) {
    const ls = Array.from({ length: 8 }, (_, i) => gateLink(r, i, m.perCommit, m.sd, m.better));
    for (const l of ls) outcomes[l.outcome]++;
    const pts = chain(ls, { better: m.better, line: 0.05 }).points;
    firstS.push(pts.findIndex((p) => p.call !== "none") + 1 || 99);
    firstC.push(pts.findIndex((p) => p.call === "creep") + 1 || 99);
  }
  const by = (xs, k) => pct(xs.filter((x) => x <= k).length / TRIALS, 0);
  const med = (xs) => (median(xs) === 99 ? "not within 8" : `commit ${median(xs)}`);
  console.log(
    `| ${m.name} | ${m.sd} | ${outcomes.pass} / ${outcomes.inconclusive} / ${outcomes.regression} | ${med(firstS)} | ${by(firstS, 5)} | ${med(firstC)} | ${by(firstC, 5)} | ${by(firstC, 8)} |`,
  );
}

// false alarms on a chain of unchanged commits
console.log(
  `\nFalse alarms: chains of unchanged commits (true ratio 1), throughput, SD 0.023 per round, ${TRIALS} each:\n`,
);
console.log(
  "| links | estimate beyond the line (the plain rule) | suspected (beyond, and wholly worse than no change) | creep |",
);
console.log("|---|---|---|---|");
for (const k of [8, 20, 50]) {
  const r = rng(k);
  const tally = { plain: 0, suspected: 0, creep: 0 };
  for (let t = 0; t < TRIALS; t++) {
    const ls = Array.from({ length: k }, (_, i) => gateLink(r, i, 1, 0.023, "higher"));
    const v = chain(ls, { better: "higher", line: 0.05 }).creep;
    if (v.change < -0.05) tally.plain++;
    if (v.status === "suspected") tally.suspected++;
    if (v.status === "creep") tally.creep++;
  }
  console.log(
    `| ${k} | ${pct(tally.plain / TRIALS)} | ${pct(tally.suspected / TRIALS)} | ${pct(tally.creep / TRIALS)} |`,
  );
}

// ---------------------------------------------------------------- 4. time
console.log(`\n## 4. Time: 1,000 commits × 10 metrics\n`);
const big = Array.from({ length: 10 }, (_, k) => {
  const r = rng(500 + k);
  return Array.from({ length: 1000 }, (_, i) => ({
    commit: `c${i}`,
    value: 1000 * (i >= 300 ? 0.9 : 1) * (i >= 700 ? 1.05 : 1) * Math.exp(0.02 * gauss(r)),
    lo: 900,
    hi: 1100,
  }));
});
const bigLinks = Array.from({ length: 1000 }, (_, i) => gateLink(rng(i), i, 1, 0.023, "higher"));
const times = [];
for (let rep = 0; rep < 5; rep++) {
  const t0 = performance.now();
  for (const s of big) changePoints(s);
  for (let k = 0; k < 10; k++) chain(bigLinks, { better: "higher", line: 0.05 });
  times.push(performance.now() - t0);
}
console.log(
  `Change points of 10 series of 1,000 commits and 10 chains of 1,000 links: first ${times[0].toFixed(0)} ms, ` +
    `then ${times
      .slice(1)
      .map((t) => t.toFixed(0))
      .join(", ")} ms (Node ${process.version}).`,
);
