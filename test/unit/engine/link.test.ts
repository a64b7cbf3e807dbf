import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import { startLink } from "../../../harness/engine/link.js";
import { parseRtt } from "../../../harness/plan/variants.js";
import { seededRandom } from "../../../services/common/src/rng.js";

/** An echo server on loopback. */
async function echo(): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<Socket>();
  const server = createServer((s) => {
    socks.add(s);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => (socks.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

/** Sends `data` and resolves when as many bytes came back, with the milliseconds it took. */
function roundTrip(s: Socket, data: Buffer): Promise<{ ms: number; back: Buffer }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let n = 0;
    const on = (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= data.length) {
        s.off("data", on);
        resolve({ ms: performance.now() - t0, back: Buffer.concat(parts) });
      }
    };
    s.on("data", on);
    s.write(data);
  });
}

test("the link's physics: a new connection's first exchange pays the handshake's round trip and its own, a kept-alive one its own", async () => {
  const server = await echo();
  const rtt = 40;
  const link = await startLink({ host: "127.0.0.1", port: server.port, rttMs: rtt });
  try {
    const s = connect({ host: "127.0.0.1", port: link.port });
    await new Promise((r) => s.once("connect", r));
    const first = await roundTrip(s, Buffer.from("ping"));
    const second = await roundTrip(s, Buffer.from("pong"));
    assert.ok(first.ms >= 2 * rtt - 2, `first exchange ${first.ms.toFixed(1)} ms`);
    assert.ok(second.ms >= rtt - 2, `kept-alive exchange ${second.ms.toFixed(1)} ms`);
    assert.equal(second.back.toString(), "pong");
    assert.equal(link.connections(), 1);
    s.destroy();
  } finally {
    await link.close();
    await server.close();
  }
});

test("with jitter and a bandwidth, every byte arrives, in order", async () => {
  const server = await echo();
  const link = await startLink({
    host: "127.0.0.1",
    port: server.port,
    rttMs: 10,
    jitterMs: 8,
    bandwidthMbps: 200,
    random: seededRandom(3),
  });
  try {
    const s = connect({ host: "127.0.0.1", port: link.port });
    await new Promise((r) => s.once("connect", r));
    const data = randomBytes(1_000_000);
    const { back, ms } = await roundTrip(s, data);
    assert.ok(back.equals(data), "the echo differs from what was sent");
    // 1 MB each way at 200 Mbit/s is 40 ms of serialization per direction at least
    assert.ok(ms >= 40, `${ms.toFixed(1)} ms`);
    s.destroy();
  } finally {
    await link.close();
    await server.close();
  }
});

test("--upstream-rtt values: MS or MS:JITTER, 0 to 10,000 ms; anything else names what is accepted", () => {
  assert.deepEqual(parseRtt("50"), { rttMs: 50, jitterMs: 0 });
  assert.deepEqual(parseRtt("50:10"), { rttMs: 50, jitterMs: 10 });
  assert.deepEqual(parseRtt("0"), { rttMs: 0, jitterMs: 0 });
  for (const bad of ["-1", "abc", "20000", "10:20", "5ms", ""])
    assert.throws(
      () => parseRtt(bad),
      /--upstream-rtt .* is not valid: expected MS or MS:JITTER in milliseconds, 0 to 10000/,
      bad,
    );
});

test("connections share the link's bandwidth: two carrying 500 kB each at once take as long as one carrying 1 MB", async () => {
  const server = await echo();
  const link = await startLink({ host: "127.0.0.1", port: server.port, rttMs: 0, bandwidthMbps: 100 });
  try {
    const socks = await Promise.all(
      [0, 1].map(async () => {
        const s = connect({ host: "127.0.0.1", port: link.port });
        await new Promise((r) => s.once("connect", r));
        return s;
      }),
    );
    const t0 = performance.now();
    const backs = await Promise.all(socks.map((s) => roundTrip(s, randomBytes(500_000))));
    const ms = performance.now() - t0;
    // 1 MB through a 100 Mbit/s link is 80 ms (the echo overlaps the two directions); a bandwidth
    // per connection would let the two 500 kB through side by side in 40 ms
    assert.ok(ms >= 80, `${ms.toFixed(1)} ms for 2 × 500 kB there and back at 100 Mbit/s`);
    assert.ok(backs.every((b) => b.back.length === 500_000));
    for (const s of socks) s.destroy();
  } finally {
    await link.close();
    await server.close();
  }
});
