import jstat from "jstat";
import type { RatioEstimate } from "../results/schema.js";
import type { GateOutcome } from "./sequential.js";

const { jStat } = jstat;

/**
 * The chained paired trend: pure, no I/O.
 *
 * When each commit on a branch was gated against its parent in one duet run, each gate gives a
 * paired ratio (this commit over its parent) with an interval, free of the drift between CI jobs:
 * both arms ran under the same weather. The product of the ratios since an anchor is then the
 * change since the anchor, still free of that drift, which a trend of separate runs' medians is
 * not (between jobs, runners drift by more than a run's own noise).
 *
 * The interval of the product: on logs the product is a sum, and its variance is the sum of the
 * links' variances, each recovered from the link's interval (half its width on logs over the
 * quantile that made it: Student's t at the link's rounds − 1 when known, else the normal's, at
 * the link's level, which for a sequential gate's last look is not 95%). The assumption is that
 * the links' errors are independent: each is its own run on its own slices. A commit that runs in
 * two links (as the candidate of one and the baseline of the next) brings any error of its own
 * build to both with opposite signs, so it cancels in the product; independence then overstates
 * the variance, which errs towards a wider interval. The chained interval is Student's t with
 * Welch–Satterthwaite degrees of freedom over the links, so a chain of one link gives back exactly
 * that link's interval, and the interval widens as √(links) when the links are alike.
 *
 * The creep: every gate judges one commit against the line (say 5%), so ten changes of 1.5% each
 * pass ten gates and ship 15%. The chain judges the sum:
 * - **creep** when the chained interval lies wholly beyond the line (the gate's own standard of
 *   evidence, applied to the change since the anchor);
 * - **suspected** when the estimate is beyond the line and the interval lies wholly on the worse
 *   side of no change: the regression is certain, its size beyond the line likely but not proven.
 *   The interval must exclude no change because the chained interval widens with every link: an
 *   estimate alone crosses a 5% line by chance ever more often as the chain grows (with no change at
 *   all, links of ±2.5% cross it about one time in nine at 20 links and one in five at 50, where
 *   this rule stays near 2%; scripts/changepoints-eval.mjs measures both);
 * - **none** otherwise.
 * Direction follows the gate's convention: the change is ratio − 1 when higher is better
 * (throughput) and 1/ratio − 1 when lower is better (latency, CPU per request), and "beyond the
 * line" means a change below −line.
 */

/** One gate of a commit against its parent. */
export interface Link {
  commit: string;
  parent: string;
  /**
   * This commit over its parent: the gate's paired ratio and its interval (at `level`, 95% when
   * absent), and the rounds behind it (`n`: its standard error is recovered with Student's t at
   * n − 1, for a bootstrap interval too, whose expanded percentile mimics it; without `n`, with the
   * normal's quantile, which for a t interval overstates it: a wider chain, never a narrower one).
   */
  estimate: Pick<RatioEstimate, "ratio" | "lo" | "hi"> & Partial<Pick<RatioEstimate, "level" | "n">>;
  outcome: GateOutcome;
  /** The gate's run, when the caller knows it (carried to its point, so a chart links the right run). */
  runId?: string;
}

export type Anchor = { links: number } | { commit: string };

export interface ChainOptions {
  better: "higher" | "lower";
  /** The line, as a share: 0.05 calls a cumulative change of more than 5% worse a regression. */
  line: number;
  /** Chain from this commit, or over the last N links; absent: from the first link given. */
  anchor?: Anchor;
  /** Two-sided level of the chained intervals (default 0.95). */
  level?: number;
}

export type CreepCall = "creep" | "suspected" | "none";

export interface ChainPoint {
  commit: string;
  parent: string;
  /** The link's gate run, when it was given. */
  runId?: string;
  /** The link's own ratio, its interval as given, and its outcome. */
  link: { ratio: number; lo: number; hi: number; outcome: GateOutcome };
  /** The product of the link ratios since `since`, with its interval at the chain's level. */
  cumulative: { ratio: number; lo: number; hi: number };
  /** The cumulative change in the metric's direction (+0.03: 3% better; −0.08: 8% worse). */
  change: number;
  /** Links chained into `cumulative`. */
  links: number;
  /** The commit the chain starts from: the anchor, or the parent of the first link after a gap. */
  since: string;
  call: CreepCall;
}

export type CreepVerdict =
  | {
      status: CreepCall;
      since: string;
      through: string;
      links: number;
      cumulative: { ratio: number; lo: number; hi: number };
      change: number;
      line: number;
      /** The links' own outcomes: a creep is the sum of links that each passed or were inconclusive. */
      outcomes: Record<GateOutcome, number>;
      /** The first commit since `since` at which the call was suspected or creep, and creep. */
      firstSuspected?: string;
      firstCreep?: string;
    }
  | { status: "unknown"; reason: string };

export interface ChainAnalysis {
  /** The commit the chain is anchored at (undefined when there is no link to chain). */
  anchor: string | undefined;
  points: ChainPoint[];
  /** Where a link's parent is not the previous link's commit: the chain restarts there. */
  gaps: Array<{ after: string; parent: string; commit: string }>;
  /** The verdict at the last point, over the stretch since the anchor or the last gap. */
  creep: CreepVerdict;
}

/** The links' chained trend from the anchor, and the creep verdict at its end. */
export function chain(links: readonly Link[], o: ChainOptions): ChainAnalysis {
  const level = o.level ?? 0.95;
  const chosen = fromAnchor(links, o.anchor);
  if ("reason" in chosen)
    return { anchor: undefined, points: [], gaps: [], creep: { status: "unknown", reason: chosen.reason } };
  if (chosen.length === 0)
    return { anchor: undefined, points: [], gaps: [], creep: { status: "unknown", reason: "no gate links to chain" } };
  const points: ChainPoint[] = [];
  const gaps: ChainAnalysis["gaps"] = [];
  let acc = start(chosen[0]!.parent);
  for (const [i, l] of chosen.entries()) {
    const prev = chosen[i - 1];
    if (prev && l.parent !== prev.commit) {
      gaps.push({ after: prev.commit, parent: l.parent, commit: l.commit });
      acc = start(l.parent);
    }
    acc = add(acc, linkLog(l.estimate));
    points.push(pointOf(l, acc, o, level));
  }
  return { anchor: chosen[0]!.parent, points, gaps, creep: verdict(points, o.line) };
}

/** The links after the anchor, or why there are none. */
function fromAnchor(links: readonly Link[], anchor: Anchor | undefined): readonly Link[] | { reason: string } {
  if (!anchor) return links;
  if ("links" in anchor) return links.slice(Math.max(0, links.length - Math.max(0, Math.floor(anchor.links))));
  const at = links.findIndex((l) => l.parent === anchor.commit);
  if (at < 0) return { reason: `the anchor ${anchor.commit} is the parent of no gate link` };
  return links.slice(at);
}

/** A link on logs: its estimate, its standard error and the degrees of freedom behind it. */
interface LogTerm {
  log: number;
  variance: number;
  /** variance² / df: the link's share of the Welch–Satterthwaite denominator. */
  wsTerm: number;
}

/** The link's log ratio and the variance recovered from its interval (infinite when it has none). */
export function linkLog(e: Link["estimate"]): LogTerm {
  const log = Math.log(e.ratio);
  const df = e.n !== undefined && e.n >= 2 ? e.n - 1 : Infinity;
  if (!(e.lo > 0) || !Number.isFinite(e.hi) || !(e.hi >= e.lo)) return { log, variance: Infinity, wsTerm: Infinity };
  const q = quantile(1 - (1 - (e.level ?? 0.95)) / 2, df);
  const se = Math.log(e.hi / e.lo) / 2 / q;
  const variance = se * se;
  return { log, variance, wsTerm: Number.isFinite(df) ? (variance * variance) / df : 0 };
}

/** A chain's running sums since its start. */
interface Acc {
  since: string;
  links: number;
  log: number;
  variance: number;
  wsTerm: number;
}

const start = (since: string): Acc => ({ since, links: 0, log: 0, variance: 0, wsTerm: 0 });
const add = (a: Acc, t: LogTerm): Acc => ({
  since: a.since,
  links: a.links + 1,
  log: a.log + t.log,
  variance: a.variance + t.variance,
  wsTerm: a.wsTerm + t.wsTerm,
});

/** Quantile of Student's t; the normal's for infinite (or past jStat's range) degrees of freedom. */
const quantile = (p: number, df: number): number => (df > 1e6 ? jStat.normal.inv(p, 0, 1) : jStat.studentt.inv(p, df));

/** The chained interval at `level`: Student's t with Welch–Satterthwaite degrees of freedom. */
function interval(a: Acc, level: number): { ratio: number; lo: number; hi: number } {
  const ratio = Math.exp(a.log);
  if (!Number.isFinite(a.variance)) return { ratio, lo: 0, hi: Infinity };
  const df = a.wsTerm > 0 ? (a.variance * a.variance) / a.wsTerm : Infinity;
  const half = quantile(1 - (1 - level) / 2, df) * Math.sqrt(a.variance);
  return { ratio, lo: Math.exp(a.log - half), hi: Math.exp(a.log + half) };
}

/** The change as "how much better" in the metric's direction (the gate's convention): −0.08 is 8% worse. */
export const changeOf = (ratio: number, better: "higher" | "lower"): number =>
  better === "higher" ? ratio - 1 : 1 / ratio - 1;

/** Creep, suspected or none, from the cumulative interval (see the module's comment). */
export function callCreep(
  c: { ratio: number; lo: number; hi: number },
  better: "higher" | "lower",
  line: number,
): CreepCall {
  const ends = [changeOf(c.lo, better), changeOf(c.hi, better)].map((x) => (Number.isNaN(x) ? Infinity : x));
  const best = Math.max(...ends);
  if (best < -line) return "creep";
  if (changeOf(c.ratio, better) < -line && best < 0) return "suspected";
  return "none";
}

function pointOf(l: Link, acc: Acc, o: ChainOptions, level: number): ChainPoint {
  const cumulative = interval(acc, level);
  return {
    commit: l.commit,
    parent: l.parent,
    ...(l.runId !== undefined ? { runId: l.runId } : {}),
    link: { ratio: l.estimate.ratio, lo: l.estimate.lo, hi: l.estimate.hi, outcome: l.outcome },
    cumulative,
    change: changeOf(cumulative.ratio, o.better),
    links: acc.links,
    since: acc.since,
    call: callCreep(cumulative, o.better, o.line),
  };
}

/** The verdict at the last point, over its stretch (since the anchor or the last gap). */
function verdict(points: readonly ChainPoint[], line: number): CreepVerdict {
  const last = points.at(-1)!;
  const stretch = points.filter((p) => p.since === last.since).slice(-last.links);
  const outcomes: Record<GateOutcome, number> = { pass: 0, inconclusive: 0, regression: 0 };
  for (const p of stretch) outcomes[p.link.outcome]++;
  const firstSuspected = stretch.find((p) => p.call !== "none")?.commit;
  const firstCreep = stretch.find((p) => p.call === "creep")?.commit;
  return {
    status: last.call,
    since: last.since,
    through: last.commit,
    links: last.links,
    cumulative: last.cumulative,
    change: last.change,
    line,
    outcomes,
    ...(firstSuspected ? { firstSuspected } : {}),
    ...(firstCreep ? { firstCreep } : {}),
  };
}
