import { subscribeMarket } from "../harness/load/ws.js";
import { runArtilleryTrial } from "../harness/load/artillery-run.js";
import { LatencyRecorder, latencyMetrics } from "../harness/load/latency.js";
import type { Scenario } from "./contract.js";
import { setTimeout as sleep } from "node:timers/promises";

/** Market messages per second the mock exchange sends to the executor in this scenario (--ws-rate). */
const WS_FEED_RATE = 500;

const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;
// the send stamp is the last field of every message: `"ts":<ms>}}`; reading it from the tail
// spares the generator a JSON.parse per message
const TS = /"ts":([\d.]+)\}\}$/;
// a coalesced frame (WS_COALESCE) holds several messages, one per line
const TS_EACH = /"ts":([\d.]+)\}\}(?=\n|$)/g;

/** N subscribers on the executor's market relay: delivery rate, latency from the send stamp, bytes on the wire. */
export const ws = {
  name: "ws",
  description: `--ws-clients subscribers of /ws/market, exchange feed at --ws-rate msg/s (default ${WS_FEED_RATE}), every subscriber getting every message`,
  charts: [
    { kind: "throughput", metric: "ws_msgs_per_s", label: "msgs/s" },
    {
      kind: "bars",
      title: "bytes per message, payload vs on the wire",
      series: [
        { label: "payload B/msg", metric: "ws_payload_bytes", per: "ws_messages" },
        { label: "wire B/msg", metric: "ws_wire_bytes_per_msg" },
      ],
    },
    {
      kind: "bars",
      title: "compression ratio (payload / wire)",
      series: [{ label: "ratio", metric: "ws_compression_ratio" }],
    },
    // beside the ratio, what it costs: compression is a bandwidth win paid in executor CPU
    {
      kind: "bars",
      title: "executor CPU per delivered message (µs), the price of the ratio",
      series: [{ label: "CPU µs/msg", metric: "executor_cpu_us_per_message" }],
    },
  ],
  request: { protocol: "ws", method: "GET", path: "/ws/market", headers: {} },
  uses: ["ws"],
  headline: [
    { metric: "ws_msgs_per_s", label: "msgs/s", better: "higher", gate: true },
    { metric: "ws_latency_p50_ms", label: "p50 ms", better: "lower" },
    { metric: "ws_latency_p95_ms", label: "p95 ms", better: "lower", gate: true },
    { metric: "ws_wire_bytes_per_msg", label: "wire B/msg", better: "lower" },
    { metric: "ws_compression_ratio", label: "ratio", better: "higher" },
    { metric: "executor_cpu_us_per_message", label: "CPU µs/msg", better: "lower", gate: true },
  ],
  capacity: {
    level: "subscribers",
    unit: "subscribers",
    defaultSlo: "p95<10ms,errors<1%",
    latency: "ws_latency",
    work: "message",
    achieved: "ws_msgs_per_s",
    offered: (n, { wsRate }) => n * (wsRate ?? WS_FEED_RATE),
  },
  exchangeArgs: ({ wsRate }) => ["--ws-rate", String(wsRate ?? WS_FEED_RATE)],
  estimateS: ({ durationS, warmupS }) => durationS + warmupS + 0.3,
  async run(ctx) {
    if (ctx.artillery) return runArtilleryTrial("ws", ctx, ctx.artillery);
    const subs = await subscribeMarket(ctx.target.executorUrl, ctx.wsClients, ctx.signal, ctx.requests.ws);
    try {
      const tally = new Tally(subs);
      await tally.firstMessage(ctx.signal);
      if (ctx.warmupS > 0) await sleep(ctx.warmupS * 1000, undefined, { signal: ctx.signal }).catch(() => {});
      ctx.signal.throwIfAborted();
      await ctx.measureStart();
      const bytes0 = subs.reduce((a, s) => a + s.bytesRead(), 0);
      const t0 = performance.now();
      tally.measuring = true;
      await sleep(ctx.durationS * 1000, undefined, { signal: ctx.signal }).catch(() => {});
      tally.measuring = false;
      ctx.signal.throwIfAborted();
      const windowS = (performance.now() - t0) / 1000;
      const wire = subs.reduce((a, s) => a + s.bytesRead(), 0) - bytes0;
      const { messages, payload } = tally;
      if (messages === 0)
        throw new Error(
          `no market message reached ${ctx.wsClients} subscribers in ${windowS.toFixed(1)} s (is the executor's upstream stream connected?)`,
        );
      const metrics: Record<string, number> = {
        ws_clients: subs.length,
        ws_compressed: subs.every((s) => s.ws.extensions.includes("permessage-deflate")) ? 1 : 0,
        ws_messages: messages,
        ws_msgs_per_s: messages / windowS,
        ws_payload_bytes: payload,
        ws_wire_bytes: wire,
        ws_wire_bytes_per_msg: wire / messages,
        ws_compression_ratio: wire > 0 ? payload / wire : 0,
        ws_bandwidth_saved_bytes: payload - wire,
        ws_bandwidth_saved_share: payload > 0 ? 1 - wire / payload : 0,
        ws_ping_ok: await pingShare(subs),
        ...latencyMetrics("ws_latency", tally.rec.summary()),
      };
      const slo = ctx.sloQuantile === undefined ? undefined : tally.rec.at(ctx.sloQuantile);
      if (slo !== undefined) metrics.ws_latency_slo_ms = slo;
      return { metrics, work: messages, workUnit: "message" };
    } finally {
      for (const s of subs) s.ws.terminate();
    }
  },
} satisfies Scenario;

type Subscriber = Awaited<ReturnType<typeof subscribeMarket>>[number];

/** What the subscribers receive: every message's latency from its send stamp, and the payload bytes, while measuring. */
class Tally {
  readonly rec = new LatencyRecorder();
  measuring = false;
  messages = 0;
  payload = 0;
  private first!: () => void;
  private readonly arrived = new Promise<void>((r) => (this.first = r));

  constructor(subs: readonly Subscriber[]) {
    for (const s of subs) s.ws.on("message", (data: Buffer) => this.receive(data));
  }

  /** The first message (or 5 s without one: the measured window then says none came, or the abort). */
  async firstMessage(signal: AbortSignal): Promise<void> {
    const noFeed = setTimeout(() => this.first(), 5000);
    signal.addEventListener("abort", () => this.first(), { once: true });
    await this.arrived;
    clearTimeout(noFeed);
  }

  private receive(data: Buffer): void {
    this.first();
    if (!this.measuring) return;
    this.payload += data.length;
    const now = monotonicMs();
    if (data.indexOf(10) === -1) {
      this.messages++;
      const m = TS.exec(data.toString("latin1", Math.max(0, data.length - 40)));
      if (m) this.rec.recordMs(now - Number(m[1]));
      return;
    }
    for (const m of data.toString("latin1").matchAll(TS_EACH)) {
      this.messages++;
      this.rec.recordMs(now - Number(m[1]));
    }
  }
}

/** ping/pong must keep working with compression on: the share of subscribers that hear back within 2 s. */
async function pingShare(subs: readonly Subscriber[]): Promise<number> {
  const pongs = await Promise.all(
    subs.map(
      (s) =>
        new Promise<number>((resolve) => {
          const t = setTimeout(() => resolve(0), 2000);
          s.ws.once("pong", () => (clearTimeout(t), resolve(1)));
          s.ws.ping();
        }),
    ),
  );
  return pongs.reduce((a, b) => a + b, 0) / subs.length;
}
