import Table from "cli-table3";
import type { Headline, Scenario } from "../../scenarios/contract.js";
import type { Results } from "../results/schema.js";

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

/** A column of the medians table: described as data, rendered by any printer. */
export interface Column {
  label: string;
  cell(row: { scenario: string; h: Headline; values: Array<number | undefined> }): string;
}

/**
 * The end-of-run medians: with two variants, one table with a row per metric; with more, one
 * table per scenario with a row per variant (wide names stay readable). Pure.
 */
export function mediansTables(results: Results, scenarios: ReadonlyMap<string, Scenario>, colour: (better: boolean, text: string) => string = (_b, t) => t): string {
  if (results.plan.variants.length <= 2) return mediansTable(results, scenarios, colour);
  const variants = results.plan.variants.map((v) => v.name);
  const ref = variants[0]!;
  const parts: string[] = [];
  for (const scenarioName of results.plan.scenarios) {
    const sc = scenarios.get(scenarioName);
    if (!sc) continue;
    const heads = sc.headline.filter((h) => variants.some((v) => results.summary.medians[v]?.[scenarioName]?.[h.metric] !== undefined));
    if (heads.length === 0) continue;
    const table = new Table({ head: [`${scenarioName} (× ${shortName(ref)})`, ...heads.map((h) => h.label)], style: { head: [], border: [], compact: true } });
    for (const v of variants) {
      table.push([
        v,
        ...heads.map((h) => {
          const val = results.summary.medians[v]?.[scenarioName]?.[h.metric];
          const base = results.summary.medians[ref]?.[scenarioName]?.[h.metric];
          if (v === ref || val === undefined || !base) return fmt(val);
          const r = val / base;
          return `${fmt(val)} ${colour(h.better === "higher" ? r > 1 : r < 1, `(${r.toFixed(2)}×)`)}`;
        }),
      ]);
    }
    parts.push(table.toString());
  }
  return parts.join("\n");
}

/**
 * The two-variant table: one row per scenario headline metric, one column per variant (the
 * median over rounds), and, against the first variant, the ratio of medians. A pure function.
 */
export function mediansTable(results: Results, scenarios: ReadonlyMap<string, Scenario>, colour: (better: boolean, text: string) => string = (_b, t) => t): string {
  const variants = results.plan.variants.map((v) => v.name);
  const ref = variants[0]!;
  const table = new Table({
    head: ["scenario", "metric", ...variants, ...(variants.length > 1 ? variants.slice(1).map((v) => `${shortName(v)} / ${shortName(ref)}`) : [])],
    style: { head: [], border: [], compact: true },
  });
  for (const scenarioName of results.plan.scenarios) {
    const sc = scenarios.get(scenarioName);
    if (!sc) continue;
    for (const h of sc.headline) {
      const values = variants.map((v) => results.summary.medians[v]?.[scenarioName]?.[h.metric]);
      if (values.every((v) => v === undefined)) continue;
      const ratios = values.slice(1).map((v) => {
        const r = values[0] && v !== undefined ? v / values[0] : undefined;
        if (r === undefined || !Number.isFinite(r)) return "–";
        const better = h.better === "higher" ? r > 1 : r < 1;
        return colour(better, `${r.toFixed(2)}×`);
      });
      table.push([scenarioName, h.label, ...values.map(fmt), ...(variants.length > 1 ? ratios : [])]);
    }
  }
  return table.toString();
}

/** Long generated names (`HTTP_KEEPALIVE=true+BATCH_…`) stay readable in a header. */
export const shortName = (name: string): string => (name.length > 24 ? name.slice(0, 22) + "…" : name);
