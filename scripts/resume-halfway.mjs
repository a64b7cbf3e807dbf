#!/usr/bin/env node
// A run killed with SIGKILL halfway, then resumed, against the same run never interrupted
// (issue 33). `perfpack run` (ARGS, default `run --quick`) is started and killed with
// SIGKILL once half its trials are recorded; `run --resume` finishes it; the same run is then made
// again without interruption. It prints: whether the resumed results.json holds every planned
// trial exactly once (and the trials measured before the kill unchanged), each run's verdict, and
// each gated comparison's ratio and interval in both runs, with whether the intervals overlap.
//
//   node scripts/resume-halfway.mjs
//   ARGS="run --quick --scenarios latency,json" node scripts/resume-halfway.mjs
//
// Run from the project root after `npm run build`. Loopback only; every run is bounded.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const cli = resolve("dist/harness/cli.js");
if (!existsSync(cli)) {
  console.error("resume-halfway: dist/harness/cli.js is missing: run `npm run build` first");
  process.exit(2);
}
const args = (process.env.ARGS ?? "run --quick").split(" ");
const tmp = mkdtempSync(join(tmpdir(), "perfpack-resume-"));

/** Runs perfpack; `killAt(out)` returns true when it should get SIGKILL. Resolves with its exit and output. */
function perfpack(argv, killAt) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const hear = (b) => {
      out += b;
      if (killAt?.(out) && child.exitCode === null) child.kill("SIGKILL");
    };
    child.stdout.on("data", hear);
    child.stderr.on("data", hear);
    child.on("exit", (code, signal) => done({ code, signal, out }));
  });
}

const read = (dir) => JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
const key = (t) => `${t.variant}·${t.scenario}·${t.round}`;

const killed = join(tmp, "killed");
const first = await perfpack([...args, "--out", killed], (out) => {
  const m = [...out.matchAll(/[✓✗] \[(\d+)\/(\d+)\]/g)].at(-1);
  return m !== undefined && Number(m[1]) * 2 >= Number(m[2]);
});
await new Promise((r) => setTimeout(r, 2000));
if (!existsSync(join(killed, "results.json"))) {
  console.error(
    `resume-halfway: the first run left no results.json (exit ${first.code ?? first.signal}):\n${first.out}`,
  );
  process.exit(1);
}
const before = read(killed);
const resumed = await perfpack(["run", "--resume", killed]);
const after = read(killed);
const fresh = join(tmp, "fresh");
const whole = await perfpack([...args, "--out", fresh]);
const never = read(fresh);

const planned = after.plan.order?.length ?? never.trials.length;
const keys = after.trials.map(key);
const unchanged = before.trials.every((t) => {
  const again = after.trials.find((u) => key(u) === key(t));
  return again !== undefined && JSON.stringify(again.metrics) === JSON.stringify(t.metrics);
});
console.log(`killed: ${first.signal ?? first.code} with ${before.trials.length} trial(s) recorded`);
console.log(
  `resumed: exit ${resumed.code}; ${after.trials.length} trial(s), ${new Set(keys).size} distinct, ${planned} planned; the ${before.trials.length} earlier ones unchanged: ${unchanged}`,
);
console.log(`never interrupted: exit ${whole.code}; ${never.trials.length} trial(s)`);
const verdict = (r) => (r.summary.verdict?.pass ? "PASS" : `FAIL (${r.summary.verdict?.reasons?.join("; ")})`);
console.log(`verdict: resumed ${verdict(after)}; never interrupted ${verdict(never)}`);
console.log("\n| comparison | resumed | never interrupted | intervals overlap |\n|---|---|---|---|");
const fmt = (e) => (e ? `${e.ratio.toFixed(3)} (${e.lo.toFixed(3)}–${e.hi.toFixed(3)})` : "–");
for (const c of after.summary.comparisons.filter((c) => c.gate)) {
  const d = never.summary.comparisons.find(
    (x) => x.scenario === c.scenario && x.metric === c.metric && x.candidate === c.candidate,
  );
  const overlap =
    d && c.estimate && d.estimate ? c.estimate.lo <= d.estimate.hi && d.estimate.lo <= c.estimate.hi : "–";
  console.log(
    `| ${c.candidate}/${c.reference} ${c.scenario} ${c.label} | ${fmt(c.estimate)} | ${fmt(d?.estimate)} | ${overlap} |`,
  );
}
rmSync(tmp, { recursive: true, force: true });
