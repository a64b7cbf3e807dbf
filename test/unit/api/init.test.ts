import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ignoreStore } from "../../../harness/api/init.js";
import { HISTORY_BRANCH, workflowText } from "../../../harness/api/init-workflow.js";
import { initLines } from "../../../harness/cli/init.js";
import { parseYaml } from "../../helpers/yaml.js";

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  if: string;
  permissions?: Record<string, string>;
  defaults?: { run: { "working-directory": string } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = async (sub = "", branch = "main") => (await parseYaml(workflowText(sub, branch))) as Workflow;
const step = (job: Job, name: string): Step => {
  const s = job.steps.find((x) => x.name === name);
  assert.ok(s, `a step named "${name}"`);
  return s;
};

describe("the workflow init writes", () => {
  test("triggers: pull requests, pushes to the default branch, a weekly schedule and a manual run; read-only unless a job says", async () => {
    const w = await workflow("", "trunk");
    assert.deepEqual(w.on, {
      pull_request: null,
      push: { branches: ["trunk"] },
      schedule: [{ cron: "0 6 * * 1" }],
      workflow_dispatch: null,
    });
    assert.deepEqual(w.permissions, { contents: "read" });
    assert.deepEqual(w.env, { PERFPACK_HISTORY_BRANCH: HISTORY_BRANCH });
    assert.deepEqual(Object.keys(w.jobs), ["gate", "record", "history"]);
    assert.equal(w.jobs.gate!.if, "github.event_name == 'pull_request'");
    assert.equal(w.jobs.record!.if, "github.event_name == 'push'");
    assert.equal(w.jobs.history!.if, "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'");
    // only the record job may push (the history branch)
    assert.deepEqual(w.jobs.record!.permissions, { contents: "write" });
    assert.equal(w.jobs.gate!.permissions, undefined);
    assert.equal(w.jobs.history!.permissions, undefined);
  });

  test("gate: each pull request against its merge base, as before", async () => {
    const { gate } = (await workflow()).jobs;
    assert.equal(gate!.steps[0]!.with!["fetch-depth"], "0");
    assert.match(
      step(gate!, "Gate against the merge base").run!,
      /^npx perfpack gate --baseline-ref "\$\(git merge-base HEAD origin\/\$\{\{ github\.base_ref \}\}\)" --out perfpack-gate$/,
    );
  });

  test("record: the pushed commit against the previous tip (its first parent on a new branch), recorded; published on pass or regression only; the outcome fails the job last", async () => {
    const { record } = (await workflow()).jobs;
    const job = record!;
    assert.deepEqual(job.steps[0], { uses: "actions/checkout@v4", with: { "fetch-depth": "2" } });
    const cache = job.steps.find((s) => s.uses === "actions/cache@v4")!;
    assert.equal(cache.with!.path, "~/.cache/perfpack/revisions");
    assert.match(cache.with!.key!, /^perfpack-revisions-\$\{\{ github\.ref_name \}\}-/);
    const names = job.steps.map((s) => s.name ?? s.uses);
    assert.deepEqual(names.slice(4), [
      "Fetch the history store",
      "Gate against the previous tip, recorded in the history",
      "Publish the history store",
      "actions/upload-artifact@v4",
      "Fail on the gate's outcome",
    ]);
    const gate = step(job, "Gate against the previous tip, recorded in the history");
    assert.equal(gate.id, "gate");
    assert.deepEqual((gate as { env?: unknown }).env, { BEFORE: "${{ github.event.before }}" });
    assert.match(
      gate.run!,
      /npx perfpack gate --baseline-ref "\$base" --history \.perfpack\/history\.db --out perfpack-gate \|\| code=\$\?/,
    );
    assert.equal(
      step(job, "Publish the history store").if,
      "steps.gate.outputs.code == '0' || steps.gate.outputs.code == '1'",
    );
    assert.match(step(job, "Publish the history store").run!, /--force-with-lease=/);
    const fail = step(job, "Fail on the gate's outcome");
    assert.equal(fail.if, "steps.gate.outputs.code != '' && steps.gate.outputs.code != '0'");
    assert.equal(fail.run, 'exit "${{ steps.gate.outputs.code }}"');
    assert.equal(job.steps.find((s) => s.uses === "actions/upload-artifact@v4")!.if, "always()");
  });

  test("history: the store fetched, `perfpack history` run, its Markdown in the summary, its folder uploaded", async () => {
    const { history } = (await workflow()).jobs;
    const job = history!;
    assert.equal(job.steps[0]!.with!["fetch-depth"], "0");
    assert.equal(step(job, "Fetch the history store").id, "store");
    const trend = step(job, "Trend, change points and creep");
    assert.equal(trend.if, "steps.store.outputs.found == 'true'");
    assert.match(trend.run!, /npx perfpack history --history \.perfpack\/history\.db --out perfpack-history \|\| code/);
    assert.match(trend.run!, /cat perfpack-history\/history\.md >> "\$GITHUB_STEP_SUMMARY"/);
    assert.match(trend.run!, /exit "\$code"\n$/);
    const upload = job.steps.at(-1)!;
    assert.deepEqual(upload, {
      if: "always() && steps.store.outputs.found == 'true'",
      uses: "actions/upload-artifact@v4",
      with: { name: "perfpack-history", path: "perfpack-history/" },
    });
  });

  test("in a monorepo's package every job runs in its folder, and the artifacts are found there", async () => {
    const w = await workflow("packages/svc");
    for (const job of Object.values(w.jobs))
      assert.deepEqual(job.defaults, { run: { "working-directory": "packages/svc" } });
    const paths = Object.values(w.jobs).flatMap((j) =>
      j.steps.filter((s) => s.uses === "actions/upload-artifact@v4").map((s) => s.with!.path),
    );
    assert.deepEqual(paths, [
      "packages/svc/perfpack-gate/",
      "packages/svc/perfpack-gate/",
      "packages/svc/perfpack-history/",
    ]);
  });
});

describe("the .gitignore edit", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "perfpack-ignore-"));

  test("created when missing; appended once, on a line of its own, with nothing else changed", () => {
    const top = dir();
    assert.deepEqual(ignoreStore(top), { path: join(top, ".gitignore"), added: true });
    assert.equal(readFileSync(join(top, ".gitignore"), "utf8"), ".perfpack/\n");
    const other = dir();
    writeFileSync(join(other, ".gitignore"), "node_modules\n# reports\nreports/"); // no final newline
    assert.equal(ignoreStore(other).added, true);
    assert.equal(ignoreStore(other).added, false);
    assert.equal(readFileSync(join(other, ".gitignore"), "utf8"), "node_modules\n# reports\nreports/\n.perfpack/\n");
  });

  test("a line that ignores the folder already is enough; one that ignores it at the top only is not, from a package's folder", () => {
    for (const line of [".perfpack", ".perfpack/", "**/.perfpack/", ".perfpack/*", "  .perfpack/  "]) {
      const top = dir();
      writeFileSync(join(top, ".gitignore"), `dist/\n${line}\n`);
      assert.equal(ignoreStore(top, "packages/svc").added, false, line);
      assert.equal(readFileSync(join(top, ".gitignore"), "utf8"), `dist/\n${line}\n`);
    }
    const top = dir();
    writeFileSync(join(top, ".gitignore"), "/.perfpack/\n# .perfpack/\n.perfpack-old/\n");
    assert.equal(ignoreStore(top).added, false, "perfpack runs at the top: /.perfpack/ covers it");
    assert.equal(ignoreStore(top, "packages/svc").added, true);
  });

  test("a file with CRLF line ends keeps them; a .gitignore that cannot be read is said, not thrown", () => {
    const top = dir();
    writeFileSync(join(top, ".gitignore"), "dist/\r\nreports/");
    ignoreStore(top);
    assert.equal(readFileSync(join(top, ".gitignore"), "utf8"), "dist/\r\nreports/\r\n.perfpack/\r\n");
    const odd = dir();
    mkdirSync(join(odd, ".gitignore"));
    const r = ignoreStore(odd);
    assert.equal(r.added, false);
    assert.match(r.error!, /EISDIR/);
  });

  test("init's lines say what happened to the .gitignore and where the history goes", () => {
    const doc = { written: ["/r/perfpack.config.json"], branch: "trunk" };
    const lines = (gitignore: { path: string; added: boolean; error?: string }) =>
      initLines({ ...doc, gitignore }).join("\n");
    assert.match(lines({ path: "/r/.gitignore", added: true }), /^added \.perfpack\/ to \/r\/\.gitignore/m);
    assert.match(lines({ path: "/r/.gitignore", added: false }), /^\/r\/\.gitignore ignores \.perfpack\/ already$/m);
    assert.match(
      lines({ path: "/r/.gitignore", added: false, error: "EACCES" }),
      /^could not add \.perfpack\/ to \/r\/\.gitignore \(EACCES\)/m,
    );
    assert.match(
      lines({ path: "/r/.gitignore", added: true }),
      /each push to trunk is gated against the branch's previous tip/,
    );
  });
});
