import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { EXIT, UsageError } from "../errors.js";
import { ARTILLERY_SKETCH_ACCURACY, ARTILLERY_VERSION, ArtilleryReportError, EXPORTABLE, PROCESSOR_JS, artilleryScript, metricsFromReport, toYaml, type Exportable } from "../load/artillery.js";
import type { RunFlags } from "../plan/config.js";
import { prepareRun } from "../api/run.js";
import { presets } from "../plan/variants.js";
import { readResultsFile, writeResults } from "../results/file.js";
import { RESULTS_SCHEMA, type Results, type TrialRecord } from "../results/schema.js";
import { verdictText } from "../report/terminal.js";
import { summarize } from "../verdict/summary.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { IO } from "./io.js";
import { renderReports } from "../api/report.js";
import { tooManyFailures } from "../engine/runner.js";
import { DEFAULT_MAX_ERRORS } from "../verdict/compare.js";

const isExportable = (s: string): s is Exportable => (EXPORTABLE as readonly string[]).includes(s);

/** The executor's default URL, as `perfpack executor` starts it. */
const DEFAULT_TARGET = "http://127.0.0.1:4001";

function targetUrl(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_TARGET;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--target ${JSON.stringify(raw)} is not a URL: expected the executor's base URL, e.g. http://127.0.0.1:4001`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--target ${JSON.stringify(raw)}: expected an http:// or https:// URL`);
  return u.origin;
}

/**
 * `perfpack export artillery`: one Artillery script per exportable scenario and variant, with a
 * warm-up script beside each, the processor they load, and a README naming each variant's env.
 * Nothing is started: the scripts run wherever Artillery runs (locally, Fargate, Lambda).
 */
export function exportArtilleryCommand(
  flags: RunFlags & { out?: string },
  scenarioRegistry: ReadonlyMap<string, Scenario>,
  io: IO,
  ctx: { cwd: string; env: Readonly<NodeJS.ProcessEnv> } = { cwd: process.cwd(), env: process.env },
): number {
  if (!flags.out) throw new UsageError("export artillery needs --out DIR: where to write the scripts");
  const { target: rawTarget, ...rest } = flags;
  // the run's options, perfpack.config.json's included (its requests and headers go into the scripts)
  const { cfg } = prepareRun(rest, scenarioRegistry, ctx);
  const target = targetUrl(rawTarget);
  const skipped = cfg.scenarios.filter((s) => !isExportable(s));
  const scenarios = cfg.scenarios.filter(isExportable);
  if (scenarios.length === 0) throw new UsageError(`--scenarios ${cfg.scenarios.join(",")}: none has an Artillery script; exportable: ${EXPORTABLE.join(", ")}`);
  const out = resolve(flags.out);
  const written: string[] = [];
  const readme = [
    `# Artillery ${ARTILLERY_VERSION} scripts from perfpack`,
    "",
    `Target: ${target}. Start the executor with the variant's environment, then for each scenario run`,
    "the warm-up script and then the measured one, keeping the measured run's report:",
    "",
    "```bash",
    "ARTILLERY_DISABLE_TELEMETRY=true npx artillery@" + ARTILLERY_VERSION + " run <variant>/<scenario>.warmup.yml",
    "ARTILLERY_DISABLE_TELEMETRY=true npx artillery@" + ARTILLERY_VERSION + " run --output report.json <variant>/<scenario>.yml",
    "npx perfpack import artillery report.json --variant <variant> --scenario <scenario> --round 1 --out <run dir>",
    "```",
    "",
  ];
  for (const v of cfg.variants) {
    const dir = join(out, v.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "perfpack-processor.js"), PROCESSOR_JS);
    readme.push(
      `## ${v.name}`,
      "",
      "Executor environment: `" +
        Object.entries(v.env)
          .map(([k, x]) => `${k}=${x}`)
          .join(" ") +
        "`",
      "",
    );
    for (const s of scenarios) {
      const o = { target, durationS: cfg.durationS, warmupS: cfg.warmupS, connections: cfg.connections, rate: cfg.rate, wsClients: cfg.wsClients, variant: v, requests: cfg.requests };
      for (const phase of ["measure", "warmup"] as const) {
        if (phase === "warmup" && cfg.warmupS <= 0) continue;
        const file = join(dir, phase === "measure" ? `${s}.yml` : `${s}.warmup.yml`);
        writeFileSync(
          file,
          `# perfpack export artillery: ${v.name} · ${s} · ${phase === "measure" ? "the measured run" : "the warm-up run (its own run: Artillery merges a run's phases)"}\n${toYaml(artilleryScript(s, o, phase))}`,
        );
        written.push(file);
      }
      readme.push(`- \`${v.name}/${s}.yml\``);
    }
    readme.push("");
  }
  if (skipped.length) {
    const why = skipped.map((s) =>
      s === "json" ? "json (it times serializers inside perfpack's own process: there is no load to hand to Artillery)" : `${s} (perfpack's own scenario, no Artillery counterpart)`,
    );
    readme.push(`Not exported: ${why.join("; ")}.`, "");
    io.err.write(`not exported: ${why.join("; ")}\n`);
  }
  writeFileSync(join(out, "README.md"), readme.join("\n"));
  for (const f of written) io.out.write(`script: ${f}\n`);
  io.out.write(`readme: ${join(out, "README.md")}\n`);
  return EXIT.ok;
}

export interface ImportOptions {
  variant?: string;
  scenario?: string;
  round?: string;
  out?: string;
}

/**
 * `perfpack import artillery REPORT.json`: one Artillery report as one trial of a results.json
 * (created, or added to), then every report format again. Artillery's latency percentiles are
 * sketches with ~1% relative accuracy, recorded in the trial's metrics as
 * `latency_sketch_relative_accuracy`; its response times come in whole milliseconds.
 */
export function importArtilleryCommand(file: string, o: ImportOptions, scenarios: ReadonlyMap<string, Scenario>, io: IO): number {
  if (!o.variant) throw new UsageError("import artillery needs --variant NAME: which variant the report measured");
  if (!o.scenario) throw new UsageError(`import artillery needs --scenario NAME (one of ${EXPORTABLE.join(", ")})`);
  if (!isExportable(o.scenario)) throw new UsageError(`--scenario ${JSON.stringify(o.scenario)}: expected one of ${EXPORTABLE.join(", ")}`);
  if (!o.out) throw new UsageError("import artillery needs --out DIR: the run folder whose results.json gets the trial");
  const round = o.round === undefined ? 1 : Number(o.round);
  if (!Number.isInteger(round) || round < 1) throw new UsageError(`--round ${JSON.stringify(o.round)} is not valid: expected an integer from 1`);
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`Artillery report ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  let imported;
  try {
    imported = metricsFromReport(report, o.scenario);
  } catch (err) {
    if (err instanceof ArtilleryReportError) throw new UsageError(`Artillery report ${file}: ${err.message}`);
    throw err;
  }
  const out = resolve(o.out);
  const resultsFile = join(out, "results.json");
  const now = new Date().toISOString();
  const preset = presets().find((p) => p.name === o.variant);
  const results: Results = existsSync(resultsFile)
    ? readResultsFile(resultsFile)
    : {
        schema: RESULTS_SCHEMA,
        runId: `import-${now.replace(/[-:]/g, "").slice(0, 15)}`,
        startedAt: now,
        finishedAt: now,
        interrupted: false,
        perfpack: io.version,
        machine: { cpuModel: "unknown (load from Artillery reports)", cores: 0, memoryGb: 0, node: process.versions.node, platform: process.platform, hostname: hostname() },
        plan: {
          imported: "artillery",
          variants: [],
          scenarios: [],
          rounds: 0,
          durationS: imported.windowS,
          warmupS: 0,
          connections: 0,
          rate: null,
          wsClients: 0,
          quick: false,
          target: null,
          order: [],
        },
        trials: [],
        summary: summarize([]),
      };
  const scenario = scenarios.get(o.scenario);
  if (!results.plan.variants.some((v) => v.name === o.variant)) results.plan.variants.push({ name: o.variant, kind: preset ? "preset" : "imported", env: preset?.env ?? {} });
  if (!results.plan.scenarios.includes(o.scenario)) results.plan.scenarios.push(o.scenario);
  if (scenario) {
    results.plan.headlines = { ...results.plan.headlines, [o.scenario]: scenario.headline.map((h) => ({ ...h })) };
    if (scenario.charts) results.plan.charts = { ...results.plan.charts, [o.scenario]: scenario.charts };
  }
  results.plan.rounds = Math.max(results.plan.rounds, round);
  const same = results.trials.findIndex((t) => t.variant === o.variant && t.scenario === o.scenario && t.round === round);
  if (same >= 0) throw new UsageError(`${resultsFile} already has ${o.variant} · ${o.scenario} · round ${round}: give another --round`);
  const limit = results.plan.maxErrors ?? DEFAULT_MAX_ERRORS;
  const base = {
    index: results.trials.length,
    variant: o.variant,
    scenario: o.scenario,
    round,
    env: preset?.env ?? {},
    startedAt: new Date(Number((report as { aggregate: { firstCounterAt: number } }).aggregate.firstCounterAt)).toISOString(),
    wallS: imported.windowS,
    metrics: { ...imported.metrics, window_s: imported.windowS, latency_sketch_relative_accuracy: ARTILLERY_SKETCH_ACCURACY },
    generatorBound: false,
    ...(imported.answers ? { answers: imported.answers } : {}),
  };
  // a report whose requests mostly failed is a failed trial here too (the file's --max-errors, else the default)
  const trial: TrialRecord = imported.answers && imported.answers.failureShare > limit ? { ...base, status: "failed", error: tooManyFailures(imported.answers, limit) } : { ...base, status: "ok" };
  results.trials.push(trial);
  results.plan.order.push({ variant: o.variant, scenario: o.scenario, round });
  results.finishedAt = now;
  results.summary = summarize(results.trials);
  writeResults(resultsFile, results);
  const { results: r, written, errors } = renderReports(resultsFile, undefined, io);
  io.out.write(`imported: ${o.variant} · ${o.scenario} · round ${round} from ${file} (Artillery's latency: sketches, ~1% relative accuracy, whole-ms response times)\n`);
  io.out.write(verdictText(r, io.paint) + "\n");
  io.out.write(`results: ${resultsFile}\n`);
  for (const f of written) io.out.write(`report: ${f}\n`);
  for (const e of errors) io.err.write(io.paint.red(`failed: ${e}\n`));
  return errors.length ? EXIT.runFailure : EXIT.ok;
}
