#!/usr/bin/env node
// `npm run test:busy`: the suite as a noisy CI runner would see it. One core is kept busy by a
// bounded loop (a neighbour that takes a whole core) while `npm test` runs; the loop ends with the
// suite, or by itself after BUSY_MAX_MIN minutes (default 30), whichever comes first.
// A test that passes here but not under plain `npm test`, or the reverse, bets on a measurement.
import { spawn } from "node:child_process";

const maxMin = Number(process.env.BUSY_MAX_MIN ?? 30);
if (!(maxMin > 0 && maxMin <= 120)) {
  console.error(
    `test:busy: BUSY_MAX_MIN ${JSON.stringify(process.env.BUSY_MAX_MIN)} is not valid: expected minutes from 1 to 120`,
  );
  process.exit(2);
}
const loop = `const end = Date.now() + ${Math.round(maxMin * 60_000)}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`;
const busy = spawn(process.execPath, ["-e", loop], { stdio: "ignore" });
console.error(
  `test:busy: one core kept busy by pid ${busy.pid} (a bounded loop, at most ${maxMin} min) while npm test runs`,
);
const t0 = Date.now();
// a process group of its own: Ctrl-C reaches npm, node --test and every test's children, not npm alone
const suite = spawn("npm", ["test"], { stdio: "inherit", detached: true });
const stopBusy = () => {
  if (busy.exitCode === null && busy.signalCode === null) busy.kill("SIGKILL");
};
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    stopBusy();
    try {
      process.kill(-suite.pid, sig);
    } catch {
      // the group is gone already
    }
  });
suite.on("exit", (code, signal) => {
  stopBusy();
  console.error(
    `test:busy: npm test ended (${signal ?? `exit ${code}`}) after ${((Date.now() - t0) / 1000).toFixed(0)} s beside a busy core`,
  );
  process.exit(code ?? 1);
});
