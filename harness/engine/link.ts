import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A network link in user space (kernel netem is not available here): a TCP proxy on loopback
 * between a client (the executor) and a server (the exchange). Each direction's bytes arrive
 * half the round-trip time after they were sent, in order; with a bandwidth, each chunk also
 * waits for the link to carry it, and all connections share it, one direction each way (as they
 * share a real link: ten new connections do not get ten times the bandwidth). A new connection
 * pays one round trip before its first byte goes through, as TCP's handshake would; TLS and HTTP
 * then pay theirs on top, in the bytes.
 * So a request on a fresh TCP + TLS 1.3 connection costs at least 3 RTT, a kept-alive one 1 RTT.
 */
export interface LinkOptions {
  /** The server's address. */
  host: string;
  port: number;
  rttMs: number;
  /** Each chunk's one-way delay varies uniformly by ± jitterMs / 2 (order is kept). */
  jitterMs?: number;
  /** Megabits per second each way (default: unlimited). */
  bandwidthMbps?: number;
  /** Seeded jitter: the same seed, the same delays. */
  random?: () => number;
  /** The port to listen on, on 127.0.0.1 (default 0: a free one). */
  listenPort?: number;
}

export interface Link {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  /** Connections accepted so far. */
  connections: () => number;
  close(): Promise<void>;
}

/** One direction of the link, shared by every connection: when it is free to carry the next chunk. */
interface Lane {
  freeAt: number;
}

/**
 * One direction of one connection: a FIFO of chunks with their delivery times, drained by one
 * timer in order (a timer per chunk could fire out of order when two fall due in the same ms).
 */
class Pipe {
  private lastDue = 0;
  private readonly queue: Array<{ chunk: Buffer; due: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly o: LinkOptions,
    private readonly notBefore: number,
    private readonly lane: Lane,
  ) {
    from.on("data", (chunk: Buffer) => this.send(chunk));
    from.on("end", () => {
      this.ended = true;
      this.maybeEnd();
    });
    from.on("close", () => clearTimeout(this.timer));
  }

  private oneWay(): number {
    const jitter = this.o.jitterMs ? (this.o.random ?? Math.random)() * this.o.jitterMs - this.o.jitterMs / 2 : 0;
    return Math.max(0, this.o.rttMs / 2 + jitter);
  }

  private send(chunk: Buffer): void {
    const now = performance.now();
    // the link carries one chunk at a time at its bandwidth (serialization delay), then it flies for half an RTT
    // (without a bandwidth the lane stays free: freeAt 0)
    const carry = this.o.bandwidthMbps ? (chunk.length * 8) / (this.o.bandwidthMbps * 1000) : 0;
    const carried = Math.max(now, this.notBefore, this.lane.freeAt) + carry;
    if (carry > 0) this.lane.freeAt = carried;
    // in order: no chunk overtakes the one before it, whatever the jitter
    const due = Math.max(carried + this.oneWay(), this.lastDue);
    this.lastDue = due;
    this.queue.push({ chunk, due });
    if (this.queue.length > 64) this.from.pause();
    if (this.queue.length === 1) this.arm();
  }

  private arm(): void {
    const head = this.queue[0];
    if (head) this.timer = setTimeout(() => this.deliver(), Math.max(0, head.due - performance.now()));
  }

  private deliver(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now + 0.5) {
      const { chunk } = this.queue.shift()!;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.queue.length <= 16 && this.from.isPaused()) this.from.resume();
    this.arm();
    this.maybeEnd();
  }

  /** The sender's end (FIN) arrives after its last byte. */
  private maybeEnd(): void {
    if (this.ended && this.queue.length === 0 && !this.to.destroyed) this.to.end();
  }
}

export function startLink(o: LinkOptions): Promise<Link> {
  if (!(o.rttMs >= 0)) throw new RangeError(`rttMs ${o.rttMs}: expected 0 or more`);
  let accepted = 0;
  const sockets = new Set<Socket>();
  const [up, down]: Lane[] = [{ freeAt: 0 }, { freeAt: 0 }];
  // half-open on both sides: each direction ends on its own, after its last delayed byte (with
  // Node's default, a FIN from one side would end the other direction while bytes still fly)
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const handshakeDone = performance.now() + o.rttMs;
    const upstream = connect({ host: o.host, port: o.port, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("close", () => sockets.delete(s));
      // one side failing takes the other down, as a broken link would
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    new Pipe(client, upstream, o, handshakeDone, up);
    new Pipe(upstream, client, o, handshakeDone, down);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.listenPort ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as { port: number }).port,
        connections: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * `perfpack link`: the link as a process of its own, so that its CPU is neither the load
 * generator's nor the executor's (the runner measures it apart). Prints `listening tcp://…` once
 * it accepts connections; SIGTERM or SIGINT closes it (exit 0).
 */
export async function linkMain(o: LinkOptions, out: (line: string) => void): Promise<void> {
  const link = await startLink(o);
  out(`listening tcp://127.0.0.1:${link.port}`);
  out(
    `link: to ${o.host}:${o.port}, RTT ${o.rttMs} ms${o.jitterMs ? `, jitter ${o.jitterMs} ms` : ""}${o.bandwidthMbps ? `, ${o.bandwidthMbps} Mbit/s each way` : ""}`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => void link.close().then(resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  out(`link: stopped after ${link.connections()} connection(s)`);
}
