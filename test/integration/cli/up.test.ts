import assert from "node:assert/strict";
import { test } from "node:test";
import { request } from "undici";
import { perfpack, waitForOutput, type CliRun } from "../../helpers/cli.js";
import { alive } from "../../helpers/procs.js";

/** perfpack up on free ports, once it says how to stop it: its services' URLs and pids. */
async function started(exchangeFlags: string[] = []): Promise<{
  run: CliRun;
  executor: { url: string; pid: number };
  exchange: { url: string; pid: number };
}> {
  const run = perfpack(["up", "--executor-port", "0", "--exchange-port", "0", ...exchangeFlags]);
  await waitForOutput(run, /^Ctrl-C stops both\.$/m);
  const ex = /^executor {2}(http:\/\/127\.0\.0\.1:\d+) {3}\(pid (\d+)\)$/m.exec(run.output());
  const xc = /^exchange {2}(https?:\/\/127\.0\.0\.1:\d+) {3}\(pid (\d+); stats: curl -sk \1\/stats\)$/m.exec(
    run.output(),
  );
  assert.ok(ex && xc, run.output());
  return { run, executor: { url: ex[1]!, pid: Number(ex[2]) }, exchange: { url: xc[1]!, pid: Number(xc[2]) } };
}

for (const flags of [[], ["--", "--http"]])
  test(`perfpack up${flags.map((f) => " " + f).join("")}: an exchange and an executor wired together, their URLs and a curl to try; SIGINT stops both (exit 0)`, async () => {
    const { run, executor, exchange } = await started(flags);
    try {
      // the executor's upstream follows the exchange's scheme: an order reaches it
      assert.equal(exchange.url.startsWith("http:"), flags.includes("--http"));
      assert.match(run.output(), new RegExp(`^  curl -s ${executor.url}/api/private/open-orders$`, "m"));
      const r = await request(`${executor.url}/api/private/order`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" }),
      });
      assert.equal(r.statusCode, 200, await r.body.text());
      run.child.kill("SIGINT");
      assert.equal(await run.exit, 0, run.output());
      assert.match(run.output(), /^perfpack up: SIGINT, stopping the executor \(it drains\) and the exchange$/m);
      assert.equal(alive(executor.pid) || alive(exchange.pid), false);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

test("perfpack up: a service that dies stops the other, and up exits 3 saying which; a bad port is a usage error (exit 2)", async () => {
  const { run, exchange, executor } = await started();
  try {
    process.kill(exchange.pid, "SIGKILL");
    assert.equal(await run.exit, 3, run.output());
    assert.match(run.output(), /^perfpack up: the exchange exited \(code null, signal SIGKILL\); stopping the other$/m);
    assert.equal(alive(executor.pid), false);
  } finally {
    run.child.kill("SIGKILL");
  }
  const bad = perfpack(["up", "--executor-port", "70000"]);
  assert.equal(await bad.exit, 2);
  assert.match(bad.output(), /--executor-port accepts an integer from 0 to 65535, not "70000"/);
});
