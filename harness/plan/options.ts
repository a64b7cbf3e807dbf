/**
 * The options of `perfpack run` (and of `gate` when it runs the current side), as one typed
 * table (vitest's cli-config). It drives the commander options and their help, the config file
 * perfpack.config.json, its JSON Schema (perfpack.schema.json) and the options reference in docs/cli.md.
 */
import { UsageError } from "../errors.js";
import { GATE_CAUSE, QUICK, RUN_DEFAULTS } from "./defaults.js";
import { HTTP_METHODS } from "./requests.js";

/** `perfpack run`'s flags as commander hands them over: strings, unvalidated. */
export interface RunFlags {
  variants?: string;
  ablation?: boolean;
  matrix?: string[];
  env?: string[];
  scenarios?: string;
  rounds?: string;
  duration?: string;
  warmup?: string;
  connections?: string;
  rate?: string;
  wsClients?: string;
  wsRate?: string;
  quick?: boolean;
  out?: string;
  target?: string;
  allowRemote?: boolean;
  profile?: string;
  readyTimeout?: string;
  stopGrace?: string;
  soak?: string;
  executorCmd?: string;
  readyPath?: string;
  upstreamRtt?: string;
  upstreamBandwidth?: string;
  generator?: string;
  warm?: boolean;
  skipAllocation?: boolean;
  header?: string[];
  maxErrors?: string;
  design?: string;
  duetExchange?: string;
  /** The config file's (or the library's) `requests` object, unvalidated; no flag. */
  requests?: unknown;
  json?: boolean;
  config?: string;
  history?: string;
}

/** What a value looks like on the command line and in the config file. */
export type OptionKind = "string" | "list" | "number" | "integer" | "boolean" | "repeatable" | "duration" | "requests";

export interface OptionSpec {
  /** The flag with its argument, as commander reads it: "--rounds <n>". */
  flag: string;
  description: string;
  kind: OptionKind;
  /** Shown in the help and the docs; the value itself lives in defaults.ts. */
  default?: string | number;
  /** A closed set of values: the only ones accepted (and listed in the help and the schema). */
  choices?: readonly string[];
  /** number, integer, duration (in seconds): the accepted range, for a flag and the file alike (and the schema's minimum and maximum). */
  min?: number;
  max?: number;
  /** max itself is refused. */
  maxExclusive?: true;
  /** What a refused value's message says after "is not valid: ", where the range or the choices alone would not say it as well. */
  invalid?: string;
  /** false: a flag only (the config file cannot name another config file). */
  inFile?: false;
  /** true: the config file only, no flag (a structured value). */
  fileOnly?: true;
}

export const PROFILE_TOOLS = ["0x", "clinic-flame", "clinic-doctor", "cpuprof"] as const;
export const DESIGNS = ["alternate", "duet"] as const;
export const DUET_EXCHANGES = ["shared", "each"] as const;

/** Every run option; the compiler demands an entry for each key of RunFlags. */
export const RUN_OPTIONS: { readonly [K in keyof Required<RunFlags>]: OptionSpec } = {
  variants: {
    flag: "--variants <names>",
    kind: "list",
    description:
      "variants to run, comma-separated (presets: baseline, optimized; plus those --ablation/--matrix generate)",
    default: "baseline,optimized",
  },
  ablation: { flag: "--ablation", kind: "boolean", description: "baseline plus one toggle at a time" },
  matrix: {
    flag: "--matrix <KEY=v1,v2>",
    kind: "repeatable",
    description: "cross product of executor settings (repeatable)",
  },
  env: {
    flag: "--env <KEY=VALUE>",
    kind: "repeatable",
    description: "added to every variant's executor environment (repeatable)",
  },
  scenarios: {
    flag: "--scenarios <names>",
    kind: "list",
    description: "scenarios, comma-separated (all: every registered scenario but soak, which --soak runs)",
    default: "all",
  },
  rounds: {
    flag: "--rounds <n>",
    kind: "integer",
    min: 1,
    max: 1000,
    description: "rounds; variants are interleaved and rotated each round",
    default: RUN_DEFAULTS.rounds,
  },
  duration: {
    flag: "--duration <s>",
    kind: "number",
    min: 0.2,
    max: 86_400,
    description: "measured seconds per trial",
    default: RUN_DEFAULTS.durationS,
  },
  warmup: {
    flag: "--warmup <s>",
    kind: "number",
    min: 0,
    max: 3600,
    description: "unmeasured warm-up seconds before each measurement",
    default: RUN_DEFAULTS.warmupS,
  },
  connections: {
    flag: "--connections <n>",
    kind: "integer",
    min: 1,
    max: 10_000,
    description: "concurrent HTTP connections of the load generator",
    default: RUN_DEFAULTS.connections,
  },
  rate: {
    flag: "--rate <r>",
    kind: "number",
    min: 0.1,
    max: 1_000_000,
    description: "latency scenario: open model at r requests/s, latency corrected for coordinated omission",
  },
  wsClients: {
    flag: "--ws-clients <n>",
    kind: "integer",
    min: 0,
    max: 10_000,
    description:
      "WebSocket subscribers in the ws scenario and the soak (0: a soak without WebSocket, for a service that has none)",
    default: RUN_DEFAULTS.wsClients,
  },
  wsRate: {
    flag: "--ws-rate <msg/s>",
    kind: "integer",
    min: 1,
    max: 100_000,
    description:
      "market messages per second the mock exchange feeds in the ws scenario; every subscriber gets each one",
    default: 500,
  },
  quick: {
    flag: "--quick",
    kind: "boolean",
    description: `CI smoke preset: ${QUICK.rounds} rounds of ${QUICK.durationS} s trials (about a minute)`,
  },
  out: {
    flag: "--out <dir>",
    kind: "string",
    description: "run folder (default reports/<run-id>; reports/latest then points at it)",
  },
  target: {
    flag: "--target <url>",
    kind: "string",
    description: "drive an executor that is already running (loopback only); launch nothing",
  },
  allowRemote: { flag: "--allow-remote", kind: "boolean", description: "let --target point off loopback" },
  upstreamRtt: {
    flag: "--upstream-rtt <ms>",
    kind: "list",
    description:
      "a round-trip time between executor and exchange, emulated in user space (MS or MS:JITTER, 0–10000); several values, comma-separated, multiply the variants (each named +UPSTREAM_RTT_MS=v)",
  },
  upstreamBandwidth: {
    flag: "--upstream-bandwidth <mbps>",
    kind: "list",
    description:
      "the link's bandwidth each way, in megabits per second (with --upstream-rtt, or alone at RTT 0); several values, comma-separated, multiply the variants (each named +UPSTREAM_BANDWIDTH_MBPS=v)",
  },
  generator: {
    flag: "--generator <name>",
    kind: "list",
    description:
      "the load generator of the latency, batch and ws scenarios: perfpack (default) or artillery (a real `artillery run` child; Artillery 2.0.21 is fetched into ~/.cache/perfpack on first use); several, comma-separated, multiply the variants (each named +generator=name), to cross-check them in one run",
  },
  warm: {
    flag: "--warm",
    kind: "boolean",
    description:
      "keep each variant's services running from its first trial to the end of the run, and alternate load between them in slices (default: a fresh executor and exchange per trial)",
  },
  history: {
    flag: "--history <store>",
    kind: "string",
    description:
      "after the run (or the gate), append it to this history store: a file (SQLite, created if missing; `perfpack history add` defaults to .perfpack/history.db) or a postgres:// URL; the commit, its parent and branch come from git",
  },
  skipAllocation: {
    flag: "--skip-allocation",
    kind: "boolean",
    description:
      "skip the allocation pass: after the trials, each candidate variant's objects allocated per request, counted by V8's allocation tracker under the latency scenario's load (runs when the latency scenario does)",
  },
  soak: {
    flag: "--soak <duration>",
    kind: "duration",
    min: 2,
    max: 24 * 3600,
    description:
      "soak: the optimized variant under steady open-model load for DURATION (10m, 1h …); reports RSS and GC share over time",
  },
  readyTimeout: {
    flag: "--ready-timeout <s>",
    kind: "number",
    min: 0.5,
    max: 600,
    description: "seconds a service may take to become ready before its trial fails with its log tail",
    default: RUN_DEFAULTS.readyTimeoutMs / 1000,
  },
  stopGrace: {
    flag: "--stop-grace <s>",
    kind: "number",
    min: 0,
    max: 600,
    description: `seconds a service gets to exit after SIGTERM when its trial ends, before SIGKILL (after Ctrl-C at most ${RUN_DEFAULTS.interruptGraceMs / 1000})`,
    default: RUN_DEFAULTS.stopGraceMs / 1000,
  },
  profile: {
    flag: "--profile <tool>",
    kind: "string",
    choices: PROFILE_TOOLS,
    invalid: `tools are ${PROFILE_TOOLS.join(", ")}`,
    description: "after the trials, a flamegraph per variant, linked from the report",
  },
  executorCmd: {
    flag: "--executor-cmd <cmd>",
    kind: "string",
    description:
      "measure your own service: a shell command started per trial with PORT, HOST, EXCHANGE_URL, EXCHANGE_CA_FILE and the variant's env (docs/cli.md, 'Your own service')",
  },
  readyPath: {
    flag: "--ready-path <path>",
    kind: "string",
    description:
      "with --executor-cmd: the service is ready when it prints `listening <url>` or this path answers below 500",
    default: "/health",
  },
  design: {
    flag: "--design <name>",
    kind: "string",
    choices: DESIGNS,
    description:
      "how the arms share the machine: alternate (one variant at a time, each its own exchange) or duet (every variant of a round at once on one exchange, the load split evenly and started together; latency, batch and ws; json and soak run alone)",
    default: RUN_DEFAULTS.design,
  },
  duetExchange: {
    flag: "--duet-exchange <how>",
    kind: "string",
    choices: DUET_EXCHANGES,
    description:
      "with --design duet: the arms share one mock exchange (shared), or each has its own (each; the exchange's counters are then every arm's own)",
    default: RUN_DEFAULTS.duetExchange,
  },
  header: {
    flag: "--header <Name: value>",
    kind: "repeatable",
    description:
      'a header on every HTTP request and WebSocket upgrade, e.g. --header "x-api-key: ${env:API_KEY}" (the variable\'s value is sent and redacted everywhere perfpack writes) (repeatable)',
  },
  maxErrors: {
    flag: "--max-errors <share>",
    kind: "number",
    min: 0,
    max: 1,
    description:
      "a trial whose failed share of requests (non-2xx answers and transport errors) is over this fails, naming the status codes and the first failing answer; the run exits 3 (0–1)",
    default: RUN_DEFAULTS.maxErrors,
  },
  requests: {
    flag: "",
    fileOnly: true,
    kind: "requests",
    description:
      'config file only: the request each scenario sends, by scenario name (latency, batch, json, ws): { "method", "path" (absolute, with its query), "headers", "body" (JSON; {{seq}} and {{uuid}} in a string are filled per request) }; the soak writes with batch\'s and reads with latency\'s',
  },
  json: {
    flag: "--json",
    kind: "boolean",
    description:
      "print one JSON document to stdout (the summary: verdict, comparisons, targets); progress and tables go to stderr",
  },
  config: {
    flag: "--config <file>",
    kind: "string",
    inFile: false,
    description:
      "options from a JSON file (default: perfpack.config.json in the working directory); flags win over the file",
  },
};

export type RunOptionKey = keyof typeof RUN_OPTIONS;

/** `perfpack run`'s own flag, beside the run options: neither the gate's nor the config file's. */
export interface RunOnlyFlags {
  resume?: string;
  capacity?: boolean;
}

/** The flags of `perfpack run` alone: a flag each, no config key (a file cannot say which run to continue). */
export const RUN_ONLY_OPTIONS: { readonly [K in keyof Required<RunOnlyFlags>]: OptionSpec } = {
  resume: {
    flag: "--resume <dir>",
    kind: "string",
    inFile: false,
    description:
      "continue an interrupted run in its folder (reports/<run-id>): the same plan, seeds and order; its recorded trials are kept and only the missing ones run. Its options are the folder's: no other run option may be given beside it, but --json",
  },
  capacity: {
    flag: "--capacity",
    kind: "boolean",
    inFile: false,
    description:
      "after the trials, a capacity search of the run's latency and batch scenarios (as perfpack capacity: each variant's highest offered rate under the SLO, 5 min per scenario; --slo and --resolution from the config file) in <run folder>/capacity/; the targets table then judges HTTP requests/sec and Orders/sec on the capacity at the SLO",
  },
};

/** `perfpack gate`'s own flags, beside the run options, as commander hands them over. */
export interface GateFlags {
  baselineRef?: string;
  baseline?: string;
  current?: string;
  seed?: string;
  candidateEnv?: string[];
  candidateRef?: string;
  maxRegression?: string;
  budget?: string;
  strict?: boolean;
  buildCmd?: string;
  /** --no-profile (commander hands it over as `profile: false`; cli/gate.ts renames it). */
  noProfile?: boolean;
  profileCap?: string;
}

/** The gate's options: the same table's rules (flags, help, the config file and its schema). */
export const GATE_OPTIONS: { readonly [K in keyof Required<GateFlags>]: OptionSpec } = {
  baselineRef: {
    flag: "--baseline-ref <rev>",
    kind: "string",
    description:
      "gate: a git revision (origin/main, a merge base …): its executor is built in a cached tree and run beside this checkout's, round by round",
  },
  baseline: {
    flag: "--baseline <results.json>",
    kind: "string",
    description: "gate: a stored baseline run (comparisons across runs carry the machine's drift between them)",
  },
  current: {
    flag: "--current <results.json>",
    kind: "string",
    description: "gate, with --baseline: the current run (default: run one now, with the run options)",
  },
  seed: {
    flag: "--seed <n>",
    kind: "integer",
    min: 0,
    invalid: "expected a whole number",
    description:
      "gate, with --baseline-ref: seed of the trial order (default: from the clock; recorded in results.json)",
  },
  candidateEnv: {
    flag: "--candidate-env <KEY=VALUE>",
    kind: "repeatable",
    description:
      "gate, with --baseline-ref: added to this checkout's side only, e.g. a calibrated EXECUTOR_CPU_BURN_US to measure the gate (repeatable)",
  },
  candidateRef: {
    flag: "--candidate-ref <rev>",
    kind: "string",
    description:
      "gate, with --baseline-ref: the candidate side is this git revision, built like the baseline, instead of this checkout (two commits against each other in one run; perfpack history confirm uses it)",
  },
  maxRegression: {
    flag: "--max-regression <share>",
    kind: "number",
    // a sanity bound: a line of 1000% worse gates nothing
    min: 0,
    max: 10,
    maxExclusive: true,
    invalid: "expected a share such as 0.05 for 5%",
    description:
      "gate: the line; a gate metric whose interval lies wholly worse than this share fails the gate (default 0.05 = 5% with --baseline-ref, 0.10 with --baseline)",
  },
  budget: {
    flag: "--budget <duration>",
    kind: "duration",
    min: 10,
    max: 24 * 3600,
    description:
      "gate, with --baseline-ref: the time the whole gate may take, the build included (90s, 3m, 10m or seconds; default 3m); rounds are added in batches until every gate metric is decided or it ends",
  },
  buildCmd: {
    flag: "--build-cmd <cmd>",
    kind: "string",
    description:
      'gate, with --baseline-ref and --executor-cmd: how to build your repository at the revision, in the working directory\'s folder of its tree (default: npm ci when there is a lockfile, then npm run build when package.json has a build script; "" for none)',
  },
  noProfile: {
    flag: "--no-profile",
    kind: "boolean",
    description:
      "gate, with --baseline-ref: when the gate ends in a regression, exit without profiling both arms (by default they run once more, at once under cpuprof within --profile-cap, and report.md says which functions grew per request, with flame/diff.html)",
  },
  profileCap: {
    flag: "--profile-cap <duration>",
    kind: "duration",
    min: 8,
    max: 600,
    default: GATE_CAUSE.capS,
    description:
      "gate, with --baseline-ref: the wall time a failed gate may spend profiling both arms before it exits, the services' start and the profiles' writing included (seconds, or 30s, 1m); the load gets what is left",
  },
  strict: {
    flag: "--strict",
    kind: "boolean",
    description:
      "gate: an inconclusive gate (with --baseline-ref: the budget ended first; with --baseline: an interval reaches across the line) exits 1 instead of 0",
  },
};

export type GateOptionKey = keyof typeof GATE_OPTIONS;

/** `perfpack capacity`'s own flags, beside the run options that apply to it. */
export interface CapacityFlags {
  slo?: string;
  resolution?: string;
  budget?: string;
  window?: string;
  maxRate?: string;
}

/** The run options capacity takes, from the same table; the others (rounds, designs, profiling …) are a run's. */
export const CAPACITY_RUN_OPTIONS: Readonly<Partial<Record<RunOptionKey, OptionSpec>>> = Object.fromEntries(
  (
    [
      "variants",
      "ablation",
      "matrix",
      "env",
      "scenarios",
      "connections",
      "wsRate",
      "out",
      "readyTimeout",
      "stopGrace",
      "executorCmd",
      "readyPath",
      "upstreamRtt",
      "upstreamBandwidth",
      "header",
      "requests",
      "maxErrors",
      "json",
      "config",
    ] as const
  ).map((k) => [k, RUN_OPTIONS[k]]),
);

/** The capacity options a config file may set (a run and the gate ignore them). */
export type CapacityFileKey = "slo" | "resolution";

/** The capacity search's options: --slo and --resolution may come from the config file too. */
export const CAPACITY_OPTIONS: { readonly [K in keyof Required<CapacityFlags>]: OptionSpec } = {
  slo: {
    flag: "--slo <spec>",
    kind: "string",
    description:
      'capacity: the objective each step is held to, e.g. "p95<100ms,errors<1%" (any percentile p50 … p99.9, the line in ms or s; errors default 1%) (default: each scenario\'s guide target: latency p95<100ms, batch p95<50ms, ws p95<10ms)',
  },
  resolution: {
    flag: "--resolution <share>",
    kind: "number",
    min: 0.01,
    max: 1,
    invalid: "expected a share such as 0.05 for 5%",
    default: 0.05,
    description:
      "capacity: the bisection stops once the first failing level is within this share of the last passing one",
  },
  budget: {
    flag: "--budget <duration>",
    kind: "duration",
    min: 10,
    max: 24 * 3600,
    inFile: false,
    description:
      "capacity: the time each scenario's search may take, every variant's steps included (90s, 5m or seconds; default 5m); when it ends, the reports say what was reached",
  },
  window: {
    flag: "--window <duration>",
    kind: "duration",
    min: 0.5,
    max: 60,
    inFile: false,
    description:
      "capacity: one measured window of a step (default 2s); a step measures 3 to 8 of them after a warm-up of one",
  },
  maxRate: {
    flag: "--max-rate <r>",
    kind: "number",
    min: 1,
    max: 200_000,
    inFile: false,
    description:
      "capacity: the highest level a search tries (requests or orders per second, or subscribers); reaching it passing is reported as at least this (default 50000 /s, 5000 subscribers)",
  },
};

/** Every option the config file may set: the run's and the gate's (a run ignores the gate's). */
export const FILE_OPTIONS: Readonly<Record<RunOptionKey | GateOptionKey | CapacityFileKey, OptionSpec>> = {
  ...RUN_OPTIONS,
  ...GATE_OPTIONS,
  slo: CAPACITY_OPTIONS.slo,
  resolution: CAPACITY_OPTIONS.resolution,
};

/** The help line of an option: its description and default. */
export const helpText = (o: OptionSpec): string =>
  `${o.description}${o.choices ? ` (${o.choices.join(", ")})` : ""}${o.default !== undefined ? ` (default ${o.default})` : ""}`;

/** An option's flag without its argument: "--rounds". */
export const flagOf = (o: OptionSpec): string => o.flag.split(" ")[0]!;

const refused = (o: OptionSpec, raw: string, expected: string) =>
  new UsageError(`${flagOf(o)} ${JSON.stringify(raw)} is not valid: ${o.invalid ?? expected}`);

/** A number or integer option's value, checked against its entry: its kind and range. */
export function numberValue(o: OptionSpec, raw: string): number {
  const n = Number(raw);
  const inRange = n >= (o.min ?? -Infinity) && (o.maxExclusive ? n < o.max! : n <= (o.max ?? Infinity));
  if (raw.trim() === "" || !Number.isFinite(n) || !inRange || (o.kind === "integer" && !Number.isInteger(n))) {
    throw refused(o, raw, `expected ${o.kind === "integer" ? "an integer" : "a number"} from ${o.min} to ${o.max}`);
  }
  return n;
}

/** The value of an option with choices: one of them. */
export function choiceValue<T extends string>(o: OptionSpec, raw: string): T {
  if (!o.choices?.includes(raw)) throw refused(o, raw, `expected ${o.choices?.join(" or ")}`);
  return raw as T;
}

/** `90s`, `10m`, `1h`, `1500ms` or plain seconds. */
export function parseDuration(flag: string, raw: string, minS: number, maxS: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const n = m
    ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as const)[(m[2] ?? "s") as "ms" | "s" | "m" | "h"]
    : NaN;
  if (!(n >= minS && n <= maxS)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(raw)} is not valid: expected a duration from ${minS} s to ${maxS / 3600} h, such as 90s, 10m or 1h (plain numbers are seconds)`,
    );
  }
  return n;
}

/** A duration option's value, in seconds, within its entry's range. */
export const durationValue = (o: OptionSpec, raw: string): number => parseDuration(flagOf(o), raw, o.min!, o.max!);

/** The schema's bounds of a number (a duration's in seconds, as a plain number in the file is). */
const bounds = (o: OptionSpec) => ({
  ...(o.min !== undefined ? { minimum: o.min } : {}),
  ...(o.max !== undefined ? (o.maxExclusive ? { exclusiveMaximum: o.max } : { maximum: o.max }) : {}),
});

/** The schema of one `requests` entry (harness/plan/requests.ts checks the same rules, with messages). */
const REQUEST_ENTRY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    method: { type: "string", enum: [...HTTP_METHODS], description: "the HTTP method (a ws entry is always GET)" },
    path: {
      type: "string",
      pattern: "^/(?!/)",
      description: "an absolute path with its query string, e.g. /api/v2/orders?symbol=BTCUSDT",
    },
    headers: {
      type: "object",
      additionalProperties: { type: "string" },
      description:
        "header names to values; ${env:NAME} reads a value from the environment (redacted in everything perfpack writes)",
    },
    body: { description: "a JSON value; {{seq}} or {{uuid}} inside a string is filled per request" },
  },
};
const REQUESTS_SCHEMA = {
  type: "object",
  propertyNames: { enum: ["latency", "batch", "json", "ws"] },
  additionalProperties: REQUEST_ENTRY_SCHEMA,
};

/**
 * The JSON Schema of perfpack.config.json, from the table. A keyword that does not apply is left
 * out, not undefined: a unit test compares the schema key for key with perfpack.schema.json.
 */
export function configSchema(): object {
  const properties: Record<string, object> = {};
  for (const [key, o] of Object.entries(FILE_OPTIONS) as Array<
    [RunOptionKey | GateOptionKey | CapacityFileKey, OptionSpec]
  >) {
    if (o.inFile === false) continue;
    const description = helpText(o);
    const t =
      o.kind === "boolean"
        ? { type: "boolean" }
        : o.kind === "integer"
          ? { type: "integer", ...bounds(o) }
          : o.kind === "number"
            ? { type: "number", ...bounds(o) }
            : o.kind === "duration"
              ? { type: ["string", "number"], ...bounds(o) }
              : o.kind === "list"
                ? { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] }
                : o.kind === "repeatable"
                  ? { type: "array", items: { type: "string" } }
                  : o.kind === "requests"
                    ? REQUESTS_SCHEMA
                    : { type: "string", ...(o.choices ? { enum: [...o.choices] } : {}) };
    properties[key] = { description, ...t, ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://perfpack.dev/perfpack.schema.json",
    title: "perfpack.config.json",
    description:
      "Options of `perfpack run` (and `perfpack gate`). Flags win over this file; the file wins over the defaults.",
    type: "object",
    additionalProperties: false,
    properties: { $schema: { type: "string" }, ...properties },
  };
}
