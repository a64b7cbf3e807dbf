import { UsageError } from "../errors.js";
import type { System } from "../engine/systems.js";
import { isSecretName } from "../results/redact.js";
import { GENERATORS, type Generator } from "../load/generators.js";
import { ConfigError, ENV_SPECS, loadExecutorConfig } from "../../services/executor/src/config.js";

/** A set of executor settings to measure, named from those settings. */
export interface Variant {
  name: string;
  kind: "preset" | "ablation" | "matrix" | "target";
  /** The executor's environment for this variant (toggles only; the launcher adds ports and URLs). */
  env: Record<string, string>;
  /** The system under test (default: this checkout's executor). A variant is (system, env). */
  system?: System;
  /**
   * perfpack's own settings of the variant, parsed once from its harness variables (UPSTREAM_RTT_MS,
   * UPSTREAM_BANDWIDTH_MBPS, LOAD_GENERATOR: `withHarness`): what the executor sees, the link
   * between it and the exchange, and the load generator. Absent: the env alone, no link, perfpack's generator.
   */
  harness?: Harness;
}

export interface Harness {
  /** The variant's env without perfpack's variables: the executor sees only these. */
  executorEnv: Record<string, string>;
  link?: LinkSpec;
  generator: Generator;
}

/** A user-space link between executor and exchange (--upstream-rtt, --upstream-bandwidth). */
export interface LinkSpec {
  rttMs: number;
  jitterMs: number;
  bandwidthMbps?: number;
}

/** The variant with its harness settings parsed, once, at the edge. */
export const withHarness = (v: Variant): Variant => ({ ...v, harness: harnessEnv(v.env) });

/** A variant's harness settings: parsed already, or (a variant built without them) from its env. */
export const harnessOf = (v: Variant): Harness => v.harness ?? harnessEnv(v.env);

/** The guide's four on/off toggles: their off (baseline) and recommended (optimized) values. */
const TOGGLES = {
  HTTP_KEEPALIVE: { off: "false", on: "true" },
  BATCH_ENABLED: { off: "false", on: "true" },
  JSON_STRINGIFIER: { off: "native", on: "fast" },
  WS_COMPRESS: { off: "false", on: "true" },
} as const;

const BASELINE_ENV: Record<string, string> = Object.fromEntries(Object.entries(TOGGLES).map(([k, v]) => [k, v.off]));

/** The guide's "Environment Variables" block, verbatim. */
export const OPTIMIZED_ENV: Record<string, string> = {
  HTTP_KEEPALIVE: "true",
  HTTP_KEEPALIVE_MAX_SOCKETS: "256",
  HTTP_KEEPALIVE_TIMEOUT_MS: "60000",
  BATCH_ENABLED: "true",
  BATCH_MAX_SIZE: "8",
  BATCH_FLUSH_MS: "40",
  JSON_STRINGIFIER: "fast",
  WS_COMPRESS: "true",
  WS_DEFLATE_LEVEL: "3",
  CPU_PROFILING: "false",
};

export const presets = (): Variant[] => [
  { name: "baseline", kind: "preset", env: { ...BASELINE_ENV } },
  { name: "optimized", kind: "preset", env: { ...OPTIMIZED_ENV } },
];

/** Baseline plus one toggle at a time, named `baseline+KEY=value`. */
export function ablation(): Variant[] {
  return Object.entries(TOGGLES).map(([key, v]) => ({
    name: `baseline+${key}=${v.on}`,
    kind: "ablation" as const,
    env: {
      ...BASELINE_ENV,
      [key]: OPTIMIZED_ENV[key]!,
      ...(key === "BATCH_ENABLED" ? { BATCH_MAX_SIZE: "8", BATCH_FLUSH_MS: "40" } : {}),
    },
  }));
}

/** Parses one `--matrix KEY=v1,v2` argument. */
export function parseMatrixArg(arg: string): [string, string[]] {
  const m = /^([A-Z][A-Z0-9_]*)=(.+)$/.exec(arg.trim());
  if (!m)
    throw new UsageError(
      `--matrix ${JSON.stringify(arg)} is not valid: expected KEY=v1,v2 (e.g. --matrix BATCH_FLUSH_MS=10,40)`,
    );
  const values = m[2]!.split(",").map((v) => v.trim());
  if (values.some((v) => v === "")) throw new UsageError(`--matrix ${JSON.stringify(arg)} has an empty value`);
  if (new Set(values).size !== values.length) throw new UsageError(`--matrix ${JSON.stringify(arg)} repeats a value`);
  return [m[1]!, values];
}

/**
 * The cross product of the matrix axes, in a fixed order: the first axis varies slowest,
 * the last fastest (as hyperfine's parameter lists). An axis given twice is an error.
 */
export function crossProduct(axes: Array<[string, string[]]>): Array<Array<[string, string]>> {
  const seen = new Set<string>();
  for (const [k] of axes) {
    if (seen.has(k))
      throw new UsageError(`--matrix ${k} is given twice; give all its values in one --matrix ${k}=v1,v2`);
    seen.add(k);
  }
  let points: Array<Array<[string, string]>> = [[]];
  for (const [key, values] of axes)
    points = points.flatMap((p) => values.map((v) => [...p, [key, v] as [string, string]]));
  return axes.length === 0 ? [] : points;
}

/**
 * Matrix variants: baseline with each point's settings on top, named by those settings. A
 * secret's value (KEY, SECRET, TOKEN in the name) never goes into a name: it is called by its
 * place on its axis instead, `EXECUTOR_API_KEY=[redacted#2]`.
 */
export function matrixVariants(axes: Array<[string, string[]]>): Variant[] {
  const label = (k: string, v: string) => {
    if (!isSecretName(k)) return v;
    const values = axes.find(([key]) => key === k)![1];
    return `[redacted#${values.indexOf(v) + 1}]`;
  };
  return crossProduct(axes).map((point) => ({
    name: point.map(([k, v]) => `${k}=${label(k, v)}`).join("+"),
    kind: "matrix" as const,
    env: { ...BASELINE_ENV, ...Object.fromEntries(point) },
  }));
}

/** Parses one `--env KEY=VALUE`. */
export function parseEnvArg(arg: string): [string, string] {
  const i = arg.indexOf("=");
  const key = i > 0 ? arg.slice(0, i) : "";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
    throw new UsageError(
      `--env ${JSON.stringify(arg)} is not valid: expected KEY=VALUE (e.g. --env EXECUTOR_CPU_BURN_US=200)`,
    );
  return [key, arg.slice(i + 1)];
}

const KNOWN = new Set(Object.keys(ENV_SPECS));

/**
 * Checks every variant's environment the way the executor will, so a bad value is refused
 * before anything starts (exit 2), naming the variant, the variable and what it accepts.
 */
export function validateVariants(variants: Variant[]): void {
  for (const v of variants) {
    for (const [key, parse] of Object.entries(HARNESS_VARIABLES)) if (v.env[key] !== undefined) parse(v.env[key]);
    try {
      loadExecutorConfig(Object.fromEntries(Object.entries(v.env).filter(([k]) => KNOWN.has(k))));
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`variant ${v.name}: ${err.problems.join("; ")}`);
      throw err;
    }
  }
}

/** Keys in `env` that the executor does not read (passed through, but worth a warning). */
export const unknownKeys = (env: Record<string, string>): string[] =>
  Object.keys(env).filter((k) => !KNOWN.has(k) && !(k in HARNESS_VARIABLES));

/**
 * The variant variable that names the load generator: `--generator artillery` sets it on every
 * variant, several values make it an axis (the cross-check). The runner takes it off the executor's env.
 */
export const LOAD_GENERATOR = "LOAD_GENERATOR";

export function parseGenerator(raw: string): Generator {
  const g = raw.trim();
  if (!(GENERATORS as readonly string[]).includes(g))
    throw new UsageError(
      `--generator ${JSON.stringify(raw)} is not valid: expected ${GENERATORS.join(" or ")} (several, comma-separated, run each side by side)`,
    );
  return g as Generator;
}

/**
 * The variant variable that asks for a link: `--upstream-rtt 10` sets it on every variant, and
 * `--matrix UPSTREAM_RTT_MS=0,10,50` makes it an axis. The runner takes it off the executor's env.
 */
export const UPSTREAM_RTT = "UPSTREAM_RTT_MS";

/** `--upstream-rtt MS[:JITTER]`: the round trip and its jitter, in ms; range 0–10,000. */
export function parseRtt(raw: string, flag = "--upstream-rtt"): { rttMs: number; jitterMs: number } {
  const m = /^(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?$/.exec(raw.trim());
  const rttMs = m ? Number(m[1]) : NaN;
  const jitterMs = m?.[2] !== undefined ? Number(m[2]) : 0;
  if (!m || rttMs > 10_000 || jitterMs > rttMs)
    throw new UsageError(
      `${flag} ${JSON.stringify(raw)} is not valid: expected MS or MS:JITTER in milliseconds, 0 to 10000, with the jitter at most the RTT (e.g. 50 or 50:10)`,
    );
  return { rttMs, jitterMs };
}

/**
 * The variant variable that gives the link a bandwidth: `--upstream-bandwidth 10` sets it on every
 * variant (a link with it, at the RTT given or 0), several values make it an axis.
 */
export const UPSTREAM_BANDWIDTH = "UPSTREAM_BANDWIDTH_MBPS";

/** `--upstream-bandwidth MBPS`: megabits per second each way, more than 0 and at most 100,000. */
export function parseBandwidth(raw: string, flag = "--upstream-bandwidth"): number {
  const mbps = /^\d+(?:\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(mbps > 0 && mbps <= 100_000))
    throw new UsageError(
      `${flag} ${JSON.stringify(raw)} is not valid: expected megabits per second each way, more than 0 and at most 100000 (e.g. 100 or 1.5)`,
    );
  return mbps;
}

/**
 * Variant variables that are perfpack's, not the executor's: the runner reads them and takes them
 * off the executor's environment. Each with the parser that refuses a bad value (exit 2).
 */
const HARNESS_VARIABLES: Record<string, (raw: string) => unknown> = {
  [UPSTREAM_RTT]: parseRtt,
  [UPSTREAM_BANDWIDTH]: parseBandwidth,
  [LOAD_GENERATOR]: parseGenerator,
};

/** A variant's environment split into what the executor sees and what perfpack does with the rest. */
export function harnessEnv(env: Record<string, string>): Harness {
  const executorEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !(k in HARNESS_VARIABLES)));
  const rtt = env[UPSTREAM_RTT];
  const bw = env[UPSTREAM_BANDWIDTH];
  const link =
    rtt === undefined && bw === undefined
      ? undefined
      : {
          ...(rtt !== undefined ? parseRtt(rtt) : { rttMs: 0, jitterMs: 0 }),
          bandwidthMbps: bw !== undefined ? parseBandwidth(bw) : undefined,
        };
  return {
    executorEnv,
    link,
    generator: env[LOAD_GENERATOR] === undefined ? "perfpack" : parseGenerator(env[LOAD_GENERATOR]),
  };
}
