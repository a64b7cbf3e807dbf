/**
 * Artillery as the load's other home, as jobs: `export artillery` writes the run's scenarios and
 * variants as Artillery scripts to run elsewhere; `import artillery` turns the report of such a run
 * into a trial of a results.json and renders the reports. They return what they wrote.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { hostname, platform } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import {
  ARTILLERY_SKETCH_ACCURACY,
  ARTILLERY_VERSION,
  ArtilleryReportError,
  EXPORTABLE,
  PROCESSOR_JS,
  artilleryScript,
  metricsFromReport,
  scriptText,
  type Exportable,
  type ImportedMetrics,
} from "../load/artillery.js";
import { tooManyFailures } from "../load/answers.js";
import { newRunId, type RunFlags } from "../plan/config.js";
import { presets, type Variant } from "../plan/variants.js";
import { newResults } from "../results/create.js";
import { readResultsFile, writeResults } from "../results/file.js";
import type { PlanRecord, Results, TrialRecord } from "../results/schema.js";
import { DEFAULT_MAX_ERRORS } from "../verdict/compare.js";
import { summarize } from "../verdict/summary.js";
import type { Scenario } from "../../scenarios/contract.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import type { JobContext } from "./context.js";
import { renderReports } from "./report.js";
import { prepareRun } from "./run.js";

const isExportable = (s: string): s is Exportable => (EXPORTABLE as readonly string[]).includes(s);

/** The executor's default URL, as `perfpack executor` starts it. */
const DEFAULT_TARGET = "http://127.0.0.1:4001";

/**
 * The URL the scripts will load. Not the run's --target check (resolveRunConfig): a run drives that
 * executor from here, so it refuses a remote one without --allow-remote, and --variants beside it;
 * an export drives nothing here, and its scripts are meant for a staging host, once per variant.
 */
function exportTarget(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_TARGET;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(
      `--target ${JSON.stringify(raw)} is not a URL: expected the executor's base URL, e.g. http://127.0.0.1:4001`,
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new UsageError(`--target ${JSON.stringify(raw)}: expected an http:// or https:// URL`);
  return u.origin;
}

/** Why a scenario of the run has no Artillery script. */
const notExported = (s: string): string =>
  s === "json"
    ? "json (it times serializers inside perfpack's own process: there is no load to hand to Artillery)"
    : `${s} (perfpack's own scenario, no Artillery counterpart)`;

/** The export's README: how to run the scripts, each variant's executor environment, what was left out. */
function readmeText(
  target: string,
  variants: readonly Variant[],
  scenarios: readonly Exportable[],
  skipped: readonly string[],
): string {
  const lines = [
    `# Artillery ${ARTILLERY_VERSION} scripts from perfpack`,
    "",
    `Target: ${target}. Start the executor with the variant's environment, then for each scenario run`,
    "the warm-up script and then the measured one, keeping the measured run's report:",
    "",
    "```bash",
    "ARTILLERY_DISABLE_TELEMETRY=true npx artillery@" + ARTILLERY_VERSION + " run <variant>/<scenario>.warmup.yml",
    "ARTILLERY_DISABLE_TELEMETRY=true npx artillery@" +
      ARTILLERY_VERSION +
      " run --output report.json <variant>/<scenario>.yml",
    "npx perfpack import artillery report.json --variant <variant> --scenario <scenario> --round 1 --out <run dir>",
    "```",
    "",
  ];
  for (const v of variants) {
    const env = Object.entries(v.env)
      .map(([k, x]) => `${k}=${x}`)
      .join(" ");
    lines.push(
      `## ${v.name}`,
      "",
      "Executor environment: `" + env + "`",
      "",
      ...scenarios.map((s) => `- \`${v.name}/${s}.yml\``),
      "",
    );
  }
  if (skipped.length) lines.push(`Not exported: ${skipped.join("; ")}.`, "");
  return lines.join("\n");
}

/** What `export artillery` wrote. */
export interface ArtilleryExport {
  /** The scripts, per variant and scenario: the measured run's, then its warm-up's (when the run has a warm-up). */
  scripts: string[];
  readme: string;
  /** The run's scenarios without an Artillery script, each with why. */
  skipped: string[];
}

/**
 * `perfpack export artillery`: one Artillery script per exportable scenario and variant, with a
 * warm-up script beside each, the processor they load, and a README naming each variant's env.
 * Nothing is started: the scripts run wherever Artillery runs (locally, Fargate, Lambda).
 */
export function exportArtillery(
  flags: RunFlags & { out?: string },
  scenarioRegistry: ReadonlyMap<string, Scenario>,
  ctx: Pick<JobContext, "cwd" | "env">,
): ArtilleryExport {
  if (!flags.out) throw new UsageError("export artillery needs --out DIR: where to write the scripts");
  const { target: rawTarget, ...rest } = flags;
  // the run's options, perfpack.config.json's included (its requests and headers go into the scripts)
  const { cfg } = prepareRun(rest, scenarioRegistry, ctx);
  const target = exportTarget(rawTarget);
  const skipped = cfg.scenarios.filter((s) => !isExportable(s)).map(notExported);
  const scenarios = cfg.scenarios.filter(isExportable);
  if (scenarios.length === 0)
    throw new UsageError(
      `--scenarios ${cfg.scenarios.join(",")}: none has an Artillery script; exportable: ${EXPORTABLE.join(", ")}`,
    );
  const out = resolve(ctx.cwd, flags.out);
  const scripts: string[] = [];
  for (const v of cfg.variants) {
    const dir = join(out, v.name);
    mkdirSync(dir, { recursive: true });
    // each file atomically: a script exported again over an old one is never left half-written
    writeFileAtomic(join(dir, "perfpack-processor.js"), PROCESSOR_JS);
    for (const s of scenarios) {
      const o = {
        target,
        durationS: cfg.durationS,
        warmupS: cfg.warmupS,
        connections: cfg.connections,
        rate: cfg.rate,
        wsClients: cfg.wsClients,
        variant: v,
        requests: cfg.requests,
      };
      for (const phase of ["measure", "warmup"] as const) {
        if (phase === "warmup" && cfg.warmupS <= 0) continue;
        const file = join(dir, phase === "measure" ? `${s}.yml` : `${s}.warmup.yml`);
        writeFileAtomic(file, scriptText(artilleryScript(s, o, phase)));
        scripts.push(file);
      }
    }
  }
  const readme = join(out, "README.md");
  writeFileAtomic(readme, readmeText(target, cfg.variants, scenarios, skipped));
  return { scripts, readme, skipped };
}

export interface ArtilleryImportOptions {
  variant?: string;
  scenario?: string;
  round?: string;
  out?: string;
}

/** What `import artillery` did: the trial it added, the results file, and the reports rendered again. */
export interface ArtilleryImport {
  trial: TrialRecord;
  resultsFile: string;
  /** Every trial of the file, analysed. */
  results: Results;
  written: string[];
  /** Reports that could not be written. */
  errors: string[];
}

/** The import's options, checked: every one names what it expects. */
function importOptions(o: ArtilleryImportOptions): {
  variant: string;
  scenario: Exportable;
  round: number;
  out: string;
} {
  if (!o.variant) throw new UsageError("import artillery needs --variant NAME: which variant the report measured");
  if (!o.scenario) throw new UsageError(`import artillery needs --scenario NAME (one of ${EXPORTABLE.join(", ")})`);
  if (!isExportable(o.scenario))
    throw new UsageError(`--scenario ${JSON.stringify(o.scenario)}: expected one of ${EXPORTABLE.join(", ")}`);
  if (!o.out)
    throw new UsageError("import artillery needs --out DIR: the run folder whose results.json gets the trial");
  const round = o.round === undefined ? 1 : Number(o.round);
  if (!Number.isInteger(round) || round < 1)
    throw new UsageError(`--round ${JSON.stringify(o.round)} is not valid: expected an integer from 1`);
  return { variant: o.variant, scenario: o.scenario, round, out: o.out };
}

/** The report, and perfpack's metrics from it; an unreadable or malformed report is a usage error naming the file. */
function readReport(
  file: string,
  path: string,
  scenario: Exportable,
): { firstCounterAt: number; imported: ImportedMetrics } {
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`Artillery report ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  try {
    const imported = metricsFromReport(report, scenario);
    return {
      firstCounterAt: Number((report as { aggregate: { firstCounterAt: number } }).aggregate.firstCounterAt),
      imported,
    };
  } catch (err) {
    if (err instanceof ArtilleryReportError) throw new UsageError(`Artillery report ${file}: ${err.message}`);
    throw err;
  }
}

/** A results file of imported trials: no machine, connections or warm-up of ours (the load ran elsewhere). */
function importedResults(now: string, windowS: number, version: string): Results {
  const plan: PlanRecord = {
    imported: "artillery",
    variants: [],
    scenarios: [],
    rounds: 0,
    durationS: windowS,
    warmupS: 0,
    connections: 0,
    rate: null,
    wsClients: 0,
    quick: false,
    target: null,
    order: [],
  };
  // the Node and platform are the importing machine's: the report does not record the load's
  const machine = {
    cpuModel: "unknown (load from Artillery reports)",
    cores: 0,
    memoryGb: 0,
    node: process.versions.node,
    platform: platform(),
    hostname: hostname(),
  };
  return newResults({ runId: `import-${newRunId(new Date(now))}`, startedAt: now, version, machine, plan });
}

/** The trial added to the results (its variant, scenario and round recorded in the plan); a trial already there is refused. */
function addTrial(
  results: Results,
  resultsFile: string,
  t: { variant: string; scenario: Exportable; round: number; startedAt: string; imported: ImportedMetrics },
  scenario: Scenario | undefined,
): TrialRecord {
  const preset = presets().find((p) => p.name === t.variant);
  const plan = results.plan;
  if (!plan.variants.some((v) => v.name === t.variant))
    plan.variants.push({ name: t.variant, kind: preset ? "preset" : "imported", env: preset?.env ?? {} });
  if (!plan.scenarios.includes(t.scenario)) plan.scenarios.push(t.scenario);
  if (scenario) {
    plan.headlines = { ...plan.headlines, [t.scenario]: scenario.headline.map((h) => ({ ...h })) };
    if (scenario.charts) plan.charts = { ...plan.charts, [t.scenario]: scenario.charts };
  }
  plan.rounds = Math.max(plan.rounds, t.round);
  if (results.trials.some((x) => x.variant === t.variant && x.scenario === t.scenario && x.round === t.round)) {
    throw new UsageError(
      `${resultsFile} already has ${t.variant} · ${t.scenario} · round ${t.round}: give another --round`,
    );
  }
  const { imported } = t;
  const limit = plan.maxErrors ?? DEFAULT_MAX_ERRORS;
  const base = {
    index: results.trials.length,
    variant: t.variant,
    scenario: t.scenario,
    round: t.round,
    env: preset?.env ?? {},
    startedAt: t.startedAt,
    wallS: imported.windowS,
    metrics: {
      ...imported.metrics,
      window_s: imported.windowS,
      latency_sketch_relative_accuracy: ARTILLERY_SKETCH_ACCURACY,
    },
    generatorBound: false,
    answers: imported.answers,
  };
  // a report whose requests mostly failed is a failed trial here too (the file's --max-errors, else the default)
  const trial: TrialRecord =
    imported.answers && imported.answers.failureShare > limit
      ? { ...base, status: "failed", error: tooManyFailures(imported.answers, limit) }
      : { ...base, status: "ok" };
  results.trials.push(trial);
  plan.order.push({ variant: t.variant, scenario: t.scenario, round: t.round });
  return trial;
}

/**
 * `perfpack import artillery REPORT.json`: one Artillery report as one trial of a results.json
 * (created, or added to), then every report format again. Artillery's latency percentiles are
 * sketches with ~1% relative accuracy, recorded in the trial's metrics as
 * `latency_sketch_relative_accuracy`; its response times come in whole milliseconds.
 */
export function importArtillery(
  file: string,
  options: ArtilleryImportOptions,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: Pick<JobContext, "cwd" | "env" | "version">,
): ArtilleryImport {
  const o = importOptions(options);
  const { firstCounterAt, imported } = readReport(file, resolve(ctx.cwd, file), o.scenario);
  const resultsFile = join(resolve(ctx.cwd, o.out), "results.json");
  const now = new Date().toISOString();
  const results = existsSync(resultsFile)
    ? readResultsFile(resultsFile)
    : importedResults(now, imported.windowS, ctx.version);
  const trial = addTrial(
    results,
    resultsFile,
    { ...o, startedAt: new Date(firstCounterAt).toISOString(), imported },
    scenarios.get(o.scenario),
  );
  results.finishedAt = now;
  results.summary = summarize(results.trials);
  writeResults(resultsFile, results);
  const { results: analysed, written, errors } = renderReports(resultsFile, undefined, ctx);
  return { trial, resultsFile, results: analysed, written, errors };
}
