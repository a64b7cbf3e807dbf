import { accessSync, constants } from "node:fs";
import { isAbsolute, join } from "node:path";
import { projectRoot, tlsFixture } from "../../common/src/project.js";

/** The executor's validated, fully specified configuration. Read once at start. */
export interface ExecutorConfig {
  port: number;
  host: string;
  exchangeUrl: URL;
  /** CA bundle to trust for an https EXCHANGE_URL. */
  exchangeCaFile: string;
  upstreamTimeoutMs: number;
  /** Retries of an order after an upstream failure (same clientOrderId), and the first backoff. */
  retry: { retries: number; backoffMs: number };
  /** Orders per batchOrders call that the exchange accepts. */
  exchangeBatchCap: number;
  keepAlive: { enabled: boolean; maxSockets: number; timeoutMs: number };
  batch: {
    enabled: boolean;
    maxSize: number;
    flushMs: number;
    mode: "fixed" | "adaptive";
    adaptiveMaxInFlight: number;
  };
  json: { stringifier: "fast" | "native" };
  ws: { compress: boolean; deflateLevel: number; pingIntervalMs: number; fanout: WsFanout; coalesce: boolean };
  cpuProfiling: { enabled: boolean; dir: string };
  cpuBurnUs: number;
  startDelayMs: number;
  apiKey: string | undefined;
  bodyLimitBytes: number;
}

/** How a compressed market message reaches the subscribers (websocketManager.ts says what each costs). */
const WS_FANOUTS = ["shared", "shared-stateless", "per-client-sync", "per-client"] as const;
export type WsFanout = (typeof WS_FANOUTS)[number];

type Env = Record<string, string | undefined>;

/** One entry per variable: its default and what it accepts, for the README and for errors. */
interface Spec<T> {
  name: string;
  default: string;
  accepts: string;
  parse(raw: string): T | undefined;
}

const bool = (name: string, def: boolean): Spec<boolean> => ({
  name,
  default: String(def),
  accepts: "true, false (or 1, 0)",
  parse: (r) => ({ true: true, "1": true, false: false, "0": false })[r.trim().toLowerCase()],
});

const int = (name: string, def: number, min: number, max: number): Spec<number> => ({
  name,
  default: String(def),
  accepts: `an integer from ${min} to ${max}`,
  parse: (r) => {
    const t = r.trim();
    if (!/^-?\d+$/.test(t)) return undefined;
    const n = Number(t);
    return n >= min && n <= max ? n : undefined;
  },
});

const oneOf = <T extends string>(name: string, def: T, values: readonly T[]): Spec<T> => ({
  name,
  default: def,
  accepts: values.join(", "),
  parse: (r) => (values.includes(r.trim() as T) ? (r.trim() as T) : undefined),
});

const text = (
  name: string,
  def: string,
  accepts: string,
  check: (r: string) => boolean = (r) => r.length > 0,
): Spec<string> => ({
  name,
  default: def,
  accepts,
  parse: (r) => (check(r) ? r : undefined),
});

const httpUrl = (r: string) => {
  try {
    const u = new URL(r);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
};

/** Every environment variable the executor reads. The guide's toggles come first. */
export const ENV_SPECS = {
  HTTP_KEEPALIVE: bool("HTTP_KEEPALIVE", false),
  HTTP_KEEPALIVE_MAX_SOCKETS: int("HTTP_KEEPALIVE_MAX_SOCKETS", 256, 1, 65535),
  HTTP_KEEPALIVE_TIMEOUT_MS: int("HTTP_KEEPALIVE_TIMEOUT_MS", 60000, 1, 3_600_000),
  BATCH_ENABLED: bool("BATCH_ENABLED", false),
  BATCH_MAX_SIZE: int("BATCH_MAX_SIZE", 8, 1, 1000),
  BATCH_FLUSH_MS: int("BATCH_FLUSH_MS", 40, 0, 60_000),
  BATCH_MODE: oneOf("BATCH_MODE", "fixed", ["fixed", "adaptive"] as const),
  BATCH_ADAPTIVE_MAX_INFLIGHT: int("BATCH_ADAPTIVE_MAX_INFLIGHT", 4, 1, 1000),
  JSON_STRINGIFIER: oneOf("JSON_STRINGIFIER", "fast", ["fast", "native"] as const),
  WS_COMPRESS: bool("WS_COMPRESS", false),
  WS_DEFLATE_LEVEL: int("WS_DEFLATE_LEVEL", 3, 0, 9),
  WS_PING_INTERVAL_MS: int("WS_PING_INTERVAL_MS", 30000, 50, 3_600_000),
  WS_FANOUT: oneOf("WS_FANOUT", "shared", WS_FANOUTS),
  WS_COALESCE: bool("WS_COALESCE", false),
  CPU_PROFILING: bool("CPU_PROFILING", false),
  CPU_PROFILE_DIR: text(
    "CPU_PROFILE_DIR",
    "runtime/perf",
    "a directory path (relative paths are taken from the project root)",
  ),
  PORT: int("PORT", 4001, 0, 65535),
  HOST: text("HOST", "127.0.0.1", "an address to bind, such as 127.0.0.1 or ::1"),
  EXCHANGE_URL: text("EXCHANGE_URL", "https://127.0.0.1:4002", "an http:// or https:// URL", httpUrl),
  EXCHANGE_CA_FILE: text("EXCHANGE_CA_FILE", "fixtures/tls/ca.pem", "a readable PEM file", (r) => {
    try {
      accessSync(r, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }),
  UPSTREAM_TIMEOUT_MS: int("UPSTREAM_TIMEOUT_MS", 5000, 1, 600_000),
  UPSTREAM_RETRIES: int("UPSTREAM_RETRIES", 3, 0, 10),
  UPSTREAM_RETRY_BACKOFF_MS: int("UPSTREAM_RETRY_BACKOFF_MS", 20, 0, 60_000),
  EXCHANGE_BATCH_CAP: int("EXCHANGE_BATCH_CAP", 5, 1, 1000),
  EXECUTOR_CPU_BURN_US: int("EXECUTOR_CPU_BURN_US", 0, 0, 1_000_000),
  EXECUTOR_START_DELAY_MS: int("EXECUTOR_START_DELAY_MS", 0, 0, 3_600_000),
  EXECUTOR_API_KEY: text("EXECUTOR_API_KEY", "", "any non-empty string (unset: no key required)"),
  EXECUTOR_BODY_LIMIT_BYTES: int("EXECUTOR_BODY_LIMIT_BYTES", 16384, 64, 16_777_216),
} satisfies Record<string, Spec<unknown>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

type SpecValue<S> = S extends Spec<infer T> ? T : never;

/** Validates every variable; reports all bad ones at once, each with what it accepts. */
export function loadExecutorConfig(env: Env, overrides: { port?: number; host?: string } = {}): ExecutorConfig {
  const problems: string[] = [];
  const get = <K extends keyof typeof ENV_SPECS>(key: K): SpecValue<(typeof ENV_SPECS)[K]> | undefined => {
    const spec = ENV_SPECS[key] as Spec<unknown>;
    const raw = env[key];
    if (raw === undefined || raw === "") {
      return spec.default === "" ? undefined : (spec.parse(spec.default) as SpecValue<(typeof ENV_SPECS)[K]>);
    }
    const v = spec.parse(raw);
    if (v === undefined) {
      problems.push(
        `${key}=${JSON.stringify(raw)} is not valid: ${key} accepts ${spec.accepts} (default ${spec.default || "unset"})`,
      );
    }
    return v as SpecValue<(typeof ENV_SPECS)[K]> | undefined;
  };
  const fromRoot = (p: string) => (isAbsolute(p) ? p : join(projectRoot(), p));

  const caRaw = env.EXCHANGE_CA_FILE;
  const ca = caRaw ? get("EXCHANGE_CA_FILE") : tlsFixture.ca();
  const cfg = {
    port: overrides.port ?? get("PORT"),
    host: overrides.host ?? get("HOST"),
    exchangeUrl: get("EXCHANGE_URL"),
    exchangeCaFile: ca,
    upstreamTimeoutMs: get("UPSTREAM_TIMEOUT_MS"),
    retry: { retries: get("UPSTREAM_RETRIES"), backoffMs: get("UPSTREAM_RETRY_BACKOFF_MS") },
    exchangeBatchCap: get("EXCHANGE_BATCH_CAP"),
    keepAlive: {
      enabled: get("HTTP_KEEPALIVE"),
      maxSockets: get("HTTP_KEEPALIVE_MAX_SOCKETS"),
      timeoutMs: get("HTTP_KEEPALIVE_TIMEOUT_MS"),
    },
    batch: {
      enabled: get("BATCH_ENABLED"),
      maxSize: get("BATCH_MAX_SIZE"),
      flushMs: get("BATCH_FLUSH_MS"),
      mode: get("BATCH_MODE"),
      adaptiveMaxInFlight: get("BATCH_ADAPTIVE_MAX_INFLIGHT"),
    },
    json: { stringifier: get("JSON_STRINGIFIER") },
    ws: {
      compress: get("WS_COMPRESS"),
      deflateLevel: get("WS_DEFLATE_LEVEL"),
      pingIntervalMs: get("WS_PING_INTERVAL_MS"),
      fanout: get("WS_FANOUT"),
      coalesce: get("WS_COALESCE"),
    },
    cpuProfiling: { enabled: get("CPU_PROFILING"), dir: fromRoot(get("CPU_PROFILE_DIR") ?? "runtime/perf") },
    cpuBurnUs: get("EXECUTOR_CPU_BURN_US"),
    startDelayMs: get("EXECUTOR_START_DELAY_MS"),
    apiKey: get("EXECUTOR_API_KEY"),
    bodyLimitBytes: get("EXECUTOR_BODY_LIMIT_BYTES"),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...cfg, exchangeUrl: new URL(cfg.exchangeUrl!) } as ExecutorConfig;
}
