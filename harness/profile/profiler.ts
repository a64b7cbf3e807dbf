import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { dirname, join, relative } from "node:path";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import { projectRoot } from "../../services/common/src/project.js";
import { EXIT, PerfpackError, UsageError } from "../errors.js";
import { notNodeReason, processImage } from "./runtime.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import { LaunchError, procStat, type ExitInfo, type Service } from "../engine/launcher.js";
import type { Scenario, ScenarioResult } from "../../scenarios/contract.js";
import { forgetProcessUsage, processUsage } from "../load/process-usage.js";
import { scenarioContext, startRig, type ExecutorWrap, type StartCommand } from "../engine/rig.js";
import type { ServiceCommand } from "../engine/systems.js";
import type { Variant } from "../plan/variants.js";
import type { PROFILE_TOOLS } from "../plan/options.js";
import { liveRequests, type RequestSpec } from "../load/request.js";
import { writeComparisons, type ComparisonEvent, type DiffRecord } from "./comparisons.js";
import type { LoadWindow } from "./folded.js";
import type { WorkUnit } from "../report/flame-diff-html.js";
import {
  checkSamples,
  countSamples,
  DOCTOR_SAMPLE_MS,
  MIN_COVERAGE,
  V8_SAMPLE_MS,
  type SampleCheck,
} from "./samples.js";

export type ProfileTool = (typeof PROFILE_TOOLS)[number];

/** What to profile, validated: `run --profile` builds one from its own config, the CLI from its flags. */
export interface ProfilePlan {
  tool: ProfileTool;
  variants: readonly Variant[];
  scenario: Scenario;
  durationS: number;
  /** The folder that gets flame/ */
  out: string;
  /** A user's own service (--executor-cmd), run in its directory under the tool. */
  command?: ServiceCommand;
  /** What the scenarios send (`${env:…}` header values resolved at the start). */
  requests: Readonly<Record<string, RequestSpec>>;
}

/** A profiler that failed or left no artifact: a run failure, shown with the tool's output. */
class ToolError extends PerfpackError {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message, EXIT.runFailure, `--- the tool's output ---\n${output}`);
  }
}

/**
 * A profiler's own script, run by this node: resolved as a dependency of perfpack, wherever npm
 * put it (in a team's repository it is hoisted beside perfpack, not under node_modules/perfpack).
 */
function bin(pkg: string, args: string[]): { command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve(`${pkg}/package.json`);
  const field = (JSON.parse(readFileSync(manifest, "utf8")) as { bin: string | Record<string, string> }).bin;
  return {
    command: process.execPath,
    args: [join(dirname(manifest), typeof field === "string" ? field : field[pkg]!), ...args],
  };
}

interface ToolSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** what the user opens */
  artifact: RegExp;
  /** the tool's own samples: the content behind the artifact */
  samples: RegExp;
  /** stack samplers tick per ms of wall time (checked against CPU time); doctor samples process stats on a timer */
  basis: SampleCheck["basis"];
  intervalMs: number;
  /** the samples are stacks, so they give the hot-path table */
  stacks: boolean;
}

/**
 * The command that runs `node` (the executor's command) under the tool. Only cpuprof gets
 * --cpu-prof: V8's CPU profiler takes the sampler from --prof, which 0x and clinic flame read
 * (measured: 35 ticks in 5 s under load with both, about 4,000 without).
 */
function toolCommand(tool: ProfileTool, dir: string, node: readonly string[] = []): ToolSpec {
  const stack = { basis: "cpu", intervalMs: V8_SAMPLE_MS, stacks: true } as const;
  switch (tool) {
    case "cpuprof":
      return {
        command: node[0]!,
        args: ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...node.slice(1)],
        env: {},
        artifact: /\.cpuprofile$/,
        samples: /\.cpuprofile$/,
        ...stack,
      };
    case "0x":
      // --write-ticks keeps the samples behind the flamegraph, for the sample check and the hot-path table
      return {
        ...bin("0x", ["--output-dir", dir, "--write-ticks", "--", ...node]),
        env: {},
        artifact: /^flamegraph\.html$/,
        samples: /^ticks\.json$/,
        ...stack,
      };
    case "clinic-flame":
    case "clinic-doctor": {
      const doctor = tool === "clinic-doctor";
      // without a TTY clinic asks for consent and silently exits 0 unless NO_INSIGHT is set
      return {
        ...bin("clinic", [tool.slice("clinic-".length), "--dest", dir, "--", ...node]),
        env: { NO_INSIGHT: "1" },
        artifact: /\.html$/,
        ...(doctor
          ? { samples: /\.clinic-doctor-processstat$/, basis: "wall", intervalMs: DOCTOR_SAMPLE_MS, stacks: false }
          : { samples: /\.clinic-flame-samples$/, ...stack }),
      };
    }
  }
}

export const findFiles = (dir: string, re: RegExp): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (re.test(e.name)) out.push(join(d, e.name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
};

/** What the profiler tells as it goes; the CLI prints it (cli/profile.ts). */
export type ProfileEvent =
  | { type: "profile-start"; variant: string; tool: ProfileTool; scenario: string; durationS: number }
  /** A variant's artifacts and its sample check (too few samples: the user must not miss it). */
  | { type: "profile-variant"; tool: ProfileTool; profile: VariantProfile }
  /** the hot-path table and the differential flamegraphs across variants (profile/comparisons.ts) */
  | ComparisonEvent
  | { type: "profile-done"; dir: string };

export interface ProfileIO {
  events(e: ProfileEvent): void;
  env: NodeJS.ProcessEnv;
  /** Ends the profiling: the variant under way is dropped, the finished ones are kept (profile.json lists them). */
  signal?: AbortSignal;
}

export interface VariantProfile {
  variant: string;
  /** the files a user opens (flamegraph HTML, .cpuprofile) */
  artifacts: string[];
  /** the tool's own samples behind them */
  samplesFile: string | undefined;
  check: SampleCheck;
  /** The units of work the load completed while the variant was profiled: what the differential flamegraph divides by. */
  work?: { units: number; unit: WorkUnit };
  /** The load's window on the monotonic clock (process.hrtime, µs), which V8 stamps a .cpuprofile's samples with. */
  window?: LoadWindow;
}

export interface ProfileResult {
  /** Every variant's sample check held (else the artifacts are kept, and the CLI exits 3). */
  ok: boolean;
  tool: ProfileTool;
  /** <out>/flame */
  dir: string;
  variants: VariantProfile[];
  /** the hot-path diff (Markdown), when the tool records stacks and there are two variants */
  hotPath: string | undefined;
  /** each variant's differential flamegraph against the first (flame/diff.html, or diff-<variant>.html for more than two) */
  diffs: DiffRecord[];
  /** Ctrl-C ended it: `variants` are the finished ones. */
  interrupted?: boolean;
}

/**
 * The CPU time of a process's main thread, in ms: the thread a stack sampler samples. On Linux from
 * its /proc stat (utime + stime, in clock ticks of 10 ms); elsewhere the whole process's
 * (pidusage), which counts the GC and libuv helper threads too.
 */
export const cpuMs = async (pid: number): Promise<number> => {
  const main = mainThreadCpuMs(pid);
  if (main !== undefined) return main;
  try {
    // gone: the missing artifact or the sample check says what happened
    return (await processUsage([pid]))?.get(pid)?.cpuMs ?? 0;
  } finally {
    forgetProcessUsage();
  }
};

/** A process's main-thread CPU time, ms, from its /proc stat (utime + stime, clock ticks of 10 ms); undefined elsewhere than Linux. */
export function mainThreadCpuMs(pid: number): number | undefined {
  const main = procStat(pid, pid);
  return main ? (main.utime + main.stime) * 10 : undefined;
}

/** The preloaded cpuprof agent (dist/harness/profile/agent.js), for any Node service. */
const agentUrl = (): string => pathToFileURL(join(projectRoot(), "dist", "harness", "profile", "agent.js")).href;

/**
 * A user's service under the tool: 0x and clinic put themselves in front of its node; cpuprof
 * preloads the agent through NODE_OPTIONS, which reaches the service however it is started.
 */
function userToolCommand(tool: ProfileTool, dir: string, command: ServiceCommand, start: StartCommand): StartCommand {
  if (tool === "cpuprof") {
    const options = [start.env.NODE_OPTIONS, `--import ${agentUrl()}`].filter(Boolean).join(" ");
    return { ...start, env: { ...start.env, NODE_OPTIONS: options, PERFPACK_CPUPROF_DIR: dir } };
  }
  // the tool's own arguments up to its "--", then the service's node command
  const t = toolCommand(tool, dir);
  const own = t.args.slice(0, t.args.indexOf("--") + 1);
  return {
    command: "sh",
    args: ["-c", `exec "$0" "$@" ${command.cmd.trim()}`, t.command, ...own],
    env: { ...start.env, ...t.env },
  };
}

/** The executor's start under the tool: the bundled executor's node behind it, or a team's service by the tool's own means. */
export function toolWrap(tool: ProfileTool, dir: string): ExecutorWrap {
  return (start, service) => {
    const t = toolCommand(tool, dir, [start.command, ...start.args]);
    const under = service
      ? userToolCommand(tool, dir, service, start)
      : { command: t.command, args: t.args, env: { ...start.env, ...t.env } };
    return { ...under, name: `${service ? "service" : "executor"} under ${tool}`, readyTimeoutMs: 30_000 };
  };
}

/** Each variant's executor under the tool while the scenario drives it; returns the artifacts and their sample checks. */
export async function profile(plan: ProfilePlan, io: ProfileIO): Promise<ProfileResult> {
  const flame = join(plan.out, "flame");
  const done: VariantProfile[] = [];
  const stopped = (): boolean => io.signal?.aborted === true;
  for (const v of plan.variants) {
    if (stopped()) break;
    try {
      done.push(await profileVariant(plan, v, io));
    } catch (err) {
      // the variant under way when Ctrl-C came is not a profile; the finished ones are kept
      if (!stopped()) throw err;
    }
  }
  const interrupted = stopped();
  const t = toolCommand(plan.tool, flame);
  const { hotPath, diffs } = writeComparisons({
    tool: plan.tool,
    stacks: t.stacks,
    source: SOURCE[plan.tool],
    flame,
    arms: done,
    events: (e) => io.events(e),
  });
  // the sample checks the reports read back (profile/artifacts.ts): rewritten atomically, as every document
  writeFileAtomic(
    join(flame, "profile.json"),
    JSON.stringify(
      {
        tool: plan.tool,
        scenario: plan.scenario.name,
        durationS: plan.durationS,
        minCoverage: MIN_COVERAGE,
        ...(interrupted ? { interrupted } : {}),
        diffs,
        variants: done.map((d) => ({
          ...d,
          artifacts: d.artifacts.map((x) => relative(flame, x)),
          samplesFile: d.samplesFile && relative(flame, d.samplesFile),
        })),
      },
      null,
      2,
    ) + "\n",
  );
  io.events({ type: "profile-done", dir: flame });
  return {
    ok: done.every((d) => d.check.ok),
    tool: plan.tool,
    dir: flame,
    variants: done,
    hotPath,
    diffs,
    interrupted,
  };
}

/** One variant: its service under the tool on a rig of its own, the scenario's load, then the tool's artifacts and their sample check. */
async function profileVariant(plan: ProfilePlan, v: Variant, io: ProfileIO): Promise<VariantProfile> {
  const { tool, scenario, durationS } = plan;
  const dir = join(plan.out, "flame", v.name);
  mkdirSync(dir, { recursive: true });
  io.events({ type: "profile-start", variant: v.name, tool, scenario: scenario.name, durationS });
  const t0 = performance.now();
  const rig = await startRig({
    arms: [
      {
        name: v.name,
        toggles: v.env,
        executorEnv: v.env,
        wrap: toolWrap(tool, dir),
        system: plan.command ? { kind: "command", ...plan.command } : undefined,
      },
    ],
    exchangeArgs: scenario.exchangeArgs({ durationS, wsClients: 10 }),
    baseEnv: { ...io.env, NO_INSIGHT: "1" },
  }).catch((err: unknown) =>
    // the service under the tool failed to start: the tool's output says why (the exchange's own failure stays its own)
    Promise.reject(
      err instanceof LaunchError && err.service !== "exchange" ? new ToolError(err.message, err.logTail) : err,
    ),
  );
  try {
    const exe = rig.arms[0]!.stack!.executor;
    // a Node-only tool on another runtime records nothing: said before any load is sent
    const image = processImage(exe.servicePid);
    const notNode = image && notNodeReason(image, `--tool ${tool}`);
    if (notNode) throw new UsageError(`${notNode}; nothing was loaded`);
    const ready = performance.now();
    const { result, window } = await loadWindow(plan, rig.arms[0]!, exe.servicePid, io);
    // the executor's main-thread CPU from its start to the end of the load (its GC and libuv helper
    // threads are not sampled, so they do not count); busy for at most the wall time, which caps it.
    const end = performance.now();
    const busyMs = Math.min(await cpuMs(exe.servicePid), end - t0);
    const exit = await toolFinished(exe, tool);
    const t = toolCommand(tool, dir);
    const artifacts = findFiles(dir, t.artifact);
    if (artifacts.length === 0)
      throw new ToolError(
        `${tool} produced no ${t.artifact.source} in ${dir} (exit code ${exit.code}, signal ${exit.signal})`,
        exe.logTail(30),
      );
    writeFileSync(join(dir, `${tool}.log`), exe.log());
    // the agent writes a profile per Node process (npm's too): keep the service's
    if (plan.command && tool === "cpuprof") {
      const mine = artifacts.find((a) => a.endsWith(`CPU.${exe.servicePid}.cpuprofile`)) ?? artifacts[0]!;
      for (const a of artifacts.splice(0)) if (a !== mine) rmSync(a);
      artifacts.push(mine);
    }
    const samplesFile = findFiles(dir, t.samples)[0];
    const got = samplesFile ? await countSamples(samplesFile) : { count: 0 };
    const check = checkSamples(got.count, t.basis, t.basis === "cpu" ? busyMs : end - ready, t.intervalMs, got.delayMs);
    const work = { units: result.work, unit: result.workUnit };
    const profile = { variant: v.name, artifacts, samplesFile, check, work, window };
    io.events({ type: "profile-variant", tool, profile });
    return profile;
  } finally {
    await rig.stop(io.signal?.aborted ? RUN_DEFAULTS.interruptGraceMs : 2000);
  }
}

/**
 * The scenario's load on the arm, and its window on the clock V8 stamps samples with (so start-up
 * is not charged to its units of work), with the main thread's CPU over it: what the samples,
 * which stand for wall time, are scaled to.
 */
async function loadWindow(
  plan: ProfilePlan,
  arm: Parameters<typeof scenarioContext>[0],
  pid: number,
  io: ProfileIO,
): Promise<{ result: ScenarioResult; window: LoadWindow }> {
  const load = {
    durationS: plan.durationS,
    warmupS: 0,
    connections: 32,
    rate: undefined,
    wsClients: 10,
    requests: liveRequests(plan.requests, io.env).requests,
  };
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const cpu0 = mainThreadCpuMs(pid);
  const result = await plan.scenario.run(
    scenarioContext(arm, load, {
      signal: io.signal ?? new AbortController().signal,
      measureStart: async () => {},
      log: () => {},
    }),
  );
  io.signal?.throwIfAborted();
  const cpu1 = mainThreadCpuMs(pid);
  const endUs = Number(process.hrtime.bigint() / 1000n);
  return {
    result,
    window: { startUs, endUs, ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuMs: cpu1 - cpu0 } : {}) },
  };
}

/** SIGINT to the service itself: it drains and exits, and the tool then writes its artifacts (within 180 s). */
export async function toolFinished(exe: Service, tool: ProfileTool): Promise<ExitInfo> {
  try {
    process.kill(exe.servicePid, "SIGINT");
  } catch {
    // already gone (it crashed or was killed): what the tool left is checked next
  }
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    exe.exited,
    new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 180_000))),
  ]);
  clearTimeout(timer);
  if (exit !== "timeout") return exit;
  await exe.stop(2000);
  throw new ToolError(`${tool} did not finish writing its output within 180 s`, exe.logTail(30));
}

const SOURCE: Record<ProfileTool, string> = {
  cpuprof: "V8's CPU profiler (--cpu-prof), the .cpuprofile beside each flamegraph",
  "0x": "0x's own samples (V8 --prof ticks, ticks.json), the same samples its flamegraphs draw",
  "clinic-flame":
    "clinic flame's own samples (V8 --prof ticks, *.clinic-flame-samples), the same samples its flamegraphs draw",
  "clinic-doctor": "",
};

/** A variant's sample check in words: what it recorded against what its basis promises. */
export function describeCheck(c: SampleCheck): string {
  const basis =
    c.basis === "cpu"
      ? `the executor's ${(c.basisMs / 1000).toFixed(2)} s of main-thread CPU time`
      : `${(c.basisMs / 1000).toFixed(2)} s profiled`;
  const spacing =
    c.delayMs !== undefined
      ? `${(c.intervalMs - c.delayMs).toFixed(0)} ms plus the ${c.delayMs.toFixed(1)} ms mean event-loop delay it measured`
      : `${c.intervalMs} ms`;
  return `${c.samples} samples, ${(c.coverage * 100).toFixed(0)}% of the ${c.expected} that one per ${spacing} promises for ${basis} (at least ${MIN_COVERAGE * 100}% expected)`;
}
