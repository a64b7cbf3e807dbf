import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { dirname, join, relative, resolve } from "node:path";
import pidusage from "pidusage";
import { projectRoot } from "../../services/common/src/project.js";
import { EXIT, PerfpackError } from "../errors.js";
import { isDescendant, launch, LaunchError, listenerPid, type Service } from "../engine/launcher.js";
import { newRunId } from "../plan/config.js";
import type { Scenario } from "../../scenarios/contract.js";
import { cliPath, freePort, startExchangeService } from "../engine/stack.js";
import { serviceCommandOf, shellLine, unwrappable, type ServiceCommand } from "../engine/systems.js";
import { tlsFixture } from "../../services/common/src/project.js";
import { ablation, presets, type Variant } from "../plan/variants.js";
import { UsageError } from "../errors.js";
import { PROFILE_TOOLS } from "../plan/options.js";
import { defaultRequests, resolveRequests } from "../plan/requests.js";
import { liveRequests, type RequestSpec } from "../load/request.js";
import { hotPathDiff, hotPathMarkdown } from "./hotpath.js";
import { checkSamples, countSamples, DOCTOR_SAMPLE_MS, MIN_COVERAGE, selfTimesOf, V8_SAMPLE_MS, type SampleCheck } from "./samples.js";

export type ProfileTool = (typeof PROFILE_TOOLS)[number];

/** `perfpack profile`'s flags as commander hands them over: strings, unvalidated. */
export interface ProfileFlags {
  tool?: string;
  variants?: string;
  scenario?: string;
  duration?: string;
  out?: string;
  /** The team's own service instead of the bundled executor (as `run --executor-cmd`). */
  executorCmd?: string;
  readyPath?: string;
  /** --header, and the config file's `requests`: what the scenario sends (as `run`). */
  header?: string[];
  requests?: unknown;
  /** --config: the config file those come from (default: perfpack.config.json in the working directory, when there is one). */
  config?: string;
}

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
  return { command: process.execPath, args: [join(dirname(manifest), typeof field === "string" ? field : field[pkg]!), ...args] };
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
 * The command that runs the executor under the tool. Only cpuprof gets --cpu-prof: V8's CPU
 * profiler takes the sampler from --prof, which 0x and clinic flame read (measured: 35 ticks
 * in 5 s under load with both, about 4,000 without).
 */
function toolCommand(tool: ProfileTool, dir: string): ToolSpec {
  const node = [process.execPath, cliPath(), "executor", "--port", "0"];
  const stack = { basis: "cpu", intervalMs: V8_SAMPLE_MS, stacks: true } as const;
  switch (tool) {
    case "cpuprof":
      return { command: node[0]!, args: ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...node.slice(1)], env: {}, artifact: /\.cpuprofile$/, samples: /\.cpuprofile$/, ...stack };
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
        ...(doctor ? { samples: /\.clinic-doctor-processstat$/, basis: "wall", intervalMs: DOCTOR_SAMPLE_MS, stacks: false } : { samples: /\.clinic-flame-samples$/, ...stack }),
      };
    }
  }
}

const findFiles = (dir: string, re: RegExp): string[] => {
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

export interface ProfileIO {
  write(text: string): void;
  /** what the user must not miss: too few samples */
  warn(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface VariantProfile {
  variant: string;
  /** the files a user opens (flamegraph HTML, .cpuprofile) */
  artifacts: string[];
  /** the tool's own samples behind them */
  samplesFile: string | undefined;
  check: SampleCheck;
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
}

/**
 * The CPU time of a process's main thread, in ms: the thread a stack sampler samples. On Linux from
 * /proc/<pid>/task/<pid>/stat (utime + stime, in clock ticks of 10 ms); elsewhere the whole
 * process's (pidusage), which counts the GC and libuv helper threads too.
 */
const cpuMs = async (pid: number): Promise<number> => {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    // the fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    // not Linux, or gone: the process's CPU below
  }
  try {
    return (await pidusage(pid)).ctime;
  } catch {
    return 0; // gone: the missing artifact or the sample check says what happened
  } finally {
    pidusage.clear();
  }
};

/** `perfpack profile`'s flags → a plan; every message names the flag and what it accepts. */
/** `cwd`: where a relative --out, and the default reports/profile-<id>, resolve (the user's directory). */
export function resolveProfilePlan(f: ProfileFlags, scenarios: ReadonlyMap<string, Scenario>, cwd = ".", env: Readonly<NodeJS.ProcessEnv> = process.env): ProfilePlan {
  const tool = (f.tool ?? "cpuprof") as ProfileTool;
  if (!PROFILE_TOOLS.includes(tool)) throw new UsageError(`unknown profiling tool ${JSON.stringify(f.tool)}: valid tools are ${PROFILE_TOOLS.join(", ")}`);
  const pool = [...presets(), ...ablation()];
  const names = (f.variants ?? "baseline,optimized")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const variants = names.map(
    (n) =>
      pool.find((v) => v.name === n) ??
      (() => {
        throw new UsageError(`unknown variant ${JSON.stringify(n)}: valid variants are ${pool.map((v) => v.name).join(", ")}`);
      })(),
  );
  const scenario = scenarios.get(f.scenario ?? "latency");
  if (!scenario) throw new UsageError(`unknown scenario ${JSON.stringify(f.scenario)}: valid scenarios are ${[...scenarios.keys()].join(", ")}`);
  const durationS = f.duration === undefined ? 10 : Number(f.duration);
  if (!(durationS > 0 && durationS <= 3600)) throw new UsageError(`--duration ${JSON.stringify(f.duration)} is not valid: expected seconds above 0, up to 3600`);
  const command = serviceCommandOf(f, cwd);
  const refused = command && unwrappable(tool, command.cmd);
  if (refused) throw new UsageError(`--tool ${refused}`);
  const requests = resolveRequests(f.requests, f.header ?? [], defaultRequests(scenarios.values()), env);
  return { tool, variants, scenario, durationS, out: resolve(cwd, f.out ?? join("reports", `profile-${newRunId()}`)), requests, ...(command ? { command } : {}) };
}

/** The preloaded cpuprof agent (dist/harness/profile/agent.js), for any Node service. */
const agentUrl = (): string => pathToFileURL(join(projectRoot(), "dist", "harness", "profile", "agent.js")).href;

/**
 * A user's service under the tool: 0x and clinic put themselves in front of its node; cpuprof
 * preloads the agent through NODE_OPTIONS, which reaches the service however it is started.
 */
function userToolCommand(tool: ProfileTool, dir: string, command: ServiceCommand, env: NodeJS.ProcessEnv): Pick<ToolSpec, "command" | "args" | "env"> {
  const t = toolCommand(tool, dir);
  if (tool === "cpuprof") {
    const options = [env.NODE_OPTIONS, `--import ${agentUrl()}`].filter(Boolean).join(" ");
    return { command: "sh", args: ["-c", shellLine(command.cmd)], env: { NODE_OPTIONS: options, PERFPACK_CPUPROF_DIR: dir } };
  }
  // the tool's own arguments up to its "--", then the service's node command
  const own = t.args.slice(0, t.args.indexOf("--") + 1);
  return { command: "sh", args: ["-c", `exec "$0" "$@" ${command.cmd.trim()}`, t.command, ...own], env: t.env };
}

/** Each variant's executor under the tool while the scenario drives it; returns the artifacts and their sample checks. */
export async function profile(plan: ProfilePlan, io: ProfileIO): Promise<ProfileResult> {
  const { tool, variants, scenario, durationS } = plan;
  const flame = join(plan.out, "flame");
  const childEnv: NodeJS.ProcessEnv = { ...io.env, NO_INSIGHT: "1" };

  const done: VariantProfile[] = [];
  for (const v of variants) {
    const dir = join(flame, v.name);
    mkdirSync(dir, { recursive: true });
    const t = toolCommand(tool, dir);
    io.write(`${v.name}: ${tool} while ${scenario.name} runs for ${durationS} s …\n`);
    const exchange = await startExchangeService(scenario.exchangeArgs({ durationS, wsClients: 10 }), childEnv);
    let exe: Service | undefined;
    const t0 = performance.now();
    try {
      if (plan.command) {
        // the team's service, by the --executor-cmd contract, under the tool
        const port = await freePort();
        const u = userToolCommand(tool, dir, plan.command, childEnv);
        exe = await launch({
          name: `service under ${tool}`,
          command: u.command,
          args: u.args,
          cwd: plan.command.cwd,
          env: { ...childEnv, ...v.env, ...u.env, PORT: String(port), HOST: "127.0.0.1", EXCHANGE_URL: exchange.url, EXCHANGE_CA_FILE: tlsFixture.ca() },
          readyUrl: `http://127.0.0.1:${port}${plan.command.readyPath}`,
          readyTimeoutMs: 30_000,
          group: true,
        });
        // the process that serves the port: under a shell, npm or the tool, not the one started
        const pid = listenerPid(port, exe.pid);
        if (pid !== undefined) exe = { ...exe, servicePid: pid };
      } else
        exe = await launch({
          name: `executor under ${tool}`,
          command: t.command,
          args: t.args,
          env: { ...childEnv, ...v.env, ...t.env, EXCHANGE_URL: exchange.url },
          readyTimeoutMs: 30_000,
          acceptPid: (pid, child) => isDescendant(pid, child),
        });
      const ready = performance.now();
      const ac = new AbortController();
      await scenario.run({
        target: { executorUrl: exe.url, exchangeUrl: exchange.url, toggles: v.env },
        durationS,
        warmupS: 0,
        connections: 32,
        rate: undefined,
        wsClients: 10,
        requests: liveRequests(plan.requests, io.env).requests,
        signal: ac.signal,
        measureStart: async () => {},
        log: () => {},
      });
      // the executor's main-thread CPU from its start to the end of the load (its GC and libuv helper
      // threads are not sampled, so they do not count); busy for at most the wall time, which caps it.
      const end = performance.now();
      const busyMs = Math.min(await cpuMs(exe.servicePid), end - t0);
      // SIGINT to the executor itself: it drains and exits; the tool then writes its artifacts
      try {
        process.kill(exe.servicePid, "SIGINT");
      } catch {
        // already gone (it crashed or was killed): what the tool left is checked below
      }
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([exe.exited, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 180_000)))]);
      clearTimeout(timer);
      if (exit === "timeout") {
        await exe.stop(2000);
        throw new ToolError(`${tool} did not finish writing its output within 180 s`, exe.logTail(30));
      }
      const artifacts = findFiles(dir, t.artifact);
      if (artifacts.length === 0) {
        throw new ToolError(`${tool} produced no ${t.artifact.source} in ${dir} (exit code ${exit.code}, signal ${exit.signal})`, exe.logTail(30));
      }
      writeFileSync(join(dir, `${tool}.log`), exe.log());
      // the agent writes a profile per Node process (npm's too): keep the service's
      if (plan.command && tool === "cpuprof") {
        const mine = artifacts.find((a) => a.endsWith(`CPU.${exe!.servicePid}.cpuprofile`)) ?? artifacts[0]!;
        for (const a of artifacts.splice(0)) if (a !== mine) rmSync(a);
        artifacts.push(mine);
      }
      const samplesFile = findFiles(dir, t.samples)[0];
      const got = samplesFile ? await countSamples(samplesFile) : { count: 0 };
      const check = checkSamples(got.count, t.basis, t.basis === "cpu" ? busyMs : end - ready, t.intervalMs, got.delayMs);
      done.push({ variant: v.name, artifacts, samplesFile, check });
      for (const a of artifacts) io.write(`  ${a}\n`);
      io.write(`  ${describeCheck(check)}\n`);
      if (!check.ok) io.warn(`⚠ ${v.name}: ${tool} recorded too few samples: ${describeCheck(check)}; its ${tool === "clinic-doctor" ? "report" : "flamegraph"} shows almost nothing\n`);
    } catch (err) {
      if (err instanceof LaunchError) throw new ToolError(err.message, err.logTail);
      throw err;
    } finally {
      if (exe) await exe.stop(2000);
      await exchange.stop();
    }
  }

  let hotPath: string | undefined;
  const [a, b] = done;
  if (a && b && toolCommand(tool, flame).stacks) {
    if (a.samplesFile && b.samplesFile) {
      const sa = selfTimesOf(a.samplesFile);
      const sb = selfTimesOf(b.samplesFile);
      hotPath = join(flame, "hot-path-diff.md");
      writeFileSync(hotPath, hotPathMarkdown(hotPathDiff(sa, sb), a.variant, b.variant, sa, sb, SOURCE[tool]));
      io.write(`hot-path diff: ${hotPath}\n`);
    } else {
      io.write(`no samples for ${a.samplesFile ? b.variant : a.variant}: no hot-path diff\n`);
    }
  } else if (a && b) {
    io.write(`no hot-path diff: ${tool} records no stacks (use --tool cpuprof, 0x or clinic-flame)\n`);
  }
  const ok = done.every((d) => d.check.ok);
  writeFileSync(
    join(flame, "profile.json"),
    JSON.stringify(
      {
        tool,
        scenario: scenario.name,
        durationS,
        minCoverage: MIN_COVERAGE,
        variants: done.map((d) => ({ ...d, artifacts: d.artifacts.map((x) => relative(flame, x)), samplesFile: d.samplesFile && relative(flame, d.samplesFile) })),
      },
      null,
      2,
    ) + "\n",
  );
  io.write(`profiles: ${flame}\n`);
  return { ok, tool, dir: flame, variants: done, hotPath };
}

const SOURCE: Record<ProfileTool, string> = {
  cpuprof: "V8's CPU profiler (--cpu-prof), the .cpuprofile beside each flamegraph",
  "0x": "0x's own samples (V8 --prof ticks, ticks.json), the same samples its flamegraphs draw",
  "clinic-flame": "clinic flame's own samples (V8 --prof ticks, *.clinic-flame-samples), the same samples its flamegraphs draw",
  "clinic-doctor": "",
};

function describeCheck(c: SampleCheck): string {
  const basis = c.basis === "cpu" ? `the executor's ${(c.basisMs / 1000).toFixed(2)} s of main-thread CPU time` : `${(c.basisMs / 1000).toFixed(2)} s profiled`;
  const spacing = c.delayMs !== undefined ? `${(c.intervalMs - c.delayMs).toFixed(0)} ms plus the ${c.delayMs.toFixed(1)} ms mean event-loop delay it measured` : `${c.intervalMs} ms`;
  return `${c.samples} samples, ${(c.coverage * 100).toFixed(0)}% of the ${c.expected} that one per ${spacing} promises for ${basis} (at least ${MIN_COVERAGE * 100}% expected)`;
}
