import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cliPath } from "../../../harness/engine/stack.js";
import { openStore } from "../../../harness/history/open.js";
import { fixturePath } from "../../../services/common/src/project.js";
import { perfpack } from "../../helpers/cli.js";
import { parseYaml } from "../../helpers/yaml.js";

/**
 * `perfpack init` in a scratch repository, and the shell steps of the workflow it writes, taken
 * out of that workflow and run for real with bash and git against a local bare repository (the
 * "origin"): the history store's fetch, its publication as one leased orphan commit, and the
 * retry when another job pushed meanwhile. `npx perfpack` is perfpack's own CLI from dist/ (or,
 * for the steps that would run a gate or read the history, a stand-in that answers an exit code).
 */
const noGit = spawnSync("git", ["--version"]).status === 0 ? false : "git is not installed: these tests run git";
const tmp = mkdtempSync(join(tmpdir(), "perfpack-init-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string): string => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};
const git = (cwd: string, ...args: string[]) => run("git", args, cwd);

/** A git repository with one commit by the team. */
function repo(dir: string, branch = "main"): string {
  mkdirSync(dir, { recursive: true });
  git(dir, "init", "-q", "-b", branch);
  git(dir, "config", "user.email", "team@example.invalid");
  git(dir, "config", "user.name", "team");
  writeFileSync(join(dir, "server.js"), "// the team's service\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "service");
  return dir;
}

/** A bin folder whose `npx` runs `npx perfpack …` as perfpack's own CLI, or as `fake` (a shell body) when given. */
function npxShim(name: string, fake?: string): string {
  const bin = join(tmp, `bin-${name}`);
  mkdirSync(bin, { recursive: true });
  const real = `[ "$1" = perfpack ] || exit 127\nshift\nexec "${process.execPath}" "${cliPath()}" "$@"\n`;
  writeFileSync(join(bin, "npx"), `#!/bin/sh\n${fake ?? real}`);
  chmodSync(join(bin, "npx"), 0o755);
  return bin;
}

interface StepRun {
  code: number | null;
  out: string;
}

/** Runs a step's script as Actions does on Linux (`bash --noprofile --norc -eo pipefail`), in `cwd`. */
function runStep(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<StepRun> {
  const file = join(tmp, `step-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, script);
  const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], { cwd, env });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, out })));
}

interface Steps {
  env: Record<string, string>;
  record: Record<string, string>;
  history: Record<string, string>;
}

/** The named steps' scripts of the record and history jobs, from the workflow as written. */
async function stepsOf(workflowFile: string): Promise<Steps> {
  type Job = { steps: { name?: string; run?: string }[] };
  const w = (await parseYaml(readFileSync(workflowFile, "utf8"))) as {
    env: Record<string, string>;
    jobs: Record<string, Job>;
  };
  const scripts = (job: Job) =>
    Object.fromEntries(job.steps.filter((s) => s.name && s.run).map((s) => [s.name!, s.run!]));
  return { env: w.env, record: scripts(w.jobs.record!), history: scripts(w.jobs.history!) };
}

describe("perfpack init", { skip: noGit }, () => {
  test("writes its two files, adds .perfpack/ to an existing .gitignore once, and names the default branch; a second init refuses and leaves the .gitignore alone", async () => {
    const dir = repo(join(tmp, "team-a"), "trunk");
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
    const first = perfpack(["init", "--executor-cmd", "node server.js"], process.env, dir);
    assert.equal(await first.exit, 0, first.output());
    assert.match(first.output(), /^wrote .*perfpack\.config\.json$/m);
    assert.match(first.output(), /^wrote .*\.github\/workflows\/perfpack\.yml$/m);
    assert.match(first.output(), /^added \.perfpack\/ to .*\.gitignore/m);
    assert.match(first.output(), /each push to trunk is gated against the branch's previous tip/);
    assert.equal(readFileSync(join(dir, ".gitignore"), "utf8"), "node_modules/\n.perfpack/\n");
    const w = (await parseYaml(readFileSync(join(dir, ".github", "workflows", "perfpack.yml"), "utf8"))) as {
      on: { push: { branches: string[] } };
    };
    assert.deepEqual(w.on.push.branches, ["trunk"]);
    const again = perfpack(["init"], process.env, dir);
    assert.equal(await again.exit, 2, again.output());
    assert.match(again.output(), /never overwrites a file/);
    assert.equal(readFileSync(join(dir, ".gitignore"), "utf8"), "node_modules/\n.perfpack/\n");
  });

  test("the default branch is origin's HEAD in a clone, whichever branch is checked out", async () => {
    const upstream = repo(join(tmp, "upstream-b"), "develop");
    const clone = join(tmp, "clone-b");
    git(tmp, "clone", "-q", upstream, clone);
    git(clone, "checkout", "-q", "-b", "feature/x");
    const r = perfpack(["init", "--executor-cmd", "node server.js"], process.env, clone);
    assert.equal(await r.exit, 0, r.output());
    assert.match(r.output(), /each push to develop is gated/);
  });
});

describe("the workflow's history steps, run with bash against a local origin", { skip: noGit }, () => {
  const origin = join(tmp, "origin.git");
  let steps: Steps;
  let main: string;
  const realNpx = npxShim("real");

  before(async () => {
    const team = repo(join(tmp, "team"));
    const r = perfpack(["init", "--executor-cmd", "node server.js"], process.env, team);
    assert.equal(await r.exit, 0, r.output());
    git(team, "add", "-A");
    git(team, "commit", "-qm", "perfpack");
    git(tmp, "init", "-q", "--bare", "-b", "main", origin);
    git(team, "push", "-q", origin, "main");
    main = git(team, "rev-parse", "HEAD");
    steps = await stepsOf(join(team, ".github", "workflows", "perfpack.yml"));
  });

  /** A job's checkout (a clone of origin's main) and the environment Actions gives its steps. */
  function job(name: string, npxBin = realNpx) {
    const dir = join(tmp, name);
    git(tmp, "clone", "-q", origin, dir);
    const files = { output: join(tmp, `${name}.output`), summary: join(tmp, `${name}.summary`) };
    writeFileSync(files.output, "");
    writeFileSync(files.summary, "");
    const env = {
      ...process.env,
      ...steps.env,
      PATH: `${npxBin}:${process.env.PATH}`,
      GITHUB_SHA: main,
      GITHUB_REF_NAME: "main",
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
    };
    const step = (jobName: "record" | "history", stepName: string) => {
      const script = steps[jobName][stepName];
      assert.ok(script, `the ${jobName} job has a step "${stepName}"`);
      return runStep(script, dir, env);
    };
    return { dir, env, files, step };
  }

  /** What `gate --history` leaves: the gate's folder (the sample gate, under a run id of its own), appended to the fetched store. */
  async function gated(j: ReturnType<typeof job>, runId: string): Promise<void> {
    const folder = join(j.dir, "perfpack-gate");
    cpSync(fixturePath("sample-gate"), folder, { recursive: true });
    const results = JSON.parse(readFileSync(join(folder, "results.json"), "utf8"));
    results.runId = runId;
    results.plan.checkout = { commit: main, dirty: false };
    writeFileSync(join(folder, "results.json"), JSON.stringify(results));
    const gate = JSON.parse(readFileSync(join(folder, "gate.json"), "utf8"));
    writeFileSync(join(folder, "gate.json"), JSON.stringify({ ...gate, current: runId }));
    // the same append as gate --history's (api/history.ts appendRun), through the CLI
    const add = await runStep("npx perfpack history add perfpack-gate --history .perfpack/history.db", j.dir, j.env);
    assert.equal(add.code, 0, add.out);
  }

  /** The branch on origin: its commits, its files, and the runs its store holds. */
  async function published(): Promise<{ commits: number; parents: string; files: string; runs: string[] }> {
    const branch = `refs/heads/${steps.env.PERFPACK_HISTORY_BRANCH}`;
    const db = join(tmp, `published-${Math.random().toString(36).slice(2)}.db`);
    writeFileSync(db, spawnSync("git", ["--git-dir", origin, "cat-file", "blob", `${branch}:history.db`]).stdout);
    const store = await openStore(db, tmp, { mustExist: true });
    try {
      return {
        commits: Number(git(origin, "rev-list", "--count", branch)),
        parents: git(origin, "log", "-1", "--format=%P", branch),
        files: git(origin, "ls-tree", "--name-only", branch),
        runs: (await store.runs()).map((r) => r.runId).sort(),
      };
    } finally {
      await store.close();
    }
  }

  test("no branch yet: the history job says so and passes; the first record creates the branch as one orphan commit", async () => {
    const reader = job("reader-empty");
    const fetch = await reader.step("history", "Fetch the history store");
    assert.equal(fetch.code, 0, fetch.out);
    assert.match(readFileSync(reader.files.summary, "utf8"), /No perfpack history yet/);
    assert.doesNotMatch(readFileSync(reader.files.output, "utf8"), /found=true/);

    const a = job("a");
    assert.equal((await a.step("record", "Fetch the history store")).code, 0);
    assert.equal(readFileSync(join(a.dir, ".perfpack", "history.base"), "utf8"), "");
    await gated(a, "20261202-010000-aaaa");
    const pub = await a.step("record", "Publish the history store");
    assert.equal(pub.code, 0, pub.out);
    assert.match(pub.out, /history: the store is on the perfpack-history branch/);
    assert.deepEqual(await published(), {
      commits: 1,
      parents: "",
      files: "history.db",
      runs: ["20261202-010000-aaaa"],
    });
    assert.equal(git(origin, "rev-parse", "refs/heads/main"), main, "main is left as it was");
  });

  test("two appenders racing (one pushes between the other's fetch and push): both land, and the branch holds one commit", async () => {
    const b = job("b");
    const c = job("c");
    assert.equal((await b.step("record", "Fetch the history store")).code, 0);
    assert.equal((await c.step("record", "Fetch the history store")).code, 0);
    await gated(b, "20261202-020000-bbbb");
    await gated(c, "20261202-030000-cccc");
    const pb = await b.step("record", "Publish the history store");
    assert.equal(pb.code, 0, pb.out);
    const pc = await c.step("record", "Publish the history store");
    assert.equal(pc.code, 0, pc.out);
    assert.match(pc.out, /the branch moved since the store was fetched/);
    assert.match(pc.out, /history: added run 20261202-030000-cccc/);
    assert.deepEqual(await published(), {
      commits: 1,
      parents: "",
      files: "history.db",
      runs: ["20261202-010000-aaaa", "20261202-020000-bbbb", "20261202-030000-cccc"],
    });
  });

  test("three appenders publishing at once: every run lands", async () => {
    const jobs = ["d", "e", "f"].map((n) => job(n));
    for (const [i, j] of jobs.entries()) {
      assert.equal((await j.step("record", "Fetch the history store")).code, 0);
      await gated(j, `20261202-04000${i}-dddd`);
    }
    const pubs = await Promise.all(jobs.map((j) => j.step("record", "Publish the history store")));
    for (const p of pubs) assert.equal(p.code, 0, p.out);
    const { commits, runs } = await published();
    assert.equal(commits, 1);
    assert.equal(runs.length, 6);
    assert.ok(["20261202-040000-dddd", "20261202-040001-dddd", "20261202-040002-dddd"].every((r) => runs.includes(r)));
  });

  test("the history job finds the store, and its trend step passes perfpack history's exit on, with history.md in the summary", async () => {
    const fake = npxShim(
      "history",
      'mkdir -p perfpack-history\necho "# fake history" > perfpack-history/history.md\necho "$@" > npx-args\nexit "$FAKE_EXIT"\n',
    );
    for (const code of [1, 0]) {
      const reader = job(`reader-${code}`, fake);
      const fetch = await reader.step("history", "Fetch the history store");
      assert.equal(fetch.code, 0, fetch.out);
      assert.match(readFileSync(reader.files.output, "utf8"), /^found=true$/m);
      const trend = await runStep(steps.history["Trend, change points and creep"]!, reader.dir, {
        ...reader.env,
        FAKE_EXIT: String(code),
      });
      assert.equal(trend.code, code, trend.out);
      assert.match(readFileSync(reader.files.summary, "utf8"), /# fake history/);
      assert.equal(
        readFileSync(join(reader.dir, "npx-args"), "utf8").trim(),
        "perfpack history --history .perfpack/history.db --out perfpack-history",
      );
    }
  });

  test("the record job's gate step: a regression (exit 1) is kept as the step's output, not a failed step; a root commit is not gated", async () => {
    const fake = npxShim("gate", 'echo "$@" > npx-args\nexit "$FAKE_EXIT"\n');
    const root = job("root", fake);
    const commit = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty"];
    git(root.dir, "checkout", "-q", "--orphan", "lone");
    git(root.dir, ...commit, "-m", "a first commit");
    const first = await root.step("record", "Gate against the previous tip, recorded in the history");
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /has no parent: nothing to gate it against/);
    assert.equal(readFileSync(root.files.output, "utf8"), "");

    const pushed = job("pushed", fake);
    git(
      pushed.dir,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@example.invalid",
      "commit",
      "-q",
      "--allow-empty",
      "-m",
      "x",
    );
    for (const code of [1, 3]) {
      writeFileSync(pushed.files.output, "");
      const s = await runStep(steps.record["Gate against the previous tip, recorded in the history"]!, pushed.dir, {
        ...pushed.env,
        FAKE_EXIT: String(code),
      });
      assert.equal(s.code, 0, s.out);
      assert.equal(readFileSync(pushed.files.output, "utf8"), `code=${code}\n`);
    }
    assert.equal(
      readFileSync(join(pushed.dir, "npx-args"), "utf8").trim(),
      "perfpack gate --baseline-ref HEAD^ --history .perfpack/history.db --out perfpack-gate",
    );
    // a push of several commits: gated against the branch's previous tip, so the chain has no gap
    const before = git(pushed.dir, "rev-parse", "HEAD^");
    git(
      pushed.dir,
      ...["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "y"],
    );
    const step = steps.record["Gate against the previous tip, recorded in the history"]!;
    const s = await runStep(step, pushed.dir, { ...pushed.env, FAKE_EXIT: "0", BEFORE: before });
    assert.equal(s.code, 0, s.out);
    assert.equal(
      readFileSync(join(pushed.dir, "npx-args"), "utf8").trim(),
      `perfpack gate --baseline-ref ${before} --history .perfpack/history.db --out perfpack-gate`,
    );
    // a new branch (before is all zeros): its first parent
    await runStep(step, pushed.dir, { ...pushed.env, FAKE_EXIT: "0", BEFORE: "0".repeat(40) });
    assert.match(readFileSync(join(pushed.dir, "npx-args"), "utf8"), /--baseline-ref HEAD\^ /);
  });
});
