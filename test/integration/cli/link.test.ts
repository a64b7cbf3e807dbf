import assert from "node:assert/strict";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import { perfpack, waitForOutput } from "../../helpers/cli.js";

test("perfpack link: a TCP proxy in front of a loopback server that delays a kept connection's round trip by the RTT; SIGTERM stops it (exit 0)", async () => {
  const socks = new Set<Socket>();
  const echo = createServer((s) => (socks.add(s), s.pipe(s)));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const rtt = 30;
  const run = perfpack([
    "link",
    "--to",
    `127.0.0.1:${(echo.address() as AddressInfo).port}`,
    "--rtt",
    String(rtt),
    "--bandwidth",
    "1000",
  ]);
  try {
    await waitForOutput(run, /listening tcp:\/\/127\.0\.0\.1:\d+/);
    const port = Number(/listening tcp:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())![1]);
    // its own line goes to stderr, a pipe of its own: it may arrive after stdout's "listening"
    await waitForOutput(run, /link: to 127\.0\.0\.1:\d+, RTT 30 ms, 1000 Mbit\/s each way/);
    const s = connect({ host: "127.0.0.1", port });
    await new Promise((r) => s.once("connect", r));
    const exchange = () =>
      new Promise<number>((resolve) => {
        const t0 = performance.now();
        s.once("data", () => resolve(performance.now() - t0));
        s.write("ping");
      });
    await exchange();
    // a lower bound the link guarantees: the echo's bytes cross it both ways
    const ms = await exchange();
    assert.ok(ms >= rtt - 2, `kept-alive round trip ${ms.toFixed(1)} ms through a ${rtt} ms link`);
    s.destroy();
    run.child.kill("SIGTERM");
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /link: stopped after 1 connection\(s\)/);
  } finally {
    run.child.kill("SIGKILL");
    for (const s of socks) s.destroy();
    echo.close();
  }
});

test("perfpack link: a bad flag exits 2 naming what it accepts; it forwards to loopback only", async () => {
  for (const [args, re] of [
    [
      ["--to", "10.1.2.3:443", "--rtt", "5"],
      /--to 10\.1\.2\.3:443: the link forwards to loopback only \(127\.0\.0\.1, ::1, localhost\)/,
    ],
    [["--to", "127.0.0.1"], /--to "127\.0\.0\.1" is not valid: expected HOST:PORT/],
    [
      ["--to", "127.0.0.1:9", "--rtt", "fast"],
      /--rtt "fast" is not valid: expected MS or MS:JITTER in milliseconds, 0 to 10000/,
    ],
    [
      ["--to", "127.0.0.1:9", "--bandwidth", "-1"],
      /--bandwidth "-1" is not valid: expected megabits per second each way/,
    ],
    [["--to", "127.0.0.1:9", "--port", "70000"], /--port "70000" is not valid: expected an integer from 0 to 65535/],
  ] as const) {
    const run = perfpack(["link", ...args]);
    assert.equal(await run.exit, 2, run.output());
    assert.match(run.output(), re);
  }
});
