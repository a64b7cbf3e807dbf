import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RevisionGateDocument } from "../../../harness/api/gate.js";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

/**
 * perfpack in a team's repository: a git repository of its own, outside perfpack, that holds a
 * small service of the team's. Every command runs with the team's directory as its working directory.
 */
const tmp = mkdtempSync(join(tmpdir(), "perfpack-team-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const repo = join(tmp, "team");
const env = { ...process.env, XDG_CACHE_HOME: join(tmp, "cache") };
const git = (...args: string[]) => {
  const r = spawnSync("git", args, { cwd: repo, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};
const inRepo = (args: string[]) => perfpack(args, env, repo);

/** The team's service: open orders through the exchange; slowPath burns SLOW_US of CPU per request (a committed regression). */
const service = (slowUs: number) => `import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
const ex = new URL(process.env.EXCHANGE_URL);
const ca = readFileSync(process.env.EXCHANGE_CA_FILE);
const agent = new https.Agent({ keepAlive: process.env.HTTP_KEEPALIVE === "true", ca });
const slowUs = ${slowUs};
function slowPath() { const t = process.hrtime.bigint(); while (Number(process.hrtime.bigint() - t) < slowUs * 1000); }
http.createServer((req, res) => {
  if (req.url === "/health") return res.end("ok");
  if (req.url !== "/api/private/open-orders") { res.writeHead(404); return res.end(); }
  https.get({ host: ex.hostname, port: ex.port, path: "/fapi/v1/openOrders?symbol=BTCUSDT", agent, ca }, (up) => {
    const parts = []; up.on("data", (c) => parts.push(c));
    up.on("end", () => { slowPath();
      res.writeHead(200, { "content-type": "application/json" }); res.end(Buffer.concat(parts)); });
  }).on("error", () => { res.writeHead(502); res.end(); });
}).listen(Number(process.env.PORT), process.env.HOST, function () { console.log("listening http://" + process.env.HOST + ":" + this.address().port); });
`;

before(() => {
  spawnSync("mkdir", ["-p", repo]);
  git("init", "-q");
  git("config", "user.email", "team@example.invalid");
  git("config", "user.name", "team");
  writeFileSync(join(repo, "svc.mjs"), service(0));
  writeFileSync(
    join(repo, "package.json"),
    JSON.stringify({ name: "team", version: "1.0.0", private: true, type: "module" }) + "\n",
  );
  writeFileSync(join(repo, ".gitignore"), "reports/\n");
});

describe("perfpack in a team's own repository", () => {
  test("init writes perfpack.config.json and the workflow, and never overwrites them", async () => {
    const run = inRepo(["init", "--executor-cmd", "node svc.mjs"]);
    assert.equal(await run.exit, 0, run.output());
    const config = JSON.parse(readFileSync(join(repo, "perfpack.config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(config, {
      $schema: "./node_modules/perfpack/perfpack.schema.json",
      executorCmd: "node svc.mjs",
      scenarios: ["latency", "batch"],
    });
    const workflow = readFileSync(join(repo, ".github", "workflows", "perfpack.yml"), "utf8");
    assert.match(workflow, /^on:\n {2}pull_request:/m);
    assert.match(
      workflow,
      /npx perfpack gate --baseline-ref "\$\(git merge-base HEAD origin\/\$\{\{ github\.base_ref \}\}\)"/,
    );
    assert.match(workflow, /fetch-depth: 0/);
    const again = inRepo(["init"]);
    assert.equal(await again.exit, 2, again.output());
    assert.match(
      again.output(),
      /perfpack init never overwrites a file, and .*perfpack\.config\.json and .*perfpack\.yml exist already/,
    );
    // the service serves latency only: the config names what it serves
    writeFileSync(
      join(repo, "perfpack.config.json"),
      JSON.stringify({ ...config, scenarios: ["latency"] }, null, 2) + "\n",
    );
    git("add", "-A");
    git("commit", "-qm", "service");
  });

  test("run writes reports/<run-id> and reports/latest in the team's directory and records the team's commit", async () => {
    const run = inRepo(["run", "--rounds", "1", "--duration", "1", "--warmup", "0.2"]);
    const code = await run.exit;
    assert.ok(code === 0 || code === 1, run.output());
    const folders = readdirSync(join(repo, "reports")).filter((f) => f !== "latest");
    assert.equal(folders.length, 1);
    assert.ok(existsSync(join(repo, "reports", "latest", "results.json")));
    const r = JSON.parse(readFileSync(join(repo, "reports", folders[0]!, "results.json"), "utf8")) as Results;
    assert.deepEqual(r.plan.variants[0]!.system, { kind: "command", cmd: "node svc.mjs" });
    assert.deepEqual(r.plan.checkout, { commit: git("rev-parse", "HEAD"), dirty: false });
    assert.ok(r.trials.every((t) => t.status === "ok"));
  });

  test("gate --baseline-ref HEAD (A/A) builds the team's repository at HEAD and runs both arms; decision and exit code agree", async (t) => {
    const out = join(tmp, "aa");
    const run = inRepo([
      "gate",
      "--baseline-ref",
      "HEAD",
      "--rounds",
      "2",
      "--duration",
      "1",
      "--warmup",
      "0.3",
      "--budget",
      "15s",
      "--out",
      out,
      "--json",
    ]);
    const code = await run.exit;
    const doc = JSON.parse(readFileSync(join(out, "gate.json"), "utf8")) as RevisionGateDocument;
    t.diagnostic(
      `A/A outcome ${doc.outcome}: ${doc.comparisons.map((c) => `${c.label} ${c.estimate.ratio.toFixed(3)}`).join(", ")}`,
    );
    assert.equal(code, doc.outcome === "regression" ? 1 : 0, run.output());
    assert.match(run.output(), /baseline HEAD \([0-9a-f]{10}\): building the repository in /);
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    assert.deepEqual(r.plan.variants[0]!.system, {
      kind: "revision",
      ref: "HEAD",
      commit: git("rev-parse", "HEAD"),
      cmd: "node svc.mjs",
    });
    assert.deepEqual(r.plan.variants[1]!.system, { kind: "command", cmd: "node svc.mjs" });
    assert.ok(r.trials.every((x) => x.status === "ok"));
    assert.deepEqual(descendants(run.child.pid!), []);
  });

  test("a committed 20 ms-per-request regression in the team's service fails the gate against its parent (exit 1), and shows its cause: slowPath grew most per request", async (t) => {
    writeFileSync(join(repo, "svc.mjs"), service(20_000));
    git("commit", "-qam", "slower");
    const out = join(tmp, "slow");
    const run = inRepo([
      "gate",
      "--baseline-ref",
      "HEAD~1",
      "--rounds",
      "3",
      "--duration",
      "1",
      "--warmup",
      "0.3",
      "--profile-cap",
      "10s",
      "--out",
      out,
    ]);
    assert.equal(await run.exit, 1, run.output());
    assert.match(run.output(), /gate: FAIL \(regression\)/);
    // before it exits, both arms under cpuprof at once: the profiles, and the function that grew most per request
    for (const role of ["reference", "candidate"])
      assert.ok(existsSync(join(out, "flame", `${role}.cpuprofile`)), `${role}'s profile\n${run.output()}`);
    const cause = (JSON.parse(readFileSync(join(out, "gate.json"), "utf8")) as RevisionGateDocument).cause;
    assert.equal(cause?.status, "profiled", JSON.stringify(cause));
    if (cause?.status !== "profiled") return;
    t.diagnostic(
      `profiled ${cause.loadS.toFixed(1)} s of load in ${cause.wallS.toFixed(1)} s: ${cause.reference.units} and ${cause.candidate.units} requests; grew ${cause.grew.map((g) => `${g.fn} +${g.deltaUs.toFixed(0)} µs`).join(", ")}`,
    );
    assert.equal(cause.grew[0]?.fn, "slowPath");
    assert.equal(cause.grew[0]?.location, "svc.mjs:8");
    // its growth is the top row's: how much CPU a 20 ms wall-time burn gets depends on the machine's sharing
    assert.ok(cause.grew[0]!.deltaUs > (cause.grew[1]?.deltaUs ?? 0), String(cause.grew[0]!.deltaUs));
    const md = readFileSync(join(out, "report.md"), "utf8");
    assert.match(
      md,
      /### Where the time went \(latency, per request\)\n[^]*?\| function \| where \| optimized@HEAD~1 µs\/req \| optimized µs\/req \| change µs\/req \|\n\|---\|---\|---\|---\|---\|\n\| slowPath \| svc\.mjs:8 \|/,
    );
    assert.match(md, /\[optimized: flame\/candidate\.cpuprofile\]\(flame\/candidate\.cpuprofile\)/);
    assert.match(
      readFileSync(join(out, "report.html"), "utf8"),
      /<h3>Where the time went \(latency, per request\)<\/h3>/,
    );
    assert.match(run.output(), /gate: where the time went \(latency, [^]*\n +\+[\d,]+ µs\/req {2}slowPath svc\.mjs:8/);
    assert.match(run.output(), /profiling took [\d.]+ s/);
    assert.match(
      run.output(),
      /optimized · latency · (req\/s|p95 ms|CPU µs\/req): [\d.]+% worse than optimized@HEAD~1/,
    );
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    assert.equal(
      r.plan.variants[0]!.system?.kind === "revision" && r.plan.variants[0]!.system.commit,
      git("rev-parse", "HEAD~1"),
    );
    assert.equal(r.plan.checkout?.commit, git("rev-parse", "HEAD"));
  });

  test("history confirm COMMIT gates that commit against its parent, both built from git, whatever the checkout is; --history records it; --no-profile skips the profile of its regression", async () => {
    // the checkout moves on: the slow commit is now HEAD~1, and confirm must not measure the working tree
    writeFileSync(join(repo, "NOTES.md"), "notes\n");
    git("add", "NOTES.md");
    git("commit", "-qm", "notes");
    const slow = git("rev-parse", "HEAD~1");
    const out = join(tmp, "confirm");
    const store = join(tmp, "confirm.db");
    const run = inRepo([
      "history",
      "confirm",
      slow.slice(0, 12),
      "--rounds",
      "3",
      "--duration",
      "1",
      "--warmup",
      "0.3",
      "--history",
      store,
      "--no-profile",
      "--out",
      out,
    ]);
    assert.equal(await run.exit, 1, run.output());
    // --no-profile: the regression is not profiled
    assert.ok(!existsSync(join(out, "flame")), run.output());
    assert.ok(!readFileSync(join(out, "report.md"), "utf8").includes("Where the time went"));
    assert.ok(!run.output().includes("where the time went"));
    assert.match(
      run.output(),
      new RegExp(`gate: ${slow.slice(0, 12)} \\(${slow.slice(0, 10)}\\) against ${slow.slice(0, 12)}\\^`),
    );
    assert.match(run.output(), /gate: FAIL \(regression\)/);
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    assert.equal(r.plan.checkout?.commit, slow);
    const systems = r.plan.variants.map((v) => v.system);
    assert.ok(systems.some((s) => s?.kind === "revision" && s.candidate === true && s.commit === slow));
    assert.ok(systems.some((s) => s?.kind === "revision" && !s.candidate && s.commit === git("rev-parse", "HEAD~2")));
    const shown = inRepo(["history", "show", slow, "--history", store]);
    assert.equal(await shown.exit, 0, shown.output());
    assert.match(shown.output(), new RegExp(`gate of ${slow}`));
    assert.match(shown.output(), new RegExp(`vs ${git("rev-parse", "HEAD~2").slice(0, 10)}: 0\\.\\d+×`));
  });

  test("bad input: an unknown revision exits 2; a build that fails exits 3 with its log's tail and leaves no tree", async () => {
    const bad = inRepo(["gate", "--baseline-ref", "no-such-rev"]);
    assert.equal(await bad.exit, 2, bad.output());
    assert.match(bad.output(), /--baseline-ref "no-such-rev" is not a revision of this repository/);
    const broken = inRepo(["gate", "--baseline-ref", "HEAD", "--build-cmd", "echo the build broke; exit 4"]);
    assert.equal(await broken.exit, 3, broken.output());
    assert.match(broken.output(), /failed its build command `echo the build broke; exit 4`/);
    assert.match(broken.output(), /--- last lines of the build log ---\nthe build broke/);
  });

  test("profile the team's service: cpuprof through the preloaded agent, 0x in front of its node; a command 0x cannot wrap names cpuprof", async () => {
    for (const tool of ["cpuprof", "0x"]) {
      const out = join(tmp, `prof-${tool}`);
      const run = inRepo([
        "profile",
        "--tool",
        tool,
        "--variants",
        "optimized",
        "--duration",
        "2",
        "--executor-cmd",
        "node svc.mjs",
        "--out",
        out,
      ]);
      assert.equal(await run.exit, 0, run.output());
      const p = JSON.parse(readFileSync(join(out, "flame", "profile.json"), "utf8")) as {
        variants: Array<{ artifacts: string[]; check: { ok: boolean; samples: number } }>;
      };
      assert.equal(p.variants[0]!.check.ok, true, run.output());
      // one profile: the process that served the port (the agent writes one per Node process)
      assert.equal(p.variants[0]!.artifacts.length, 1, p.variants[0]!.artifacts.join(", "));
      if (tool === "cpuprof") {
        const prof = JSON.parse(readFileSync(join(out, "flame", p.variants[0]!.artifacts[0]!), "utf8")) as {
          nodes: Array<{ callFrame: { url: string } }>;
        };
        assert.ok(
          prof.nodes.some((n) => n.callFrame.url.endsWith("/svc.mjs")),
          "the profile holds the team's own code",
        );
      }
      assert.deepEqual(descendants(run.child.pid!), []);
    }
    const npm = inRepo(["profile", "--tool", "0x", "--executor-cmd", "npm start"]);
    assert.equal(await npm.exit, 2, npm.output());
    assert.match(
      npm.output(),
      /--tool 0x runs the service's node under itself, so it needs a command that starts node itself .* cpuprof works for any Node service/,
    );
  });
});
