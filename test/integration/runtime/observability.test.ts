import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Agent, request } from "undici";
import WebSocket from "ws";
import { projectRoot } from "../../../services/common/src/project.js";
import { OPTIMIZED_ENV } from "../../../harness/plan/variants.js";
import { startStack, type Stack } from "../../../harness/engine/rig.js";
import { hasPrometheus, startPrometheus, type Prometheus } from "../../helpers/prometheus.js";

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(
  readFileSync(join(projectRoot(), "runtime", "grafana", "perfpack-executor.json"), "utf8"),
) as { panels: Panel[] };
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

let stack: Stack | undefined;
let prom: Prometheus | undefined;
after(async () => {
  await prom?.stop();
  await stack?.stop();
});

test("a real Prometheus scrapes the executor under load, and every dashboard query gives finite, non-empty results", async (t) => {
  if (!hasPrometheus(t)) return;
  stack = await startStack({ exchangeArgs: ["--latency-ms", "2"], executorEnv: { ...OPTIMIZED_ENV } });
  const exe = new URL(stack.executor.url);
  prom = await startPrometheus(exe.host, "/api/public/metrics/prom");

  // a short mixed load: orders, open orders and market-stream subscribers, for 12 s
  const agent = new Agent({ connections: 8 });
  const sockets = Array.from(
    { length: 3 },
    () => new WebSocket(`${stack!.executor.url.replace("http", "ws")}/ws/market`),
  );
  const until = Date.now() + 12_000;
  let n = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      while (Date.now() < until) {
        const order = w % 2 === 0;
        const r = await request(`${stack!.executor.url}/api/private/${order ? "order" : "open-orders"}`, {
          method: order ? "POST" : "GET",
          dispatcher: agent,
          ...(order
            ? {
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" }),
              }
            : {}),
        });
        await r.body.text();
        n++;
      }
    }),
  );
  for (const s of sockets) s.close();
  await agent.close();

  const up = await prom.query('up{job="perfpack-executor"}');
  assert.equal(up[0]?.value[1], "1", `Prometheus cannot scrape the executor:\n${prom.log().slice(-1500)}`);
  const scrapes = await prom.query("count_over_time(up[1m])");
  t.diagnostic(`${n} requests; ${scrapes[0]?.value[1]} scrapes; ${queries.length} queries`);

  const bad: string[] = [];
  for (const q of queries) {
    const result = await prom.query(q.expr);
    if (result.length === 0) bad.push(`${q.panel}: ${q.expr} → empty`);
    for (const s of result) {
      if (!Number.isFinite(Number(s.value[1])))
        bad.push(`${q.panel}: ${q.expr} → ${s.value[1]} for ${JSON.stringify(s.metric)}`);
    }
  }
  assert.deepEqual(bad, []);

  // why the dashboard aggregates the guide's HTTP query: as written, idle routes give NaN
  const verbatim = await prom.query("histogram_quantile(0.95, rate(spark_perf_http_duration_ms_bucket[5m]))");
  const nan = verbatim.filter((s) => !Number.isFinite(Number(s.value[1])));
  t.diagnostic(
    `the guide's HTTP query as written: ${verbatim.length} series, ${nan.length} NaN (${nan.map((s) => s.metric.route).join(", ")})`,
  );
});
