import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout } from "node:timers/promises";
import { projectRoot } from "../../services/common/src/project.js";
import type { Service } from "../engine/launcher.js";
import { scenarioContext, serviceEnv, startRig, type LoadedArm } from "../engine/rig.js";
import { harnessOf, type Variant } from "../plan/variants.js";
import type { LiveRequest, Scenario } from "../../scenarios/contract.js";
import type { AllocationRecord, AllocationVariant, Results } from "../results/schema.js";
import { median } from "../verdict/stats.js";

/**
 * The allocation pass: objects allocated per second, which the guide targets (< 1,000/s,
 * stretch < 500) and no trial can measure, because counting every allocation slows the
 * service it counts (measured on the executor: 45–53 req/s under the tracker against 1,049–1,160 without). Like --profile it runs
 * after the trials, on a service of its own:
 * - V8's allocation tracker (preloaded agent, allocAgent.ts) counts every object the
 *   executor's JavaScript heap allocates while the latency scenario's load runs;
 * - first an idle window of the same length, no load: the service's background allocation
 *   (its timers, metrics, market stream) per second;
 * - objects per request = (the count under load − the background over that window) / the
 *   requests answered in it. The tracker slows request handling, not the background's clock,
 *   so without this the background would be spread over too few requests;
 * - objects per second = objects per request × the variant's median requests/s in the trials
 *   (which ran without the tracker) + the background rate. Its range is that sum at the
 *   trials' slowest and fastest round.
 */
const ALLOCATION_METHOD =
  "V8's allocation tracker (HeapProfiler.startTrackingHeapObjects, trackAllocations) counts every JavaScript heap object the executor allocates, in a pass of its own after the trials (the tracker slows request handling many times over): an idle window gives the background objects/s, a window under the latency scenario's load the objects per request beyond it; objects/s = objects per request × the variant's median req/s in the trials + the background. The counts are exact; the error is the trials' spread of req/s (the range shown) and whatever the tracker's slowdown changes per request (timeouts, batch sizes). Buffer backing stores outside the heap are not counted.";

const agentUrl = (): string => pathToFileURL(join(projectRoot(), "dist", "harness", "profile", "allocAgent.js")).href;

const n = (x: number) => Math.round(x).toLocaleString("en-US");

interface AgentFile {
  windowMs: number;
  objects: number;
  bytes: number;
  top: AllocationVariant["top"];
  error?: string;
}

async function waitForFile(file: string, service: Service, timeoutMs: number): Promise<AgentFile> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void service.exited.then(() => (exited = true));
  for (;;) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as AgentFile;
      } catch {
        // still being written
      }
    }
    if (exited)
      throw new Error(
        `the service exited before the allocation agent wrote its count; its log ends:\n${service.logTail(10)}`,
      );
    if (Date.now() > deadline)
      throw new Error(
        `the allocation agent wrote no ${file} within ${timeoutMs / 1000} s of the second SIGUSR2; the service's log ends:\n${service.logTail(10)}`,
      );
    await setTimeout(100);
  }
}

export interface AllocationPassPlan {
  variants: readonly Variant[];
  /** The latency scenario: its load, its exchange. */
  scenario: Scenario;
  durationS: number;
  warmupS: number;
  connections: number;
  requests: Readonly<Record<string, LiveRequest>>;
  baseEnv: Readonly<NodeJS.ProcessEnv>;
  readyTimeoutMs: number;
  signal?: AbortSignal;
  log(line: string): void;
}

/** One variant: its service with the agent, the two windows, the agent's counts. */
async function passOne(p: AllocationPassPlan, v: Variant, trialRps: number[]): Promise<AllocationVariant> {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-alloc-"));
  const base = join(dir, "alloc");
  const env = serviceEnv(p.baseEnv);
  const arm = {
    name: v.name,
    toggles: v.env,
    executorEnv: harnessOf(v).executorEnv,
    system: v.system,
  };
  const rig = await startRig({
    arms: [
      {
        ...arm,
        // the agent comes in through NODE_OPTIONS (after the variant's own), which reaches a team's service however it starts
        wrap: (start) => {
          const options = [start.env.NODE_OPTIONS, `--import ${agentUrl()}`].filter(Boolean).join(" ");
          return { ...start, env: { ...start.env, NODE_OPTIONS: options, PERFPACK_ALLOC_FILE: base } };
        },
      },
    ],
    exchangeArgs: p.scenario.exchangeArgs({ durationS: p.durationS, wsClients: 0 }),
    baseEnv: env,
    readyTimeoutMs: p.readyTimeoutMs,
  }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  p.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // a team's service may sit under a shell or npm: the rig found the process that serves the port
    const exe = rig.arms[0]!.stack!.executor;
    // SIGUSR2 ends a process that has no handler: signal only one that loaded the agent
    if (!existsSync(`${base}.${exe.servicePid}.ready`))
      throw new Error(
        `the service (pid ${exe.servicePid}) did not load the allocation agent: it is not a Node.js process, or its start command does not pass NODE_OPTIONS on (the agent comes in as NODE_OPTIONS=--import ${agentUrl()})`,
      );
    const tracked = { exe, file: (n: number) => `${base}.${exe.servicePid}.${n}.json`, signal: ac.signal };
    const idle = await idleWindow(p, tracked);
    const loaded = await loadedWindow(p, rig.arms[0]!, tracked);
    return allocationOf(idle, loaded, trialRps);
  } finally {
    p.signal?.removeEventListener("abort", onAbort);
    await rig.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The service under the tracker: its process, the agent's count files, and the pass's abort. */
interface Tracked {
  exe: Service;
  file(n: number): string;
  signal: AbortSignal;
}

/** What the service allocates with no request in flight, over the pass's duration. */
async function idleWindow(p: AllocationPassPlan, t: Tracked): Promise<AgentFile & { seconds: number }> {
  process.kill(t.exe.servicePid, "SIGUSR2");
  const i0 = performance.now();
  await setTimeout(p.durationS * 1000, undefined, { signal: t.signal }).catch(() => {});
  if (t.signal.aborted) throw new Error("interrupted");
  process.kill(t.exe.servicePid, "SIGUSR2");
  const seconds = (performance.now() - i0) / 1000;
  const idle = await waitForFile(t.file(1), t.exe, 120_000);
  if (idle.error) throw new Error(`V8's allocation tracker failed: ${idle.error}`);
  return { ...idle, seconds };
}

/** What it allocates under the latency scenario's load: the tracker runs over the measured window. */
async function loadedWindow(
  p: AllocationPassPlan,
  arm: LoadedArm,
  t: Tracked,
): Promise<AgentFile & { seconds: number; work: number }> {
  let t0 = 0;
  const load = {
    durationS: p.durationS,
    warmupS: p.warmupS,
    connections: p.connections,
    rate: undefined,
    wsClients: 0,
    requests: p.requests,
  };
  const measureStart = async () => {
    process.kill(t.exe.servicePid, "SIGUSR2");
    t0 = performance.now();
  };
  const r = await p.scenario.run(scenarioContext(arm, load, { signal: t.signal, measureStart, log: () => {} }));
  const seconds = (performance.now() - t0) / 1000;
  if (t.signal.aborted) throw new Error("interrupted");
  process.kill(t.exe.servicePid, "SIGUSR2");
  const got = await waitForFile(t.file(2), t.exe, 120_000);
  if (got.error) throw new Error(`V8's allocation tracker failed: ${got.error}`);
  if (r.work === 0) throw new Error("no request was answered during the allocation pass");
  return { ...got, seconds, work: r.work };
}

/** Objects per request beyond the background, and per second at the trials' req/s (and their range). */
function allocationOf(
  idle: AgentFile & { seconds: number },
  got: AgentFile & { seconds: number; work: number },
  trialRps: number[],
): AllocationVariant {
  const idleS = idle.windowMs / 1000 || idle.seconds;
  const backgroundPerS = idle.objects / idleS;
  const windowS = got.windowMs / 1000;
  const objectsPerRequest = Math.max(0, got.objects - backgroundPerS * windowS) / got.work;
  const bytesPerRequest = Math.max(0, got.bytes - (idle.bytes / idleS) * windowS) / got.work;
  const rps = trialRps.length > 0 ? median(trialRps) : undefined;
  const at = (x: number) => objectsPerRequest * x + backgroundPerS;
  return {
    objects: got.objects,
    bytes: got.bytes,
    requests: got.work,
    windowS,
    passRps: got.work / got.seconds,
    backgroundObjectsPerS: backgroundPerS,
    objectsPerRequest,
    bytesPerRequest,
    ...(rps !== undefined
      ? {
          trialRps: rps,
          objectsPerS: at(rps),
          objectsPerSRange: [at(Math.min(...trialRps)), at(Math.max(...trialRps))] as [number, number],
        }
      : {}),
    top: got.top,
  };
}

/**
 * The pass on each candidate variant (those the targets table is evaluated on), after the
 * trials in `ran`. A variant whose pass fails records why; the run's results stand.
 */
export async function allocationPass(p: AllocationPassPlan, ran: Results): Promise<AllocationRecord> {
  const variants: AllocationRecord["variants"] = {};
  for (const v of p.variants) {
    if (p.signal?.aborted) break;
    const rps = ran.trials
      .filter((t) => t.variant === v.name && t.scenario === p.scenario.name && t.status === "ok")
      .map((t) => t.metrics.rps!);
    p.log(
      `allocation pass: ${v.name} under the ${p.scenario.name} scenario's load for ${p.durationS} s, V8's allocation tracker on …`,
    );
    try {
      const a = await passOne(
        p,
        v,
        rps.filter((x) => Number.isFinite(x)),
      );
      variants[v.name] = a;
      p.log(
        `  idle ${n(a.backgroundObjectsPerS)} objects/s; under load ${n(a.objectsPerRequest)} objects/request beyond that (${n(a.requests)} requests at ${n(a.passRps)} req/s under the tracker)` +
          (a.objectsPerS !== undefined
            ? `; at the trials' ${n(a.trialRps!)} req/s: ${n(a.objectsPerS)} objects/s`
            : ""),
      );
    } catch (err) {
      variants[v.name] = { error: (err as Error).message };
      p.log(`  the allocation pass failed: ${(err as Error).message}`);
    }
  }
  return { method: ALLOCATION_METHOD, scenario: p.scenario.name, durationS: p.durationS, variants };
}
