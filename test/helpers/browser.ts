/// <reference lib="dom" />
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Browser, Page } from "playwright-core";

/**
 * Where the browser tests leave their screenshots for a person to look at: PERFPACK_SCREENSHOTS,
 * else a folder in the system's temporary directory (never the repository's reports/).
 */
export function screenshotPath(name: string): string {
  const dir = process.env.PERFPACK_SCREENSHOTS ?? join(tmpdir(), "perfpack-screenshots");
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** Debian's chromium (.ci/run installs it); CHROMIUM_BIN points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/**
 * Runs `fn` with a page in a real headless Chromium. Without the browser the test skips with the
 * package to install; under CI it fails, because CI installs it.
 */
export async function withPage(t: TestContext, fn: (page: Page, errors: string[]) => Promise<void>): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
    t.skip(`${CHROMIUM} not installed (apt-get install chromium, or set CHROMIUM_BIN)`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    // as root without a sandbox, and without the background traffic a closed network refuses
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    // offline: a request leaving the file is a missing inline asset (or, in a tool's page, one it fetches)
    await page.route("**/*", (route) =>
      route.request().url().startsWith("file:")
        ? route.continue()
        : (errors.push(`network: ${route.request().url()}`), route.abort()),
    );
    await fn(page, errors);
  } finally {
    await browser.close();
  }
}

/**
 * Pixel rows of the page's flamegraph canvas (d3-fg, as 0x and clinic flame draw it) that hold
 * something other than background. Only the root bar ("all stacks") paints about one frame's height.
 * d3-fg draws on later animation frames, and a busy machine draws them later: the rows are counted
 * again until at least `atLeast` are painted (the event), never once after a fixed wait. When they
 * never are within `timeoutMs` (a bound), the last count is returned for the caller's assertion to show.
 */
export async function flameRows(page: Page, atLeast: number, timeoutMs = 60_000): Promise<number> {
  await page.waitForSelector("canvas.d3-flame-graph", { timeout: timeoutMs });
  const painted = (min: number): number => {
    const c = document.querySelector("canvas.d3-flame-graph") as HTMLCanvasElement;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let rows = 0;
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (d[i + 3]! > 0 && !(d[i]! > 250 && d[i + 1]! > 250 && d[i + 2]! > 250)) {
          rows++;
          break;
        }
      }
    }
    // falsy until enough rows are painted, for waitForFunction to ask again
    return rows >= min ? rows : 0;
  };
  try {
    const rows = await page.waitForFunction(painted, atLeast, { polling: 100, timeout: timeoutMs });
    return (await rows.jsonValue()) as number;
  } catch (err) {
    if (!/Timeout/i.test(String(err))) throw err;
    return page.evaluate(painted, 0);
  }
}

/** Coloured pixels per canvas of the page: a drawn chart has many, a blank canvas none (all transparent). */
export function paintedPixels(page: Page): Promise<number[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("canvas")].map((el) => {
      const d = el.getContext("2d")!.getImageData(0, 0, el.width, el.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    }),
  );
}
