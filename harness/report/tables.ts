import Table from "cli-table3";
import type { Headline } from "../../scenarios/contract.js";
import { markedRatio, metricText } from "./format.js";
import type { Results } from "../results/schema.js";

type Colour = (better: boolean, text: string) => string;

/** The ratio cell of `variant` against the run's reference: the comparison's estimate, ≈ when not significant. */
function ratioCell(results: Results, variant: string, scenario: string, h: Headline, colour: Colour): string {
  if (h.unit === "share") return shareDelta(results, variant, scenario, h.metric);
  const c = results.summary.comparisons?.find(
    (x) => x.candidate === variant && x.scenario === scenario && x.metric === h.metric,
  );
  if (!c) return "–";
  return c.direction === "same" ? markedRatio(c) : colour(c.direction === "better", markedRatio(c));
}

/** A share's change against the reference, in percentage points of the medians (a share has no meaningful ratio at 0). */
function shareDelta(results: Results, variant: string, scenario: string, metric: string): string {
  const ref = results.summary.medians[referenceOf(results)]?.[scenario]?.[metric];
  const v = results.summary.medians[variant]?.[scenario]?.[metric];
  if (ref === undefined || v === undefined) return "–";
  const d = (v - ref) * 100;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(2)} pp`;
}

const referenceOf = (results: Results): string =>
  results.summary.comparisons?.[0]?.reference ?? results.plan.variants[0]?.name ?? "";

/** Printed under the tables: what the ratio is and what ≈ means. */
const RATIO_LEGEND =
  "ratios: geometric mean of per-round ratios against the reference (not the quotient of the medians shown); ≈ not significant (Holm-adjusted p ≥ 0.05); failed: the share of requests that got no 2xx answer (pp: its change in percentage points); ⚠ failed x vs y: the arms' failure shares differ beyond --max-errors, so no ratio is a speed change";

/**
 * The end-of-run medians: with two variants, one table with a row per metric; with more, one
 * table per scenario with a row per variant (wide names stay readable). The metrics are the
 * headlines results.json records. Pure.
 */
export function mediansTables(results: Results, colour: Colour = (_b, t) => t): string {
  if (results.plan.variants.length <= 2) return mediansTable(results, colour);
  const variants = results.plan.variants.map((v) => v.name);
  const ref = referenceOf(results);
  const parts: string[] = [];
  for (const scenarioName of results.plan.scenarios) {
    const heads = (results.plan.headlines?.[scenarioName] ?? []).filter((h) =>
      variants.some((v) => results.summary.medians[v]?.[scenarioName]?.[h.metric] !== undefined),
    );
    if (heads.length === 0) continue;
    const table = new Table({
      head: [`${scenarioName}: median (ratio vs ${shortName(ref)})`, ...heads.map((h) => h.label)],
      style: { head: [], border: [], compact: true },
    });
    for (const v of variants) {
      table.push([
        v,
        ...heads.map((h) => {
          const val = results.summary.medians[v]?.[scenarioName]?.[h.metric];
          if (v === ref || val === undefined) return metricText(h, val);
          return `${metricText(h, val)} (${ratioCell(results, v, scenarioName, h, colour)})`;
        }),
      ]);
    }
    parts.push(table.toString());
  }
  return parts.join("\n") + "\n" + RATIO_LEGEND;
}

/**
 * The two-variant table: one row per scenario headline metric, one column per variant (the
 * median over rounds), and the candidate's ratio against the reference. A pure function.
 */
function mediansTable(results: Results, colour: Colour = (_b, t) => t): string {
  const variants = results.plan.variants.map((v) => v.name);
  const ref = referenceOf(results);
  const others = variants.filter((v) => v !== ref);
  const table = new Table({
    head: [
      "scenario",
      "metric",
      ...variants.map((v) => `${shortName(v)} (median)`),
      ...others.map((v) => `${shortName(v)} / ${shortName(ref)}`),
    ],
    style: { head: [], border: [], compact: true },
  });
  for (const scenarioName of results.plan.scenarios) {
    for (const h of results.plan.headlines?.[scenarioName] ?? []) {
      const values = variants.map((v) => results.summary.medians[v]?.[scenarioName]?.[h.metric]);
      if (values.every((v) => v === undefined)) continue;
      table.push([
        scenarioName,
        h.label,
        ...values.map((x) => metricText(h, x)),
        ...others.map((v) => ratioCell(results, v, scenarioName, h, colour)),
      ]);
    }
  }
  return table.toString() + (others.length ? "\n" + RATIO_LEGEND : "");
}

/** Long generated names (`HTTP_KEEPALIVE=true+BATCH_…`) stay readable in a header. */
const shortName = (name: string): string => (name.length > 24 ? name.slice(0, 22) + "…" : name);
