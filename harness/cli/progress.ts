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
  const view = new ProgressView(out, chalk);
  return (e) => {
    switch (e.type) {
      case "start":
        return view.start(e);
      case "trial-start":
        return view.trialStart(e);
      case "trial-end":
        return view.trialEnd(e);
      case "done":
        return view.clearLive();
      case "log":
        return view.log(e);
    }
  };
}

type EventOf<T extends JobEvent["type"]> = Extract<JobEvent, { type: T }>;
type TrialRecord = EventOf<"trial-end">["record"];

/** The display between events: the live line's timer, and the headlines each result line shows. */
class ProgressView {
  private live: NodeJS.Timeout | undefined;
  private headlines: Record<string, readonly Headline[]> = {};

  constructor(
    private readonly out: ProgressOutput,
    private readonly chalk: ChalkInstance,
  ) {}

  /** The plan: its size and estimate, each variant's settings, and where results go. */
  start(e: EventOf<"start">): void {
    const { out, chalk } = this;
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
    const kept = e.results.trials.length;
    if (e.results.resumed?.length)
      out.write(
        `  resumed: ${kept} of the ${p.trials.length} trials are recorded and kept; the other ${p.trials.length - kept} run now (the estimate is theirs)\n`,
      );
    out.write(`  results: ${e.resultsFile} (rewritten after every trial)\n`);
    this.headlines = e.results.plan.headlines ?? {};
  }

  /** On a TTY, a live line with the trial's elapsed time against its estimate. */
  trialStart(e: EventOf<"trial-start">): void {
    const { out, chalk } = this;
    // a duet slice starts its arms' trials together: one live line, the latest
    if (this.live) this.clearLive();
    const label = `[${e.spec.index + 1}/${e.total}] ${e.spec.variant.name} · ${e.spec.scenario} · round ${e.spec.round}`;
    if (out.isTTY) {
      const t0 = performance.now();
      const draw = () =>
        out.write(`\r\x1b[2K${chalk.dim(label)} ${secs((performance.now() - t0) / 1000)} / ~${secs(e.estimateS)}`);
      draw();
      this.live = setInterval(draw, 250);
    }
  }

  /** The trial's result line: its headline figures, or why it failed and its log's last lines. */
  trialEnd(e: EventOf<"trial-end">): void {
    this.clearLive();
    const r = e.record;
    const label = `[${r.index + 1}/${e.total}] ${r.variant} · ${r.scenario} · round ${r.round}`;
    if (r.status === "failed") this.failed(r, label);
    else this.succeeded(r, label);
  }

  clearLive(): void {
    if (this.live) clearInterval(this.live);
    this.live = undefined;
    if (this.out.isTTY) this.out.write("\r\x1b[2K");
  }

  log(e: EventOf<"log">): void {
    if (this.out.isTTY) this.out.write("\r\x1b[2K");
    this.out.write(this.chalk.dim(`    ${e.line}`) + "\n");
  }

  private failed(r: Extract<TrialRecord, { status: "failed" }>, label: string): void {
    const { out, chalk } = this;
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
  }

  private succeeded(r: TrialRecord, label: string): void {
    const { out, chalk } = this;
    const figures = (this.headlines[r.scenario] ?? [])
      .slice(0, 3)
      .map((h) => `${h.label} ${metricText(h, r.metrics[h.metric])}`)
      .join(", ");
    const flag = r.generatorBound
      ? chalk.yellow(
          ` ⚠ generator-bound (${fmt(r.metrics.generator_cpu_cores)} cores): this trial measured the load generator`,
        )
      : "";
    out.write(`${chalk.green("✓")} ${label} ${secs(r.wallS)}: ${figures}${flag}\n`);
  }
}
