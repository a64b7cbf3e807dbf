import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../../services/common/src/project.js";
import { listenerPid, type Service } from "../engine/launcher.js";
import { serviceEnv, startExchangeService, startExecutorService } from "../engine/stack.js";
import { serviceCommand } from "../engine/systems.js";
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

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
  });

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
    if (exited) throw new Error(`the service exited before the allocation agent wrote its count; its log ends:\n${service.logTail(10)}`);
    if (Date.now() > deadline) throw new Error(`the allocation agent wrote no ${file} within ${timeoutMs / 1000} s of the second SIGUSR2; the service's log ends:\n${service.logTail(10)}`);
    await new Promise((r) => setTimeout(r, 100));
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

/** One variant: its service with the agent, the load, the two signals, the agent's count. */
async function passOne(p: AllocationPassPlan, v: Variant, trialRps: number[]): Promise<AllocationVariant> {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-alloc-"));
  const base = join(dir, "alloc");
  const env = serviceEnv(p.baseEnv);
  const options = [env.NODE_OPTIONS, `--import ${agentUrl()}`].filter(Boolean).join(" ");
  const exchange = await startExchangeService(p.scenario.exchangeArgs({ durationS: p.durationS, wsClients: 0 }), env, p.readyTimeoutMs);
  let exe: Service | undefined;
  try {
    exe = await startExecutorService(exchange.url, harnessOf(v).executorEnv, { ...env, NODE_OPTIONS: options, PERFPACK_ALLOC_FILE: base }, p.readyTimeoutMs, 0, v.system);
    // a team's service may sit under a shell or npm: signal the process that serves the port
    const pid = (serviceCommand(v.system) ? listenerPid(Number(new URL(exe.url).port), exe.pid) : undefined) ?? exe.servicePid;
    // SIGUSR2 ends a process that has no handler: signal only one that loaded the agent
    if (!existsSync(`${base}.${pid}.ready`))
      throw new Error(
        `the service (pid ${pid}) did not load the allocation agent: it is not a Node.js process, or its start command does not pass NODE_OPTIONS on (the agent comes in as NODE_OPTIONS=--import ${agentUrl()})`,
      );
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    p.signal?.addEventListener("abort", onAbort, { once: true });
    let t0 = 0;
    try {
      // the idle window: what the service allocates with no request in flight
      process.kill(pid, "SIGUSR2");
      const i0 = performance.now();
      await sleep(p.durationS * 1000, ac.signal);
      if (ac.signal.aborted) throw new Error("interrupted");
      process.kill(pid, "SIGUSR2");
      const idleS = (performance.now() - i0) / 1000;
      const idle = await waitForFile(`${base}.${pid}.1.json`, exe, 120_000);
      if (idle.error) throw new Error(`V8's allocation tracker failed: ${idle.error}`);
      const backgroundPerS = idle.objects / (idle.windowMs / 1000 || idleS);
      const r = await p.scenario.run({
        target: { executorUrl: exe.url, exchangeUrl: exchange.url, toggles: v.env },
        durationS: p.durationS,
        warmupS: p.warmupS,
        connections: p.connections,
        rate: undefined,
        wsClients: 0,
        requests: p.requests,
        signal: ac.signal,
        measureStart: async () => {
          process.kill(pid, "SIGUSR2");
          t0 = performance.now();
        },
        log: () => {},
      });
      const loadS = (performance.now() - t0) / 1000;
      if (ac.signal.aborted) throw new Error("interrupted");
      process.kill(pid, "SIGUSR2");
      const got = await waitForFile(`${base}.${pid}.2.json`, exe, 120_000);
      if (got.error) throw new Error(`V8's allocation tracker failed: ${got.error}`);
      if (r.work === 0) throw new Error("no request was answered during the allocation pass");
      const windowS = got.windowMs / 1000;
      const backgroundBytesPerS = idle.bytes / (idle.windowMs / 1000 || idleS);
      const objectsPerRequest = Math.max(0, got.objects - backgroundPerS * windowS) / r.work;
      const bytesPerRequest = Math.max(0, got.bytes - backgroundBytesPerS * windowS) / r.work;
      const rps = trialRps.length > 0 ? median(trialRps) : undefined;
      const at = (x: number) => objectsPerRequest * x + backgroundPerS;
      return {
        objects: got.objects,
        bytes: got.bytes,
        requests: r.work,
        windowS,
        passRps: r.work / loadS,
        backgroundObjectsPerS: backgroundPerS,
        objectsPerRequest,
        bytesPerRequest,
        ...(rps !== undefined ? { trialRps: rps, objectsPerS: at(rps), objectsPerSRange: [at(Math.min(...trialRps)), at(Math.max(...trialRps))] as [number, number] } : {}),
        top: got.top,
      };
    } finally {
      p.signal?.removeEventListener("abort", onAbort);
    }
  } finally {
    if (exe) await exe.stop(2000);
    await exchange.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The pass on each candidate variant (those the targets table is evaluated on), after the
 * trials in `ran`. A variant whose pass fails records why; the run's results stand.
 */
export async function allocationPass(p: AllocationPassPlan, ran: Results): Promise<AllocationRecord> {
  const variants: AllocationRecord["variants"] = {};
  for (const v of p.variants) {
    if (p.signal?.aborted) break;
    const rps = ran.trials.filter((t) => t.variant === v.name && t.scenario === p.scenario.name && t.status === "ok").map((t) => t.metrics.rps!);
    p.log(`allocation pass: ${v.name} under the ${p.scenario.name} scenario's load for ${p.durationS} s, V8's allocation tracker on …`);
    try {
      const a = await passOne(
        p,
        v,
        rps.filter((x) => Number.isFinite(x)),
      );
      variants[v.name] = a;
      p.log(
        `  idle ${n(a.backgroundObjectsPerS)} objects/s; under load ${n(a.objectsPerRequest)} objects/request beyond that (${n(a.requests)} requests at ${n(a.passRps)} req/s under the tracker)` +
          (a.objectsPerS !== undefined ? `; at the trials' ${n(a.trialRps!)} req/s: ${n(a.objectsPerS)} objects/s` : ""),
      );
    } catch (err) {
      variants[v.name] = { error: (err as Error).message };
      p.log(`  the allocation pass failed: ${(err as Error).message}`);
    }
  }
  return { method: ALLOCATION_METHOD, scenario: p.scenario.name, durationS: p.durationS, variants };
}
