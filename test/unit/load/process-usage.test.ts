import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { forgetProcessUsage, processUsage } from "../../../harness/load/process-usage.js";

test("processUsage reads a live process's CPU time and RSS; a process that is gone has none", async () => {
  try {
    const own = (await processUsage([process.pid]))?.get(process.pid);
    assert.ok(own, "this process is alive");
    assert.ok(own.cpuMs > 0 && own.rssBytes > 0, JSON.stringify(own));

    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await once(child, "exit");
    assert.deepEqual([...((await processUsage([process.pid, child.pid!])) ?? new Map()).keys()], [process.pid]);
    assert.equal(await processUsage([child.pid!]), undefined, "pidusage fails a lone pid that is gone");
  } finally {
    forgetProcessUsage();
  }
});
