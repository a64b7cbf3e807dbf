import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  ArtilleryReportError,
  artilleryScript,
  metricsFromReport,
  scriptText,
  type ExportOptions,
} from "../../../harness/load/artillery.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { defaultRequests } from "../../../harness/plan/requests.js";
import { SCENARIOS } from "../../../scenarios/index.js";

// Reports written by Artillery 2.0.21 (`artillery run --output`) against this repository's
// executor, from scripts `perfpack export artillery` wrote.
const report = (name: string) => JSON.parse(readFileSync(fixturePath(`artillery/${name}-report.json`), "utf8"));

test("an Artillery report's aggregate becomes perfpack's metrics: latency from http.response_time, rates over the counters' window", () => {
  for (const name of ["latency", "latency-open"]) {
    const r = report(name);
    const rt = r.aggregate.summaries["http.response_time"];
    const windowS = Math.max(1, (r.aggregate.lastCounterAt - r.aggregate.firstCounterAt) / 1000);
    const m = metricsFromReport(r, "latency");
    assert.equal(m.windowS, windowS);
    assert.equal(m.metrics.requests, r.aggregate.counters["http.responses"]);
    assert.equal(m.metrics.rps, r.aggregate.counters["http.responses"] / windowS);
    assert.deepEqual(
      [m.metrics.latency_p50_ms, m.metrics.latency_p95_ms, m.metrics.latency_p99_ms, m.metrics.latency_max_ms],
      [rt.p50, rt.p95, rt.p99, rt.max],
    );
    assert.equal(m.metrics.non_2xx, 0);
    assert.equal(m.metrics.errors, 0);
  }
  const b = metricsFromReport(report("batch"), "batch");
  assert.equal(b.metrics.orders, report("batch").aggregate.counters["http.codes.200"]);
  assert.ok(b.metrics.orders_per_s! > 0 && b.work === b.metrics.orders);
  const w = metricsFromReport(report("ws"), "ws");
  assert.equal(w.metrics.ws_messages, report("ws").aggregate.counters["perfpack.ws.messages"]);
  assert.equal(w.metrics.ws_latency_p95_ms, report("ws").aggregate.summaries["perfpack.ws.latency_ms"].p95);
});

test("non-2xx answers and errors are counted apart", () => {
  const r = report("latency");
  r.aggregate.counters["http.codes.503"] = 7;
  r.aggregate.counters["http.responses"] += 7;
  r.aggregate.counters["errors.ECONNRESET"] = 3;
  const m = metricsFromReport(r, "latency");
  assert.equal(m.metrics.non_2xx, 7);
  assert.equal(m.metrics.errors, 3);
});

test("a malformed report is refused by the field that is wrong", () => {
  const cases: Array<[(r: any) => unknown, RegExp]> = [
    [() => ({}), /aggregate is missing/],
    [() => null, /aggregate is missing/],
    [
      (r) => (
        delete r.aggregate.summaries["http.response_time"],
        delete r.aggregate.summaries["http.response_time.2xx"],
        r
      ),
      /aggregate\.summaries\["http\.response_time"\] is missing/,
    ],
    // the successes' response time when Artillery splits it by class, as 2.x does
    [
      (r) => ((r.aggregate.summaries["http.response_time.2xx"].p95 = "fast"), r),
      /http\.response_time\.2xx"\]\.p95 is "fast": expected a number/,
    ],
    [(r) => (delete r.aggregate.firstCounterAt, r), /aggregate\.firstCounterAt is missing/],
  ];
  for (const [mutate, re] of cases)
    assert.throws(
      () => metricsFromReport(mutate(report("latency")), "latency"),
      (e: Error) => e instanceof ArtilleryReportError && re.test(e.message),
      String(re),
    );
});

const O: ExportOptions = {
  target: "http://127.0.0.1:4001",
  durationS: 3,
  warmupS: 1,
  connections: 8,
  rate: undefined,
  wsClients: 5,
  variant: { name: "optimized", env: {} },
  requests: defaultRequests(SCENARIOS.values()),
};

test("exported scripts: a closed loop of --connections users for the window, the open model at --rate, order POSTs, WebSocket subscribers; the warm-up is its own script", () => {
  const closed = artilleryScript("latency", O, "measure") as any;
  assert.deepEqual(
    closed.config.phases.map((p: any) => [p.duration, p.arrivalCount]),
    [[1, 8]],
  );
  assert.equal(closed.config.variables.perfpackWindowS, 3);
  assert.equal(closed.scenarios[0].flow[0].whileTrue, "withinWindow");
  assert.equal(closed.scenarios[0].flow[0].loop[0].get.url, "/api/private/open-orders");
  assert.equal((artilleryScript("latency", O, "warmup") as any).config.variables.perfpackWindowS, 1);
  const open = artilleryScript("latency", { ...O, rate: 200 }, "measure") as any;
  assert.deepEqual(
    open.config.phases.map((p: any) => [p.duration, p.arrivalRate]),
    [[3, 200]],
  );
  const batch = artilleryScript("batch", O, "measure") as any;
  assert.equal(batch.scenarios[0].flow[0].loop[0].post.url, "/api/private/order");
  assert.equal(batch.scenarios[0].flow[0].loop[0].post.json.symbol, "BTCUSDT");
  const ws = artilleryScript("ws", O, "measure") as any;
  assert.equal(ws.scenarios[0].engine, "ws");
  assert.equal(ws.scenarios[0].flow[0].connect, "ws://127.0.0.1:4001/ws/market");
  assert.equal(ws.config.phases[0].arrivalCount, 5);
  for (const s of [closed, open, batch, ws]) assert.equal(s.config.variables.perfpackVariant, "optimized");
});

test("scripts are written as JSON (which is YAML, as Artillery reads them): the same script back, every string still a string", () => {
  for (const phase of ["measure", "warmup"] as const) {
    for (const script of [
      artilleryScript("latency", O, phase),
      artilleryScript("latency", { ...O, rate: 200 }, phase),
      artilleryScript("batch", O, phase),
      artilleryScript("ws", O, phase),
    ]) {
      const text = scriptText(script);
      assert.deepEqual(JSON.parse(text), script);
      assert.ok(text.startsWith("{\n") && text.endsWith("}\n"), "one JSON document per file, nothing around it");
    }
  }
  // what a YAML emitter has to quote by hand is just a JSON string here
  const tricky = {
    config: {
      target: "http://h",
      variables: { colon: "x: y", hash: "# not a comment", yes: "yes", empty: "", nul: null },
    },
    scenarios: [],
  };
  assert.deepEqual(JSON.parse(scriptText(tricky)), tricky);
});

test("exported scripts carry the run's requests: own paths and methods, ${env:…} as Artillery's $env, {{seq}} and {{uuid}} filled by the processor", async () => {
  const { resolveRequests } = await import("../../../harness/plan/requests.js");
  const requests = resolveRequests(
    {
      latency: { path: "/v2/book?symbol=BTCUSDT" },
      batch: { method: "PUT", path: "/v2/orders", body: { id: "o-{{seq}}", key: "{{uuid}}" } },
      ws: { path: "/v2/stream" },
    },
    ["x-api-key: ${env:API_KEY}"],
    defaultRequests(SCENARIOS.values()),
    { API_KEY: "never-written" },
  );
  const o = { ...O, requests };
  const latency = artilleryScript("latency", o, "measure") as any;
  assert.deepEqual(latency.scenarios[0].flow[0].loop, [
    { get: { url: "/v2/book?symbol=BTCUSDT", headers: { "x-api-key": "{{ $env.API_KEY }}" } } },
  ]);
  const batch = artilleryScript("batch", o, "measure") as any;
  const [next, put] = batch.scenarios[0].flow[0].loop;
  assert.deepEqual(next, { function: "perfpackNext" });
  assert.deepEqual(put.put.json, { id: "o-{{ perfpackSeq }}", key: "{{ perfpackUuid }}" });
  assert.equal(put.put.url, "/v2/orders");
  const ws = artilleryScript("ws", o, "measure") as any;
  assert.deepEqual(ws.scenarios[0].flow[0], { connect: { function: "perfpackWsConnect" } });
  assert.equal(ws.config.variables.perfpackWsUrl, "ws://127.0.0.1:4001/v2/stream");
  const text = [latency, batch, ws].map(scriptText).join("\n");
  assert.ok(!text.includes("never-written"), "no secret in a script");

  // the processor, as Artillery loads it: per-request values, and the WebSocket headers read from the environment
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { createRequire } = await import("node:module");
  const { PROCESSOR_JS } = await import("../../../harness/load/artillery.js");
  const file = join(mkdtempSync(join(tmpdir(), "perfpack-proc-")), "perfpack-processor.cjs");
  writeFileSync(file, PROCESSOR_JS);
  const proc = createRequire(import.meta.url)(file) as Record<string, (...a: unknown[]) => void>;
  const ctx = { vars: {} as Record<string, unknown> };
  const seen = new Set<unknown>();
  for (let i = 0; i < 100; i++) {
    proc.perfpackNext!(ctx, null, () => {});
    seen.add(ctx.vars.perfpackSeq).add(ctx.vars.perfpackUuid);
  }
  assert.equal(seen.size, 200);
  process.env.PERFPACK_TEST_WS_KEY = "from-env";
  const wsArgs: { target?: string; options?: { headers?: Record<string, string> } } = {};
  proc.perfpackWsConnect!(
    wsArgs,
    { vars: { perfpackWsUrl: "ws://h/p", perfpackWsHeaders: { "x-api-key": "${env:PERFPACK_TEST_WS_KEY}" } } },
    () => {},
  );
  delete process.env.PERFPACK_TEST_WS_KEY;
  assert.deepEqual(wsArgs, { target: "ws://h/p", options: { headers: { "x-api-key": "from-env" } } });
});
