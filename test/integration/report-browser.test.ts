/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fixturePath, projectRoot } from "../../services/common/src/project.js";
import { perfpack } from "../helpers/cli.js";

const CHROMIUM = "/usr/bin/chromium";
const tmp = mkdtempSync(join(tmpdir(), "perfpack-html-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CASES = [
  { fixture: "sample-baseline.json", what: "a baseline-vs-optimized run", minCharts: 6, shot: "report-html.png" },
  { fixture: "sample-soak.json", what: "a soak (RSS, heap, GC share and p95 over time)", minCharts: 2, shot: "report-soak-html.png" },
];

for (const c of CASES) {
  test(`the HTML report of ${c.what} loads in a real browser without console errors, and every chart renders`, async (t) => {
    if (!existsSync(CHROMIUM)) {
      // CI installs Debian's chromium (.ci/run); a developer machine without it skips, CI never does
      if (process.env.CI) assert.fail(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
      t.skip(`${CHROMIUM} not installed (apt-get install chromium)`);
      return;
    }
    const out = join(tmp, c.fixture);
    const run = perfpack(["report", fixturePath(c.fixture), "--out", out]);
    assert.equal(await run.exit, 0, run.output());
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      // as root without a sandbox, and without the background traffic a closed network refuses
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(String(e)));
      // offline: any request leaving the file would be a missing inline asset
      await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : (errors.push(`network: ${route.request().url()}`), route.abort())));
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
      assert.ok(painted.every((n) => n > 1000), `painted pixels per chart: ${painted.join(", ")}`);
      assert.deepEqual(errors, []);
      const shots = join(projectRoot(), "reports", "screenshots");
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, c.shot), fullPage: true });
    } finally {
      await browser.close();
    }
  });
}
