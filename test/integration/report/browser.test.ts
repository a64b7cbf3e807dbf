/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fixturePath } from "../../../services/common/src/project.js";
import { screenshotPath, withPage, paintedPixels } from "../../helpers/browser.js";
import { perfpack } from "../../helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-html-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CASES = [
  { fixture: "sample-baseline.json", what: "a baseline-vs-optimized run", minCharts: 6, shot: "report-html.png" },
  {
    fixture: "sample-soak.json",
    what: "a soak (RSS, heap, GC share and p95 over time)",
    minCharts: 2,
    shot: "report-soak-html.png",
  },
];

for (const c of CASES) {
  test(`the HTML report of ${c.what} loads in a real browser without console errors, and every chart renders`, (t) =>
    withPage(t, async (page, errors) => {
      const out = join(tmp, c.fixture);
      const run = perfpack(["report", fixturePath(c.fixture), "--out", out]);
      assert.equal(await run.exit, 0, run.output());
      await page.goto(`file://${join(out, "report.html")}`);
      await page.waitForFunction(() => document.body.dataset.charts !== undefined, null, { timeout: 10_000 });
      const canvases = await page.locator("canvas").count();
      assert.ok(canvases >= c.minCharts, `${canvases} canvases`);
      assert.equal(
        Number(await page.evaluate(() => document.body.dataset.charts)),
        canvases,
        "one Chart.js chart per canvas",
      );
      // a drawn canvas has coloured pixels; a blank one is all transparent
      const painted = await paintedPixels(page);
      assert.ok(
        painted.every((n) => n > 1000),
        `painted pixels per chart: ${painted.join(", ")}`,
      );
      assert.deepEqual(errors, []);
      const shot = screenshotPath(c.shot);
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
    }));
}

test("a gate run's HTML report shows the decision look by look: a chart per gate metric of its interval per look against the line, and the look table", (t) =>
  withPage(t, async (page, errors) => {
    // a real gate against HEAD whose checkout side burned 60 µs per request: a regression at its second look
    const out = join(tmp, "sample-gate");
    const run = perfpack(["report", fixturePath("sample-gate/results.json"), "--out", out]);
    assert.equal(await run.exit, 0, run.output());
    await page.goto(`file://${join(out, "report.html")}`);
    await page.waitForFunction(() => document.body.dataset.charts !== undefined, null, { timeout: 10_000 });
    assert.match(await page.locator("h2").first().innerText(), /^Gate against HEAD \(/);
    assert.equal(await page.locator("p.verdict.fail", { hasText: "Gate: FAIL (regression)" }).count(), 1);
    // the three gate metrics, each drawn from the looks in gate.json: bars from lo to hi, the ratio, the dashed line
    const charts = await page.evaluate(() => {
      const all = Object.values(
        (
          window as unknown as {
            Chart: {
              instances: Record<
                string,
                {
                  canvas: HTMLCanvasElement;
                  data: { labels: string[]; datasets: Array<{ label: string; data: unknown[] }> };
                }
              >;
            };
          }
        ).Chart.instances,
      );
      return all
        .filter((c) => c.canvas.getAttribute("aria-label")!.startsWith("gate: "))
        .map((c) => ({
          title: c.canvas.getAttribute("aria-label"),
          labels: c.data.labels,
          sets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })),
        }));
    });
    assert.deepEqual(
      charts.map((c) => c.title),
      [
        "gate: latency · req/s, candidate / reference per look",
        "gate: latency · p95 ms, candidate / reference per look",
        "gate: latency · CPU µs/req, candidate / reference per look",
      ],
    );
    for (const c of charts) {
      assert.equal(c.labels.length, 2, "one bar per look");
      const [bars, ratios, line] = c.sets;
      assert.ok(
        (bars!.data as number[][]).every(
          ([lo, hi], i) => lo! < (ratios!.data[i] as number) && (ratios!.data[i] as number) < hi!,
        ),
        JSON.stringify(c.sets),
      );
      // req/s is worse below 0.95; p95 and CPU per request above 1/0.95
      const expected = c.title!.includes("req/s") ? 0.95 : 1 / 0.95;
      assert.ok(
        (line!.data as number[]).every((y) => Math.abs(y - expected) < 1e-9),
        `${c.title}: ${line!.label} ${JSON.stringify(line!.data)}`,
      );
    }
    // the CPU chart's second look lies wholly above its line: the call the gate made
    const cpu = charts[2]!.sets[0]!.data as number[][];
    assert.ok(cpu[1]![0]! > 1 / 0.95, JSON.stringify(cpu));
    // the look table (after the charts; the cause's table of what grew comes before them): a row
    // per look, the CPU column's last call a regression
    const rows = await page.locator("div.grid + table").first().locator("tbody tr").allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows[1]!, /2\/21\s+8\s+\d+\s+99\.\d\d%.*✗ regression/s);
    // the regression's cause, under the reasons: what grew per request, the burn on top, linked to the flamegraph
    assert.match(await page.locator("h3", { hasText: "Where the time went" }).innerText(), /latency, per request/);
    const grew = await page.locator("h3 ~ table").first().locator("tbody tr").first().innerText();
    assert.match(grew, /^burn\s/);
    assert.equal((await page.locator('a[href="flame/diff.html"]').count()) > 0, true);
    assert.deepEqual(errors, []);
    const shot = screenshotPath("report-gate-html.png");
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  }));
