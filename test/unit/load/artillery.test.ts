import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ArtilleryReportError, artilleryScript, metricsFromReport, toYaml, type ExportOptions } from "../../../harness/load/artillery.js";
import { fixturePath } from "../../../services/common/src/project.js";

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
    assert.deepEqual([m.metrics.latency_p50_ms, m.metrics.latency_p95_ms, m.metrics.latency_p99_ms, m.metrics.latency_max_ms], [rt.p50, rt.p95, rt.p99, rt.max]);
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
    [(r) => (delete r.aggregate.summaries["http.response_time"], r), /aggregate\.summaries\["http\.response_time"\] is missing/],
    [(r) => ((r.aggregate.summaries["http.response_time"].p95 = "fast"), r), /http\.response_time"\]\.p95 is "fast": expected a number/],
    [(r) => (delete r.aggregate.firstCounterAt, r), /aggregate\.firstCounterAt is missing/],
  ];
  for (const [mutate, re] of cases)
    assert.throws(
      () => metricsFromReport(mutate(report("latency")), "latency"),
      (e: Error) => e instanceof ArtilleryReportError && re.test(e.message),
      String(re),
    );
});

const O: ExportOptions = { target: "http://127.0.0.1:4001", durationS: 3, warmupS: 1, connections: 8, rate: undefined, wsClients: 5, variant: { name: "optimized", env: {} } };

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

test("scripts are written as block YAML with every string double-quoted, so no value changes type", () => {
  const y = toYaml({
    config: { target: "http://h", phases: [{ duration: 1, arrivalCount: 8 }], "odd key": "yes", empty: [] },
    scenarios: [{ flow: [{ loop: [{ get: { url: "/a" } }], whileTrue: "w" }, "x: y"] }],
  });
  assert.equal(
    y,
    [
      "config:",
      '  target: "http://h"',
      "  phases:",
      "    - duration: 1",
      "      arrivalCount: 8",
      '  "odd key": "yes"',
      "  empty: []",
      "scenarios:",
      "  - flow:",
      "      - loop:",
      "          - get:",
      '              url: "/a"',
      '        whileTrue: "w"',
      '      - "x: y"',
      "",
    ].join("\n"),
  );
});
