import assert from "node:assert/strict";
import { test } from "node:test";
import { Chalk } from "chalk";
import { capacityHtml, capacityMarkdown, capacityTerminal } from "../../../harness/report/capacity.js";
import type { CapacityDocument } from "../../../harness/results/capacity.js";
import { sampleCapacity } from "../../helpers/capacity.js";

const plain = new Chalk({ level: 0 });

/** The rows of the Markdown table under `heading`, as cells. */
function tableUnder(md: string, heading: string): string[][] {
  const lines = md.split("\n");
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `no ${heading}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("|")) rows.push(line.slice(2, -2).split(" | "));
    else if (rows.length) break;
  }
  return rows.slice(2);
}

/** What the page's charts draw: its capacity-data block. */
function chartData(html: string) {
  const m = /<script type="application\/json" id="capacity-data">(.*?)<\/script>/s.exec(html);
  assert.ok(m, "no capacity-data block");
  return JSON.parse(m[1]!) as {
    scenarios: Array<{
      scenario: string;
      unit: string;
      slo: { label: string; maxMs: number };
      xMax: number;
      yMin: number;
      yMax: number;
      series: Array<{
        variant: string;
        points: Array<{
          seq: number;
          level: number;
          x: number;
          call: string;
          p95: { estimate: number; lo: number; hi: number } | null;
          cpu: number | null;
        }>;
      }>;
      marks: Array<{ variant: string; x: number; lowerBound: boolean; label: string }>;
    }>;
  };
}

test("the capacity table: capacity in the scenario's unit, the bracket, how the search ended, its steps and the USL fit or why there is none", () => {
  const md = capacityMarkdown(sampleCapacity());
  assert.match(md, /^# perfpack capacity 2026-01-02T10-00-00-capacity\n/);
  assert.match(md, /Machine: Test CPU @ 3\.0GHz, 2 cores, 8 GB, Node v20\.19\.0 \(testbed\)/);
  assert.match(md, /- `optimized`: HTTP_KEEPALIVE=true BATCH_ENABLED=true JSON_STRINGIFIER=fast WS_COMPRESS=true/);
  assert.match(md, /- latency: SLO p95 < 100 ms, errors < 1%; each step sets the offered rate \(req\/s\)/);
  assert.match(
    md,
    /resolution of 5% of the capacity, within a budget of 300 s per scenario; a step is a 1 s warm-up \(not judged\), then 3 to 8 windows of 2 s/,
  );
  const rows = tableUnder(md, "### Capacity per variant");
  assert.deepEqual(
    rows.map((r) => r.slice(0, 5)),
    [
      ["baseline", "1,250 req/s", "1,250 – 1,500", "bracketed", "5"],
      ["optimized", "3,000 req/s", "3,000 – 4,000", "budget ended", "4"],
    ],
  );
  assert.equal(
    rows[0]![5],
    "σ 0.0500 ± 0.0100, κ 0.00100 ± 0.000200, λ 52.0 ± 3.00; peak N* 30.8, X(N*) 1,000 req/s; R² 0.972 (12 points)",
  );
  assert.equal(rows[1]![5], "none: 6 points are needed below saturation; 4 were measured");
  assert.match(md, /Searches started: baseline from 500 req\/s \(closed-model probe: 1,000\/s, p95 9\.00 ms\)/);
});

test("the ratio with the range its brackets allow, and the USL's peak where it disagrees with the measured capacity", () => {
  const doc = sampleCapacity();
  const md = capacityMarkdown(doc);
  assert.match(
    md,
    /- optimized \/ baseline: 2\.40× \(2\.00–3\.20× the brackets allow\); 2× lies within that range: not settled\n/,
  );
  assert.match(md, /honest form of the guide's ">2× throughput at a lower p95"/);
  // baseline passed at 1,250 req/s achieving 99% of it: the fit's peak, 1,000 req/s, lies below
  assert.match(
    md,
    /baseline: the USL's predicted peak throughput X\(N\*\) = 1,000 req\/s is below the measured capacity \(1,238 req\/s achieved at 1,250 req\/s offered\)/,
  );
  assert.doesNotMatch(md, /optimized: the USL's/);
  // a peak far above it: the SLO bounds the capacity, not the throughput ceiling
  const fit = doc.searches[0]!.usl as { peakX: number };
  fit.peakX = 2500;
  assert.match(
    capacityMarkdown(doc),
    /baseline: the USL's predicted peak throughput X\(N\*\) = 2,500 req\/s is 2\.0× the measured capacity .*the SLO, not the throughput ceiling, bounds the capacity/,
  );
  fit.peakX = 1500;
  assert.doesNotMatch(capacityMarkdown(doc), /the USL's predicted peak/);
});

test("a missing ratio says which side has no capacity and why; a lower bound marks the capacity and the ratio", () => {
  const doc: CapacityDocument = sampleCapacity();
  const opt = doc.searches[1]!;
  Object.assign(opt, { capacity: undefined, bracket: [undefined, 1000], ended: "below-min" });
  doc.ratios = [{ scenario: "latency", candidate: "optimized", reference: "baseline" }];
  const md = capacityMarkdown(doc);
  assert.match(md, /- optimized \/ baseline: no ratio: optimized has no capacity \(below the lowest level\)\n/);
  assert.deepEqual(tableUnder(md, "### Capacity per variant")[1]!.slice(1, 4), [
    "none",
    "none passed – 1,000",
    "below the lowest level",
  ]);
  doc.ratios[0]!.hi = 1000 / 1250;
  assert.match(
    capacityMarkdown(doc),
    /- optimized \/ baseline: no ratio: optimized has no capacity \(below the lowest level\); the brackets allow at most 0\.80×\n/,
  );
  Object.assign(opt, { capacity: 3000, bracket: [3000, undefined], ended: "at-max" });
  doc.ratios = [{ scenario: "latency", candidate: "optimized", reference: "baseline", ratio: 2.4, lo: 2 }];
  const bound = capacityMarkdown(doc);
  assert.deepEqual(tableUnder(bound, "### Capacity per variant")[1]!.slice(1, 4), [
    "≥ 3,000 req/s",
    "3,000 – none failed",
    "at the max level",
  ]);
  assert.match(
    bound,
    /optimized \/ baseline: ≥ 2\.40× \(at least 2\.00× the brackets allow; optimized found no fail\); optimized's capacity is a lower bound; 2× lies within that range/,
  );
  Object.assign(opt, {
    ended: "failed",
    error: "executor exited during the search (code 1, signal null)",
    logTail: "boom",
  });
  assert.match(
    capacityMarkdown(doc),
    /\*\*optimized failed\*\*: executor exited during the search \(code 1, signal null\)\n\n```\nboom\n```/,
  );
});

test("the steps table lists every step in the order measured, the variants interleaved, with the rule's call and the figures behind it", () => {
  const md = capacityMarkdown(sampleCapacity());
  const rows = tableUnder(md, "### Steps, in the order measured");
  assert.deepEqual(
    rows.map((r) => r.slice(0, 4)),
    [
      ["1", "baseline", "500", "✓ pass"],
      ["2", "optimized", "1,000", "✓ pass"],
      ["3", "baseline", "1,000", "✓ pass"],
      ["4", "optimized", "2,000", "✓ pass"],
      ["5", "baseline", "2,000", "✗ fail"],
      ["6", "optimized", "4,000", "✗ fail"],
      ["7", "baseline", "1,500", "~ at-line"],
      ["8", "optimized", "3,000", "✓ pass"],
      ["9", "baseline", "1,250", "✓ pass"],
    ],
  );
  // the saturated fail: its SLO percentile's interval, p50/p95/p99, achieved and its share, errors, CPU, windows, reason
  assert.deepEqual(rows[4]!.slice(4), [
    "900 (810–990)",
    "225 (203–248)",
    "900 (810–990)",
    "1,800 (1,530–2,070)",
    "1,700 (85.0%)",
    "0.20%",
    "230",
    "",
    "3",
    "saturated: achieved 85% of the offered rate (more than 5% short)",
  ]);
  assert.match(md, /\| p95 across windows \(ms\) \|/);
  assert.match(md, /coordinated-omission corrected/);
  assert.match(md, /falls short of the offered one by more than 5% fails/);
  assert.match(md, /The variants' steps were interleaved .* the order is capacity\.json's `order`/);
});

test("the terminal summary: capacity per variant with its bracket, the ratio, and what ended early", () => {
  assert.equal(
    capacityTerminal(sampleCapacity(), plain),
    [
      "capacity · latency (SLO p95 < 100 ms, errors < 1%)",
      "  baseline   1,250 req/s  bracket 1,250 – 1,500",
      "  optimized  3,000 req/s  bracket 3,000 – 4,000",
      "  optimized / baseline: 2.40× (2.00–3.20× the brackets allow); 2× lies within that range: not settled",
      "  note: optimized: budget ended",
    ].join("\n"),
  );
  const doc = sampleCapacity();
  Object.assign(doc.searches[1]!, { lowerBound: true, ended: "bracketed" });
  doc.interrupted = true;
  const text = capacityTerminal(doc, plain);
  assert.match(text, /  optimized  ≥ 3,000 req\/s  bracket/);
  assert.match(text, /  note: optimized: a lower bound \(a generator-bound step decided it\)\n/);
  assert.match(text, /interrupted: only finished steps are counted$/);
});

test("the page's capacity-data holds every step as drawn, the SLO line and each variant's capacity mark", () => {
  const doc = sampleCapacity();
  const html = capacityHtml(doc);
  const d = chartData(html);
  assert.equal(d.scenarios.length, 1);
  const c = d.scenarios[0]!;
  assert.deepEqual(c.slo, { label: "p95", maxMs: 100 });
  assert.equal(c.unit, "req/s");
  assert.deepEqual(
    c.series.map((s) => [s.variant, s.points.map((p) => [p.seq, p.level, p.call])]),
    [
      [
        "baseline",
        [
          [1, 500, "pass"],
          [3, 1000, "pass"],
          [9, 1250, "pass"],
          [7, 1500, "at-line"],
          [5, 2000, "fail"],
        ],
      ],
      [
        "optimized",
        [
          [2, 1000, "pass"],
          [4, 2000, "pass"],
          [8, 3000, "pass"],
          [6, 4000, "fail"],
        ],
      ],
    ],
  );
  // x is what the step achieved; each percentile its interval across windows
  const fail = c.series[0]!.points[4]!;
  assert.equal(fail.x, 1700);
  assert.deepEqual(fail.p95, doc.searches[0]!.steps[2]!.summary.p95);
  assert.equal(fail.p95!.estimate, 900);
  assert.equal(fail.cpu, 230);
  assert.deepEqual(
    c.marks.map((m) => [m.variant, m.x, m.lowerBound, m.label]),
    [
      ["baseline", 1250, false, "baseline: 1,250 req/s"],
      ["optimized", 3000, false, "optimized: 3,000 req/s"],
    ],
  );
  // the axes hold every point, mark and interval
  assert.equal(c.xMax, 4500);
  assert.equal(c.yMax, doc.searches[0]!.steps[2]!.summary.p99!.hi);
  assert.equal(c.yMin, doc.searches[1]!.steps[0]!.summary.p50!.lo);
  // two canvases per scenario, the tables, and nothing fetched from outside the file
  assert.equal((html.match(/<canvas id="capacity-chart-\d"/g) ?? []).length, 2);
  assert.match(html, /<td>baseline<\/td><td>1,250 req\/s<\/td><td>1,250 – 1,500<\/td>/);
  assert.match(html, /optimized \/ baseline: 2\.40× \(2\.00–3\.20× the brackets allow\)/);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/);
});

test("a search's text cannot close the page's data script", () => {
  const doc = sampleCapacity();
  doc.searches[0]!.variant = "</script><b>x";
  doc.plan.variants[0]!.name = "</script><b>x";
  const html = capacityHtml(doc);
  assert.equal(chartData(html).scenarios[0]!.series[0]!.variant, "</script><b>x");
  assert.doesNotMatch(html, /<b>x/);
});

test("a subscribers search reads in subscribers: what was delivered over the feed rate, and the USL's peak likewise", () => {
  const doc = sampleCapacity();
  const feed = 50;
  for (const r of doc.searches) {
    Object.assign(r, { level: "subscribers", unit: "subscribers" });
    for (const s of r.steps) {
      for (const w of s.windows) Object.assign(w, { offered: w.offered * feed, achieved: w.achieved * feed });
      s.summary.achieved *= feed;
    }
  }
  (doc.searches[0]!.usl as { peakX: number }).peakX = 1000 * feed;
  const md = capacityMarkdown(doc);
  assert.match(md, /each step sets the number of subscribers \(subscribers\)/);
  assert.deepEqual(tableUnder(md, "### Steps, in the order measured")[4]!.slice(8, 9), ["1,700 (85.0%)"]);
  assert.match(md, /X\(N\*\) 1,000 subscribers; R²/);
  assert.match(md, /X\(N\*\) = 1,000 subscribers is below the measured capacity \(1,238 subscribers achieved at 1,250/);
  assert.equal(chartData(capacityHtml(doc)).scenarios[0]!.series[0]!.points[4]!.x, 1700);
});

test("a job interrupted before any step still reads: no capacity, no ratio, empty steps, and the page's data", () => {
  const doc = sampleCapacity();
  for (const r of doc.searches)
    Object.assign(r, {
      steps: [],
      ended: "interrupted",
      capacity: undefined,
      bracket: [undefined, undefined],
      usl: undefined,
    });
  doc.ratios = [{ scenario: "latency", candidate: "optimized", reference: "baseline" }];
  doc.plan.scenarios.push("ws");
  doc.interrupted = true;
  const md = capacityMarkdown(doc);
  assert.match(md, /\*\*Interrupted\*\*: only finished steps are counted/);
  assert.match(md, /- ws: not reached/);
  assert.deepEqual(
    tableUnder(md, "### Capacity per variant").map((r) => r.slice(1, 6)),
    [
      ["none", "–", "interrupted", "0", "–"],
      ["none", "–", "interrupted", "0", "–"],
    ],
  );
  assert.match(
    md,
    /- optimized \/ baseline: no ratio: optimized has no capacity \(interrupted\), and baseline has no capacity \(interrupted\)/,
  );
  assert.deepEqual(tableUnder(md, "### Steps, in the order measured"), []);
  const c = chartData(capacityHtml(doc)).scenarios[0]!;
  assert.deepEqual([c.series.map((s) => s.points.length), c.marks], [[0, 0], []]);
  assert.match(
    capacityTerminal(doc, plain),
    /  note: baseline: interrupted; optimized: interrupted\ninterrupted: only finished steps are counted\nnot reached: ws$/,
  );
});

test("a team's service is named in the plan by its command, never as an object", () => {
  const doc = sampleCapacity();
  doc.plan.variants = doc.plan.variants.map((v) => ({
    ...v,
    system: { kind: "command" as const, cmd: "node server.js" },
  }));
  const md = capacityMarkdown(doc);
  assert.match(md, /\(service: `node server\.js`\)/);
  // (the HTML inlines Chart.js, whose own code holds that string: its page up to the data is read)
  const page = capacityHtml(doc);
  assert.doesNotMatch(md + page.slice(0, page.indexOf('<script type="application/json"')), /\[object Object\]/);
  assert.match(page, /\(service: `node server\.js`\)/);
});
