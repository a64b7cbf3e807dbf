/// <reference lib="dom" />
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { profileArtifacts } from "../../../harness/profile/artifacts.js";
import { parseFolded } from "../../../harness/profile/folded.js";
import type { FlameDiffData, FlameDiffNode } from "../../../harness/report/flame-diff-html.js";
import { screenshotPath, withPage } from "../../helpers/browser.js";
import { perfpack } from "../../helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-diff-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const out = join(tmp, "ab");
const flame = join(out, "flame");

const dataOf = (file: string): FlameDiffData =>
  JSON.parse(
    /<script id="flame-diff-data" type="application\/json">(.*?)<\/script>/s.exec(readFileSync(file, "utf8"))![1]!,
  ) as FlameDiffData;

const frames = (n: FlameDiffNode): FlameDiffNode[] => [n, ...n.children.flatMap(frames)];

describe("perfpack profile --variants baseline,optimized: the differential flamegraph", () => {
  let output = "";
  before(async () => {
    const run = perfpack([
      "profile",
      "--tool",
      "cpuprof",
      "--variants",
      "baseline,optimized",
      "--duration",
      "3",
      "--out",
      out,
    ]);
    const code = await run.exit;
    output = run.output();
    assert.equal(code, 0, output);
  });

  test("flame/diff.html holds frames of both arms per request, and both folded files parse", () => {
    assert.match(output, /differential flamegraph, optimized against baseline per request: .*diff\.html/);
    const d = dataOf(join(flame, "diff.html"));
    assert.equal(d.unit, "request");
    for (const arm of [d.reference, d.candidate]) {
      assert.ok(arm.units > 0 && arm.samples > 0 && arm.perUnit > 0, JSON.stringify(arm));
      assert.equal(arm.windowed, true, "a .cpuprofile is cut to the load's window");
    }
    const all = [...frames(d.views.diff), ...frames(d.views.negated)];
    assert.ok(
      all.some((f) => f.a.total > 0 && f.b.total > 0),
      "frames that both arms ran",
    );
    // the arms' own code: the executor's request handler runs in both
    assert.ok(all.some((f) => /getOpenOrders executor\/src\/server\.js:\d+/.test(f.name)));
    // a view's root is its arm's sampled time per request
    assert.ok(Math.abs(d.views.diff.value - d.candidate.perUnit) < 0.01);
    assert.ok(Math.abs(d.views.negated.value - d.reference.perUnit) < 0.01);
    for (const v of ["baseline", "optimized"]) {
      const f = parseFolded(readFileSync(join(flame, `${v}.folded`), "utf8"));
      assert.ok(f.size > 10, `${v}.folded: ${f.size} stacks`);
      // the same samples as the page: its sample count
      const samples = [...f.values()].reduce((s, w) => s + w.samples, 0);
      assert.equal(samples, v === "baseline" ? d.reference.samples : d.candidate.samples);
    }
  });

  test("the run's reports link the differential flamegraph and the folded stacks", () => {
    const links = profileArtifacts(out).links ?? [];
    assert.ok(
      links.some((l) => l.href === "flame/diff.html" && /optimized against baseline, per request/.test(l.label)),
      JSON.stringify(links),
    );
    assert.ok(links.some((l) => l.href === "flame/baseline.folded"));
  });

  test("diff.html offline in a browser: hovering a frame shows both arms' time per request, one click shows the negated view", (t) =>
    withPage(t, async (page, errors) => {
      await page.goto(`file://${join(flame, "diff.html")}`);
      await page.waitForSelector("#chart svg g");
      const handler = page.locator("#chart svg g", { hasText: "getOpenOrders" }).first();
      await handler.hover();
      const tip = page.locator(".d3-flame-graph-tip");
      await tip.waitFor({ state: "visible" });
      const text = await tip.innerText();
      assert.match(text, /getOpenOrders/);
      assert.match(text, /per request\s+baseline\s+optimized\s+change/);
      assert.match(text, /total\s+[\d.]+ (µs|ms)\s+[\d.]+ (µs|ms)\s+[+−±]/);
      const shot = screenshotPath("flame-diff.png");
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
      await page.click("#negate");
      await page.waitForFunction(() => document.body.dataset.view === "negated");
      assert.equal(await page.locator("#negate").getAttribute("aria-pressed"), "true");
      assert.equal(await page.locator("#width-of").innerText(), "baseline");
      await page.waitForSelector("#chart svg g");
      await page.screenshot({ path: screenshotPath("flame-diff-negated.png"), fullPage: true });
      assert.deepEqual(errors, []);
    }));
});
