import { join, resolve } from "node:path";
import { isLoopbackHost } from "../../services/common/src/http-util.js";
import { QUICK, RUN_DEFAULTS } from "./defaults.js";
import { Given, type Sources } from "./file.js";
import {
  flagOf,
  RUN_OPTIONS,
  type DESIGNS,
  type DUET_EXCHANGES,
  type PROFILE_TOOLS,
  type RunFlags,
} from "./options.js";

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
import type { Generator } from "../load/generators.js";
import { UsageError } from "../errors.js";
import { resolveRequests } from "./requests.js";
import type { CapacityConfig } from "./capacity-config.js";
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
  /** --stop-grace, in ms. */
  stopGraceMs: number;
  /** --warm: each variant's services run from its first trial to the end; trials are slices of load on them. */
  warm: boolean;
  /**
   * --capacity: after the trials, a capacity search of the run's rate scenarios (latency, batch),
   * its SLO and resolution from the config file or each scenario's guide target; undefined: none.
   */
  capacity?: CapacityConfig;
  /** --history: the store the finished run (or gate) is appended to. */
  history?: string;
  /** The allocation pass runs after the trials: the latency scenario is in the run, perfpack launches the services, no --skip-allocation. */
  allocation: boolean;
  /** The request of each scenario that sends one: `requests` over the scenario's default, with --header. */
  requests: Record<string, RequestSpec>;
  /** --max-errors: a trial whose failed share of requests is over this fails. */
  maxErrors: number;
  /** --design: one variant at a time, or every variant of a round and scenario at once (duet). */
  design: (typeof DESIGNS)[number];
  /** --duet-exchange: under duet, one mock exchange for every arm (shared) or one each. */
  duetExchange: (typeof DUET_EXCHANGES)[number];
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** Several values of a harness variable multiply the variants, each named +label=value. */
const axis = (variants: Variant[], values: readonly string[], key: string, label = key): Variant[] =>
  values.length > 1
    ? variants.flatMap((v) =>
        values.map((x) => ({ ...v, name: `${v.name}+${label}=${x}`, env: { ...v.env, [key]: x } })),
      )
    : variants;

/** A flag that sets a harness variable: its comma-separated values, each checked (exit 2 naming what is accepted). */
function harnessFlag(flag: string, raw: string | undefined, parse: (v: string) => unknown, expected: string): string[] {
  if (raw === undefined) return [];
  const values = list(raw);
  if (values.length === 0) throw new UsageError(`${flag} is empty: expected ${expected}`);
  if (new Set(values).size !== values.length) throw new UsageError(`${flag} names a value twice: ${raw}`);
  for (const v of values) parse(v);
  return values;
}

export const newRunId = (d = new Date()): string =>
  d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15) + "-" + Math.random().toString(36).slice(2, 6);

/** Scenarios that only their own flag selects (not part of "all"). */
const SOAK = "soak";

/** What --soak cannot combine with: it runs the optimized variant alone, for its own duration. */
const SOAK_CLASHES = [
  "variants",
  "ablation",
  "matrix",
  "scenarios",
  "rounds",
  "duration",
  "target",
  "profile",
] as const;

/** --soak: its seconds of steady load, or undefined without it. */
function soakSeconds(g: Given<RunFlags>, allScenarioNames: readonly string[]): number | undefined {
  if (g.f.soak === undefined) return undefined;
  const clash = SOAK_CLASHES.filter((k) => {
    const v = g.f[k];
    return Array.isArray(v) ? v.length > 0 : Boolean(v);
  }).map((k) => flagOf(RUN_OPTIONS[k]));
  if (clash.length)
    throw g.error(
      "soak",
      `--soak runs the optimized variant alone, for its own duration: it cannot combine with ${clash.join(", ")}`,
    );
  if (!allScenarioNames.includes(SOAK)) throw g.error("soak", "this perfpack has no soak scenario");
  return g.duration("soak");
}

/** --target: the origin of an executor that is already running (loopback unless --allow-remote), which takes no toggles. */
function targetOrigin(g: Given<RunFlags>): string | undefined {
  const { f } = g;
  if (f.target === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(f.target);
  } catch {
    throw g.error("target", `--target ${JSON.stringify(f.target)} is not a URL: expected e.g. http://127.0.0.1:4001`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw g.error("target", `--target ${f.target}: only http:// and https:// targets are supported`);
  if (!isLoopbackHost(u.hostname) && !f.allowRemote) {
    throw g.error(
      "target",
      `--target ${f.target} is not on loopback (127.0.0.0/8, ::1, localhost); perfpack refuses remote targets unless --allow-remote is given`,
    );
  }
  if (f.variants || f.ablation || (f.matrix?.length ?? 0) > 0 || (f.env?.length ?? 0) > 0) {
    throw g.error(
      "target",
      "--target drives an executor that is already running, with its own toggles: --variants, --ablation, --matrix and --env cannot apply to it",
    );
  }
  return u.origin;
}

/** --scenarios (all: every registered one but soak), or the soak alone. */
function scenarioList(g: Given<RunFlags>, allScenarioNames: readonly string[], soak: boolean): string[] {
  if (soak) return [SOAK];
  const raw = g.f.scenarios;
  const names = allScenarioNames.filter((n) => n !== SOAK);
  const scenarios = raw === undefined || raw.trim() === "all" ? [...names] : list(raw);
  if (scenarios.length === 0)
    throw g.error("scenarios", `--scenarios is empty: valid scenarios are ${names.join(", ")}`);
  for (const s of scenarios) {
    if (s === SOAK)
      throw g.error(
        "scenarios",
        "the soak scenario runs with --soak DURATION (e.g. --soak 10m), not through --scenarios",
      );
    if (!names.includes(s))
      throw g.error("scenarios", `unknown scenario ${JSON.stringify(s)}: valid scenarios are ${names.join(", ")}`);
  }
  if (new Set(scenarios).size !== scenarios.length)
    throw g.error("scenarios", `--scenarios names a scenario twice: ${raw}`);
  return scenarios;
}

/** What the run adds to every variant's env (--env, one value of a harness flag), and the harness flags' axes (several values). */
interface Additions {
  env: Record<string, string>;
  rtts: string[];
  bandwidths: string[];
  gens: Generator[];
}

/** --env, --upstream-rtt, --upstream-bandwidth, --generator: one value is part of every variant; several are an axis of their own. */
function additions(
  g: Given<RunFlags>,
  target: string | undefined,
  scenarios: readonly string[],
  warnings: string[],
): Additions {
  const { f } = g;
  const env = Object.fromEntries(g.check("env", () => (f.env ?? []).map(parseEnvArg)));
  const rtts = g.check("upstreamRtt", () =>
    harnessFlag(
      "--upstream-rtt",
      f.upstreamRtt,
      parseRtt,
      "MS or MS:JITTER, e.g. --upstream-rtt 50 or --upstream-rtt 0,10,50",
    ),
  );
  const bandwidths = g.check("upstreamBandwidth", () =>
    harnessFlag(
      "--upstream-bandwidth",
      f.upstreamBandwidth,
      parseBandwidth,
      "megabits per second, e.g. --upstream-bandwidth 100",
    ),
  );
  for (const [key, values] of [
    ["upstreamRtt", rtts],
    ["upstreamBandwidth", bandwidths],
  ] as const)
    if (values.length > 0 && target !== undefined)
      throw g.error(
        key,
        `${flagOf(RUN_OPTIONS[key])} puts a link between the executor and the exchange perfpack launches; --target launches neither`,
      );
  if (rtts.length === 1) env[UPSTREAM_RTT] = rtts[0]!;
  if (bandwidths.length === 1) env[UPSTREAM_BANDWIDTH] = bandwidths[0]!;
  const gens = g.check("generator", () =>
    harnessFlag("--generator", f.generator, parseGenerator, "perfpack or artillery").map(parseGenerator),
  );
  if (gens.length === 1 && gens[0] !== "perfpack") env[LOAD_GENERATOR] = gens[0]!;
  const inProcess = scenarios.filter((s) => s === "json" || s === SOAK);
  if (gens.includes("artillery") && inProcess.length)
    warnings.push(
      `--generator artillery: ${inProcess.join(", ")} run${inProcess.length > 1 ? "" : "s"} in perfpack's process as always (no load to hand to Artillery)`,
    );
  if (gens.includes("artillery") && target !== undefined)
    throw g.error(
      "generator",
      "--generator artillery drives the services perfpack launches; with --target, export the scripts instead (perfpack export artillery --target URL)",
    );
  const unknown = unknownKeys(env);
  if (unknown.length)
    warnings.push(
      `--env ${unknown.join(", ")}: not an executor variable; passed through to the executor's environment unchecked`,
    );
  return { env, rtts, bandwidths, gens };
}

/** --variants: names among the presets and the generated variants (run's, or profile's presets and ablation). */
export function pickVariants(raw: string, pool: readonly Variant[]): Variant[] {
  const names = list(raw);
  if (names.length === 0)
    throw new UsageError(`--variants is empty: valid variants are ${pool.map((v) => v.name).join(", ")}`);
  const picked = names.map((n) => {
    const v = pool.find((p) => p.name === n);
    if (!v)
      throw new UsageError(
        `unknown variant ${JSON.stringify(n)}: valid variants are ${pool.map((p) => p.name).join(", ")}`,
      );
    return v;
  });
  if (new Set(names).size !== names.length) throw new UsageError(`--variants names a variant twice: ${raw}`);
  return picked;
}

/** The variants' env, checked as the executor checks it: a bad variable that --env sets is --env's, else --matrix's. */
function checkEnv(g: Given<RunFlags>, variants: Variant[], env: Record<string, string>): void {
  try {
    validateVariants(variants);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const fromEnv = Object.keys(env).some((k) => new RegExp(`(^|[^A-Za-z0-9_])${k}=`).test(err.message));
    throw g.error(fromEnv || !g.f.matrix?.length ? "env" : "matrix", err.message);
  }
}

/** The variants perfpack launches: picked or generated, each with the run's additions, checked as the executor checks its env. */
function variantList(g: Given<RunFlags>, soak: boolean, add: Additions): Variant[] {
  const { f } = g;
  const generated = [
    ...(f.ablation ? ablation() : []),
    ...g.check("matrix", () => matrixVariants((f.matrix ?? []).map(parseMatrixArg))),
  ];
  const pool = [...presets(), ...generated.filter((v) => v.name !== "baseline" && v.name !== "optimized")];
  const picked =
    f.variants !== undefined
      ? g.check("variants", () => pickVariants(f.variants!, pool))
      : generated.length > 0
        ? // ablation is baseline plus one toggle at a time; a matrix is its own cross product
          [...(f.ablation ? [presets()[0]!] : []), ...generated]
        : presets().filter((p) => !soak || p.name === "optimized");
  // --env is part of every variant: what is printed, recorded and launched is the same env
  const withEnv = picked.map((v) => ({ ...v, env: { ...v.env, ...add.env } }));
  const variants = axis(
    axis(axis(withEnv, add.rtts, UPSTREAM_RTT), add.bandwidths, UPSTREAM_BANDWIDTH),
    add.gens,
    LOAD_GENERATOR,
    "generator",
  );
  checkEnv(g, variants, add.env);
  // perfpack's own variables, parsed once: the runner reads the link and the generator off the variant
  return variants.map(withHarness);
}

/** --ws-clients: 0 is for a soak of a service that has no market stream; the ws scenario needs a subscriber. */
function wsClients(g: Given<RunFlags>, fallback: number, scenarios: readonly string[]): number {
  const n = g.number("wsClients") ?? fallback;
  if (n === 0 && scenarios.includes("ws"))
    throw g.error(
      "wsClients",
      "--ws-clients 0 leaves the ws scenario no subscriber to measure: 0 is for a soak of a service without a WebSocket stream",
    );
  return n;
}

function warm(g: Given<RunFlags>, target: string | undefined): boolean {
  if (g.f.warm !== true) return false;
  if (target) throw g.error("warm", "--warm keeps launched services running between trials; --target launches none");
  return true;
}

function design(g: Given<RunFlags>, target: string | undefined, gens: readonly Generator[]): RunConfig["design"] {
  const v = g.choice<RunConfig["design"]>("design") ?? RUN_DEFAULTS.design;
  if (v === "duet" && target)
    throw g.error(
      "design",
      "--design duet starts every arm's executor on one exchange; --target drives one executor that is already running",
    );
  if (v === "duet" && gens.includes("artillery"))
    throw g.error(
      "design",
      "--design duet starts the arms' load together; --generator artillery starts a child per trial, whose start-up cannot be aligned: use --design alternate",
    );
  return v;
}

function duetExchange(g: Given<RunFlags>): RunConfig["duetExchange"] {
  const v = g.choice<RunConfig["duetExchange"]>("duetExchange") ?? RUN_DEFAULTS.duetExchange;
  if (g.f.duetExchange !== undefined && g.f.design !== "duet")
    throw g.error(
      "duetExchange",
      "--duet-exchange goes with --design duet: it says whether the duet's arms share one mock exchange",
    );
  return v;
}

function profileTool(g: Given<RunFlags>, target: string | undefined): RunConfig["profile"] {
  const tool = g.choice<(typeof PROFILE_TOOLS)[number]>("profile");
  if (tool && target) throw g.error("profile", "--profile needs to launch the executor; it cannot apply to --target");
  return tool;
}

/**
 * Validates the flags (over the config file's values) once, at the edge; every message names the
 * flag, or the config file and key (`from`: where each value came from), and what it accepts.
 */
export function resolveRunConfig(
  f: RunFlags,
  allScenarioNames: readonly string[],
  o: {
    cwd?: string;
    now?: Date;
    env?: Readonly<NodeJS.ProcessEnv>;
    requestDefaults?: Readonly<Record<string, RequestSpec>>;
    from?: Sources;
  } = {},
): RunConfig {
  const g = new Given(f, o.from);
  const d = f.quick ? { ...RUN_DEFAULTS, ...QUICK } : RUN_DEFAULTS;
  const soakS = soakSeconds(g, allScenarioNames);
  // --target first: a remote target is refused before anything else happens, and before any connection
  const target = targetOrigin(g);
  const scenarios = scenarioList(g, allScenarioNames, soakS !== undefined);
  const warnings: string[] = [];
  const add = additions(g, target, scenarios, warnings);
  const variants: Variant[] = target
    ? [{ name: "target", kind: "target", env: {} }]
    : variantList(g, soakS !== undefined, add);
  const runId = newRunId(o.now);
  return {
    variants,
    scenarios,
    rounds: soakS !== undefined ? 1 : (g.number("rounds") ?? d.rounds),
    durationS: soakS ?? g.number("duration") ?? d.durationS,
    warmupS: g.number("warmup") ?? d.warmupS,
    connections: g.number("connections") ?? d.connections,
    rate: g.number("rate"),
    wsClients: wsClients(g, d.wsClients, scenarios),
    wsRate: g.number("wsRate"),
    quick: f.quick === true,
    warm: warm(g, target),
    allocation: f.skipAllocation !== true && scenarios.includes("latency") && !target && soakS === undefined,
    target,
    runId,
    // the user's directory, not perfpack's: reports/<run-id> where they ran it
    outDir: resolve(o.cwd ?? ".", f.out ?? join(RUN_DEFAULTS.outRoot, runId)),
    updateLatest: f.out === undefined,
    readyTimeoutMs: (g.number("readyTimeout") ?? d.readyTimeoutMs / 1000) * 1000,
    stopGraceMs: (g.number("stopGrace") ?? d.stopGraceMs / 1000) * 1000,
    requests: g.check(["header", "requests"], () =>
      resolveRequests(f.requests, f.header ?? [], o.requestDefaults ?? {}, o.env ?? process.env),
    ),
    maxErrors: g.number("maxErrors") ?? d.maxErrors,
    design: design(g, target, add.gens),
    duetExchange: duetExchange(g),
    warnings,
    profile: profileTool(g, target),
    ...(f.history ? { history: f.history } : {}),
  };
}
