import assert from "node:assert/strict";
import { test } from "node:test";
import { diffData } from "../../../harness/profile/diff-tree.js";
import { parseFolded } from "../../../harness/profile/folded.js";
import { perUnitText, renderFlameDiffHtml, type FlameDiffData } from "../../../harness/report/flame-diff-html.js";

const data = diffData(
  { name: "baseline", units: 10, windowed: true, stacks: parseFolded("main;<script>x 10\nmain;gone 5\n") },
  { name: "optimized", units: 20, windowed: false, stacks: parseFolded("main;<script>x 40\n") },
  "message",
  "V8's CPU profiler",
);

/** The page's data block, as a test (or a person's tool) reads it. */
const dataOf = (page: string): FlameDiffData =>
  JSON.parse(/<script id="flame-diff-data" type="application\/json">(.*?)<\/script>/s.exec(page)![1]!) as FlameDiffData;

test("the page embeds its data whole, with < escaped so a frame's name cannot close the script", () => {
  const page = renderFlameDiffHtml(data);
  assert.deepEqual(dataOf(page), data);
  assert.ok(!page.includes("<script>x"), "a frame name's <script> is escaped in the data and in the tables");
});

test("the page works offline as one file: d3-flame-graph and its d3 modules inlined, nothing fetched", () => {
  const page = renderFlameDiffHtml(data);
  assert.doesNotMatch(page, /<script[^>]+src=/);
  assert.doesNotMatch(page, /<link[^>]+href=/);
  assert.match(page, /d3-flame-graph/);
  assert.match(page, /id="negate"/);
});

test("the page says the unit of work, each arm's units and time per unit, and the whole-profile caveat", () => {
  const page = renderFlameDiffHtml(data);
  assert.match(page, /Per message of work, not per second/);
  assert.match(page, /baseline: 10 messages, 15 samples, 1\.50 ms per message\./);
  assert.match(page, /optimized: 20 messages, 40 samples, 2\.00 ms per message \(whole profile, start-up included\)/);
  assert.match(page, /<h2>Grew: self time per message, optimized against baseline<\/h2>/);
  assert.equal(perUnitText(0.5), "0.50 µs");
  assert.equal(perUnitText(12.34), "12.3 µs");
  assert.equal(perUnitText(2500), "2.50 ms");
});
