import { setMaxListeners } from "node:events";
import { connectWs, type WsClient } from "./wsClient.js";

/** A market-stream subscriber: its socket, and the bytes it has read off the wire so far. */
export interface Subscriber {
  ws: WsClient;
  bytesRead(): number;
}

/**
 * Opens one subscriber on a WebSocket URL (permessage-deflate offered, as a browser would);
 * resolves once it is open. The trial's abort signal terminates it.
 */
export async function subscribe(
  url: string,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<Subscriber> {
  const ws = await connectWs(url, headers, signal);
  return { ws, bytesRead: () => ws.bytesRead };
}

/**
 * How many handshakes are in flight at once. A thousand at the same instant overflow a
 * server's accept backlog (Node's default is 511): the kernel drops the extra SYNs and the
 * client retries after 1 s, 3 s, 7 s, past any handshake timeout. Real subscriber
 * populations do not arrive in one millisecond either.
 */
const CONNECT_CONCURRENCY = 64;

/** `n` subscribers of the executor's market relay at `executorUrl` (its /ws/market, or the run's `requests.ws`). */
export async function subscribeMarket(
  executorUrl: string,
  n: number,
  signal: AbortSignal,
  r: { path: string; headers: Record<string, string> } = { path: "/ws/market", headers: {} },
): Promise<Subscriber[]> {
  const url = executorUrl.replace(/^http/, "ws") + r.path;
  // one listener on the caller's signal; the subscribers listen on a signal of our own
  const own = new AbortController();
  setMaxListeners(0, own.signal);
  if (signal.aborted) own.abort();
  else signal.addEventListener("abort", () => own.abort(), { once: true });
  signal = own.signal;
  const subs: Subscriber[] = [];
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (next < n && !failure && !signal.aborted) {
      next++;
      try {
        subs.push(await subscribe(url, signal, r.headers));
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, CONNECT_CONCURRENCY) }, worker));
  if (failure) {
    for (const s of subs) s.ws.terminate();
    // measured on a 2-core box: at 500 msg/s the executor stops answering handshakes from ~350
    // uncompressed (~870 coalesced) subscribers, and a 60 s wait opens none more
    const limit =
      subs.length > 0 && /timed out/.test(failure.message)
        ? `: with ${subs.length} subscribers being fed, the service answered no handshake for 5 s; every subscriber gets every market message, so this many are more deliveries a second than the machine can make (the service and the generator share it). Fewer --ws-clients, or WS_COALESCE=true (one frame per tick), go further`
        : "";
    throw new Error(`${failure.message} (after ${subs.length} of ${n} subscribers opened${limit})`);
  }
  return subs;
}
