import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import {
  delta,
  flattenExposition,
  hasMetric,
  histogramQuantile,
  scrape,
  sumOf,
} from "../../../harness/load/exposition.js";

async function exposition(observe: (h: Histogram, c: Counter) => void): Promise<string> {
  const registry = new Registry();
  const h = new Histogram({ name: "t_ms", help: "h", buckets: [1, 2, 4, 8], labelNames: ["k"], registers: [registry] });
  const c = new Counter({ name: "t_total", help: "c", labelNames: ["key"], registers: [registry] });
  observe(h, c);
  return registry.metrics();
}

test("a prom-client exposition flattens to series → value", async () => {
  const s = flattenExposition(
    await exposition((h, c) => {
      c.labels("BTCUSDT").inc(3);
      h.labels("a").observe(1.5);
    }),
  );
  assert.equal(s.get('t_total{key="BTCUSDT"}'), 3);
  assert.equal(s.get('t_ms_bucket{k="a",le="2"}'), 1);
  assert.equal(s.get('t_ms_bucket{k="a",le="+Inf"}'), 1);
  assert.equal(s.get('t_ms_count{k="a"}'), 1);
  assert.equal(s.get('t_ms_sum{k="a"}'), 1.5);
});

test("labelled histograms keep their series apart, with _sum and _count (what parse-prometheus-text-format loses)", async () => {
  const s = flattenExposition(
    await exposition((h) => {
      h.labels("a").observe(1.5);
      h.labels("b").observe(3);
      h.labels("b").observe(3);
    }),
  );
  assert.equal(s.get('t_ms_count{k="a"}'), 1);
  assert.equal(s.get('t_ms_count{k="b"}'), 2);
  assert.equal(s.get('t_ms_sum{k="b"}'), 6);
  assert.equal(s.get('t_ms_bucket{k="b",le="4"}'), 2);
});

test("the text format's corners: escapes, +Inf/NaN, timestamps, trailing commas; malformed lines are errors", () => {
  const s = flattenExposition(
    [
      "# HELP x a help line",
      "# TYPE x gauge",
      'x{path="C:\\dir",msg="say \\"hi\\"\\n",} 1.5e3 1700000000000',
      "up +Inf",
      "nan NaN",
      "nan2 Nan",
      "",
    ].join("\n"),
  );
  assert.equal(s.get('x{msg="say \\"hi\\"\\n",path="C:\\\\dir"}'), 1500);
  assert.equal(s.get("up"), Infinity);
  assert.ok(Number.isNaN(s.get("nan")));
  assert.ok(Number.isNaN(s.get("nan2")), "prom-client writes NaN as Nan");
  assert.throws(() => flattenExposition("x{a=1} 2"), /bad label set/);
  assert.throws(() => flattenExposition("x 12abc"), /not a number/);
  assert.throws(() => flattenExposition("not a sample line"), /not a sample/);
});

test("histogramQuantile interpolates inside the bucket, as Prometheus does", async () => {
  // 10 observations: 4 in (0,1], 4 in (1,2], 2 in (2,4]
  const s = flattenExposition(
    await exposition((h) => {
      for (const v of [0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 1.5, 1.5, 3, 3]) h.labels("a").observe(v);
    }),
  );
  assert.equal(histogramQuantile(s, "t_ms", 0.4), 1); // rank 4 ends the first bucket
  assert.equal(histogramQuantile(s, "t_ms", 0.6), 1.5); // rank 6: halfway through (1,2]
  assert.equal(histogramQuantile(s, "t_ms", 0.9), 3); // rank 9: halfway through (2,4]
  assert.equal(histogramQuantile(new Map(), "t_ms", 0.5), undefined);
});

test("delta subtracts the before scrape; sumOf adds every label set; hasMetric finds a name with any labels", () => {
  const before = new Map([
    ['x{key="a"}', 1],
    ['x{key="b"}', 5],
  ]);
  const after = new Map([
    ['x{key="a"}', 4],
    ['x{key="b"}', 5],
    ['x{key="c"}', 2],
  ]);
  const d = delta(before, after);
  assert.deepEqual(
    [...d],
    [
      ['x{key="a"}', 3],
      ['x{key="b"}', 0],
      ['x{key="c"}', 2],
    ],
  );
  assert.equal(sumOf(d, "x"), 5);
  assert.ok(hasMetric(d, "x") && hasMetric(new Map([["x", 0]]), "x"));
  assert.ok(!hasMetric(d, "x_total") && !hasMetric(new Map([["xy", 1]]), "x"), "a name is matched whole");
});

test("a failed metrics scrape names the URL it asked, not only undici's message", async () => {
  // a server that accepts and hangs up at once
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    await assert.rejects(scrape(base), (e: Error) =>
      e.message.startsWith(`metrics scrape of ${base}/api/public/metrics/prom failed: `),
    );
  } finally {
    server.close();
  }
});
