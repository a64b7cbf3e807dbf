// Runs a command and reports its wall time and its own peak RSS (VmHWM of that process, not of
// the services it starts), for the cost curves in docs/performance.md. A benchmark helper.
//   node scripts/bench/timed.mjs -- node dist/harness/cli.js run --soak 1m --out /tmp/soak1
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const argv = process.argv.slice(process.argv.indexOf("--") + 1);
const t0 = performance.now();
const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "inherit"] });
let peakKb = 0;
const poll = setInterval(() => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
    if (m) peakKb = Math.max(peakKb, Number(m[1]));
  } catch {
    // exited between polls
  }
}, 200);
process.on("SIGINT", () => child.kill("SIGINT"));
child.on("exit", (code) => {
  clearInterval(poll);
  console.log(JSON.stringify({ command: argv.join(" "), exit: code, wallS: Number(((performance.now() - t0) / 1000).toFixed(2)), peakRssMiB: Number((peakKb / 1024).toFixed(1)) }));
  process.exit(code ?? 1);
});
