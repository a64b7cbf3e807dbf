/**
 * Two arms under cpuprof at once: both services up on one exchange, each under V8's CPU profiler
 * (the bundled executor with --cpu-prof, a team's service through the preloaded agent), loaded
 * together with the load split between them, as the gate's own duet measures them. The gate's
 * weather hits both profiles alike. Each arm's .cpuprofile is kept with the units of work it
 * completed meanwhile, so its figures can be read per unit of work.
 */
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LaunchError, type Service } from "../engine/launcher.js";
import { scenarioContext, serviceEnv, startRig, type ExecutorWrap, type Rig } from "../engine/rig.js";
import { harnessOf, type Variant } from "../plan/variants.js";
import { RUN_DEFAULTS } from "../plan/defaults.js";
import { duetSplit } from "../plan/order.js";
import type { LiveRequest, Scenario, ScenarioResult } from "../../scenarios/contract.js";
import { seededRandom } from "../../services/common/src/rng.js";
import { cpuMs, findFiles, mainThreadCpuMs, toolFinished, toolWrap } from "./profiler.js";
import { notNodeReason, processImage } from "./runtime.js";
import { checkSamples, countSamples, V8_SAMPLE_MS, type SampleCheck } from "./samples.js";

/** A duet profile to take: the two arms, the scenario's load, and its bounds. */
export interface DuetProfilePlan {
  reference: Variant;
  candidate: Variant;
  scenario: Scenario;
  /** The folder that gets flame/reference.cpuprofile and flame/candidate.cpuprofile. */
  out: string;
  /** The whole profile's wall time, start-up and the profiles' writing included; the load gets what is left. */
  capS: number;
  /** The run's load: its connections and subscribers are split between the arms, its rate too. */
  connections: number;
  wsClients: number;
  wsRate?: number;
  rate: number | undefined;
  requests: Readonly<Record<string, LiveRequest>>;
  readyTimeoutMs: number;
  /** The duet's split (which arm gets a remainder connection). */
  seed: number;
  env: Readonly<NodeJS.ProcessEnv>;
  /** Ends it (Ctrl-C, or the caller's deadline): the services stop at once. */
  signal?: AbortSignal;
  log(line: string): void;
}

export type Role = "reference" | "candidate";

/**
 * The load's window on the monotonic clock (process.hrtime, µs), which V8 stamps a .cpuprofile's
 * samples with, so that start-up and shutdown are not charged to the units of work; and the
 * service's main-thread CPU time over it (Linux /proc), when it was read.
 */
export interface LoadWindow {
  startUs: number;
  endUs: number;
  cpuMs?: number;
}

/** One arm's profile: where it is, what it recorded, and the work it did. */
export interface DuetArmProfile {
  role: Role;
  variant: string;
  /** <out>/flame/<role>.cpuprofile */
  file: string;
  units: number;
  unit: ScenarioResult["workUnit"];
  window: LoadWindow;
  check: SampleCheck;
}

export interface DuetProfile {
  reference: DuetArmProfile;
  candidate: DuetArmProfile;
  loadS: number;
}

/** A profile that could not be taken, said in one line (a service that is not Node, the cap, a failure). */
export class DuetProfileError extends Error {}

/** Seconds kept from the cap for stopping both services and their profiles' writing. */
const WRITE_RESERVE_S = 3;
/** Fewer seconds of load than this would sample too little to say anything. */
const MIN_LOAD_S = 2;

const ROLES: readonly Role[] = ["reference", "candidate"];

/** Both arms under cpuprof on one rig, loaded at once; their profiles in <out>/flame/. */
export async function profileDuet(plan: DuetProfilePlan): Promise<DuetProfile> {
  const t0 = performance.now();
  const flame = join(plan.out, "flame");
  const dirs = ROLES.map((role) => join(flame, `.${role}`));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  try {
    const rig = await startArms(plan, dirs);
    const stop = () => void rig.interrupt(RUN_DEFAULTS.interruptGraceMs);
    plan.signal?.addEventListener("abort", stop, { once: true });
    try {
      const exes = rig.arms.map((a) => a.stack!.executor);
      assertNode(exes);
      const loadS = plan.capS - (performance.now() - t0) / 1000 - WRITE_RESERVE_S;
      if (loadS < MIN_LOAD_S)
        throw new DuetProfileError(
          `the services took ${((performance.now() - t0) / 1000).toFixed(1)} s to start under cpuprof, which leaves less than ${MIN_LOAD_S} s of load within the ${plan.capS} s cap (--profile-cap)`,
        );
      plan.log(`both arms under cpuprof, ${loadS.toFixed(1)} s of ${plan.scenario.name} load split between them …`);
      const opened = exes.map((e) => ({ us: monotonicUs(), cpu: mainThreadCpuMs(e.servicePid) }));
      const results = await loadBoth(plan, rig, loadS);
      const windows = exes.map((e, i): LoadWindow => {
        const cpu = mainThreadCpuMs(e.servicePid);
        const cpu0 = opened[i]!.cpu;
        return {
          startUs: opened[i]!.us,
          endUs: monotonicUs(),
          ...(cpu !== undefined && cpu0 !== undefined ? { cpuMs: cpu - cpu0 } : {}),
        };
      });
      const arms = await Promise.all(
        ROLES.map((role, i) =>
          collect(plan, role, dirs[i]!, exes[i]!, { result: results[i]!, window: windows[i]! }, performance.now() - t0),
        ),
      );
      return { reference: arms[0]!, candidate: arms[1]!, loadS };
    } finally {
      plan.signal?.removeEventListener("abort", stop);
      await rig.stop(plan.signal?.aborted ? RUN_DEFAULTS.interruptGraceMs : 2000);
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** The monotonic clock, µs: V8's profiler stamps its samples with the same (CLOCK_MONOTONIC, system-wide). */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * A service under cpuprof with V8's inlining off: a small function keeps its own frame rather than
 * being charged to the caller it was inlined into, which is what "where the time went" asks
 * (measured on a team's service: a 2.7 s hash loop was all in its request handler's frame with
 * inlining, all in its own without, at about the same request rate). Both arms alike; the gate's
 * own figures were measured with inlining on. The bundled executor's node gets the V8 flag; a
 * team's service gets it from the preloaded agent (PERFPACK_CPUPROF_NO_INLINE).
 */
export function withoutInlining(wrap: ExecutorWrap): ExecutorWrap {
  return (start, service) => {
    const s = wrap(start, service);
    return service
      ? { ...s, env: { ...s.env, PERFPACK_CPUPROF_NO_INLINE: "1" } }
      : { ...s, args: ["--no-turbo-inlining", ...s.args] };
  };
}

/** Both services under cpuprof on one exchange; a service that did not start says why in one line. */
async function startArms(plan: DuetProfilePlan, dirs: readonly string[]): Promise<Rig> {
  const arms = [plan.reference, plan.candidate].map((v, i) => {
    const { executorEnv, link } = harnessOf(v);
    const wrap = withoutInlining(toolWrap("cpuprof", dirs[i]!));
    return { name: v.name, toggles: v.env, executorEnv, link, system: v.system, wrap };
  });
  try {
    return await startRig({
      arms,
      exchangeArgs: plan.scenario.exchangeArgs({
        durationS: plan.capS,
        wsClients: plan.wsClients,
        wsRate: plan.wsRate,
      }),
      baseEnv: serviceEnv(plan.env),
      readyTimeoutMs: plan.readyTimeoutMs,
    });
  } catch (err) {
    if (err instanceof LaunchError)
      throw new DuetProfileError(`${err.message}${err.logTail ? `: ${lastLine(err.logTail)}` : ""}`);
    throw err;
  }
}

const lastLine = (log: string): string => log.trim().split("\n").at(-1) ?? "";

/** Before any load: each arm's listening process must be Node, or cpuprof records nothing of it. */
function assertNode(exes: readonly Service[]): void {
  for (const exe of exes) {
    const image = processImage(exe.servicePid);
    const why = image && notNodeReason(image);
    if (why) throw new DuetProfileError(why);
  }
}

/** The scenario on both arms at once, the load split between them (warm-up none: every sample is under load or start-up). */
async function loadBoth(plan: DuetProfilePlan, rig: Rig, loadS: number): Promise<ScenarioResult[]> {
  const split = duetSplit(
    rig.arms.map((a) => a.name),
    plan.connections,
    plan.wsClients,
    seededRandom(plan.seed),
  );
  const ac = new AbortController();
  const onAbort = () => ac.abort(new Error("interrupted"));
  plan.signal?.addEventListener("abort", onAbort, { once: true });
  const watch = rig.watch(ac);
  try {
    const runs = rig.arms.map((arm, i) =>
      plan.scenario.run(
        scenarioContext(
          arm,
          {
            durationS: loadS,
            warmupS: 0,
            connections: split.connections[i]!,
            wsClients: split.wsClients[i]!,
            rate: plan.rate === undefined ? undefined : plan.rate / rig.arms.length,
            requests: plan.requests,
          },
          { signal: ac.signal, measureStart: async () => {}, log: () => {} },
        ),
      ),
    );
    const results = await Promise.all(runs);
    if (watch.death) throw new DuetProfileError(`${watch.death.service} exited while it was profiled`);
    if (plan.signal?.aborted) throw new DuetProfileError("interrupted");
    return results;
  } catch (err) {
    if (watch.death) throw new DuetProfileError(`${watch.death.service} exited while it was profiled`);
    throw err;
  } finally {
    plan.signal?.removeEventListener("abort", onAbort);
  }
}

/** One arm after the load: its service told to exit (cpuprof writes then), its profile moved to flame/<role>.cpuprofile and checked. */
async function collect(
  plan: DuetProfilePlan,
  role: Role,
  dir: string,
  exe: Service,
  { result, window }: { result: ScenarioResult; window: LoadWindow },
  wallMs: number,
): Promise<DuetArmProfile> {
  const busyMs = Math.min(await cpuMs(exe.servicePid), wallMs);
  const exit = await toolFinished(exe, "cpuprof");
  // the agent writes a profile per Node process under it (npm's too): the service's is the one
  const found = findFiles(dir, /\.cpuprofile$/);
  const mine = found.find((f) => f.endsWith(`.${exe.servicePid}.cpuprofile`) || f.includes(`.${exe.servicePid}.`));
  const chosen = mine ?? (found.length === 1 ? found[0] : undefined);
  const variant = (role === "reference" ? plan.reference : plan.candidate).name;
  if (!chosen)
    throw new DuetProfileError(
      `${variant}'s service wrote no .cpuprofile (exit code ${exit.code}, signal ${exit.signal}): its start command may not pass NODE_OPTIONS on to node`,
    );
  const file = join(plan.out, "flame", `${role}.cpuprofile`);
  renameSync(chosen, file);
  const { count } = await countSamples(file);
  return {
    role,
    variant,
    file,
    units: result.work,
    unit: result.workUnit,
    window,
    check: checkSamples(count, "cpu", busyMs, V8_SAMPLE_MS),
  };
}
