import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parser } from "@prometheus-io/lezer-promql";
import { createMetrics } from "../../../services/executor/src/lib/metrics.js";
import { projectRoot } from "../../../services/common/src/project.js";

// The npm-only tier of the dashboard's checks: every query parses as PromQL, and every metric it
// names is one the executor exports. The integration test then runs them in a real Prometheus.

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(
  readFileSync(join(projectRoot(), "runtime", "grafana", "perfpack-executor.json"), "utf8"),
) as { panels: Panel[] };
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Series names the executor's registry exposes: histograms as _bucket, _sum and _count. */
async function exportedNames(): Promise<Set<string>> {
  const m = createMetrics();
  const names = new Set<string>(["up"]); // Prometheus's own, per scrape target
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(metric.name + s);
    if (String(metric.type) === "summary") for (const s of ["_sum", "_count"]) names.add(metric.name + s);
  }
  return names;
}

/** The metric names a query selects (the identifiers of its vector selectors), or its syntax errors. */
function parse(expr: string): { metrics: string[]; errors: number[] } {
  const tree = parser.parse(expr);
  const metrics: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(n.from);
      if (n.name === "VectorSelector") {
        const id = n.node.getChild("Identifier");
        if (id) metrics.push(expr.slice(id.from, id.to));
      }
    },
  });
  return { metrics, errors };
}

test("the dashboard holds the guide's four queries and a panel group for every metric group", () => {
  const exprs = queries.map((q) => q.expr).join("\n");
  for (const metric of [
    "spark_perf_http_duration_ms_bucket",
    "spark_batch_flush_total",
    "spark_json_serialization_ms_bucket",
    "spark_ws_compressed_frames_total",
  ]) {
    assert.ok(exprs.includes(metric), `no query on ${metric}`);
  }
  assert.ok(exprs.includes("rate(spark_batch_flush_total[1m])"));
  assert.ok(exprs.includes("histogram_quantile(0.95, rate(spark_json_serialization_ms_bucket[5m]))"));
  assert.ok(exprs.includes("rate(spark_ws_compressed_frames_total[5m])"));
  const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title);
  assert.deepEqual(rows, ["The guide's queries", "HTTP", "Batch", "JSON", "WebSocket", "Process and GC"]);
});

test("every dashboard query parses as PromQL and selects only metrics the executor exports", async () => {
  const exported = await exportedNames();
  assert.ok(queries.length >= 20, `${queries.length} queries`);
  const bad: string[] = [];
  let selected = 0;
  for (const q of queries) {
    const { metrics, errors } = parse(q.expr);
    if (errors.length) bad.push(`${q.panel}: syntax error at ${errors.join(", ")} in ${q.expr}`);
    if (metrics.length === 0) bad.push(`${q.panel}: selects no metric: ${q.expr}`);
    for (const m of metrics) if (!exported.has(m)) bad.push(`${q.panel}: ${m} is not exported by the executor`);
    selected += metrics.length;
  }
  assert.deepEqual(bad, []);
  assert.ok(selected >= queries.length);
});

test("the checker catches a misspelt metric and a syntax error", async () => {
  const exported = await exportedNames();
  assert.deepEqual(
    parse("rate(spark_batch_flush_totl[1m])").metrics.filter((m) => !exported.has(m)),
    ["spark_batch_flush_totl"],
  );
  assert.ok(parse("histogram_quantile(0.95, rate(spark_json_serialization_ms_bucket[5m])").errors.length > 0);
});
