/**
 * The requests the scenarios send, fitted to a service's API: the config file's `requests` (a
 * scenario name → method, path, headers, body) over each scenario's default, plus --header for
 * all of them. Validated once, at the edge: every message names the key and what it accepts.
 */
import { UsageError } from "../errors.js";
import { isSecretName } from "../results/redact.js";
import { envRefs, missingEnv, PLACEHOLDERS, unknownPlaceholders, type RequestSpec } from "../load/request.js";

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Headers perfpack's clients write themselves. */
const RESERVED = /^(host|content-length|transfer-encoding|connection|upgrade)$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENTRY_KEYS = ["method", "path", "headers", "body"];

const example = "e.g. /api/v2/orders?symbol=BTCUSDT";

function checkHeader(where: string, name: string, value: unknown): string {
  if (!TOKEN.test(name))
    throw new UsageError(
      `${where}: ${JSON.stringify(name)} is not a header name: expected letters, digits and - (e.g. x-api-key)`,
    );
  if (RESERVED.test(name)) throw new UsageError(`${where}: ${name} is written by perfpack's clients and cannot be set`);
  if (typeof value !== "string")
    throw new UsageError(
      `${where}.${name} is ${JSON.stringify(value)}: expected a string (a value, or \${env:NAME} to read it from the environment)`,
    );
  if (/[\r\n\0]/.test(value)) throw new UsageError(`${where}.${name} holds a line break: a header value is one line`);
  return value;
}

/** `--header "Name: value"` → [name, value]. */
export function parseHeaderArg(raw: string): [string, string] {
  const at = raw.indexOf(":");
  const name = at > 0 ? raw.slice(0, at).trim() : "";
  if (!name)
    throw new UsageError(
      `--header ${JSON.stringify(raw)} is not valid: expected "Name: value", e.g. --header "x-api-key: \${env:API_KEY}"`,
    );
  const value = raw.slice(at + 1).trim();
  checkHeader("--header", name, value);
  return [name.toLowerCase(), value];
}

function checkPath(where: string, v: unknown): string {
  if (typeof v !== "string" || v === "")
    throw new UsageError(`${where} is ${JSON.stringify(v)}: expected an absolute path, ${example}`);
  if (!v.startsWith("/") || v.startsWith("//"))
    throw new UsageError(
      `${where} ${JSON.stringify(v)} is not an absolute path: expected a path that starts with one /, ${example} (the host is the service's)`,
    );
  if (/[\s\0]/.test(v))
    throw new UsageError(`${where} ${JSON.stringify(v)} holds white space: encode it in the path (%20)`);
  if (v.includes("#")) throw new UsageError(`${where} ${JSON.stringify(v)} holds a fragment (#), which is never sent`);
  return v;
}

/** One entry over its scenario's default: the given fields replace the default's, headers merge. */
function entry(where: string, raw: unknown, base: RequestSpec): RequestSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new UsageError(`${where} is ${JSON.stringify(raw)}: expected an object with ${ENTRY_KEYS.join(", ")}`);
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !ENTRY_KEYS.includes(k));
  if (unknown.length)
    throw new UsageError(
      `${where}: unknown key ${JSON.stringify(unknown[0])}: an entry takes ${ENTRY_KEYS.join(", ")}`,
    );
  const out: RequestSpec = { ...base, headers: { ...base.headers } };
  if (r.method !== undefined) {
    const m = typeof r.method === "string" ? r.method.toUpperCase() : "";
    if (base.protocol === "ws") {
      if (m !== "GET")
        throw new UsageError(
          `${where}.method ${JSON.stringify(r.method)}: a WebSocket subscription is a GET upgrade (give path and headers only)`,
        );
    } else if (!(HTTP_METHODS as readonly string[]).includes(m))
      throw new UsageError(
        `${where}.method ${JSON.stringify(r.method)} is not valid: expected one of ${HTTP_METHODS.join(", ")}`,
      );
    out.method = m;
  }
  if (r.path !== undefined) out.path = checkPath(`${where}.path`, r.path);
  if (r.headers !== undefined) {
    if (typeof r.headers !== "object" || r.headers === null || Array.isArray(r.headers))
      throw new UsageError(
        `${where}.headers is ${JSON.stringify(r.headers)}: expected an object of header names to values`,
      );
    for (const [name, value] of Object.entries(r.headers))
      out.headers[name.toLowerCase()] = checkHeader(`${where}.headers`, name, value);
  }
  if (r.body !== undefined) {
    if (base.protocol === "ws") throw new UsageError(`${where}.body: a WebSocket subscription sends no body`);
    let text: string | undefined;
    try {
      text = JSON.stringify(r.body);
    } catch {
      text = undefined;
    }
    if (text === undefined)
      throw new UsageError(`${where}.body is not JSON: expected a JSON value (an object, usually)`);
    const bad = unknownPlaceholders(text);
    if (bad.length)
      throw new UsageError(
        `${where}.body holds {{${bad[0]}}}: the placeholders are ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(" and ")}`,
      );
    out.body = text;
    if (!Object.keys(out.headers).includes("content-type")) out.headers["content-type"] = "application/json";
  }
  if (out.body !== undefined && (out.method === "GET" || out.method === "HEAD"))
    throw new UsageError(
      `${where}: a ${out.method} request carries no body: give another method (POST, PUT …) or no body`,
    );
  return out;
}

/**
 * Every scenario's request: `defaults` (the scenarios' own), then --header on all of them, then
 * the file's `requests` entry (its headers win over --header). A `${env:NAME}` that is not set
 * in `env` is a usage error now, before anything runs.
 */
export function resolveRequests(
  raw: unknown,
  headerArgs: readonly string[],
  defaults: Readonly<Record<string, RequestSpec>>,
  env: Readonly<NodeJS.ProcessEnv>,
): Record<string, RequestSpec> {
  const common = Object.fromEntries(headerArgs.map(parseHeaderArg));
  const out: Record<string, RequestSpec> = {};
  for (const [name, d] of Object.entries(defaults)) out[name] = { ...d, headers: { ...d.headers, ...common } };
  if (raw !== undefined) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw new UsageError(`requests is ${JSON.stringify(raw)}: expected an object of scenario names to requests`);
    for (const [name, value] of Object.entries(raw)) {
      const base = out[name];
      if (!base)
        throw new UsageError(
          `requests: unknown scenario ${JSON.stringify(name)}: requests can be given for ${Object.keys(defaults).join(", ")}`,
        );
      out[name] = entry(`requests.${name}`, value, base);
    }
  }
  for (const [name, r] of Object.entries(out)) {
    const missing = missingEnv(r.headers, env);
    if (missing) {
      const header = Object.entries(r.headers).find(([, v]) => envRefs(v).includes(missing))![0];
      throw new UsageError(
        `${headerArgs.some((h) => h.includes(`\${env:${missing}}`)) ? "--header" : `requests.${name}.headers`} ${header} names \${env:${missing}}, which is not set in the environment`,
      );
    }
  }
  return out;
}

const SECRET_HEADER = /authorization|cookie|secret|token|key/i;

/**
 * The requests as results.json and the reports show them: a `${env:NAME}` reference is kept
 * (it names the secret, it is not one); a literal value of a header whose name looks secret
 * (authorization, cookie, …key, …token) is redacted.
 */
export function recordedRequests(requests: Readonly<Record<string, RequestSpec>>): Record<string, RequestSpec> {
  return Object.fromEntries(
    Object.entries(requests).map(([name, r]) => [
      name,
      {
        ...r,
        headers: Object.fromEntries(
          Object.entries(r.headers).map(([k, v]) => [
            k,
            (SECRET_HEADER.test(k) || isSecretName(k)) && envRefs(v).length === 0 && v !== "" ? "[redacted]" : v,
          ]),
        ),
      },
    ]),
  );
}

/** Literal values of secret-looking headers (scrubbed from logs and failing bodies like the env's secrets). */
export const literalHeaderSecrets = (requests: Readonly<Record<string, RequestSpec>>): string[] =>
  Object.values(requests).flatMap((r) =>
    Object.entries(r.headers)
      .filter(([k, v]) => SECRET_HEADER.test(k) && envRefs(v).length === 0 && v.length >= 4)
      .map(([, v]) => v),
  );

/** Each scenario's own request, by its name: the defaults `requests` entries override. */
export const defaultRequests = (
  scenarios: Iterable<{ name: string; request?: RequestSpec }>,
): Record<string, RequestSpec> =>
  Object.fromEntries([...scenarios].flatMap((s) => (s.request ? [[s.name, s.request] as const] : [])));
