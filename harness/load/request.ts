import { randomUUID } from "node:crypto";
import type { LiveRequest, RequestBody, RequestSpec } from "../../scenarios/contract.js";

export type { LiveRequest, RequestSpec };

/** The placeholders a body may hold, each replaced per request. */
export const PLACEHOLDERS = ["seq", "uuid"] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

const TOKEN = /\{\{([^{}]*)\}\}/g;

/** One counter per process: a {{seq}} is unique across the trials and warm-ups of a run. */
let seq = 0;

/** Placeholders a body names that perfpack does not know ("{{foo}}"), for the usage error. */
export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(TOKEN)]
    .map((m) => m[1]!.trim())
    .filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
}

/**
 * A body with placeholders, split once into literal parts and placeholders, so that each
 * request costs a concatenation (and a UUID where one is asked for), not a JSON encoding.
 * {{seq}} counts 1, 2, 3 … across the process; {{uuid}} is a random v4 UUID.
 */
export class BodyTemplate implements RequestBody {
  private readonly parts: string[];
  private readonly holes: Placeholder[];

  constructor(readonly text: string) {
    this.parts = [];
    this.holes = [];
    let at = 0;
    for (const m of text.matchAll(TOKEN)) {
      const name = m[1]!.trim();
      if (!(PLACEHOLDERS as readonly string[]).includes(name)) continue;
      this.parts.push(text.slice(at, m.index));
      this.holes.push(name as Placeholder);
      at = m.index + m[0].length;
    }
    this.parts.push(text.slice(at));
  }

  /** No placeholder: every request sends the same bytes (encode them once). */
  get fixed(): boolean {
    return this.holes.length === 0;
  }

  next(): string {
    if (this.holes.length === 0) return this.text;
    let out = this.parts[0]!;
    for (let i = 0; i < this.holes.length; i++)
      out += (this.holes[i] === "seq" ? String(++seq) : randomUUID()) + this.parts[i + 1]!;
    return out;
  }
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The environment variables a header value names (`${env:API_KEY}`). */
export const envRefs = (value: string): string[] => [...value.matchAll(ENV_REF)].map((m) => m[1]!);

/** The variable a header value names that is not set, if any. */
export const missingEnv = (headers: Record<string, string>, env: Readonly<NodeJS.ProcessEnv>): string | undefined =>
  Object.values(headers)
    .flatMap(envRefs)
    .find((name) => env[name] === undefined);

/**
 * The request as it is sent: every `${env:NAME}` in a header replaced by the variable's value,
 * which is a secret from then on (scrubbed from results, logs and reports). Throws naming the
 * variable when it is not set (the run checked that before it started).
 */
export function liveRequest(
  spec: RequestSpec,
  env: Readonly<NodeJS.ProcessEnv>,
): { request: LiveRequest; secrets: string[] } {
  const secrets: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers)) {
    headers[name] = value.replace(ENV_REF, (_m, v: string) => {
      const val = env[v];
      if (val === undefined) throw new Error(`header ${name} names \${env:${v}}, which is not set`);
      if (val !== "") secrets.push(val);
      return val;
    });
  }
  return {
    request: {
      protocol: spec.protocol,
      method: spec.method,
      path: spec.path,
      headers,
      body: spec.body !== undefined ? new BodyTemplate(spec.body) : undefined,
      spec,
    },
    secrets,
  };
}

/** "POST /api/private/order": how a message names a request. */
export const routeOf = (r: Pick<RequestSpec, "protocol" | "method" | "path">): string =>
  `${r.protocol === "ws" ? "WS" : r.method} ${r.path}`;

/** What a closed- or open-model generator needs of a request against the service at `base`. */
export const loadTarget = (
  base: string,
  r: LiveRequest,
): { url: string; method: string; headers: Record<string, string>; body?: RequestBody } => ({
  url: base + r.path,
  method: r.method,
  headers: r.headers,
  body: r.body,
});

/** Every request of a run, live, and the secrets their headers resolved to. */
export function liveRequests(
  specs: Readonly<Record<string, RequestSpec>>,
  env: Readonly<NodeJS.ProcessEnv>,
): { requests: Record<string, LiveRequest>; secrets: string[] } {
  const requests: Record<string, LiveRequest> = {};
  const secrets: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const l = liveRequest(spec, env);
    requests[name] = l.request;
    secrets.push(...l.secrets);
  }
  return { requests, secrets };
}
