import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, test } from "node:test";
import { waitIdle } from "../../../harness/engine/capacity.js";

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});
const node = (code: string) => {
  const c = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
  children.push(c);
  return c;
};
const never = new AbortController().signal;

test("waitIdle: a busy process is not idle when the wait's cap ends it; a sleeping one is idle at once", async () => {
  const busy = node("for (;;) {}");
  const sleeping = node("setTimeout(() => {}, 60_000)");
  // let both start (the busy one spins from its first tick)
  await new Promise((r) => setTimeout(r, 300));
  const b = await waitIdle([busy.pid!], never, { maxCores: 0.1, sampleMs: 250, timeoutMs: 600 });
  assert.equal(b.idle, false, `busy: ${b.cores} cores`);
  assert.ok(b.cores >= 0.1);
  const s = await waitIdle([sleeping.pid!], never, { maxCores: 0.1, sampleMs: 250, timeoutMs: 10_000 });
  assert.equal(s.idle, true, `sleeping: ${s.cores} cores`);
  // a process that is gone counts as idle (its CPU is no one's load)
  busy.kill("SIGKILL");
  await new Promise((r) => busy.once("exit", r));
  assert.equal((await waitIdle([busy.pid!], never, { maxCores: 0.1, sampleMs: 100, timeoutMs: 5_000 })).idle, true);
});
