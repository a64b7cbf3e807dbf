#!/usr/bin/env node
// The interruption table (issue 33): `perfpack run --quick` is interrupted at fixed moments, with
// one core kept busy by a bounded loop (BUSY=0 for a quiet machine). For each moment it records
// how long perfpack took to exit after the signal, its exit code, how many finished trials
// results.json kept, and which of its descendants (collected from /proc every 50 ms while it ran,
// with their start times, so a reused pid is not mistaken for one) were still alive: at once
// after exit for SIGINT, 2 s after for SIGKILL. Nothing of perfpack's outlives this script: any
// leftover is reported, then killed by its pid.
//
//   node scripts/interrupt.mjs                    # SIGINT at 12 moments, SIGKILL at 6
//   SIGNALS=SIGINT MOMENTS=2,8 node scripts/interrupt.mjs
//   ARGS="run --quick --scenarios ws" node scripts/interrupt.mjs
//   ARGS="gate --baseline-ref HEAD~1 --out {out}" CWD=. node scripts/interrupt.mjs
//   CLI=team/node_modules/perfpack/dist/harness/cli.js CWD=team ARGS="run --quick --out {out}" …
//
// Run from the project root after `npm run build`. Loopback only; every run is bounded.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const cli = resolve(process.env.CLI ?? "dist/harness/cli.js");
if (!existsSync(cli)) {
  console.error("interrupt: dist/harness/cli.js is missing: run `npm run build` first");
  process.exit(2);
}
const list = (v, d) => (v ?? d).split(",").filter(Boolean);
const moments = {
  SIGINT: list(process.env.MOMENTS, "2,4,6,8,10,12,14,16,18,20,22,25").map(Number),
  SIGKILL: list(process.env.KILL_MOMENTS, "3,7,11,15,19,24").map(Number),
};
const signals = list(process.env.SIGNALS, "SIGINT,SIGKILL");
const args = (process.env.ARGS ?? "run --quick").split(" ");
const busy = process.env.BUSY !== "0";

/** pid → {ppid, start} of every process, from /proc. */
function table() {
  const t = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      if (f[0] !== "Z") t.set(Number(d), { ppid: Number(f[1]), start: f[19] });
    } catch {
      // gone
    }
  }
  return t;
}

const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 80);
  } catch {
    return "?";
  }
};

/** Adds every live descendant of `root` to `seen` (pid → start time). */
function collect(root, seen) {
  const t = table();
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop();
    for (const [c, s] of t)
      if (s.ppid === p && !seen.has(c)) (seen.set(c, { start: s.start, cmd: cmdline(c) }), frontier.push(c));
  }
}

/** The ones in `seen` still alive as the same process (same start time). */
function leftovers(seen) {
  const t = table();
  return [...seen]
    .filter(([pid, s]) => t.get(pid)?.start === s.start)
    .map(([pid, s]) => `${pid} ${cmdline(pid) === "?" ? s.cmd : cmdline(pid)}`);
}

function finishedTrials(dir) {
  try {
    const runs = readdirSync(join(dir, "reports")).filter((d) => d !== "latest");
    const r = JSON.parse(readFileSync(join(dir, "reports", runs[0], "results.json"), "utf8"));
    return { trials: r.trials.length, interrupted: r.interrupted === true };
  } catch {
    return { trials: 0, interrupted: false };
  }
}

/** One interrupted run: perfpack started in a scratch folder, `sig` sent at `atS` seconds. */
async function once(sig, atS) {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-interrupt-"));
  // ARGS may name the run folder as {out} (a gate run in the checkout of CWD writes there)
  const argv = args.map((a) => a.replace("{out}", join(dir, "reports", "run")));
  const child = spawn(process.execPath, [cli, ...argv], {
    cwd: process.env.CWD ?? dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal, at: performance.now() })));
  const seen = new Map();
  const sampler = setInterval(() => collect(child.pid, seen), 50);
  const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), atS * 1000))]);
  if (done) {
    clearInterval(sampler);
    rmSync(dir, { recursive: true, force: true });
    return { sig, atS, note: `finished before the signal (exit ${done.code})` };
  }
  collect(child.pid, seen);
  const phase = (/\[[^\]]*\][^\n]*$/.exec(err.trim())?.[0] ?? "").slice(0, 50);
  const t0 = performance.now();
  child.kill(sig);
  const end = await exited;
  clearInterval(sampler);
  if (sig === "SIGKILL") await new Promise((r) => setTimeout(r, 2000));
  const left = leftovers(seen);
  for (const l of left) {
    try {
      process.kill(Number.parseInt(l), "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const kept = finishedTrials(dir);
  rmSync(dir, { recursive: true, force: true });
  return {
    sig,
    atS,
    exitS: ((end.at - t0) / 1000).toFixed(2),
    exit: end.code ?? end.signal,
    trials: kept.trials,
    interrupted: kept.interrupted,
    descendants: seen.size,
    left,
    phase,
  };
}

const loop = `const end = Date.now() + 30 * 60_000; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`;
const hog = busy ? spawn(process.execPath, ["-e", loop], { stdio: "ignore" }) : undefined;
process.on("exit", () => hog?.kill("SIGKILL"));
console.log(`perfpack ${args.join(" ")}, ${busy ? "one core kept busy" : "quiet machine"}`);
console.log("| signal | at (s) | exit after (s) | exit | trials kept | descendants seen | left after | phase |");
console.log("|---|---|---|---|---|---|---|---|");
let bad = 0;
for (const sig of signals)
  for (const at of moments[sig] ?? []) {
    const r = await once(sig, at);
    if (r.note) {
      console.log(`| ${sig} | ${at} | ${r.note} | | | | | |`);
      continue;
    }
    const slow = sig === "SIGINT" && Number(r.exitS) > 1;
    if (slow || r.left.length) bad++;
    console.log(
      `| ${sig} | ${at} | ${r.exitS}${slow ? " (slow)" : ""} | ${r.exit} | ${r.trials}${r.interrupted ? " (interrupted)" : ""} | ${r.descendants} | ${r.left.length ? r.left.join("; ") : "none"} | ${r.phase} |`,
    );
  }
hog?.kill("SIGKILL");
console.log(
  bad ? `${bad} interruption(s) were slow or left a process` : "every interruption: exit ≤ 1 s, nothing left",
);
process.exitCode = bad ? 1 : 0;
