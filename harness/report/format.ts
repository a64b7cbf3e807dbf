import {
  gateMetricKey,
  type AllocationVariant,
  type Comparison,
  type GateReport,
  type LookRecord,
  type Results,
  type RunCapacityRecord,
  type TargetStatus,
  type TargetVerdict,
} from "../results/schema.js";

/** Formats a number for a table cell: 3 significant digits, no exponent for everyday sizes. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Columns of the comparison table as data: Markdown, terminal and HTML render the same list. */
export interface Dimension<T> {
  label: string;
  format(row: T): string;
}

export const ratioText = (r: number) => `${r.toFixed(2)}×`;
const intervalText = (c: Comparison) =>
  Number.isFinite(c.estimate.hi) ? `${c.estimate.lo.toFixed(2)}–${c.estimate.hi.toFixed(2)}×` : "needs ≥ 2 rounds";

/** A share (0–1) as a percentage: "0%", "0.35%", "12.5%". */
export const shareText = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? "–" : v === 0 ? "0%" : `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;

/** A metric's value in a cell: shares as percentages, other numbers by fmt. */
export const metricText = (h: { unit?: "share" } | undefined, v: number | undefined): string =>
  h?.unit === "share" ? shareText(v) : fmt(v);

/** The arms failed differently: shown instead of a ratio. */
const failuresText = (f: NonNullable<Comparison["failuresDiffer"]>): string =>
  `⚠ failed ${shareText(f.reference)} vs ${shareText(f.candidate)}`;

/** A ratio with its mark: ≈ when it is not significant (Holm), which is what decides; no ratio where the arms failed differently. */
export const markedRatio = (c: Pick<Comparison, "direction" | "estimate" | "failuresDiffer">): string =>
  c.failuresDiffer
    ? failuresText(c.failuresDiffer)
    : `${c.direction === "same" ? "≈ " : ""}${ratioText(c.estimate.ratio)}`;

/**
 * The comparison table. The ratio is the geometric mean of the per-round ratios, not the ratio of
 * the medians beside it, and the labels say so, so that a reader's arithmetic checks.
 */
export const comparisonDimensions: Dimension<Comparison>[] = [
  { label: "candidate", format: (c) => `${c.candidate} vs ${c.reference}` },
  { label: "scenario", format: (c) => c.scenario },
  { label: "metric", format: (c) => `${c.label}${c.gate ? " ◆" : ""}` },
  { label: "reference median", format: (c) => fmt(c.referenceMedian) },
  { label: "candidate median", format: (c) => fmt(c.candidateMedian) },
  { label: "ratio (geo. mean of rounds)", format: markedRatio },
  { label: "95% interval (unadjusted)", format: intervalText },
  { label: "p (Holm)", format: (c) => (c.pAdjusted < 0.001 ? "<0.001" : c.pAdjusted.toFixed(3)) },
  {
    label: "",
    format: (c) =>
      c.failuresDiffer
        ? "⚠ the arms' failure shares differ beyond --max-errors: not a speed change"
        : c.direction === "same"
          ? "≈ no significant change"
          : c.direction === "better"
            ? "✓ better"
            : "✗ worse",
  },
];

/** How to read the comparison table: which of the interval and the significance decides. */
export const readingNote = (cs: readonly Comparison[]): string =>
  `Ratio: the geometric mean of per-round ratios (candidate / reference); the medians are shown for reading, and their quotient can differ from it. ` +
  `Significance decides: p is Holm-adjusted over all ${cs.length} comparisons, and ≈ marks a ratio that is not significant at 0.05. ` +
  `The 95% interval is per comparison, not adjusted, so with many comparisons it can exclude 1 while the row stays ≈.`;

export const STATUS_TEXT: Record<TargetStatus, string> = {
  "stretch-met": "✓✓ stretch met",
  pass: "✓ pass",
  fail: "✗ fail",
  "not-measured": "– not measured",
};

export const targetDimensions: Dimension<TargetVerdict>[] = [
  { label: "target", format: (t) => t.label },
  {
    label: "measured",
    format: (t) => (t.measured === undefined ? "–" : t.kind === "headline" ? ratioText(t.measured) : fmt(t.measured)),
  },
  { label: "needs", format: (t) => t.requirement },
  { label: "status", format: (t) => STATUS_TEXT[t.status] + (t.gate ? " (gates)" : "") },
  { label: "on", format: (t) => t.variant },
];

export const methodNote = (cs: readonly Comparison[]): string => {
  const methods = new Set(cs.map((c) => c.estimate.method));
  const n = Math.max(0, ...cs.map((c) => c.estimate.n));
  return methods.has("t")
    ? `Intervals: Student's t on log ratios over ${n} round(s) (below 10 rounds a bootstrap cannot reach 95% coverage; with 10 or more rounds perfpack uses a bootstrap over rounds).`
    : `Intervals: bootstrap over rounds (expanded percentile), ${n} rounds.`;
};

/** The soak's samples (the first trial that kept a series), thinned to at most `max` rows, last kept. */
export function soakSeries(
  r: import("../results/schema.js").Results,
  max = Infinity,
): import("../../scenarios/contract.js").SeriesPoint[] {
  const series = r.trials.find((t) => t.status === "ok" && t.series?.length)?.series ?? [];
  if (series.length <= max) return series;
  const step = Math.ceil(series.length / max);
  return series.filter((_, i) => i % step === 0 || i === series.length - 1);
}

const pct = (v: number | undefined) => (v === undefined ? "–" : `${(v * 100).toFixed(2)}%`);
export const soakDimensions: Dimension<import("../../scenarios/contract.js").SeriesPoint>[] = [
  { label: "t (s)", format: (p) => p.t_s.toFixed(0) },
  { label: "RSS MB", format: (p) => fmt(p.rss_mb) },
  { label: "heap MB", format: (p) => fmt(p.heap_mb) },
  { label: "GC share", format: (p) => pct(p.gc_share) },
  { label: "CPU cores", format: (p) => fmt(p.cpu_cores) },
  { label: "req/s", format: (p) => fmt(p.rps) },
  { label: "p95 ms", format: (p) => fmt(p.p95_ms) },
  { label: "errors", format: (p) => fmt(p.errors) },
  { label: "WS msgs/s", format: (p) => fmt(p.ws_msgs_per_s) },
];

/** One paragraph on the soak: memory and GC over time against the guide's targets. */
export function soakSummary(r: import("../results/schema.js").Results): string | undefined {
  const t = r.trials.find((x) => x.status === "ok" && x.series?.length);
  if (!t) return undefined;
  const m = t.metrics;
  const mb = (v: number | undefined) => (v === undefined ? "–" : `${v.toFixed(1)} MB`);
  // the limits are the targets' own (fixtures/targets.json), as the analysis evaluated them
  const needs = (id: string) => {
    const target = r.summary.targets?.find((x) => x.id === id && x.variant === t.variant);
    return target
      ? ` (target: ${target.label.replace(/ \(.*\)$/, "")} ${target.requirement}: ${STATUS_TEXT[target.status]})`
      : "";
  };
  return (
    `${t.variant}, ${fmt(m.soak_duration_s)} s at ${fmt(m.soak_target_rate)} req/s offered (${fmt(m.soak_rps)} answered/s, ${fmt(m.soak_errors)} errors, p95 ${fmt(m.soak_p95_ms)} ms), ` +
    `sampled every ${fmt(m.soak_interval_s)} s. RSS: first ${mb(m.soak_rss_first_mb)}, peak ${mb(m.soak_rss_max_mb)}, last ${mb(m.soak_rss_last_mb)}; ` +
    `growth after the first fifth ${m.soak_rss_growth_mb_per_min === undefined ? "–" : `${m.soak_rss_growth_mb_per_min.toFixed(2)} MB/min`}` +
    `${needs("memory")}. GC time share over the soak ${pct(m.soak_gc_share)}, worst interval ${pct(m.soak_gc_share_max)}${needs("gc_pressure")}.`
  );
}

/** What the verdict gates on, in words: the optimized claim only, or nothing when the run has no optimized variant. */
export function claimNote(headline: readonly TargetVerdict[]): string {
  const gating = headline.find((t) => t.gate);
  return gating
    ? `The verdict gates on the headline of ${gating.variant} only; the other variants' rows say what each does.`
    : "No optimized-against-baseline pair in this run (an ablation or a matrix asks which toggle does what; a gate run compares revisions): the headline is shown for every variant and gates nothing.";
}

/** One row of the targets table with a cell per variant. */
export interface TargetRow {
  label: string;
  requirement: string;
  note: string | undefined;
  byVariant: Map<string, TargetVerdict>;
}

const targetCell = (t: TargetVerdict | undefined): string =>
  !t
    ? "–"
    : t.status === "not-measured"
      ? STATUS_TEXT[t.status]
      : `${t.kind === "headline" ? ratioText(t.measured!) : fmt(t.measured)} ${STATUS_TEXT[t.status]}`;

/**
 * The targets table as data: one row per target and one column per variant it was evaluated on
 * (an ablation or a matrix evaluates every variant), so rows never repeat per variant.
 */
export function targetTable(verdicts: readonly TargetVerdict[]): { rows: TargetRow[]; dims: Dimension<TargetRow>[] } {
  const variants = [...new Set(verdicts.map((t) => t.variant))];
  const rows = new Map<string, TargetRow>();
  for (const t of verdicts) {
    const row = rows.get(t.id) ?? { label: t.label, requirement: t.requirement, note: t.note, byVariant: new Map() };
    row.byVariant.set(t.variant, t);
    rows.set(t.id, row);
  }
  return {
    rows: [...rows.values()],
    dims: [
      { label: "target", format: (r) => r.label },
      { label: "needs", format: (r) => r.requirement },
      ...variants.map((v) => ({ label: v, format: (r: TargetRow) => targetCell(r.byVariant.get(v)) })),
    ],
  };
}

/**
 * The machine and plan line at the top of every report. Trials imported from Artillery reports
 * (`perfpack import artillery`) were made elsewhere: their machine and load shape are not known here.
 */
export function planText(r: Results): string {
  const p = r.plan;
  const interrupted = (r.interrupted ? ". **Interrupted**: only finished trials are counted" : "") + resumeText(r);
  const variants = `Plan: ${p.variants.map((v) => v.name).join(" vs ")}; scenarios ${p.scenarios.join(", ")}`;
  if (p.imported === "artillery")
    return `Load: imported from Artillery reports made elsewhere (their machine, connections and warm-up are not recorded here; each trial's window is its report's). ${variants}; ${p.rounds} round(s)${interrupted}.`;
  const m = r.machine;
  return (
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}. ` +
    `${variants}; ${p.rounds} round(s) of ${p.durationS} s (warm-up ${p.warmupS} s), ${p.connections} connections${p.rate ? `, open model at ${p.rate} req/s` : ""}${designText(p)}${linkText(p.variants)}${interrupted}.`
  );
}

/** 1-based trial numbers as ranges: "#3–#5, #8". */
function trialRanges(indices: readonly number[]): string {
  const n = [...indices].sort((a, b) => a - b).map((i) => i + 1);
  const parts: string[] = [];
  for (let i = 0; i < n.length; i++) {
    let j = i;
    while (j + 1 < n.length && n[j + 1] === n[j]! + 1) j++;
    parts.push(j > i ? `#${n[i]}–#${n[j]}` : `#${n[i]}`);
    i = j;
  }
  return parts.join(", ");
}

/**
 * A resumed run, said where its plan is: when each resume came and which trials were measured
 * after it. They ran later than the ones before, so the machine's drift between the two stretches
 * is in the comparisons, not balanced by the interleaving.
 */
function resumeText(r: Results): string {
  const resumes = r.resumed ?? [];
  if (resumes.length === 0) return "";
  const parts = resumes.map((x, k) => {
    const after = r.trials.slice(x.kept, resumes[k + 1]?.kept ?? r.trials.length).map((t) => t.index);
    const host = x.hostname ? ` on ${x.hostname}` : "";
    return `${x.at}${host} (trials measured after it: ${after.length ? trialRanges(after) : "none"})`;
  });
  return `. **Resumed** ${parts.join("; ")}: those trials ran later than the ones before, so the machine's drift between the two stretches is not balanced by the interleaving`;
}

/** How the arms shared the machine, when they ran as a duet. */
const designText = (p: Results["plan"]): string =>
  p.design === "duet"
    ? `; duet: the variants of a round ran at once on ${p.duetExchange === "each" ? "an exchange each" : "one exchange"}, the connections split between them (json and soak alone)`
    : "";

/** A variant's upstream link, as a report shows it ("10 ms ± 2 ms, 100 Mbit/s"); undefined without one. */
export function linkCell(env: Record<string, string>): string | undefined {
  const rtt = env.UPSTREAM_RTT_MS;
  const bw = env.UPSTREAM_BANDWIDTH_MBPS;
  if (rtt === undefined && bw === undefined) return undefined;
  return [`${(rtt ?? "0").replace(":", " ms ± ")} ms`, ...(bw !== undefined ? [`${bw} Mbit/s`] : [])].join(", ");
}

/**
 * The upstream link of a run (--upstream-rtt, --upstream-bandwidth), for the plan line of every
 * report: "upstream RTT 10 ms" when all variants share it, per variant when they differ; empty without a link.
 */
function linkText(variants: ReadonlyArray<{ name: string; env: Record<string, string> }>): string {
  const links = variants.map((v) => linkCell(v.env));
  if (links.every((l) => l === undefined)) return "";
  if (new Set(links).size === 1) return `; upstream RTT ${links[0]} (emulated in user space)`;
  return `; upstream link per variant (emulated in user space): ${variants.map((v, i) => `${v.name} (${links[i] ?? "none"})`).join(", ")}`;
}

/** A scenario's medians as table columns: the variant, then each headline (shares as percentages, beside the throughput). */
export const medianDimensions = (r: Results, scenario: string): Dimension<string>[] => [
  { label: "variant", format: (v) => v },
  ...(r.plan.headlines?.[scenario] ?? []).map((h) => ({
    label: h.label,
    format: (v: string) => metricText(h, r.summary.medians[v]?.[scenario]?.[h.metric]),
  })),
];

/** One failed trial, for a list: where, and why (the status codes and first failing answer, or the crash). */
export const failedTrialText = (t: import("../results/schema.js").TrialRecord): string =>
  t.status === "failed"
    ? `${t.variant} · ${t.scenario} · round ${t.round}: ${t.error}${t.exit ? ` (exit ${t.exit.code}, signal ${t.exit.signal})` : ""}`
    : "";

/** The gate's outcome as a reviewer reads it. */
export const gateOutcomeText = (g: Pick<GateReport, "outcome" | "strict">): string =>
  g.outcome === "pass"
    ? "PASS"
    : g.outcome === "regression"
      ? "FAIL (regression)"
      : g.strict
        ? "FAIL (inconclusive, --strict)"
        : "INCONCLUSIVE (exit 0; --strict makes it fail)";

/** The line as a ratio (candidate / reference) in a metric's own direction: below it (higher is better) or above it (lower is better) is worse than the line. */
export const lineRatio = (better: Comparison["better"], line: number): number =>
  better === "higher" ? 1 - line : 1 / (1 - line);

const CALL_TEXT = { regression: "✗ regression", clear: "✓ clear", undecided: "… undecided" } as const;

/** The gate metric's name in a look table: its scenario and label, and the candidate when the gate has several. */
const gateMetricName = (g: GateReport, c: Comparison): string => {
  const many = new Set(g.comparisons.map((x) => x.candidate)).size > 1;
  return `${many ? `${c.candidate} · ` : ""}${c.scenario} · ${c.label}`;
};

/**
 * The gate's decision look by look: a row per look (its rounds, seconds and intervals' level), a
 * column per gate metric with its ratio, interval and call against the line.
 */
export function gateLookTable(g: GateReport): { rows: LookRecord[]; dims: Dimension<LookRecord>[] } {
  const dims: Dimension<LookRecord>[] = [
    { label: "look", format: (l) => `${l.look}/${g.design.maxLooks}` },
    { label: "rounds", format: (l) => String(l.rounds) },
    { label: "s", format: (l) => l.elapsedS.toFixed(0) },
    { label: "level", format: (l) => `${(l.level * 100).toFixed(2)}%` },
    ...g.comparisons.map((c) => {
      const key = gateMetricKey(c);
      return {
        label: `${gateMetricName(g, c)} (line ${lineRatio(c.better, g.maxRegression).toFixed(3)})`,
        format: (l: LookRecord) => {
          const i = l.intervals?.[key];
          const call = l.calls[key];
          if (!i || !call) return "—";
          return `${i.ratio.toFixed(3)} (${i.lo.toFixed(3)}–${Number.isFinite(i.hi) ? i.hi.toFixed(3) : "∞"}) ${CALL_TEXT[call]}`;
        },
      };
    }),
  ];
  return { rows: g.looks, dims };
}

/** Under the look table: what the line and the levels mean. */
export const gateNote = (g: GateReport): string =>
  `Each cell: the ratio candidate / reference and its interval at the look's level; a metric is decided when its interval lies wholly on one side of its line (${(g.maxRegression * 100).toFixed(0)}% worse). ` +
  `The levels come from spending α = ${g.design.alpha} per side over at most ${g.design.maxLooks} look${g.design.maxLooks === 1 ? "" : "s"} (an exact group-sequential boundary), so the false-alarm rate holds however many looks were taken. ${g.wallS.toFixed(0)} s of a ${g.budgetS} s budget.`;

/** One variant's row of the allocation pass (results.allocation). */
export type AllocationRow = { variant: string } & (AllocationVariant | { error: string });

export const allocationRows = (r: Results): AllocationRow[] =>
  Object.entries(r.allocation?.variants ?? {}).map(([variant, a]) => ({ variant, ...a }));

const ok = (row: AllocationRow): AllocationVariant | undefined => ("error" in row ? undefined : row);
const whole = (x: number | undefined) => (x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));

export const allocationDimensions: Dimension<AllocationRow>[] = [
  { label: "variant", format: (row) => row.variant },
  {
    label: "objects/s",
    format: (row) => (ok(row) ? whole(ok(row)!.objectsPerS) : `failed: ${(row as { error: string }).error}`),
  },
  {
    label: "range over rounds",
    format: (row) => (ok(row)?.objectsPerSRange ? ok(row)!.objectsPerSRange!.map(whole).join("–") : "–"),
  },
  { label: "objects/request", format: (row) => whole(ok(row)?.objectsPerRequest) },
  { label: "bytes/request", format: (row) => whole(ok(row)?.bytesPerRequest) },
  { label: "idle objects/s", format: (row) => whole(ok(row)?.backgroundObjectsPerS) },
  {
    label: "req/s: trials · pass",
    format: (row) => (ok(row) ? `${whole(ok(row)!.trialRps)} · ${whole(ok(row)!.passRps)}` : "–"),
  },
];

/** The functions that allocated the most objects in the loaded window, per variant: "fn (script:line) 41%". */
export const allocationTopText = (row: AllocationRow): string => {
  const a = ok(row);
  if (!a) return "";
  return a.top
    .slice(0, 5)
    .map(
      (t) =>
        `${t.fn}${t.script ? ` (${t.script.replace(/^.*\/node_modules\//, "").replace(/^file:\/\//, "")}${t.line ? `:${t.line}` : ""})` : ""} ${((t.objects / a.objects) * 100).toFixed(0)}%`,
    )
    .join(", ");
};

/** One search of `run --capacity` (results.capacity). */
export type RunCapacityRow = RunCapacityRecord["searches"][number];

/** The capacity table of a run made with --capacity: per scenario and variant, the capacity at the SLO and its bracket. */
export const runCapacityDimensions: Dimension<RunCapacityRow>[] = [
  { label: "scenario", format: (s) => s.scenario },
  { label: "variant", format: (s) => s.variant },
  {
    label: "capacity",
    format: (s) => (s.capacity === undefined ? "none" : `${s.atLeast ? "≥ " : ""}${whole(s.capacity)} ${s.unit}`),
  },
  {
    label: "bracket (last pass – first fail)",
    format: (s) => s.bracket.map((x) => (x === null ? "–" : whole(x))).join(" – "),
  },
  { label: "SLO", format: (s) => s.slo },
  { label: "search ended", format: (s) => s.ended ?? "–" },
];

/** Under the run's capacity table: what it is, and where the search's own report is. */
export const runCapacityNote = (c: RunCapacityRecord): string =>
  `The highest offered rate (open model, coordinated omission corrected) at which the SLO held, found by ${c.interrupted ? "a search cut short by Ctrl-C, " : ""}bisection to the resolution; the targets table judges the throughput targets on it. The steps, the latency curve, CPU per request and a USL fit are in the search's own report: ${c.folder}/report.html (and report.md, capacity.json).`;
