import { redactEnv } from "../results/redact.js";
import type { ChalkInstance } from "chalk";
import type { JobEvent } from "../api/context.js";
import type { Headline } from "../../scenarios/contract.js";
import { fmt, metricText } from "../report/format.js";

export interface ProgressOutput {
  write(text: string): void;
  isTTY: boolean;
}

const secs = (s: number) =>
  s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(s < 10 ? 1 : 0)} s`;

/**
 * Shows a run's progress from the runner's events: the plan and its estimate at the start,
 * a live line per trial on a TTY (plain lines otherwise), a result line per trial. A job's
 * other events pass through unshown (the caller shows them).
 */
export function progressListener(out: ProgressOutput, chalk: ChalkInstance): (e: JobEvent) => void {
  let live: NodeJS.Timeout | undefined;
  let headlines: Record<string, readonly Headline[]> = {};
  const clearLive = () => {
    if (live) clearInterval(live);
    live = undefined;
    if (out.isTTY) out.write("\r\x1b[2K");
  };
  return (e) => {
    switch (e.type) {
      case "start": {
        const p = e.plan;
        out.write(
          `perfpack run: ${p.variants.length} variant(s) × ${p.scenarios.length} scenario(s) × ${p.rounds} round(s) = ${p.trials.length} trials, about ${secs(e.estimateS)}\n`,
        );
        for (const v of p.variants)
          out.write(
            `  ${chalk.bold(v.name)}: ${
              Object.entries(redactEnv(v.env))
                .map(([k, val]) => `${k}=${val}`)
                .join(" ") || "(the target's own settings)"
            }\n`,
          );
        out.write(`  results: ${e.resultsFile} (rewritten after every trial)\n`);
        headlines = e.results.plan.headlines ?? {};
        break;
      }
      case "trial-start": {
        // a duet slice starts its arms' trials together: one live line, the latest
        if (live) clearLive();
        const label = `[${e.spec.index + 1}/${e.total}] ${e.spec.variant.name} · ${e.spec.scenario} · round ${e.spec.round}`;
        if (out.isTTY) {
          const t0 = performance.now();
          const draw = () =>
            out.write(`\r\x1b[2K${chalk.dim(label)} ${secs((performance.now() - t0) / 1000)} / ~${secs(e.estimateS)}`);
          draw();
          live = setInterval(draw, 250);
        }
        break;
      }
      case "trial-end": {
        clearLive();
        const r = e.record;
        const label = `[${r.index + 1}/${e.total}] ${r.variant} · ${r.scenario} · round ${r.round}`;
        if (r.status === "failed") {
          const exit = r.exit ? ` (${r.service ?? "service"} exit code ${r.exit.code}, signal ${r.exit.signal})` : "";
          out.write(`${chalk.red("✗")} ${label}: failed: ${r.error}${exit}\n`);
          if (r.logTail)
            out.write(
              chalk.dim(
                r.logTail
                  .split("\n")
                  .slice(-5)
                  .map((l) => `    ${l}`)
                  .join("\n"),
              ) + "\n",
            );
          break;
        }
        const figures = (headlines[r.scenario] ?? [])
          .slice(0, 3)
          .map((h) => `${h.label} ${metricText(h, r.metrics[h.metric])}`)
          .join(", ");
        const flag = r.generatorBound
          ? chalk.yellow(
              ` ⚠ generator-bound (${fmt(r.metrics.generator_cpu_cores)} cores): this trial measured the load generator`,
            )
          : "";
        out.write(`${chalk.green("✓")} ${label} ${secs(r.wallS)}: ${figures}${flag}\n`);
        break;
      }
      case "done":
        clearLive();
        break;
      case "log":
        if (out.isTTY) out.write("\r\x1b[2K");
        out.write(chalk.dim(`    ${e.line}`) + "\n");
        break;
    }
  };
}
