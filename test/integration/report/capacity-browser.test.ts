/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { capacityHtml } from "../../../harness/report/capacity.js";
import { screenshotPath, withPage, paintedPixels } from "../../helpers/browser.js";
import { sampleCapacity } from "../../helpers/capacity.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-capacity-html-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The page's Chart.js charts as the test reads them. */
type Charts = Record<
  string,
  {
    canvas: HTMLCanvasElement;
    currentDevicePixelRatio: number;
    chartArea: { top: number; bottom: number };
    scales: { x: { getPixelForValue(v: number): number } };
    data: { datasets: Array<{ label: string; data: Array<{ x: number; y: number }> }> };
  }
>;

test("a capacity job's HTML report draws the curve and CPU per unit in a real browser, offline: painted charts, the SLO line, each capacity marked, and the capacity table", (t) =>
  withPage(t, async (page, errors) => {
    const file = join(tmp, "report.html");
    writeFileSync(file, capacityHtml(sampleCapacity()));
    await page.goto(`file://${file}`);
    // the page's script sets data-charts once every chart is drawn
    await page.waitForFunction(() => document.body.dataset.charts !== undefined, null, { timeout: 30_000 });
    const canvases = await page.locator("canvas").count();
    assert.equal(canvases, 2, "the curve and CPU per unit");
    assert.equal(Number(await page.evaluate(() => document.body.dataset.charts)), canvases, "one chart per canvas");
    // a drawn canvas has coloured pixels; a blank one is all transparent
    const painted = await paintedPixels(page);
    assert.ok(
      painted.every((n) => n > 1000),
      `painted pixels per chart: ${painted.join(", ")}`,
    );
    // the curve: three percentiles per variant and the SLO line at 100 ms across the whole axis
    const curve = await page.evaluate(() => {
      const chart = Object.values((window as unknown as { Chart: { instances: Charts } }).Chart.instances).find(
        (c) => c.canvas.id === "capacity-chart-0",
      )!;
      return chart.data.datasets.map((d) => ({ label: d.label, ys: d.data.map((p) => p.y) }));
    });
    assert.deepEqual(
      curve.map((d) => d.label),
      [
        "baseline p50",
        "baseline p95",
        "baseline p99",
        "optimized p50",
        "optimized p95",
        "optimized p99",
        "SLO: p95 < 100 ms",
      ],
    );
    assert.deepEqual(curve[6]!.ys, [100, 100]);
    assert.equal(curve[1]!.ys.length, 5, "baseline's five steps");
    // each capacity is a dashed vertical line in its variant's colour: its pixel column holds that colour along much of the plot
    const marked = await page.evaluate(() => {
      const chart = Object.values((window as unknown as { Chart: { instances: Charts } }).Chart.instances).find(
        (c) => c.canvas.id === "capacity-chart-0",
      )!;
      const ctx = chart.canvas.getContext("2d")!;
      const dpr = chart.currentDevicePixelRatio;
      const column = (x: number, rgb: number[]) => {
        const px = Math.round(chart.scales.x.getPixelForValue(x) * dpr);
        const top = Math.round(chart.chartArea.top * dpr);
        const height = Math.round((chart.chartArea.bottom - chart.chartArea.top) * dpr);
        let n = 0;
        for (let dx = -1; dx <= 1; dx++) {
          const d = ctx.getImageData(px + dx, top, 1, height).data;
          for (let i = 0; i < d.length; i += 4)
            if (Math.abs(d[i]! - rgb[0]!) + Math.abs(d[i + 1]! - rgb[1]!) + Math.abs(d[i + 2]! - rgb[2]!) < 60) n++;
        }
        return n / height;
      };
      // palette[0] (#4e79a7) is baseline's, palette[1] (#f28e2b) optimized's
      return { baseline: column(1250, [78, 121, 167]), optimized: column(3000, [242, 142, 43]) };
    });
    assert.ok(marked.baseline > 0.3 && marked.optimized > 0.3, JSON.stringify(marked));
    // the capacity table, as a reader sees it
    const rows = await page.locator("section.scenario table").first().locator("tbody tr").allInnerTexts();
    assert.match(rows[0]!, /^baseline\s+1,250 req\/s\s+1,250 – 1,500\s+bracketed\s+5\s+σ 0\.0500/);
    assert.match(rows[1]!, /^optimized\s+3,000 req\/s\s+3,000 – 4,000\s+budget ended\s+4\s+none: /);
    assert.match(await page.locator("ul.ratios").innerText(), /optimized \/ baseline: 2\.40× \(2\.00–3\.20×/);
    assert.deepEqual(errors, []);
    const shot = screenshotPath("report-capacity-html.png");
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  }));
