/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fixturePath } from "../../../services/common/src/project.js";
import { screenshotPath, withPage } from "../../helpers/browser.js";
import { perfpack } from "../../helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-html-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CASES = [
  { fixture: "sample-baseline.json", what: "a baseline-vs-optimized run", minCharts: 6, shot: "report-html.png" },
  { fixture: "sample-soak.json", what: "a soak (RSS, heap, GC share and p95 over time)", minCharts: 2, shot: "report-soak-html.png" },
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
      assert.equal(Number(await page.evaluate(() => document.body.dataset.charts)), canvases, "one Chart.js chart per canvas");
      // a drawn canvas has coloured pixels; a blank one is all transparent
      const painted = await page.evaluate(() =>
        [...document.querySelectorAll("canvas")].map((el) => {
          const d = el.getContext("2d")!.getImageData(0, 0, el.width, el.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
          return n;
        }),
      );
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
