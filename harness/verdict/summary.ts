import { median } from "./stats.js";
import type { Summary, TrialRecord } from "../results/schema.js";

/** Medians over rounds per variant, scenario and metric (ok trials only). Pure. */
export function summarize(trials: readonly TrialRecord[]): Summary {
  const groups = new Map<string, Map<string, Map<string, number[]>>>();
  for (const t of trials) {
    if (t.status !== "ok") continue;
    const byScenario = groups.get(t.variant) ?? new Map<string, Map<string, number[]>>();
    groups.set(t.variant, byScenario);
    const byMetric = byScenario.get(t.scenario) ?? new Map<string, number[]>();
    byScenario.set(t.scenario, byMetric);
    for (const [k, v] of Object.entries(t.metrics))
      if (Number.isFinite(v)) (byMetric.get(k) ?? byMetric.set(k, []).get(k)!).push(v);
  }
  const medians: Summary["medians"] = {};
  for (const [variant, byScenario] of groups) {
    medians[variant] = {};
    for (const [scenario, byMetric] of byScenario) {
      medians[variant]![scenario] = Object.fromEntries([...byMetric].map(([k, vs]) => [k, median(vs)]));
    }
  }
  return { medians, failedTrials: trials.filter((t) => t.status === "failed").length };
}
