import type { Exporter } from "./exporter.js";

/** The summary alone (comparisons, targets, verdict, medians), for other tools. */
export const json: Exporter = {
  format: "json",
  file: "summary.json",
  render: (r) => JSON.stringify({ schema: "perfpack/summary@1", runId: r.runId, machine: r.machine, plan: { variants: r.plan.variants, scenarios: r.plan.scenarios, rounds: r.plan.rounds }, summary: r.summary }, null, 2) + "\n",
};
