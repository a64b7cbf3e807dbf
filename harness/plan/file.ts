import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import {
  choiceValue,
  durationValue,
  FILE_OPTIONS,
  flagOf,
  GATE_OPTIONS,
  numberValue,
  type GateFlags,
  type GateOptionKey,
  type OptionSpec,
  type RunFlags,
  type RunOptionKey,
  type CapacityFileKey,
  type CapacityFlags,
} from "./options.js";

/** What a config file (or the library's options object) holds: run and gate options. */
export type FileFlags = RunFlags & GateFlags & Pick<CapacityFlags, CapacityFileKey>;

type FileKey = RunOptionKey | GateOptionKey | CapacityFileKey;

/** Where values came from, by key: the config file a value was read from. A key not here came from a flag (or the library's options, or a client's defaults). */
export type Sources = { readonly [K in FileKey]?: string };

const CONFIG_FILE = "perfpack.config.json";

/** The config file to read: --config, else perfpack.config.json in the working directory when there is one. */
export function findConfigFile(cwd: string, explicit: string | undefined): string | undefined {
  if (explicit !== undefined) return resolve(cwd, explicit);
  const f = join(cwd, CONFIG_FILE);
  return existsSync(f) ? f : undefined;
}

const accepts = (o: OptionSpec): string =>
  ({
    boolean: "true or false",
    integer: "a whole number",
    number: "a number",
    duration: 'a duration such as "90s", "10m" or a number of seconds',
    list: 'a comma-separated string or an array of strings, e.g. ["baseline", "optimized"]',
    repeatable: 'an array of strings, e.g. ["BATCH_FLUSH_MS=20,40"]',
    string: o.choices ? `one of ${o.choices.join(", ")}` : "a string",
    requests: 'an object of scenario names to requests, e.g. {"batch": {"method": "POST", "path": "/v2/orders"}}',
  })[o.kind];

/** One value of the file as the flag string it stands for, or undefined when its type is wrong. */
function asFlag(o: OptionSpec, v: unknown): FileFlags[keyof FileFlags] | undefined {
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === "string");
  switch (o.kind) {
    case "boolean":
      return typeof v === "boolean" ? v : undefined;
    case "integer":
    case "number":
      return typeof v === "number" && Number.isFinite(v) ? String(v) : undefined;
    case "duration":
      return typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) ? String(v) : undefined;
    case "list":
      return typeof v === "string" ? v : strings(v) ? v.join(",") : undefined;
    case "repeatable":
      return typeof v === "string" ? [v] : strings(v) ? v : undefined;
    case "string":
      return typeof v === "string" ? v : undefined;
    case "requests":
      // checked entry by entry, with messages naming the key, by plan/requests.ts
      return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as FileFlags["requests"]) : undefined;
  }
}

/**
 * Reads perfpack.config.json: every key must be a run option, every value of its type. The
 * values become the flags they stand for, so they are validated by the same rules as flags.
 */
export function readConfigFile(file: string): FileFlags {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(
      `config file ${file}: ${e.code ? `cannot be read (${e.code})` : `is not valid JSON: ${e.message}`}`,
    );
  }
  return flagsFromObject(raw, `config file ${file}`);
}

/**
 * Run options as an object (a parsed config file, or the library API's argument) → the flags they
 * stand for; an unknown key or a value of the wrong type is a usage error naming `where` and the key.
 */
export function flagsFromObject(raw: unknown, where: string): FileFlags {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new UsageError(`${where}: expected an object of run options`);
  const keys = Object.keys(FILE_OPTIONS).filter(
    (k) => (FILE_OPTIONS as Record<string, OptionSpec>)[k]!.inFile !== false,
  );
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "$schema") continue;
    const o = (FILE_OPTIONS as Record<string, OptionSpec>)[key];
    if (!o || o.inFile === false)
      throw new UsageError(`${where}: unknown key ${JSON.stringify(key)}: valid keys are ${keys.join(", ")}`);
    const flag = asFlag(o, value);
    if (flag === undefined)
      throw new UsageError(`${where}: ${JSON.stringify(key)} is ${JSON.stringify(value)}: it accepts ${accepts(o)}`);
    flags[key] = flag;
  }
  return flags as FileFlags;
}

/** The gate's options among a file's or the command line's, and the rest (the run's). */
export function splitGateFlags<T extends FileFlags>(f: T): { gate: GateFlags; run: Omit<T, keyof GateFlags> } {
  const gate: Record<string, unknown> = {};
  const run: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) (k in GATE_OPTIONS ? gate : run)[k] = v;
  return { gate: gate as GateFlags, run: run as Omit<T, keyof GateFlags> };
}

/** A flag counts as given unless it is absent, or a repeatable one that was not repeated. */
const given = (v: unknown): boolean => v !== undefined && !(Array.isArray(v) && v.length === 0);

/** Flags win over the file; a repeatable flag not given on the command line leaves the file's list. */
export function mergeFlags(file: FileFlags, cli: FileFlags): FileFlags {
  return { ...file, ...Object.fromEntries(Object.entries(cli).filter(([, v]) => given(v))) };
}

/**
 * The flags over the config file (--config, else perfpack.config.json in `cwd` when there is one)
 * over `defaults` (a client's own, such as the gate's), and the file each value that won came from.
 */
export function layeredFlags(
  cwd: string,
  cli: FileFlags,
  defaults: FileFlags = {},
): { flags: FileFlags; from: Sources } {
  const file = findConfigFile(cwd, cli.config);
  if (!file) return { flags: mergeFlags(defaults, cli), from: {} };
  const fromFile = readConfigFile(file);
  const from = Object.fromEntries(
    Object.keys(fromFile)
      .filter((k) => !given((cli as Record<string, unknown>)[k]))
      .map((k) => [k, file]),
  );
  return { flags: mergeFlags(mergeFlags(defaults, fromFile), cli), from };
}

/** The message is about `key`: it begins with the key's flag (or, for a key of the file only, with the key). */
const about = (key: FileKey, message: string): boolean => {
  const flag = flagOf(FILE_OPTIONS[key]);
  return flag ? message.startsWith(`${flag} `) : message.startsWith(key);
};

/**
 * The values a command resolves (flags over the config file), and where each came from: read by
 * its entry in the options table, and an error about one names its source, so that a bad value
 * from the file names the file and the key without resolving the file on its own first.
 */
export class Given<F extends object> {
  constructor(
    readonly f: F,
    private readonly from: Sources = {},
  ) {}

  /** A usage error about `key`'s value. From the file, it names the file (and the key, when the message starts with its flag). */
  error(key: FileKey, message: string): UsageError {
    const file = this.from[key];
    if (file === undefined) return new UsageError(message);
    return new UsageError(
      `config file ${file}${flagOf(FILE_OPTIONS[key]) && about(key, message) ? `: ${JSON.stringify(key)}` : ""}: ${message}`,
    );
  }

  /** `parse`'s usage error as one about `keys`: the key, or of several, the one its message begins with (none: the error as it is). */
  check<T>(keys: FileKey | readonly FileKey[], parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      const key = typeof keys === "string" ? keys : keys.find((k) => about(k, err.message));
      throw key ? this.error(key, err.message) : err;
    }
  }

  private raw(key: FileKey): string | undefined {
    return (this.f as Record<string, string | undefined>)[key];
  }

  /** A number option's value, checked by its entry in the table (kind and range); undefined when it is not given. */
  number(key: FileKey): number | undefined {
    const raw = this.raw(key);
    return raw === undefined ? undefined : this.check(key, () => numberValue(FILE_OPTIONS[key], raw));
  }

  /** An option's value among its entry's choices; undefined when it is not given. */
  choice<T extends string>(key: FileKey): T | undefined {
    const raw = this.raw(key);
    return raw === undefined ? undefined : this.check(key, () => choiceValue<T>(FILE_OPTIONS[key], raw));
  }

  /** A duration option's value in seconds, within its entry's range; undefined when it is not given. */
  duration(key: FileKey): number | undefined {
    const raw = this.raw(key);
    return raw === undefined ? undefined : this.check(key, () => durationValue(FILE_OPTIONS[key], raw));
  }
}
