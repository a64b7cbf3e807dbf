import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { renderReports } from "../../../harness/api/report.js";
import { fixturePath } from "../../../services/common/src/project.js";

// Every report format of the sample results, against the committed text (hyperfine's
// export tests). A change to a report shows here as a diff; when it is meant, rewrite the
// files with PERFPACK_UPDATE_REPORTS=1 and read the diff before committing it.
const update = process.env.PERFPACK_UPDATE_REPORTS === "1";
const require = createRequire(import.meta.url);
// the page inlines Chart.js (200 KB): the committed page names it instead
const chartJs = readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8");

const SAMPLES = [
  { results: "sample-baseline.json", name: "baseline" },
  { results: "sample-soak.json", name: "soak" },
  { results: join("sample-gate", "results.json"), name: "gate" },
];

for (const sample of SAMPLES)
  test(`the reports of ${sample.results} are exactly the committed ones (report.md, report.html, summary.json)`, () => {
    const out = mkdtempSync(join(tmpdir(), "perfpack-reports-"));
    const { written, errors } = renderReports(fixturePath(sample.results), out, { cwd: ".", env: {} });
    assert.deepEqual(errors, []);
    assert.deepEqual(written.map((f) => f.slice(out.length + 1)).sort(), ["report.html", "report.md", "summary.json"]);
    for (const file of ["report.md", "report.html", "summary.json"]) {
      const text = readFileSync(join(out, file), "utf8").replace(chartJs, "/* chart.umd.min.js */");
      const committed = fixturePath("reports", sample.name, file);
      if (update) {
        mkdirSync(dirname(committed), { recursive: true });
        writeFileSync(committed, text);
      }
      assert.equal(text, readFileSync(committed, "utf8"), `${sample.name}/${file} differs from the committed one`);
    }
  });
