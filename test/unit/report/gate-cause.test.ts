import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { markdown } from "../../../harness/report/markdown.js";
import { causeLines } from "../../../harness/report/gate-cause.js";
import type { GateCause, GateReport, Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";

const results = JSON.parse(readFileSync(fixturePath("sample-gate", "results.json"), "utf8")) as Results;
const gate = JSON.parse(readFileSync(fixturePath("sample-gate", "gate.json"), "utf8")) as GateReport;
const profiled = gate.cause as Extract<GateCause, { status: "profiled" }>;
const render = (cause: GateCause | undefined) =>
  markdown.render(results, { headlines: results.plan.headlines ?? {}, gate: { ...gate, cause } });

test("the terminal's lines of a cause: the rows that grew, the flamegraph and the profiles, the time it took", () => {
  assert.deepEqual(
    causeLines(profiled, (rel) => `/run/${rel}`),
    [
      "gate: where the time went (latency, both arms under cpuprof at once for 16.1 s; own time per request, the most grown first):",
      "       +125 µs/req  burn dist/services/executor/src/server.js:13 (0 → 125)",
      "        +23 µs/req  (anonymous) dist/services/executor/src/server.js:199 (3.7 → 26)",
      "        +20 µs/req  sendJsonText dist/services/common/src/http-util.js:47 (100 → 120)",
      "        +13 µs/req  consumeEnd undici/lib/api/readable.js:520 (71 → 84)",
      "        +11 µs/req  writeBuffer undici/lib/dispatcher/client-h1.js:1484 (30 → 41)",
      "gate: differential flamegraph: /run/flame/diff.html",
      "gate: profiles: /run/flame/reference.cpuprofile, /run/flame/candidate.cpuprofile; profiling took 17.4 s",
    ],
  );
  assert.deepEqual(
    causeLines({ status: "not-profiled", reason: "why", wallS: 1 }, (rel) => rel),
    ["gate: not profiled: why"],
  );
});

test("report.md: a cause not profiled is one line under the gate's reasons; a diff not drawn says why; no cause, no section", () => {
  const reason =
    "cpuprof needs a Node service, and the service's listening process runs /usr/bin/python3.11 (python3 svc.py); py-spy (py-spy record -- python3 svc.py) or Linux perf would profile this Python service";
  const md = render({ status: "not-profiled", reason, wallS: 0.8 });
  assert.ok(
    md.includes(
      `### Where the time went\n\nThe arms were not profiled: ${reason}. The gate's decision stands.\n\nLook by look:`,
    ),
    md,
  );
  const undrawn = render({ ...profiled, diff: undefined, diffNote: "the differential flamegraph failed: no d3" });
  assert.match(undrawn, /\n\nThe differential flamegraph failed: no d3\.\n\n\| function \| where \|/);
  assert.ok(!undrawn.includes("flame/diff.html"));
  assert.ok(!render(undefined).includes("Where the time went"));
  const gc = { fn: "(garbage collector)", location: "", referenceUs: 25.2, candidateUs: 33.7, deltaUs: 8.5 };
  assert.match(
    render({ ...profiled, grew: [gc] }),
    /\n\| \(garbage collector\) \| \(built-in\) \| 25 \| 34 \| \+8\.5 \|\n/,
  );
});
