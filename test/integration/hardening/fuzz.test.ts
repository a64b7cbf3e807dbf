import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { HardenReport } from "../../../harness/api/harden.js";
import { perfpack } from "../../helpers/cli.js";

// CI's bounded fuzz: `perfpack harden --fuzz 10000` is the long mode (see the README).
const CI_FUZZ = 2000;

test(`perfpack harden: ${CI_FUZZ} malformed requests, no crash, no 5xx, every answer a clear 4xx error`, async () => {
  const file = join(mkdtempSync(join(tmpdir(), "perfpack-fuzz-")), "harden.json");
  const run = perfpack(["harden", "--fuzz", String(CI_FUZZ), "--orders", "0", "--seed", "3", "--json", file]);
  const code = await run.exit;
  assert.equal(code, 0, run.output());
  assert.match(run.output(), /harden: every check held/);
  const r = JSON.parse(readFileSync(file, "utf8")) as HardenReport;
  const fuzz = r.fuzz!;
  assert.equal(fuzz.sent, CI_FUZZ);
  assert.equal(fuzz.clearErrors, CI_FUZZ);
  assert.deepEqual(fuzz.failures, []);
  assert.equal(fuzz.executorAlive, true);
  assert.equal(fuzz.executorExit, "0");
  // every kind of the mix was sent, and the answers span the documented codes
  for (const kind of [
    "random-bytes-body",
    "random-bytes-request",
    "truncated-json",
    "wrong-types",
    "huge-numbers",
    "deep-nesting",
    "huge-body",
    "oversized-headers",
    "bad-content-type",
    "bad-route",
  ]) {
    assert.ok((fuzz.byKind[kind] ?? 0) > 0, `no ${kind} case was sent`);
  }
  for (const status of ["400", "404", "405", "413", "415", "431"])
    assert.ok((fuzz.byStatus[status] ?? 0) > 0, `no ${status} answer: ${JSON.stringify(fuzz.byStatus)}`);
  assert.ok(
    Object.keys(fuzz.byStatus).every((s) => Number(s) >= 400 && Number(s) < 500),
    JSON.stringify(fuzz.byStatus),
  );
});

test("perfpack harden: a bad flag is a usage error (exit 2) naming what it accepts", async () => {
  const run = perfpack(["harden", "--fuzz", "many"]);
  assert.equal(await run.exit, 2);
  assert.match(run.output(), /--fuzz.*whole number/);
});
