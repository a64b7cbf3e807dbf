import type { Results } from "../results/schema.js";
import type { Exporter } from "./exporter.js";

/** The summary alone (comparisons, targets, verdict, medians) as one JSON document: summary.json and `--json`. */
export const summaryDocument = (r: Results): string =>
  JSON.stringify(
    {
      schema: "perfpack/summary@1",
      runId: r.runId,
      machine: r.machine,
      plan: {
        variants: r.plan.variants,
        scenarios: r.plan.scenarios,
        rounds: r.plan.rounds,
        maxErrors: r.plan.maxErrors,
      },
      summary: r.summary,
      // each failed trial with why (a crash, or too many failed answers: their codes and the first body)
      failedTrials: r.trials.flatMap((t) =>
        t.status === "failed"
          ? [
              {
                variant: t.variant,
                scenario: t.scenario,
                round: t.round,
                error: t.error,
                answers: t.answers,
              },
            ]
          : [],
      ),
    },
    null,
    2,
  ) + "\n";

export const json: Exporter = {
  format: "json",
  file: "summary.json",
  render: summaryDocument,
};
