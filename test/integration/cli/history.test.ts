import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cliPath } from "../../../harness/engine/systems.js";
import { openStore } from "../../../harness/history/open.js";
import type { HistoryDocument } from "../../../harness/verdict/trend.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";
import { sha, trendHistory } from "../../helpers/history-trend.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-history-cli-"));

describe("perfpack history add", () => {
  test("a stored gate is appended once, with its commit and points; a second add leaves it as it is", async () => {
    const store = join(tmp, "h.db");
    const gate = fixturePath("sample-gate");
    const commit = (JSON.parse(readFileSync(join(gate, "results.json"), "utf8")) as Results).plan.checkout!.commit;
    const first = perfpack(["history", "add", gate, "--history", store, "--branch", "main", "--json"]);
    assert.equal(await first.exit, 0, first.output());
    const doc = JSON.parse(first.output()) as {
      added: boolean;
      points: number;
      commit: string;
      branch: string;
      runId: string;
    };
    assert.deepEqual([doc.added, doc.commit, doc.branch], [true, commit, "main"]);
    assert.ok(doc.points > 0);
    const again = perfpack(["history", "add", join(gate, "results.json"), "--history", store, "--branch", "main"]);
    assert.equal(await again.exit, 0, again.output());
    assert.match(
      again.output(),
      new RegExp(
        // its parent, where this checkout holds the commit's history (a shallow clone does not)
        `history: already held run ${doc.runId} \\(${doc.points} points, commit ${commit.slice(0, 12)} on main(, parent [0-9a-f]{12})?\\) in ${store}`,
      ),
    );
    const s = await openStore(store, tmp, { mustExist: true });
    try {
      assert.equal((await s.runs()).length, 1);
      const records = await s.records();
      assert.equal(records.length, doc.points);
      assert.ok(records.every((r) => r.kind === "gate" && r.commit === commit && r.branch === "main"));
      // the gate's checkout arm is a point with its paired link against the baseline commit
      assert.ok(
        records.some((r) => r.link !== undefined),
        "the gate metrics carry their link",
      );
    } finally {
      await s.close();
    }
  });

  test("bad input is exit 2 and names it: no such run, a store that is not a history", async () => {
    const none = perfpack(["history", "add", join(tmp, "nope"), "--history", join(tmp, "x.db")]);
    assert.equal(await none.exit, 2, none.output());
    assert.match(none.output(), /nope/);
    const notStore = perfpack(["history", "add", fixturePath("sample-gate"), "--history", fixturePath("targets.json")]);
    assert.equal(await notStore.exit, 2, notStore.output());
    assert.match(notStore.output(), /targets\.json/);
  });
});

describe("perfpack history (the trend)", () => {
  const store = join(tmp, "trend.db");
  const h = trendHistory();
  const cli = (args: string[]) => spawnSync(process.execPath, [cliPath(), ...args], { cwd: tmp, encoding: "utf8" });

  test("a creep and a p95 step: exit 1, the JSON names each series' change points, the files are written", async () => {
    const s = await openStore(store, tmp);
    await s.append(h.records);
    await s.close();
    const out = join(tmp, "trend-out");
    const r = cli(["history", "--history", store, "--out", out, "--json"]);
    assert.equal(r.status, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as HistoryDocument;
    assert.equal(doc.schema, "perfpack/history@1");
    assert.equal(doc.series.length, 2);
    const p95 = doc.series.find((x) => x.key.metric === "latency_p95_ms")!;
    assert.deepEqual(
      p95.changePoints.map((c) => [c.commit, c.state]),
      [[sha(h.stepAt), "stands"]],
    );
    assert.ok(
      p95.changePoints[0]!.lo <= p95.changePoints[0]!.ratio && p95.changePoints[0]!.ratio <= p95.changePoints[0]!.hi,
    );
    assert.deepEqual(
      p95.points.map((p) => p.commit),
      Array.from({ length: h.commits }, (_, i) => sha(i)),
    );
    const rps = doc.series.find((x) => x.key.metric === "rps")!;
    assert.ok(["creep", "suspected"].includes(rps.chain!.creep.status));
    assert.ok(doc.standing.some((x) => x.kind !== "change-point" && x.series.metric === "rps"));
    // the human text went to stderr, and names what stands
    assert.match(r.stderr, /regressions stand:/);
    assert.match(readFileSync(join(out, "history.md"), "utf8"), /## \d regressions stand/);
    assert.match(readFileSync(join(out, "history.html"), "utf8"), /<html|<!doctype/i);
  });

  test("a flat history: nothing stands, exit 0; --no-write writes nothing", () => {
    const flat = join(tmp, "flat");
    const r = cli([
      "history",
      "--history",
      store,
      "--metric",
      "latency_p95_ms",
      "--since",
      sha(h.stepAt + 1),
      "--out",
      flat,
      "--no-write",
    ]);
    // the step came before the anchor: it no longer stands; p95 has no links, so no creep either
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /nothing stands/);
    assert.match(r.stdout, /worse, before the anchor/);
    assert.equal(existsSync(flat), false);
  });

  test("list and show: the runs, and one commit's points with its link", () => {
    const list = cli(["history", "list", "--history", store, "--json"]);
    assert.equal(list.status, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout) as { runs: unknown[] }).runs.length, h.commits);
    const show = cli(["history", "show", sha(h.stepAt).slice(0, 10), "--history", store]);
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`gate of ${sha(h.stepAt)} on main`));
    assert.match(show.stdout, new RegExp(`req/s: .* vs ${sha(h.stepAt - 1).slice(0, 10)}: 0\\.985×`));
  });

  test("bad input is exit 2 and names it", () => {
    const cases: Array<[string[], RegExp]> = [
      [["history", "--history", join(tmp, "none.db")], /no history store at .*none\.db/],
      [["history", "--history", store, "--last", "0"], /--last 0 is not valid: expected a whole number/],
      [["history", "--history", store, "--since", "nope"], /--since "nope" names no commit/],
      [["history", "--history", store, "--since", sha(3), "--last", "3"], /give one/],
      [["history", "--history", store, "--max-regression", "5"], /--max-regression 5 is not valid/],
      [["history", "--history", store, "--metric", "nope"], /no history in .* matches --metric nope/],
      [["history", "show", "zzzz", "--history", store], /"zzzz" is no stored run id nor a stored commit/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(existsSync(join(tmp, "none.db")), false, "reading never creates a store");
  });
});
