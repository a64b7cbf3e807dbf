/**
 * The history read back: records (from a store) → one document of series, each with its points,
 * its change points and, where its commits were gated against their parents, the chained paired
 * trend and its creep verdict. Pure, no I/O: `perfpack history` (api/history-view.ts) reads the
 * records and git's tags, this module decides, and the report writers (terminal, history.md,
 * history.html, --json) only draw the document.
 *
 * A series is one metric of one variant and scenario, along one branch, on one testbed (machine):
 * runs from different machines are never mixed. Its points are in the order the runs were made,
 * which on a branch that records each push is its first-parent order; a commit measured more than
 * once gives a point per run (the change-point method sees them all), and one of its gates is its
 * link in the chain (linksOf says which).
 */
import { chain, changeOf, type Anchor, type ChainAnalysis, type Link } from "./chain.js";
import { changePoints, isWorse, type ChangePoint, type Segment } from "./changepoints.js";
import type { HistoryRecord, PairedLink, Testbed } from "../history/record.js";
import type { SeriesKey } from "../history/store.js";

const HISTORY_DOCUMENT_SCHEMA = "perfpack/history@1";

/** One run's value of a series. */
export interface TrendPoint {
  commit: string;
  parent?: string;
  time: string;
  runId: string;
  kind: "run" | "gate";
  /** The run's median and its interval (at `level`). */
  value: number;
  lo: number;
  hi: number;
  level: number;
  n: number;
  dirty?: boolean;
  /** The stored run's results.json or folder, as recorded (a link to its report when it is on this machine). */
  source?: string;
  /** A gate: this commit over the baseline commit, paired, with the gate's outcome. */
  link?: PairedLink & { baselineCommit: string; outcome: "pass" | "regression" | "inconclusive" };
}

/** A change point, judged: in the metric's direction, and whether it still stands. */
export interface TrendChangePoint extends ChangePoint {
  /** The change in the metric's direction (+0.03: 3% better, −0.08: 8% worse), of the estimate and its interval's ends. */
  change: number;
  changeLo: number;
  changeHi: number;
  worse: boolean;
  /**
   * A regression that stands: worse beyond the line, after the anchor (`since`), and the series'
   * latest level is still worse than the level before it by more than the line. A later change
   * that brings the level back resolves it.
   */
  standing: boolean;
  /** Why it stands or not: better; worse but within the line; before the anchor; resolved by a later level; stands. */
  state: "better" | "within-line" | "before-anchor" | "resolved" | "stands";
}

export interface TrendSeries {
  key: SeriesKey;
  label?: string;
  better: "higher" | "lower";
  unit?: "share";
  points: TrendPoint[];
  changePoints: TrendChangePoint[];
  segments: Segment[];
  /** Why no change point was sought (too few points), when none was. */
  tooShort?: string;
  /** The chained paired trend of the series' gate links (absent: no gates against parents). */
  chain?: ChainAnalysis;
  /** What stands on this series: the worst of a standing change point, creep, or a suspected creep. */
  status: "regression" | "creep" | "suspected" | "ok";
}

/** A regression that stands, as the exit code and the summaries name it. */
export interface StandingRegression {
  series: SeriesKey;
  label?: string;
  kind: "change-point" | "creep" | "suspected";
  /** Where it came in: the change point's commit range, or the chain's anchor and last commit. */
  from: string;
  to: string;
  /** The metric's new level over its old (a change point's segments, or the chain's product), with its interval. */
  ratio: number;
  lo: number;
  hi: number;
  /** The change in the metric's direction, with its interval. */
  change: number;
  changeLo: number;
  changeHi: number;
}

export interface HistoryDocument {
  schema: typeof HISTORY_DOCUMENT_SCHEMA;
  /** The store's file, or its URL without the password. */
  store: string;
  generatedAt: string;
  /** The line: a change worse than this share is a regression (the gate's --max-regression). */
  line: number;
  /** What the creep is measured from: a commit (a tag's, or given), or the last N links. */
  anchor: { commit?: string; tag?: string; links?: number; why: string };
  filter: { testbed?: string; branch?: string; variant?: string; scenario?: string; metric?: string };
  testbeds: Testbed[];
  runs: number;
  series: TrendSeries[];
  standing: StandingRegression[];
}

export interface TrendOptions {
  store: string;
  line: number;
  anchor: HistoryDocument["anchor"];
  filter?: HistoryDocument["filter"];
  /** Change-point significance (default Otava's 0.001). */
  maxP?: number;
  now?: Date;
}

/** Records (in the stores' order: by time) → the history document. */
export function historyTrend(records: readonly HistoryRecord[], o: TrendOptions): HistoryDocument {
  const groups = new Map<string, HistoryRecord[]>();
  for (const r of records) {
    const k = seriesId(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const series = [...groups.values()].map((rs) => seriesOf(rs, o)).sort(bySeriesKey);
  const testbeds = new Map(records.map((r) => [r.testbed.id, r.testbed]));
  return {
    schema: HISTORY_DOCUMENT_SCHEMA,
    store: o.store,
    generatedAt: (o.now ?? new Date()).toISOString(),
    line: o.line,
    anchor: o.anchor,
    filter: o.filter ?? {},
    testbeds: [...testbeds.values()],
    runs: new Set(records.map((r) => r.runId)).size,
    series,
    standing: series.flatMap(standingOf),
  };
}

/** Two series keys name the same series. */
export const sameSeries = (a: SeriesKey, b: SeriesKey): boolean =>
  a.testbed === b.testbed &&
  a.branch === b.branch &&
  a.variant === b.variant &&
  a.scenario === b.scenario &&
  a.metric === b.metric;

const seriesId = (r: HistoryRecord): string =>
  JSON.stringify([r.testbed.id, r.branch ?? null, r.variant, r.scenario, r.metric]);

const keyOf = (r: HistoryRecord): SeriesKey => ({
  testbed: r.testbed.id,
  ...(r.branch !== undefined ? { branch: r.branch } : {}),
  variant: r.variant,
  scenario: r.scenario,
  metric: r.metric,
});

function bySeriesKey(a: TrendSeries, b: TrendSeries): number {
  const ka = [a.key.testbed, a.key.branch ?? "", a.key.scenario, a.key.variant, a.key.metric];
  const kb = [b.key.testbed, b.key.branch ?? "", b.key.scenario, b.key.variant, b.key.metric];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
  return 0;
}

/**
 * A metric without a stated direction: by its name, the way the verdict reads one (a rate is
 * better higher; times, sizes, CPU and error shares are better lower).
 */
function betterOf(r: Pick<HistoryRecord, "better" | "metric">): "higher" | "lower" {
  if (r.better) return r.better;
  return /rps|per_s|_per_sec|throughput|orders_s|msgs?_s/i.test(r.metric) ? "higher" : "lower";
}

function seriesOf(rs: readonly HistoryRecord[], o: TrendOptions): TrendSeries {
  const first = rs[0]!;
  const better = betterOf(first);
  const points = rs.map(pointOf);
  const cp = changePoints(
    points.map((p) => ({ commit: p.commit, value: p.value, lo: p.lo, hi: p.hi })),
    o.maxP !== undefined ? { maxP: o.maxP } : {},
  );
  const since = sinceIndex(points, o.anchor);
  const last = cp.segments.at(-1);
  const judged = cp.changePoints.map((c) => judge(c, better, o.line, since, last, cp.segments));
  const links = linksOf(points);
  const chained = links.length ? chain(links, { better, line: o.line, ...anchorOf(o.anchor, links) }) : undefined;
  return {
    key: keyOf(first),
    ...(first.label ? { label: first.label } : {}),
    better,
    ...(first.unit ? { unit: first.unit } : {}),
    points,
    changePoints: judged,
    segments: cp.segments,
    ...(cp.status === "too-short" ? { tooShort: cp.reason } : {}),
    ...(chained ? { chain: chained } : {}),
    status: statusOf(judged, chained),
  };
}

function pointOf(r: HistoryRecord): TrendPoint {
  const link =
    r.link && r.gate ? { ...r.link, baselineCommit: r.gate.baselineCommit, outcome: r.gate.outcome } : undefined;
  return {
    commit: r.commit,
    ...(r.parent ? { parent: r.parent } : {}),
    time: r.time,
    runId: r.runId,
    kind: r.kind,
    value: r.median,
    lo: r.lo,
    hi: r.hi,
    level: r.level,
    n: r.n,
    ...(r.dirty ? { dirty: true } : {}),
    ...(r.source ? { source: r.source } : {}),
    ...(link ? { link } : {}),
  };
}

/** The first point at or after the anchor commit (0 without a commit anchor, or when the series never reached it). */
function sinceIndex(points: readonly TrendPoint[], anchor: HistoryDocument["anchor"]): number {
  if (!anchor.commit) return 0;
  const at = points.findIndex((p) => p.commit === anchor.commit);
  return at < 0 ? 0 : at;
}

/** A change point in the metric's direction, and whether it still stands (see TrendChangePoint). */
function judge(
  c: ChangePoint,
  better: "higher" | "lower",
  line: number,
  since: number,
  last: Segment | undefined,
  segments: readonly Segment[],
): TrendChangePoint {
  const ends = [changeOf(c.lo, better), changeOf(c.hi, better)];
  const worse = isWorse(c, better);
  const change = changeOf(c.ratio, better);
  const before = segments.find((s) => s.last === c.index - 1 || (s.first <= c.index - 1 && s.last >= c.index - 1));
  const now = last && before ? changeOf(last.level / before.level, better) : change;
  const state: TrendChangePoint["state"] = !worse
    ? "better"
    : change >= -line
      ? "within-line"
      : c.index < since
        ? "before-anchor"
        : now >= -line
          ? "resolved"
          : "stands";
  const standing = state === "stands";
  return { ...c, change, changeLo: Math.min(...ends), changeHi: Math.max(...ends), worse, standing, state };
}

/**
 * The gate links of a series, one per commit, in order: this commit over the gate's baseline
 * commit. A commit gated more than once (a rerun, or a `history confirm` against another commit)
 * keeps the gate against the previous link's commit when it has one, so the chain does not break,
 * else its newest. The chain follows the links while each baseline is the previous link's commit.
 */
function linksOf(points: readonly TrendPoint[]): Link[] {
  const byCommit = new Map<string, Link[]>();
  for (const p of points) {
    if (!p.link) continue;
    const l: Link = {
      commit: p.commit,
      parent: p.link.baselineCommit,
      estimate: { ratio: p.link.ratio, lo: p.link.lo, hi: p.link.hi, level: p.link.level, n: p.link.n },
      outcome: p.link.outcome,
      runId: p.runId,
    };
    byCommit.set(p.commit, [...(byCommit.get(p.commit) ?? []), l]);
  }
  const out: Link[] = [];
  for (const ls of byCommit.values()) {
    const prev = out.at(-1)?.commit;
    out.push([...ls].reverse().find((l) => l.parent === prev) ?? ls.at(-1)!);
  }
  return out;
}

/** The chain's anchor: the anchor commit when a link starts from it, else the last N links. */
function anchorOf(a: HistoryDocument["anchor"], links: readonly Link[]): { anchor?: Anchor } {
  if (a.commit && links.some((l) => l.parent === a.commit)) return { anchor: { commit: a.commit } };
  if (a.links !== undefined) return { anchor: { links: a.links } };
  return {};
}

function statusOf(cps: readonly TrendChangePoint[], c: ChainAnalysis | undefined): TrendSeries["status"] {
  if (cps.some((x) => x.standing)) return "regression";
  if (c?.creep.status === "creep") return "creep";
  if (c?.creep.status === "suspected") return "suspected";
  return "ok";
}

/** The regressions that stand on a series: its standing change points, and its creep (suspected or proven). */
function standingOf(s: TrendSeries): StandingRegression[] {
  const out: StandingRegression[] = s.changePoints
    .filter((c) => c.standing)
    .map((c) => ({
      series: s.key,
      ...(s.label ? { label: s.label } : {}),
      kind: "change-point" as const,
      from: c.previous,
      to: c.commit,
      ratio: c.ratio,
      lo: c.lo,
      hi: c.hi,
      change: c.change,
      changeLo: c.changeLo,
      changeHi: c.changeHi,
    }));
  const v = s.chain?.creep;
  if (v && (v.status === "creep" || v.status === "suspected")) {
    const ends = [changeOf(v.cumulative.lo, s.better), changeOf(v.cumulative.hi, s.better)];
    out.push({
      series: s.key,
      ...(s.label ? { label: s.label } : {}),
      kind: v.status,
      from: v.since,
      to: v.through,
      ...v.cumulative,
      change: v.change,
      changeLo: Math.min(...ends),
      changeHi: Math.max(...ends),
    });
  }
  return out;
}
