import WebSocket from "ws";

/** A market-stream subscriber: its socket, and the bytes it has read off the wire so far. */
export interface Subscriber {
  ws: WebSocket;
  bytesRead(): number;
}

/**
 * Opens one subscriber on a WebSocket URL (permessage-deflate offered, as a browser would);
 * resolves once it is open. The trial's abort signal terminates it.
 */
export function subscribe(url: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: true, handshakeTimeout: 5000, headers });
    const sock = () => (ws as unknown as { _socket?: { bytesRead: number } })._socket;
    signal.addEventListener("abort", () => ws.terminate(), { once: true });
    ws.once("open", () => {
      // after the handshake an error ends in "close"; without a listener it would throw
      ws.on("error", () => {});
      resolve({ ws, bytesRead: () => sock()?.bytesRead ?? 0 });
    });
    ws.once("error", (err) => reject(new Error(`WebSocket ${url}: ${err.message}`)));
  });
}

/** `n` subscribers of the executor's market relay at `executorUrl` (its /ws/market, or the run's `requests.ws`). */
export const subscribeMarket = (
  executorUrl: string,
  n: number,
  signal: AbortSignal,
  r: { path: string; headers: Record<string, string> } = { path: "/ws/market", headers: {} },
): Promise<Subscriber[]> => Promise.all(Array.from({ length: n }, () => subscribe(executorUrl.replace(/^http/, "ws") + r.path, signal, r.headers)));
