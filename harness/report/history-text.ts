/**
 * The history document (verdict/trend.ts) as text: history.md, fit for a job summary or an issue,
 * and the terminal's lines. Both say the same things: what stands, and one line per series with
 * its change points and its chained trend (history.md puts what stands first, the terminal last,
 * where it is read).
 */
import type { ChalkInstance } from "chalk";
import type { CreepVerdict } from "../verdict/chain.js";
import {
  sameSeries,
  type HistoryDocument,
  type StandingRegression,
  type TrendChangePoint,
  type TrendSeries,
} from "../verdict/trend.js";
import { metricText } from "./format.js";

export const shortSha = (c: string): string => (/^[0-9a-f]{12,}$/.test(c) ? c.slice(0, 10) : c);

/** A change in the metric's direction as a signed percentage: "−12.0%", "+3.1%". */
const changeText = (x: number): string =>
  !Number.isFinite(x) ? "–" : `${x < 0 ? "−" : "+"}${Math.abs(x * 100).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;

/**
 * "+30% (+29…+31%) worse": the metric's own change (new over old, minus 1) with its interval, and
 * whether that is worse or better in the metric's direction (p95 up is worse; req/s up is better).
 */
export const ratioChangeText = (c: { ratio: number; lo: number; hi: number }, better: "higher" | "lower"): string => {
  const worse = better === "higher" ? c.ratio < 1 : c.ratio > 1;
  return `${changeText(c.ratio - 1)} (${changeText(c.lo - 1)}…${changeText(c.hi - 1)}) ${worse ? "worse" : "better"}`;
};

/** "main · latency · optimized · req/s": a series in words (its testbed is said where more than one is held). */
export function seriesName(s: Pick<TrendSeries, "key" | "label">, doc?: Pick<HistoryDocument, "testbeds">): string {
  const parts = [s.key.branch ?? "(no branch)", s.key.scenario, s.key.variant, s.label ?? s.key.metric];
  if (doc && doc.testbeds.length > 1) parts.push(`testbed ${s.key.testbed}`);
  return parts.join(" · ");
}

const STANDING_WORDS: Record<StandingRegression["kind"], string> = {
  "change-point": "change point",
  creep: "creep (proven)",
  suspected: "creep (suspected)",
};

/** One standing regression in a line. */
function standingText(r: StandingRegression, doc: HistoryDocument): string {
  const better = doc.series.find((s) => sameSeries(s.key, r.series))?.better ?? "higher";
  const where =
    r.kind === "change-point"
      ? `came in ${shortSha(r.from)}..${shortSha(r.to)}`
      : `since ${shortSha(r.from)} through ${shortSha(r.to)}`;
  return `${seriesName({ key: r.series, label: r.label }, doc)}: ${STANDING_WORDS[r.kind]}, ${ratioChangeText(r, better)}, ${where}`;
}

const STATE_WORDS: Record<TrendChangePoint["state"], string> = {
  better: "better",
  "within-line": "worse, within the line",
  "before-anchor": "worse, before the anchor",
  resolved: "worse, since resolved",
  stands: "REGRESSION, stands",
};

/** The change point in a line: where, how much, how sure, and whether it stands. */
function changePointText(c: TrendChangePoint, better: "higher" | "lower"): string {
  return `change at ${shortSha(c.commit)} (after ${shortSha(c.previous)}): ${ratioChangeText(c, better)}, p ${c.p.toPrecision(2)} · ${STATE_WORDS[c.state]}`;
}

/** The chain's verdict in a line. */
function chainText(v: CreepVerdict, better: "higher" | "lower"): string {
  if (v.status === "unknown") return `chain: ${v.reason}`;
  const call = { creep: "CREEP", suspected: "creep suspected", none: "no creep" }[v.status];
  const links = `${v.links} link${v.links === 1 ? "" : "s"}: ${v.outcomes.pass} pass, ${v.outcomes.inconclusive} inconclusive, ${v.outcomes.regression} regression`;
  return `chained since ${shortSha(v.since)} over ${links} → ${ratioChangeText(v.cumulative, better)} · ${call}`;
}

/** The newest point: its value and interval. */
function latestText(s: TrendSeries): string {
  const p = s.points.at(-1);
  if (!p) return "no points";
  return `${s.points.length} point${s.points.length === 1 ? "" : "s"}, latest ${metricText(s, p.value)} (${metricText(s, p.lo)}–${metricText(s, p.hi)}) at ${shortSha(p.commit)}`;
}

/** The details of a series beyond its first line: change points, the chain, or why none was sought. */
function seriesDetails(s: TrendSeries): string[] {
  const lines = s.changePoints.map((c) => changePointText(c, s.better));
  if (s.tooShort && s.points.every((p) => p.value === 0)) lines.push("every value is 0: no change to find");
  else if (s.tooShort) lines.push(`no change points sought: ${s.tooShort}`);
  if (s.chain) lines.push(chainText(s.chain.creep, s.better));
  return lines;
}

function headerFacts(doc: HistoryDocument): string[] {
  return [
    `store ${doc.store}: ${doc.runs} run${doc.runs === 1 ? "" : "s"}, ${doc.series.length} series`,
    `line ${+(doc.line * 100).toFixed(2)}% worse · creep anchored at ${doc.anchor.why}`,
    ...doc.testbeds.map((t) => `testbed ${t.id}: ${t.cpuModel}, ${t.cores} cores, Node ${t.node}`),
  ];
}

/** history.md: what stands, then a table of the series and each one's details. */
export function historyMarkdown(doc: HistoryDocument): string {
  const out = ["# perfpack history", "", ...headerFacts(doc).map((l) => `- ${l}`), ""];
  out.push(
    doc.standing.length
      ? `## ${doc.standing.length} regression${doc.standing.length === 1 ? "" : "s"} stand${doc.standing.length === 1 ? "s" : ""}`
      : "## Nothing stands",
    "",
  );
  for (const r of doc.standing) out.push(`- **${standingText(r, doc)}**`);
  if (doc.standing.length) out.push("");
  out.push("## Series", "", "| series | status | points | change points | chained trend |", "|---|---|---|---|---|");
  for (const s of doc.series)
    out.push(
      `| ${mdCell(seriesName(s, doc))} | ${s.status} | ${mdCell(latestText(s))} | ${mdCell(s.changePoints.map((c) => changePointText(c, s.better)).join("; ") || (s.tooShort ? "too few points" : "none"))} | ${mdCell(s.chain ? chainText(s.chain.creep, s.better) : "no gate links")} |`,
    );
  out.push("", `_Generated ${doc.generatedAt}._`, "");
  return out.join("\n");
}

const mdCell = (t: string): string => t.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The terminal's summary: what stands (red), then each series in a line with its details indented. */
export function historyTerminal(doc: HistoryDocument, paint: ChalkInstance): string {
  const out = headerFacts(doc).map((l) => paint.dim(l));
  for (const s of doc.series) {
    const status =
      s.status === "ok" ? paint.green("ok") : s.status === "suspected" ? paint.yellow(s.status) : paint.red(s.status);
    out.push(`${seriesName(s, doc)}: ${latestText(s)} · ${status}`);
    for (const d of seriesDetails(s)) out.push(`    ${d}`);
  }
  out.push(
    doc.standing.length
      ? paint.red(`${doc.standing.length} regression${doc.standing.length === 1 ? "" : "s"} stand:`)
      : paint.green("nothing stands: no regression beyond the line, no creep"),
  );
  for (const r of doc.standing) out.push(paint.red(`  ${standingText(r, doc)}`));
  return out.join("\n");
}
