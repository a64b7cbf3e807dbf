import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { forgetProcessUsage } from "../../../harness/load/process-usage.js";
import { LatencyRecorder } from "../../../harness/load/latency.js";
import { processSource, SoakSeries } from "../../../scenarios/soak-series.js";

/** A service whose metrics endpoint answers `body` (404 when undefined). */
async function service(body: string | undefined): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    if (body === undefined || req.url !== "/api/public/metrics/prom") res.writeHead(404).end();
    else res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

test("processSource: the service's own metrics when it serves them, else the OS's figures of its process, else none", async () => {
  const MB = 2 ** 20;
  const metrics = await service(
    [
      `process_resident_memory_bytes ${64 * MB}`,
      `nodejs_heap_size_used_bytes{space="all"} ${8 * MB}`,
      'nodejs_gc_duration_seconds_sum{kind="minor"} 0.5',
      "process_cpu_seconds_total 3",
    ].join("\n"),
  );
  const none = await service(undefined);
  try {
    assert.deepEqual(await (await processSource(metrics.url, process.pid))!(), {
      rss: 64 * MB,
      heap: 8 * MB,
      gc: 0.5,
      cpu: 3,
    });
    const os = await (await processSource(none.url, process.pid))!();
    assert.ok(os && os.rss > 0 && os.cpu > 0 && !("heap" in os) && !("gc" in os), JSON.stringify(os));
    assert.equal(await processSource(none.url, undefined), undefined);
  } finally {
    metrics.close();
    none.close();
    forgetProcessUsage();
  }
});

test("SoakSeries: a point per interval; GC and CPU over the interval since the previous sample; a last point only for a tail", async () => {
  const samples = [
    { rss: 100 * 2 ** 20, heap: 10 * 2 ** 20, gc: 1, cpu: 10 },
    { rss: 110 * 2 ** 20, heap: 12 * 2 ** 20, gc: 1.5, cpu: 12 },
    undefined,
  ];
  const latency = new LatencyRecorder();
  latency.recordMs(2);
  const lines: string[] = [];
  let ws = 7;
  const series = new SoakSeries(
    performance.now(),
    async () => samples.shift(),
    () => ({ responses: 4, errors: 1, latency }),
    () => ws,
    (l) => lines.push(l),
  );
  await series.begin();
  ws += 10;
  await new Promise((r) => setTimeout(r, 20));
  await series.sample();
  const [p] = series.points;
  assert.ok(p);
  assert.equal(p.errors, 1);
  assert.equal(p.rss_mb, 110);
  assert.equal(p.heap_mb, 12);
  assert.ok(Math.abs(p.cpu_cores! / p.gc_share! - 4) < 1e-9, "2 s of CPU to 0.5 s of GC, over the same interval");
  assert.ok(Math.abs(p.rps / p.ws_msgs_per_s! - 0.4) < 1e-9, "4 answers to 10 messages, over the same interval");
  assert.equal(p.p50_ms, 2);
  assert.match(lines[0]!, /^soak \d+ s: rss 110\.0 MB, gc [\d.]+%, \d+ req\/s$/);

  await series.last();
  assert.equal(series.points.length, 1, "no tail right after a point");
  await series.sample();
  assert.deepEqual(
    Object.keys(series.points[1]!),
    ["t_s", "rps", "errors", "ws_msgs_per_s", "p50_ms", "p95_ms", "p99_ms"],
    "a sample the process did not give has no process figures",
  );
});
