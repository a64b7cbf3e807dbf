import { join, resolve } from "node:path";
import { isLoopbackHost } from "../../services/common/src/http-util.js";
import { QUICK, RUN_DEFAULTS } from "./defaults.js";
import { PROFILE_TOOLS, type RunFlags } from "./options.js";

export type { RunFlags };
import {
  ablation,
  LOAD_GENERATOR,
  matrixVariants,
  parseBandwidth,
  parseEnvArg,
  parseGenerator,
  parseMatrixArg,
  parseRtt,
  presets,
  unknownKeys,
  UPSTREAM_BANDWIDTH,
  UPSTREAM_RTT,
  validateVariants,
  withHarness,
  type Variant,
} from "./variants.js";
import { UsageError } from "../errors.js";
import { resolveRequests } from "./requests.js";
import type { RequestSpec } from "../load/request.js";

/** A validated, fully specified run. */
export interface RunConfig {
  variants: Variant[];
  scenarios: string[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  rate: number | undefined;
  wsClients: number;
  /** --ws-rate: the ws scenario's market feed, msg/s (undefined: the scenario's 500). */
  wsRate: number | undefined;
  quick: boolean;
  /** --env, already merged into every variant's env; kept to show what the user added. */
  extraEnv: Record<string, string>;
  target: string | undefined;
  runId: string;
  outDir: string;
  /** reports/latest is pointed at outDir only when the run uses the default location. */
  updateLatest: boolean;
  warnings: string[];
  /** --profile: after the measured trials, each variant's flamegraph with this tool (not during them: a profiler distorts what it measures). */
  profile: (typeof PROFILE_TOOLS)[number] | undefined;
  /** A service that is not ready (listening, and /health answering with its pid) by then fails its trial. */
  readyTimeoutMs: number;
  /** --soak: seconds of steady load on the optimized variant (then the plan is that one trial). */
  soakS: number | undefined;
  /** --warm: each variant's services run from its first trial to the end; trials are slices of load on them. */
  warm: boolean;
  /** The allocation pass runs after the trials: the latency scenario is in the run, perfpack launches the services, no --skip-allocation. */
  allocation: boolean;
  /** The request of each scenario that sends one: `requests` over the scenario's default, with --header. */
  requests: Record<string, RequestSpec>;
  /** --max-errors: a trial whose failed share of requests is over this fails. */
  maxErrors: number;
  /** --design: one variant at a time, or every variant of a round and scenario at once (duet). */
  design: "alternate" | "duet";
  /** --duet-exchange: under duet, one mock exchange for every arm (shared) or one each. */
  duetExchange: "shared" | "each";
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** Several values of a harness variable multiply the variants, each named +label=value. */
const axis = (variants: Variant[], values: readonly string[], key: string, label = key): Variant[] =>
  values.length > 1 ? variants.flatMap((v) => values.map((x) => ({ ...v, name: `${v.name}+${label}=${x}`, env: { ...v.env, [key]: x } }))) : variants;

/** A flag that sets a harness variable: its comma-separated values, each checked (exit 2 naming what is accepted). */
function harnessFlag(flag: string, raw: string | undefined, parse: (v: string) => unknown, expected: string): string[] {
  if (raw === undefined) return [];
  const values = list(raw);
  if (values.length === 0) throw new UsageError(`${flag} is empty: expected ${expected}`);
  if (new Set(values).size !== values.length) throw new UsageError(`${flag} names a value twice: ${raw}`);
  for (const v of values) parse(v);
  return values;
}

function number(flag: string, raw: string | undefined, fallback: number, o: { integer: boolean; min: number; max: number }): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < o.min || n > o.max || (o.integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} ${JSON.stringify(raw)} is not valid: expected ${o.integer ? "an integer" : "a number"} from ${o.min} to ${o.max}`);
  }
  return n;
}

export const newRunId = (d = new Date()): string => d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15) + "-" + Math.random().toString(36).slice(2, 6);

/** `90s`, `10m`, `1h`, `1500ms` or plain seconds. */
export function parseDuration(flag: string, raw: string, minS: number, maxS: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const n = m ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as const)[(m[2] ?? "s") as "ms" | "s" | "m" | "h"] : NaN;
  if (!(n >= minS && n <= maxS)) {
    throw new UsageError(`${flag} ${JSON.stringify(raw)} is not valid: expected a duration from ${minS} s to ${maxS / 3600} h, such as 90s, 10m or 1h (plain numbers are seconds)`);
  }
  return n;
}

/** Scenarios that only their own flag selects (not part of "all"). */
const SOAK = "soak";

/** Validates the flags once, at the edge; every message names the flag and what it accepts. */
export function resolveRunConfig(
  f: RunFlags,
  allScenarioNames: readonly string[],
  o: { cwd?: string; now?: Date; env?: Readonly<NodeJS.ProcessEnv>; requestDefaults?: Readonly<Record<string, RequestSpec>> } = {},
): RunConfig {
  const cwd = o.cwd ?? ".";
  const warnings: string[] = [];
  const scenarioNames = allScenarioNames.filter((n) => n !== SOAK);
  let soakS: number | undefined;
  if (f.soak !== undefined) {
    const clash = [
      ["--variants", f.variants],
      ["--ablation", f.ablation],
      ["--matrix", f.matrix?.length],
      ["--scenarios", f.scenarios],
      ["--rounds", f.rounds],
      ["--duration", f.duration],
      ["--target", f.target],
      ["--profile", f.profile],
    ]
      .filter(([, v]) => v)
      .map(([k]) => k);
    if (clash.length) throw new UsageError(`--soak runs the optimized variant alone, for its own duration: it cannot combine with ${clash.join(", ")}`);
    if (!allScenarioNames.includes(SOAK)) throw new UsageError("this perfpack has no soak scenario");
    soakS = parseDuration("--soak", f.soak, 2, 24 * 3600);
  }
  const d = f.quick ? { ...RUN_DEFAULTS, ...QUICK } : RUN_DEFAULTS;

  // --target first: a remote target is refused before anything else happens, and before any connection
  let target: string | undefined;
  if (f.target !== undefined) {
    let u: URL;
    try {
      u = new URL(f.target);
    } catch {
      throw new UsageError(`--target ${JSON.stringify(f.target)} is not a URL: expected e.g. http://127.0.0.1:4001`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--target ${f.target}: only http:// and https:// targets are supported`);
    if (!isLoopbackHost(u.hostname) && !f.allowRemote) {
      throw new UsageError(`--target ${f.target} is not on loopback (127.0.0.0/8, ::1, localhost); perfpack refuses remote targets unless --allow-remote is given`);
    }
    if (f.variants || f.ablation || (f.matrix?.length ?? 0) > 0 || (f.env?.length ?? 0) > 0) {
      throw new UsageError("--target drives an executor that is already running, with its own toggles: --variants, --ablation, --matrix and --env cannot apply to it");
    }
    target = u.origin;
  }

  const scenarios = soakS !== undefined ? [SOAK] : f.scenarios === undefined || f.scenarios.trim() === "all" ? [...scenarioNames] : list(f.scenarios);
  if (scenarios.length === 0) throw new UsageError(`--scenarios is empty: valid scenarios are ${scenarioNames.join(", ")}`);
  for (const s of soakS !== undefined ? [] : scenarios) {
    if (s === SOAK) throw new UsageError("the soak scenario runs with --soak DURATION (e.g. --soak 10m), not through --scenarios");
    if (!scenarioNames.includes(s)) throw new UsageError(`unknown scenario ${JSON.stringify(s)}: valid scenarios are ${scenarioNames.join(", ")}`);
  }
  if (new Set(scenarios).size !== scenarios.length) throw new UsageError(`--scenarios names a scenario twice: ${f.scenarios}`);

  const extraEnv = Object.fromEntries((f.env ?? []).map(parseEnvArg));
  // --upstream-rtt, --upstream-bandwidth, --generator: one value is part of every variant; several are an axis of their own
  const rtts = harnessFlag("--upstream-rtt", f.upstreamRtt, parseRtt, "MS or MS:JITTER, e.g. --upstream-rtt 50 or --upstream-rtt 0,10,50");
  const bandwidths = harnessFlag("--upstream-bandwidth", f.upstreamBandwidth, parseBandwidth, "megabits per second, e.g. --upstream-bandwidth 100");
  for (const [flag, values] of [
    ["--upstream-rtt", rtts],
    ["--upstream-bandwidth", bandwidths],
  ] as const)
    if (values.length > 0 && f.target !== undefined) throw new UsageError(`${flag} puts a link between the executor and the exchange perfpack launches; --target launches neither`);
  if (rtts.length === 1) extraEnv[UPSTREAM_RTT] = rtts[0]!;
  if (bandwidths.length === 1) extraEnv[UPSTREAM_BANDWIDTH] = bandwidths[0]!;
  const gens = harnessFlag("--generator", f.generator, parseGenerator, "perfpack or artillery").map(parseGenerator);
  if (gens.length === 1 && gens[0] !== "perfpack") extraEnv[LOAD_GENERATOR] = gens[0]!;
  const inProcess = scenarios.filter((s) => s === "json" || s === SOAK);
  if (gens.includes("artillery") && inProcess.length)
    warnings.push(`--generator artillery: ${inProcess.join(", ")} run${inProcess.length > 1 ? "" : "s"} in perfpack's process as always (no load to hand to Artillery)`);
  if (gens.includes("artillery") && f.target !== undefined)
    throw new UsageError("--generator artillery drives the services perfpack launches; with --target, export the scripts instead (perfpack export artillery --target URL)");
  const unknown = unknownKeys(extraEnv);
  if (unknown.length) warnings.push(`--env ${unknown.join(", ")}: not an executor variable; passed through to the executor's environment unchecked`);

  let variants: Variant[];
  if (target) {
    variants = [{ name: "target", kind: "target", env: {} }];
  } else {
    const generated = [...(f.ablation ? ablation() : []), ...matrixVariants((f.matrix ?? []).map(parseMatrixArg))];
    const pool = [...presets(), ...generated.filter((g) => g.name !== "baseline" && g.name !== "optimized")];
    if (f.variants !== undefined) {
      const names = list(f.variants);
      if (names.length === 0) throw new UsageError(`--variants is empty: valid variants are ${pool.map((v) => v.name).join(", ")}`);
      variants = names.map((n) => {
        const v = pool.find((p) => p.name === n);
        if (!v) throw new UsageError(`unknown variant ${JSON.stringify(n)}: valid variants are ${pool.map((p) => p.name).join(", ")}`);
        return v;
      });
      if (new Set(names).size !== names.length) throw new UsageError(`--variants names a variant twice: ${f.variants}`);
    } else if (generated.length > 0) {
      // ablation is baseline plus one toggle at a time; a matrix is its own cross product
      variants = [...(f.ablation ? [presets()[0]!] : []), ...generated];
    } else if (soakS !== undefined) {
      variants = presets().filter((p) => p.name === "optimized");
    } else {
      variants = presets();
    }
    // --env is part of every variant: what is printed, recorded and launched is the same env
    variants = variants.map((v) => ({ ...v, env: { ...v.env, ...extraEnv } }));
    variants = axis(axis(axis(variants, rtts, UPSTREAM_RTT), bandwidths, UPSTREAM_BANDWIDTH), gens, LOAD_GENERATOR, "generator");
    validateVariants(variants);
    // perfpack's own variables, parsed once: the runner reads the link and the generator off the variant
    variants = variants.map(withHarness);
  }

  const runId = newRunId(o.now);
  // the user's directory, not perfpack's: reports/<run-id> where they ran it
  const outDir = resolve(cwd, f.out ?? join(RUN_DEFAULTS.outRoot, runId));
  return {
    variants,
    scenarios,
    rounds: soakS !== undefined ? 1 : number("--rounds", f.rounds, d.rounds, { integer: true, min: 1, max: 1000 }),
    durationS: soakS ?? number("--duration", f.duration, d.durationS, { integer: false, min: 0.2, max: 86_400 }),
    warmupS: number("--warmup", f.warmup, d.warmupS, { integer: false, min: 0, max: 3600 }),
    connections: number("--connections", f.connections, d.connections, { integer: true, min: 1, max: 10_000 }),
    rate: f.rate === undefined ? undefined : number("--rate", f.rate, 0, { integer: false, min: 0.1, max: 1_000_000 }),
    wsClients: (() => {
      const n = number("--ws-clients", f.wsClients, d.wsClients, { integer: true, min: 0, max: 10_000 });
      // 0 is for a soak of a service that has no market stream; the ws scenario needs a subscriber
      if (n === 0 && scenarios.includes("ws")) throw new UsageError("--ws-clients 0 leaves the ws scenario no subscriber to measure: 0 is for a soak of a service without a WebSocket stream");
      return n;
    })(),
    wsRate: f.wsRate === undefined ? undefined : number("--ws-rate", f.wsRate, 0, { integer: true, min: 1, max: 100_000 }),
    quick: f.quick === true,
    warm: (() => {
      if (f.warm !== true) return false;
      if (target) throw new UsageError("--warm keeps launched services running between trials; --target launches none");
      return true;
    })(),
    allocation: f.skipAllocation !== true && scenarios.includes("latency") && !target && soakS === undefined,
    extraEnv,
    target,
    runId,
    outDir,
    updateLatest: f.out === undefined,
    soakS,
    readyTimeoutMs: number("--ready-timeout", f.readyTimeout, d.readyTimeoutMs / 1000, { integer: false, min: 0.5, max: 600 }) * 1000,
    requests: resolveRequests(f.requests, f.header ?? [], o.requestDefaults ?? {}, o.env ?? process.env),
    maxErrors: number("--max-errors", f.maxErrors, d.maxErrors, { integer: false, min: 0, max: 1 }),
    design: (() => {
      const v = f.design ?? "alternate";
      if (v !== "alternate" && v !== "duet") throw new UsageError(`--design ${JSON.stringify(v)} is not valid: expected alternate or duet`);
      if (v === "duet" && target) throw new UsageError("--design duet starts every arm's executor on one exchange; --target drives one executor that is already running");
      if (v === "duet" && gens.includes("artillery"))
        throw new UsageError("--design duet starts the arms' load together; --generator artillery starts a child per trial, whose start-up cannot be aligned: use --design alternate");
      return v;
    })(),
    duetExchange: (() => {
      const v = f.duetExchange ?? "shared";
      if (v !== "shared" && v !== "each") throw new UsageError(`--duet-exchange ${JSON.stringify(v)} is not valid: expected shared or each`);
      if (f.duetExchange !== undefined && f.design !== "duet") throw new UsageError("--duet-exchange goes with --design duet: it says whether the duet's arms share one mock exchange");
      return v;
    })(),
    warnings,
    profile: (() => {
      if (f.profile === undefined) return undefined;
      if (!(PROFILE_TOOLS as readonly string[]).includes(f.profile)) throw new UsageError(`--profile ${JSON.stringify(f.profile)} is not valid: tools are ${PROFILE_TOOLS.join(", ")}`);
      if (target) throw new UsageError("--profile needs to launch the executor; it cannot apply to --target");
      return f.profile as (typeof PROFILE_TOOLS)[number];
    })(),
  };
}
