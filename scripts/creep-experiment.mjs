// The creep in a real repository (a measurement of perfpack itself, never run by npm test): a scratch
// git repository holding a small Node service whose CPU work per request is a constant in its source,
// perfpack installed from a tarball, 8 commits each adding about 1.5% CPU per request, each gated
// against its parent (`gate --baseline-ref HEAD^`, duet, paired) and appended to the history; then
// each gate metric's links chained (harness/verdict/chain.ts): every link passes or is inconclusive,
// and the chain reports the creep.
//
//   npm pack --ignore-scripts --pack-destination /tmp/pack      (dist/ built first: npm run build)
//   node scripts/creep-experiment.mjs setup /tmp/creep /tmp/pack/perfpack-0.1.0.tgz
//   node scripts/creep-experiment.mjs calibrate /tmp/creep       CPU µs/request at WORK=base and 0 → the step
//   node scripts/creep-experiment.mjs gates /tmp/creep STEP [N]  N (8) commits of +STEP, each gated
//   node scripts/creep-experiment.mjs chain /tmp/creep [--json]  the links, the chained trend, the calls
//
// Pick the step once, from `calibrate`, before the gates; never tune it after seeing a result.
// Etiquette on a shared machine: every measurement waits while /tmp/perfpack-measuring exists, holds
// it while it runs (removed on exit), and the gates sleep 60 s apart so that others can build.
// The service does fixed work (iterations of an integer hash), not a spin for a wall-clock time: a
// spin ends early in CPU terms when its process is preempted, and under duet it is.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from "../dist/harness/history/open.js";
import { chain } from "../dist/harness/verdict/chain.js";

const BASE_WORK = 80_000; // about 500 µs of CPU per request on a 2020s x86 core
const SHARE = 0.015; // each commit adds this share of the anchor's CPU per request
const LINE = 0.05; // the gate's --max-regression with --baseline-ref
const LOCK = "/tmp/perfpack-measuring";
const HISTORY = join(".perfpack", "history.db");

const SERVER = (
  work,
) => `// A small order service for the creep experiment: each request does a fixed amount of CPU work
// (WORK iterations of an integer hash), committed as a constant, so that a commit that raises WORK
// adds CPU per request the way a slower code path would. Fixed work, not a spin for a wall-clock
// time: a spin ends early in CPU terms when the process is preempted, and on a shared machine it is.
const http = require("node:http");

const WORK = ${work}; // iterations per request (the creep's commits raise it)

function work(n, seed) {
  let x = seed | 0;
  for (let i = 0; i < n; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  return x;
}

const srv = http.createServer((req, res) => {
  if (req.url.startsWith("/health")) return res.end("ok");
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () =>
    // an upstream call's wait, then the request's own CPU work
    setTimeout(() => {
      const h = work(WORK, body.length);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true, n: body.length, h }));
    }, 2),
  );
});
srv.listen(Number(process.env.PORT), process.env.HOST || "127.0.0.1", () =>
  console.log(\`listening http://127.0.0.1:\${srv.address().port}\`),
);
`;

/** Runs a command in `cwd`, output shown; throws on failure unless `ok` is given. */
function sh(cwd, cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { cwd, stdio: o.capture ? "pipe" : "inherit", encoding: "utf8" });
  if (r.status !== 0 && !o.ok) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status} in ${cwd}`);
  return o.capture ? r.stdout.trim() : r.status;
}

/** Until no one is measuring (before an install, as before a build). */
async function waitFree() {
  while (existsSync(LOCK)) await sleep(15_000);
}

/** `f` while holding the measuring lock (waited for first; removed however `f` ends). */
async function measuring(f) {
  await waitFree();
  writeFileSync(LOCK, `creep-experiment ${process.pid}\n`);
  try {
    return await f();
  } finally {
    rmSync(LOCK, { force: true });
  }
}
process.on("SIGINT", () => (rmSync(LOCK, { force: true }), process.exit(130)));

async function setup(dir, tarball) {
  mkdirSync(dir, { recursive: true });
  sh(dir, "git", ["init", "-q", "-b", "main"]);
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "creep-service", private: true }, null, 2)}\n`);
  writeFileSync(join(dir, ".gitignore"), "node_modules/\nreports/\n.perfpack/\ngates/\n");
  writeFileSync(join(dir, "server.js"), SERVER(BASE_WORK));
  await waitFree();
  sh(dir, "npm", ["i", "-D", "--no-audit", "--no-fund", resolve(tarball)]);
  sh(dir, "npx", ["perfpack", "init", "--executor-cmd", "node server.js"]);
  const cfg = JSON.parse(readFileSync(join(dir, "perfpack.config.json"), "utf8"));
  writeFileSync(join(dir, "perfpack.config.json"), `${JSON.stringify({ ...cfg, scenarios: ["latency"] }, null, 2)}\n`);
  sh(dir, "git", ["add", "-A"]);
  sh(dir, "git", ["commit", "-qm", `order service: anchor (WORK = ${BASE_WORK}), perfpack config and workflow`]);
}

const setWork = (dir, work) => {
  const file = join(dir, "server.js");
  writeFileSync(file, readFileSync(file, "utf8").replace(/^const WORK = \d+;/m, `const WORK = ${work};`));
};

/** Median CPU µs per request over a quick run's trials at `work` iterations (the file restored after). */
async function cpuPerRequest(dir, work) {
  const out = join(dir, "reports", `calibrate-${work}`);
  setWork(dir, work);
  const args = ["perfpack", "run", "--quick", "--scenarios", "latency", "--skip-allocation", "--out", out];
  try {
    // exit 1 is the guide's targets failing (a team's service is not the Performance Pack): still a run
    const code = await measuring(async () => sh(dir, "npx", args, { ok: true }));
    if (code > 1) throw new Error(`the calibration run at WORK = ${work} failed (exit ${code}): see ${out}`);
  } finally {
    sh(dir, "git", ["checkout", "--", "server.js"]);
  }
  const trials = JSON.parse(readFileSync(join(out, "results.json"), "utf8")).trials;
  const v = trials.map((t) => t.metrics.executor_cpu_us_per_request).sort((a, b) => a - b);
  return { work, values: v, median: (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2 };
}

async function calibrate(dir) {
  const at = await cpuPerRequest(dir, BASE_WORK);
  await sleep(60_000);
  const zero = await cpuPerRequest(dir, 0);
  const usPerIteration = (at.median - zero.median) / BASE_WORK;
  const step = Math.round((SHARE * at.median) / usPerIteration);
  console.log(JSON.stringify({ at, zero, usPerIteration, share: SHARE, step }, null, 2));
  console.log(`step: ${step} iterations (${(100 * SHARE).toFixed(1)}% of ${at.median.toFixed(1)} µs/request)`);
}

async function gates(dir, step, n) {
  mkdirSync(join(dir, "gates"), { recursive: true });
  const base = Number(/^const WORK = (\d+);/m.exec(readFileSync(join(dir, "server.js"), "utf8"))[1]);
  for (let i = 1; i <= n; i++) {
    setWork(dir, base + step * i);
    sh(dir, "git", ["commit", "-qam", `order service: WORK = ${base + step * i} (+${step}, step ${i} of ${n})`]);
    const args = ["perfpack", "gate", "--baseline-ref", "HEAD^", "--history", HISTORY, "--out", `gates/c${i}`];
    const code = await measuring(async () => sh(dir, "npx", args, { ok: true }));
    console.log(`c${i} ${sh(dir, "git", ["rev-parse", "HEAD"], { capture: true })}: gate exit ${code}`);
    if (code >= 2) throw new Error(`the gate of c${i} did not run (exit ${code}): see gates/c${i}`);
    if (i < n) await sleep(60_000);
  }
}

/** Each gate metric's links, in the order the gates ran, as chain() takes them. */
function linksOf(records) {
  const by = new Map();
  for (const r of records.filter((x) => x.kind === "gate" && x.link)) {
    const k = `${r.variant} · ${r.scenario} · ${r.metric}`;
    by.set(k, [...(by.get(k) ?? []), r]);
  }
  return [...by].map(([metric, rs]) => ({
    metric,
    better: rs[0].better ?? "lower",
    records: rs,
    links: rs.map((r) => ({
      commit: r.commit,
      parent: r.gate.baselineCommit,
      estimate: { ratio: r.link.ratio, lo: r.link.lo, hi: r.link.hi, level: r.link.level, n: r.link.n },
      outcome: r.gate.outcome,
    })),
  }));
}

const f4 = (x) => x.toFixed(4);
const pct = (x) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}%`;

function printSeries(s, a) {
  console.log(`\n${s.metric} (better ${s.better}), anchor ${a.anchor?.slice(0, 7)}, line ${100 * LINE}%`);
  console.log("link commit  median | link ratio [lo, hi] level n call outcome | chained [lo, hi] 95% change call");
  a.points.forEach((p, i) => {
    const l = s.records[i].link;
    const link = `${f4(l.ratio)} [${f4(l.lo)}, ${f4(l.hi)}] ${(100 * l.level).toFixed(2)}% ${l.n} ${l.call ?? "-"} ${p.link.outcome}`;
    const cum = `${f4(p.cumulative.ratio)} [${f4(p.cumulative.lo)}, ${f4(p.cumulative.hi)}] ${pct(p.change)} ${p.call}`;
    console.log(`c${i + 1} ${p.commit.slice(0, 7)} ${s.records[i].median.toFixed(1)} | ${link} | ${cum}`);
  });
  const v = a.creep;
  if (v.status === "unknown") return console.log(`verdict: unknown (${v.reason})`);
  const first = (c) => (c ? c.slice(0, 7) : "never");
  console.log(
    `verdict: ${v.status}; first suspected ${first(v.firstSuspected)}, first creep ${first(v.firstCreep)}; links ${JSON.stringify(v.outcomes)}`,
  );
}

async function chained(dir, json) {
  const store = await openStore(existsSync(join(dir, HISTORY)) ? join(dir, HISTORY) : dir, process.cwd(), {
    mustExist: true,
  });
  const records = await store.records();
  await store.close();
  const out = linksOf(records).map((s) => ({ ...s, analysis: chain(s.links, { better: s.better, line: LINE }) }));
  if (json) return console.log(JSON.stringify(out, null, 2));
  for (const s of out) printSeries(s, s.analysis);
}

const [what, dir, ...rest] = process.argv.slice(2);
if (what === "setup" && dir && rest[0]) await setup(resolve(dir), rest[0]);
else if (what === "calibrate" && dir) await calibrate(resolve(dir));
else if (what === "gates" && dir && rest[0]) await gates(resolve(dir), Number(rest[0]), Number(rest[1] ?? 8));
else if (what === "chain" && dir) await chained(resolve(dir), rest.includes("--json"));
else {
  console.error(
    "usage: creep-experiment.mjs setup DIR TARBALL | calibrate DIR | gates DIR STEP [N] | chain DIR [--json]",
  );
  process.exitCode = 2;
}
