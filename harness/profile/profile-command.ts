import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { projectRoot } from "../../services/common/src/project.js";
import { EXIT } from "../exit-codes.js";
import { isDescendant, launch, LaunchError, type Service } from "../launcher.js";
import { newRunId } from "../run-config.js";
import type { Scenario } from "../scenario.js";
import { cliPath, startExchangeService } from "../stack.js";
import { ablation, presets, PlanError, type Variant } from "../variants.js";
import { hotPathDiff, hotPathMarkdown, selfTimes, type CpuProfile } from "./hotpath.js";

export const PROFILE_TOOLS = ["0x", "clinic-flame", "clinic-doctor", "cpuprof"] as const;
export type ProfileTool = (typeof PROFILE_TOOLS)[number];

export interface ProfileFlags {
  tool?: string;
  variants?: string;
  scenario?: string;
  duration?: string;
  out?: string;
  /** Variants given as objects (from a run's plan: matrix variants have no preset name). */
  variantObjects?: Variant[];
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

const bin = (name: string) => join(projectRoot(), "node_modules", ".bin", name);

/** The command that runs the executor under the tool; every tool also gets --cpu-prof, for the hot-path diff. */
function toolCommand(tool: ProfileTool, dir: string): { command: string; args: string[]; env: Record<string, string>; artifact: RegExp } {
  const node = [process.execPath, "--cpu-prof", `--cpu-prof-dir=${dir}`, cliPath(), "executor", "--port", "0"];
  switch (tool) {
    case "cpuprof":
      return { command: node[0]!, args: node.slice(1), env: {}, artifact: /\.cpuprofile$/ };
    case "0x":
      return { command: bin("0x"), args: ["--output-dir", dir, "--", ...node], env: {}, artifact: /^flamegraph\.html$/ };
    case "clinic-flame":
    case "clinic-doctor":
      // without a TTY clinic asks for consent and silently exits 0 unless NO_INSIGHT is set
      return { command: bin("clinic"), args: [tool.slice("clinic-".length), "--dest", dir, "--", ...node], env: { NO_INSIGHT: "1" }, artifact: /\.html$/ };
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
  env: NodeJS.ProcessEnv;
}

/** `perfpack profile`: each variant's executor under the tool while the scenario drives it. */
export async function profileCommand(f: ProfileFlags, scenarios: ReadonlyMap<string, Scenario>, io: ProfileIO): Promise<number> {
  const tool = (f.tool ?? "cpuprof") as ProfileTool;
  if (!PROFILE_TOOLS.includes(tool)) throw new PlanError(`unknown profiling tool ${JSON.stringify(f.tool)}: valid tools are ${PROFILE_TOOLS.join(", ")}`);
  const pool = [...presets(), ...ablation()];
  const names = (f.variants ?? "baseline,optimized").split(",").map((s) => s.trim()).filter(Boolean);
  const variants = f.variantObjects ?? names.map((n) => pool.find((v) => v.name === n) ?? (() => { throw new PlanError(`unknown variant ${JSON.stringify(n)}: valid variants are ${pool.map((v) => v.name).join(", ")}`); })());
  const scenario = scenarios.get(f.scenario ?? "latency");
  if (!scenario) throw new PlanError(`unknown scenario ${JSON.stringify(f.scenario)}: valid scenarios are ${[...scenarios.keys()].join(", ")}`);
  const durationS = f.duration === undefined ? 10 : Number(f.duration);
  if (!(durationS > 0 && durationS <= 3600)) throw new PlanError(`--duration ${JSON.stringify(f.duration)} is not valid: expected seconds from 0.2 to 3600`);
  const out = resolve(f.out ?? join(projectRoot(), "reports", `profile-${newRunId()}`));
  const childEnv: NodeJS.ProcessEnv = { ...io.env, NO_INSIGHT: "1" };

  const profiles = new Map<string, string[]>();
  for (const v of variants) {
    const dir = join(out, "flame", v.name);
    mkdirSync(dir, { recursive: true });
    const t = toolCommand(tool, dir);
    io.write(`${v.name}: ${tool} while ${scenario.name} runs for ${durationS} s …\n`);
    const exchange = await startExchangeService(scenario.exchangeArgs({ durationS, wsClients: 10 }), childEnv);
    let exe: Service | undefined;
    try {
      exe = await launch({
        name: `executor under ${tool}`,
        command: t.command,
        args: t.args,
        env: { ...childEnv, ...v.env, ...t.env, EXCHANGE_URL: exchange.url },
        readyTimeoutMs: 30_000,
        acceptPid: (pid, child) => isDescendant(pid, child),
      });
      const ac = new AbortController();
      await scenario.run({
        target: { executorUrl: exe.url, exchangeUrl: exchange.url, toggles: v.env },
        durationS,
        warmupS: 0,
        connections: 32,
        rate: undefined,
        wsClients: 10,
        signal: ac.signal,
        measureStart: async () => {},
        log: () => {},
      });
      // SIGINT to the executor itself: it drains and exits; the tool then writes its artifacts
      try {
        process.kill(exe.servicePid, "SIGINT");
      } catch {
        // already gone (it crashed or was killed): what the tool left is checked below
      }
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([exe.exited, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 180_000)))]);
      clearTimeout(timer);
      if (done === "timeout") {
        await exe.stop(2000);
        throw new ToolError(`${tool} did not finish writing its output within 180 s`, exe.logTail(30));
      }
      const artifacts = findFiles(dir, t.artifact);
      if (artifacts.length === 0) {
        throw new ToolError(`${tool} produced no ${t.artifact.source} in ${dir} (exit code ${done.code}, signal ${done.signal})`, exe.logTail(30));
      }
      profiles.set(v.name, findFiles(dir, /\.cpuprofile$/));
      for (const a of artifacts) io.write(`  ${a}\n`);
      writeFileSync(join(dir, `${tool}.log`), exe.log());
    } catch (err) {
      if (err instanceof LaunchError) throw new ToolError(err.message, err.logTail);
      throw err;
    } finally {
      if (exe) await exe.stop(2000);
      await exchange.stop();
    }
  }

  if (variants.length >= 2) {
    const [a, b] = [variants[0]!.name, variants[1]!.name];
    const pa = profiles.get(a)?.[0];
    const pb = profiles.get(b)?.[0];
    if (pa && pb) {
      const sa = selfTimes(JSON.parse(readFileSync(pa, "utf8")) as CpuProfile);
      const sb = selfTimes(JSON.parse(readFileSync(pb, "utf8")) as CpuProfile);
      const md = hotPathMarkdown(hotPathDiff(sa, sb), a, b, sa, sb);
      const file = join(out, "flame", "hot-path-diff.md");
      writeFileSync(file, md);
      io.write(`hot-path diff: ${file}\n`);
    } else {
      io.write(`no .cpuprofile for ${pa ? b : a}: no hot-path diff\n`);
    }
  }
  io.write(`profiles: ${join(out, "flame")}\n`);
  return EXIT.ok;
}
