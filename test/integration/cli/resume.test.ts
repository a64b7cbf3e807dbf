import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { duetSplit } from "../../../harness/plan/order.js";
import type { Results } from "../../../harness/results/schema.js";
import { seededRandom } from "../../../services/common/src/rng.js";
import { perfpack, type CliRun } from "../../helpers/cli.js";
import { alive, descendants, waitFor } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-resume-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const file = (dir: string) => join(dir, "results.json");
const read = (dir: string): Results => JSON.parse(readFileSync(file(dir), "utf8")) as Results;
const trialsIn = (dir: string): number => {
  try {
    return read(dir).trials.length;
  } catch {
    return 0; // not written yet
  }
};

/**
 * SIGKILLs perfpack once results.json holds a finished trial (the event, polled for), as a CI
 * runner kills a cancelled job. perfpack is stopped first, so that it starts nothing while its
 * children are listed; whatever of them outlives it is ended here, so the test leaves nothing running.
 */
async function killAfterFirstTrial(run: CliRun, dir: string): Promise<void> {
  await waitFor(() => (trialsIn(dir) >= 1 ? true : undefined), run.child, "a trial in results.json", 120_000);
  const pid = run.child.pid!;
  process.kill(pid, "SIGSTOP");
  const children = descendants(pid);
  run.child.kill("SIGKILL");
  await run.exit;
  for (const p of children.filter(alive)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const none = { exitCode: null };
  await waitFor(() => (children.some(alive) ? undefined : true), none, "perfpack's children to end", 10_000);
}

/** The plan's trials as keys, and the recorded ones: each planned trial must be there once. */
const key = (t: { variant: string; scenario: string; round: number }) => `${t.variant} · ${t.scenario} · ${t.round}`;

describe("perfpack run --resume", () => {
  const dir = join(tmp, "killed");
  let before: Results;

  test("a run killed with SIGKILL after its first trial is resumed: every planned trial once, the earlier ones unchanged, the reports over all of them", async () => {
    const run = perfpack(["run", "--quick", "--scenarios", "latency", "--out", dir]);
    await killAfterFirstTrial(run, dir);
    before = read(dir);
    const total = before.plan.order.length;
    assert.equal(total, 4);
    assert.ok(before.trials.length >= 1 && before.trials.length < total, `${before.trials.length} trials recorded`);
    assert.deepEqual([before.finishedAt, before.interrupted], [null, false], "killed: no end recorded");

    const resumed = perfpack(["run", "--resume", dir]);
    const code = await resumed.exit;
    assert.ok(code === 0 || code === 1, resumed.output());
    const r = read(dir);
    assert.equal(code, r.summary.verdict?.pass ? 0 : 1, "the exit code is the verdict's, over every trial");
    assert.match(
      resumed.output(),
      new RegExp(
        `resumed: ${before.trials.length} of the 4 trials are recorded and kept; the other ${4 - before.trials.length} run now`,
      ),
    );
    // every planned trial exactly once, by index and by variant, scenario and round
    assert.deepEqual(
      r.trials.map((t) => t.index).sort((a, b) => a - b),
      [0, 1, 2, 3],
    );
    assert.deepEqual(r.trials.map(key).sort(), r.plan.order.map(key).sort());
    assert.ok(r.trials.every((t) => t.status === "ok"));
    assert.deepEqual(
      r.trials.slice(0, before.trials.length),
      before.trials,
      "the earlier trials as they were recorded",
    );
    assert.ok(r.trials.slice(before.trials.length).every((t) => t.startedAt > r.resumed![0]!.at));
    assert.deepEqual([r.runId, r.startedAt, r.plan], [before.runId, before.startedAt, before.plan]);
    assert.equal(r.interrupted, false);
    assert.ok(r.finishedAt);
    assert.deepEqual(
      r.resumed?.map((x) => [x.kept, x.hostname]),
      [[before.trials.length, undefined]],
    );
    // the analysis pairs both rounds, and the allocation pass that follows the trials ran
    assert.ok(r.summary.comparisons!.length > 0 && r.summary.comparisons!.every((c) => c.estimate.n === 2));
    assert.ok(r.allocation);
    // the reports cover every trial, and say which were measured after the resume
    const md = readFileSync(join(dir, "report.md"), "utf8");
    const after = before.trials.length + 1 === 4 ? "#4" : `#${before.trials.length + 1}–#4`;
    assert.match(md, new RegExp(`\\*\\*Resumed\\*\\* \\S+ \\(trials measured after it: ${after}\\)`));
    assert.match(md, /over 2 round\(s\)/);
    assert.match(readFileSync(join(dir, "report.html"), "utf8"), /Resumed/);
    assert.equal(JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).runId, r.runId);
  });

  test("a finished run has nothing to resume: its reports are written again, results.json is left as it is, the exit code is its verdict's", async () => {
    const bytes = readFileSync(file(dir));
    const again = perfpack(["run", "--resume", dir]);
    const code = await again.exit;
    assert.equal(code, read(dir).summary.verdict?.pass ? 0 : 1, again.output());
    assert.match(again.output(), /finished at .* with all 4 of its trials: nothing to resume/);
    assert.deepEqual(readFileSync(file(dir)), bytes);
  });

  test("a folder of another perfpack version, or options beside --resume, is exit 2 saying why; results.json is untouched", async () => {
    const other = join(tmp, "other-version");
    cpSync(dir, other, { recursive: true });
    writeFileSync(file(other), JSON.stringify({ ...before, perfpack: "0.0.1-other" }, null, 2) + "\n");
    const bytes = readFileSync(file(other));
    const refused = perfpack(["run", "--resume", other]);
    assert.equal(await refused.exit, 2, refused.output());
    assert.match(
      refused.output(),
      /cannot resume .*other-version: its results\.json was written by perfpack 0\.0\.1-other, and this is perfpack \S+: another version/,
    );
    assert.deepEqual(readFileSync(file(other)), bytes);

    const clash = perfpack(["run", "--resume", other, "--rounds", "5", "--json"]);
    assert.equal(await clash.exit, 2, clash.output());
    assert.match(clash.output(), /--rounds cannot be given beside it \(only --json can\)/);
    assert.deepEqual(readFileSync(file(other)), bytes);

    const gate = perfpack(["gate", "--baseline-ref", "HEAD", "--resume", other]);
    assert.equal(await gate.exit, 2, gate.output());
    assert.match(
      gate.output(),
      /a sequential gate's looks cannot be resumed .*: rerun the gate; the finished rounds are in/,
    );
  });

  test("a duet resumed makes the recorded seed's choices for the slices it runs (start order, the odd connection)", async () => {
    const duet = join(tmp, "duet");
    const run = perfpack([
      "run",
      "--quick",
      "--scenarios",
      "latency",
      "--design",
      "duet",
      "--connections",
      "33",
      "--skip-allocation",
      "--out",
      duet,
    ]);
    await killAfterFirstTrial(run, duet);
    const kept = read(duet).trials.length;
    assert.equal(kept, 2, "a slice's records are written together");
    const resumed = perfpack(["run", "--resume", duet]);
    const code = await resumed.exit;
    assert.ok(code === 0 || code === 1, resumed.output());
    const r = read(duet);
    assert.equal(r.trials.length, 4);
    // the choices an uninterrupted run makes with the recorded seed, slice by slice
    const rand = seededRandom(r.plan.duetSeed!);
    for (const round of [1, 2]) {
      const arms = r.plan.order.filter((o) => o.round === round).map((o) => o.variant);
      const split = duetSplit(arms, 33, r.plan.wsClients, rand);
      for (const t of r.trials.filter((x) => x.round === round))
        assert.deepEqual(t.duet, {
          arms: split.order,
          first: split.order[0] === t.variant,
          connections: split.connections[arms.indexOf(t.variant)],
        });
    }
  });
});
