/**
 * Artillery (2.0.21, the last release that runs on Node 20) as an outside generator: scripts
 * perfpack writes for it, and the reports it writes turned back into perfpack's metrics. Pure:
 * no process is started here (harness/load/artillery-run.ts does that).
 */
import type { RequestSpec } from "./request.js";
import type { AnswersRecord, TransportFailure } from "./answers.js";

/** The Artillery release perfpack exports for and installs on first use. */
export const ARTILLERY_VERSION = "2.0.21";

/** Artillery's summaries are sketches with ~1% relative accuracy (its docs: DDSketch, α = 0.01). */
export const ARTILLERY_SKETCH_ACCURACY = 0.01;

/** Seconds an `artillery run` takes besides its phases (start-up, workers, report): 22 s for a 5 s run here. */
export const ARTILLERY_OVERHEAD_S = 16;

/** Scenarios with an Artillery counterpart; json runs in perfpack's process and soak is its own. */
export const EXPORTABLE = ["latency", "batch", "ws"] as const;
export type Exportable = (typeof EXPORTABLE)[number];

export interface ExportOptions {
  /** The executor's base URL the script targets. */
  target: string;
  durationS: number;
  warmupS: number;
  connections: number;
  /** Open model for latency: arrivals per second (each an Artillery virtual user). */
  rate: number | undefined;
  wsClients: number;
  /** For the record in the script: which variant it is meant to measure. */
  variant: { name: string; env: Record<string, string> };
  /** The requests the scenarios send (the run's `requests` and --header), by scenario name. */
  requests: Readonly<Record<string, RequestSpec>>;
}

/** The processor module every exported script loads: a closed loop's window, and WebSocket latency. */
export const PROCESSOR_JS = `// Written by perfpack export artillery. Loaded by Artillery as config.processor.
"use strict";
// a closed loop: each virtual user repeats its request until its window ends
function startWindow(context, events, done) {
  context.vars.perfpackUntil = Date.now() + Number(context.vars.perfpackWindowS) * 1000;
  return done();
}
function withinWindow(context, next) {
  return next(Date.now() < context.vars.perfpackUntil);
}
// WebSocket latency from the executor's send stamp: {"ts":<CLOCK_MONOTONIC ms>} closes each
// message. The stamp is this machine's monotonic clock, so it means something only when
// Artillery runs on the executor's machine; elsewhere the latency is not recorded.
const TS = /"ts":([\\d.]+)\\}\\}$/;
function recordWsLatency(context, events, done) {
  context.ws.on("message", (data) => {
    const text = typeof data === "string" ? data : data.toString("latin1");
    events.emit("counter", "perfpack.ws.messages", 1);
    events.emit("counter", "perfpack.ws.payload_bytes", text.length);
    const m = TS.exec(text.slice(-40));
    if (!m) return;
    const ms = Number(process.hrtime.bigint()) / 1e6 - Number(m[1]);
    if (ms >= 0 && ms < 60000) events.emit("histogram", "perfpack.ws.latency_ms", ms);
  });
  return done();
}
// perfpack's body placeholders: {{seq}} and {{uuid}} are filled before each request. seq counts
// per worker thread from threadId × 10^9, so that it stays unique across Artillery's workers.
const { randomUUID } = require("node:crypto");
const { threadId } = require("node:worker_threads");
let seq = 0;
function perfpackNext(context, events, done) {
  context.vars.perfpackSeq = String(threadId * 1e9 + ++seq);
  context.vars.perfpackUuid = randomUUID();
  return done();
}
// a WebSocket subscription with headers: \${env:NAME} values are read from this process's
// environment here, so that no secret is written into the script
function perfpackWsConnect(wsArgs, context, done) {
  const headers = {};
  for (const [k, v] of Object.entries(context.vars.perfpackWsHeaders || {})) headers[k] = String(v).replace(/\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)\\}/g, (_m, n) => process.env[n] || "");
  wsArgs.target = context.vars.perfpackWsUrl;
  wsArgs.options = { ...(wsArgs.options || {}), headers };
  return done();
}
module.exports = { startWindow, withinWindow, recordWsLatency, perfpackNext, perfpackWsConnect };
`;

/** A header value for Artillery: \${env:NAME} becomes its template of the environment, {{ $env.NAME }}. */
const artilleryValue = (v: string): string => v.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, "{{ $env.$1 }}");

/** The placeholders perfpackNext fills, in Artillery's template syntax. */
const artilleryBody = (text: string): string =>
  text.replace(/\{\{\s*seq\s*\}\}/g, "{{ perfpackSeq }}").replace(/\{\{\s*uuid\s*\}\}/g, "{{ perfpackUuid }}");

/** One request as Artillery flow steps: the request, after perfpackNext when its body has placeholders. */
function httpSteps(r: RequestSpec): unknown[] {
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, artilleryValue(v)]));
  const step = {
    [r.method.toLowerCase()]: {
      url: r.path,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(r.body !== undefined ? { json: JSON.parse(artilleryBody(r.body)) as unknown } : {}),
    },
  };
  return r.body !== undefined && /\{\{\s*(seq|uuid)\s*\}\}/.test(r.body)
    ? [{ function: "perfpackNext" }, step]
    : [step];
}

type Script = { config: Record<string, unknown>; scenarios: Array<Record<string, unknown>> };

/**
 * One Artillery script for a scenario and variant: `measure` for the measured window, `warmup`
 * for the run before it (a separate run, so that it stays out of the measured aggregate).
 */
export function artilleryScript(scenario: Exportable, o: ExportOptions, phase: "measure" | "warmup"): Script {
  const seconds = phase === "measure" ? o.durationS : o.warmupS;
  const closed = (flow: unknown[]) => ({
    phases: [
      {
        name: `${phase}: ${o.connections} virtual users, each a closed loop for ${seconds} s`,
        duration: 1,
        arrivalCount: o.connections,
      },
    ],
    variables: { perfpackWindowS: seconds },
    scenario: { beforeScenario: "startWindow", flow: [{ loop: flow, whileTrue: "withinWindow" }] },
  });
  const base = (target: string, phases: unknown, extra: Record<string, unknown> = {}) => ({
    target,
    phases,
    processor: "./perfpack-processor.js",
    http: { timeout: 10 },
    // which variant this script measures: perfpack import artillery takes the variant by name
    variables: { perfpackVariant: o.variant.name, perfpackScenario: scenario, ...(extra.variables as object) },
  });
  const r = o.requests[scenario];
  if (!r) throw new Error(`no request for the ${scenario} scenario`);
  if (scenario === "ws") {
    const url = o.target.replace(/^http/, "ws");
    const headed = Object.keys(r.headers).length > 0;
    return {
      config: base(
        url,
        [{ name: `${phase}: ${o.wsClients} subscribers`, duration: 1, arrivalCount: o.wsClients }],
        headed ? { variables: { perfpackWsUrl: url + r.path, perfpackWsHeaders: r.headers } } : {},
      ),
      scenarios: [
        {
          name: "market subscriber",
          engine: "ws",
          flow: [
            { connect: headed ? { function: "perfpackWsConnect" } : `${url}${r.path}` },
            { function: "recordWsLatency" },
            { think: seconds },
          ],
        },
      ],
    };
  }
  if (scenario === "latency" && o.rate !== undefined) {
    return {
      config: base(o.target, [
        {
          name: `${phase}: open model, ${o.rate} arrivals/s for ${seconds} s (each a new virtual user and connection)`,
          duration: seconds,
          arrivalRate: o.rate,
        },
      ]),
      scenarios: [{ name: "open-orders", flow: httpSteps(r) }],
    };
  }
  const c = closed(httpSteps(r));
  return {
    config: { ...base(o.target, c.phases, { variables: c.variables }) },
    scenarios: [{ name: scenario === "latency" ? "open-orders" : "orders", ...c.scenario }],
  };
}

/**
 * A script as the file Artillery reads: JSON, which is YAML too. Artillery parses every script,
 * .yml or .json, with its YAML parser (js-yaml), so the files keep their .yml names and no
 * hand-written emitter has to quote a value right.
 */
export const scriptText = (script: Script): string => JSON.stringify(script, null, 2) + "\n";

/** A malformed Artillery report, naming the field (perfpack import exits 2). */
export class ArtilleryReportError extends Error {}

interface Summary {
  min: number;
  max: number;
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

const num = (v: unknown, field: string): number => {
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new ArtilleryReportError(`${field} is ${v === undefined ? "missing" : JSON.stringify(v)}: expected a number`);
  return v;
};

function summaryOf(x: unknown, field: string): Summary {
  if (typeof x !== "object" || x === null)
    throw new ArtilleryReportError(
      `${field} is missing: expected Artillery's summary {min, max, count, mean, p50, p95, p99}`,
    );
  const s = x as Record<string, unknown>;
  return {
    min: num(s.min, `${field}.min`),
    max: num(s.max, `${field}.max`),
    count: num(s.count, `${field}.count`),
    mean: num(s.mean, `${field}.mean`),
    p50: num(s.p50 ?? s.median, `${field}.p50`),
    p95: num(s.p95, `${field}.p95`),
    p99: num(s.p99, `${field}.p99`),
  };
}

const latency = (prefix: string, s: Summary): Record<string, number> => ({
  [`${prefix}_p50_ms`]: s.p50,
  [`${prefix}_p95_ms`]: s.p95,
  [`${prefix}_p99_ms`]: s.p99,
  [`${prefix}_max_ms`]: s.max,
  [`${prefix}_mean_ms`]: s.mean,
});

export interface ImportedMetrics {
  metrics: Record<string, number>;
  /** The answers counted apart (HTTP scenarios): http.codes.* and errors.*. */
  answers?: AnswersRecord;
  /** The measured window Artillery's counters cover, seconds. */
  windowS: number;
  work: number;
}

/** What every scenario reads of Artillery's aggregate. */
interface Aggregate {
  counters: Record<string, number>;
  summaries: Record<string, unknown>;
  /** The measured window the counters cover, seconds. */
  windowS: number;
  /** errors.* summed: the requests that got no answer. */
  errors: number;
}

function aggregateOf(report: unknown): Aggregate {
  const agg = (report as { aggregate?: Record<string, unknown> } | null)?.aggregate;
  if (typeof agg !== "object" || agg === null)
    throw new ArtilleryReportError(
      "aggregate is missing: expected the JSON that `artillery run --output report.json` writes",
    );
  const counters = (agg.counters ?? {}) as Record<string, number>;
  if (typeof counters !== "object") throw new ArtilleryReportError("aggregate.counters is not an object");
  const first = num(agg.firstCounterAt, "aggregate.firstCounterAt");
  const last = num(agg.lastCounterAt, "aggregate.lastCounterAt");
  return {
    counters,
    summaries: (agg.summaries ?? {}) as Record<string, unknown>,
    // counters are stamped per 1 s period; a window shorter than one period still spans one
    windowS: Math.max(1, (last - first) / 1000),
    errors: Object.entries(counters)
      .filter(([k]) => k.startsWith("errors."))
      .reduce((a, [, v]) => a + v, 0),
  };
}

const count = (counters: Record<string, number>, k: string) => (typeof counters[k] === "number" ? counters[k] : 0);

/** The ws scenario: messages and their latency, as perfpack's processor counts and records them. */
function wsMetrics({ counters, summaries, windowS, errors }: Aggregate): ImportedMetrics {
  const messages = count(counters, "perfpack.ws.messages");
  const latencies = summaries["perfpack.ws.latency_ms"];
  const metrics: Record<string, number> = {
    ws_clients: count(counters, "vusers.created"),
    ws_messages: messages,
    ws_msgs_per_s: messages / windowS,
    ws_payload_bytes: count(counters, "perfpack.ws.payload_bytes"),
    errors,
    ...(latencies !== undefined
      ? latency("ws_latency", summaryOf(latencies, 'aggregate.summaries["perfpack.ws.latency_ms"]'))
      : {}),
  };
  return { metrics, windowS, work: messages };
}

/** http.codes.*: the 2xx answers, and the others by status. */
function statusesOf(counters: Record<string, number>): { ok: number; statuses: Record<string, number> } {
  const statuses: Record<string, number> = {};
  let ok = 0;
  for (const [k, v] of Object.entries(counters)) {
    const code = /^http\.codes\.(\d{3})$/.exec(k)?.[1];
    if (!code) continue;
    if (code.startsWith("2")) ok += v;
    else statuses[code] = v;
  }
  return { ok, statuses };
}

/** An Artillery error code (errors.<code>) as perfpack's kind of transport failure. */
const transportKind = (code: string): TransportFailure =>
  code === "ECONNREFUSED"
    ? "refused"
    : code === "ECONNRESET" || code === "EPIPE"
      ? "reset"
      : /TIMEDOUT|timeout/i.test(code)
        ? "timeout"
        : "other";

/** errors.*: the requests that got no answer, by how they failed. */
function transportOf(counters: Record<string, number>): Record<TransportFailure, number> {
  const transport: Record<TransportFailure, number> = { refused: 0, reset: 0, timeout: 0, other: 0 };
  for (const [k, v] of Object.entries(counters)) if (k.startsWith("errors.")) transport[transportKind(k.slice(7))] += v;
  return transport;
}

/** The HTTP scenarios: the successes' latency and rate, the failures counted apart. */
function httpMetrics(a: Aggregate, scenario: Exclude<Exportable, "ws">): ImportedMetrics {
  const { counters, summaries, windowS, errors } = a;
  const responses = num(counters["http.responses"] ?? 0, 'aggregate.counters["http.responses"]');
  const { ok, statuses } = statusesOf(counters);
  const failed = responses - ok + errors;
  const answers: AnswersRecord = {
    ok,
    statuses,
    transport: transportOf(counters),
    failureShare: ok + failed === 0 ? 0 : failed / (ok + failed),
  };
  // the successes' response time when Artillery split it by class (2.x does: http.response_time.2xx)
  const rtKey = summaries["http.response_time.2xx"] !== undefined ? "http.response_time.2xx" : "http.response_time";
  const rt = summaryOf(summaries[rtKey], `aggregate.summaries["${rtKey}"]`);
  const common = {
    errors,
    non_2xx: responses - ok,
    ok,
    failed,
    failure_share: answers.failureShare,
    ...latency("latency", rt),
  };
  if (scenario === "batch")
    return { metrics: { orders_per_s: ok / windowS, orders: ok, ...common }, answers, windowS, work: ok };
  return { metrics: { rps: ok / windowS, requests: responses, ...common }, answers, windowS, work: responses };
}

/**
 * Artillery's report (`artillery run --output report.json`) as perfpack's metrics for one
 * scenario: `aggregate.summaries["http.response_time"]` → latency_*_ms, the counters → rps or
 * orders/s, errors and non-2xx. The window is from the first to the last counter.
 */
export function metricsFromReport(report: unknown, scenario: Exportable): ImportedMetrics {
  const a = aggregateOf(report);
  return scenario === "ws" ? wsMetrics(a) : httpMetrics(a, scenario);
}
