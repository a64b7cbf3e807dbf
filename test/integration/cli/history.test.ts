import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openStore } from "../../../harness/history/open.js";
import type { Results } from "../../../harness/results/schema.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";

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
