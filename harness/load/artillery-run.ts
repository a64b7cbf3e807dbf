import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  ARTILLERY_SKETCH_ACCURACY,
  ARTILLERY_VERSION,
  PROCESSOR_JS,
  artilleryScript,
  metricsFromReport,
  scriptText,
  type Exportable,
} from "./artillery.js";
import type { ScenarioContext, ScenarioResult } from "../../scenarios/contract.js";
import { runGroup } from "../../services/common/src/child-group.js";

/**
 * Where Artillery lives: $XDG_CACHE_HOME/perfpack/artillery-<version>, else
 * ~/.cache/perfpack/artillery-<version>. It is fetched there on first use, not by `npm ci`:
 * it installs 590 MB (AWS and Azure SDKs, Playwright) that most users of perfpack never need.
 */
export const artilleryHome = (env: Readonly<NodeJS.ProcessEnv>): string =>
  join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "perfpack", `artillery-${ARTILLERY_VERSION}`);

export const artilleryBin = (home: string): string => join(home, "node_modules", ".bin", "artillery");

/** Artillery is missing and could not be fetched, or it failed: the trial fails with this (exit 3). */
class ArtilleryError extends Error {}

/** CPU seconds (user + system, all threads) of a live process so far, from /proc (USER_HZ 100); undefined when it is gone. */
function processCpuS(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Children perfpack starts never phone home: Artillery's telemetry is off in each. */
const artilleryEnv = (env: Readonly<NodeJS.ProcessEnv>): NodeJS.ProcessEnv => ({
  ...env,
  ARTILLERY_DISABLE_TELEMETRY: "true",
});

/**
 * The Artillery binary, fetched into the cache on first use with `npm install --ignore-scripts`
 * (its Playwright dependency's install script downloads a browser, which fails offline and
 * which `artillery run` does not need).
 */
async function ensureArtillery(
  env: Readonly<NodeJS.ProcessEnv>,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<string> {
  const home = artilleryHome(env);
  const bin = artilleryBin(home);
  if (existsSync(bin)) return bin;
  mkdirSync(home, { recursive: true });
  log(`fetching Artillery ${ARTILLERY_VERSION} into ${home} (about 590 MB, once; later runs reuse it)`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = await runGroup(
    npm,
    [
      "install",
      "--prefix",
      home,
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `artillery@${ARTILLERY_VERSION}`,
    ],
    { env, signal },
  ).catch((err: Error) => ({
    code: -1,
    output: err.message,
  }));
  if (r.code !== 0 || !existsSync(bin)) {
    throw new ArtilleryError(
      `Artillery ${ARTILLERY_VERSION} is not installed and could not be fetched into ${home} (npm exited ${r.code}): ${r.output.trim().split("\n").slice(-3).join(" ")}. ` +
        `Install it there by hand with: npm install --prefix ${home} --ignore-scripts artillery@${ARTILLERY_VERSION}`,
    );
  }
  return bin;
}

/**
 * One trial's load through a real `artillery run` child: the warm-up script, then the measured
 * one. The measured window starts when Artillery says its phase started (its own start-up, ~15 s
 * here, stays out of the window); the metrics come from its report.
 */
export async function runArtilleryTrial(
  scenario: Exportable,
  ctx: ScenarioContext,
  o: { env: Readonly<NodeJS.ProcessEnv>; workDir: string },
): Promise<ScenarioResult> {
  const bin = await ensureArtillery(o.env, ctx.signal, ctx.log);
  mkdirSync(o.workDir, { recursive: true });
  writeFileSync(join(o.workDir, "perfpack-processor.js"), PROCESSOR_JS);
  const opts = {
    target: ctx.target.executorUrl,
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    connections: ctx.connections,
    rate: ctx.rate,
    wsClients: ctx.wsClients,
    variant: { name: "trial", env: {} },
    // the specs, not the live requests: ${env:…} stays a reference in the script, Artillery reads it from its environment
    requests: Object.fromEntries(Object.entries(ctx.requests).map(([k, r]) => [k, r.spec])),
  };
  const env = artilleryEnv(o.env);
  let cpuAtStart: number | undefined;
  let generatorCpuS: number | undefined;
  const go = async (phase: "warmup" | "measure") => {
    const script = join(o.workDir, `${scenario}.${phase}.yml`);
    const report = join(o.workDir, `${scenario}.${phase}.report.json`);
    writeFileSync(script, scriptText(artilleryScript(scenario, opts, phase)));
    let marked: Promise<void> | undefined;
    let ended: Promise<void> | undefined;
    const r = await runGroup(bin, ["run", "--output", report, script], {
      env,
      signal: ctx.signal,
      // Ctrl-C or a dead service ends the whole group (Artillery starts workers)
      onLine: (line, pid) => {
        if (phase !== "measure") return;
        // the window: from Artillery's phase start to its "All VUs finished", with its CPU over it
        if (!marked && /^Phase started/.test(line)) {
          cpuAtStart = processCpuS(pid);
          marked = ctx.measureStart();
        } else if (marked && !ended && /^All VUs finished/.test(line)) {
          const c = processCpuS(pid);
          if (c !== undefined && cpuAtStart !== undefined) generatorCpuS = c - cpuAtStart;
          ended = marked.then(() => ctx.measureEnd?.());
        }
      },
    }).catch((err: Error) => {
      throw new ArtilleryError(`artillery could not be started (${bin}): ${err.message}`);
    });
    writeFileSync(join(o.workDir, `${scenario}.${phase}.log`), r.output);
    if (ctx.signal.aborted) throw new Error("trial aborted");
    if (r.code !== 0)
      throw new ArtilleryError(`artillery run exited ${r.code}: ${r.output.trim().split("\n").slice(-3).join(" ")}`);
    if (phase === "measure") {
      // a run too short to print the phase line still gets a (late) window
      await (marked ?? ctx.measureStart());
      await ended;
    }
    return JSON.parse(readFileSync(report, "utf8")) as unknown;
  };
  if (ctx.warmupS > 0) await go("warmup");
  const m = metricsFromReport(await go("measure"), scenario);
  return {
    metrics: { ...m.metrics, latency_sketch_relative_accuracy: ARTILLERY_SKETCH_ACCURACY },
    work: m.work,
    workUnit: scenario === "ws" ? "message" : scenario === "batch" ? "order" : "request",
    generatorCpuS,
    answers: m.answers,
  };
}
