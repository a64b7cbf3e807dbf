import { listeningSockets, socketInodes } from "../../services/common/src/proc.js";
import { get } from "node:http";

/** The TCP ports `pid` listens on, per /proc (Linux): its sockets' inodes among the LISTEN rows. */
function listeningPorts(pid: number): number[] {
  const inodes = socketInodes(pid);
  return listeningSockets()
    .filter((s) => inodes.has(s.inode))
    .map((s) => s.port);
}

/** Routes that are not a scenario's load: readiness probes and metrics scrapes (perfpack's and this helper's). */
const NOT_LOAD = /route="(\/health|\/api\/public\/health|\/api\/public\/metrics\/prom)"/;

/** Requests the bundled executor on `port` has answered on its load's routes, from its own metrics; undefined when it does not answer. */
function loadServed(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    // no keep-alive: nothing of this helper outlives the call
    const req = get({ host: "127.0.0.1", port, path: "/api/public/metrics/prom", agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("error", () => resolve(undefined));
      res.on("end", () => {
        if (res.statusCode !== 200) return resolve(undefined);
        let n = 0;
        for (const line of text.split("\n")) {
          const m = /^spark_perf_http_duration_ms_count\{([^}]*)\} (\d+)/.exec(line);
          if (m && !NOT_LOAD.test(m[1]!)) n += Number(m[2]);
        }
        resolve(n);
      });
    });
    req.on("error", () => resolve(undefined));
  });
}

/**
 * Resolves once the bundled executor `pid` has answered `requests` requests on its load's routes
 * (readiness probes and metrics scrapes left out): perfpack found it ready and the trial's load is
 * under way. The event to wait for before killing it "mid-trial", instead of a fixed time after it
 * appeared (a busy machine may not have it ready by then). Fails once `owner` has exited, or after
 * `timeoutMs` (a bound, generous for a busy machine).
 */
export async function waitForLoad(
  pid: number,
  owner: { exitCode: number | null },
  requests = 10,
  timeoutMs = 120_000,
): Promise<void> {
  const t0 = Date.now();
  let last: number | undefined;
  for (;;) {
    for (const port of listeningPorts(pid)) {
      const n = await loadServed(port);
      if (n === undefined) continue;
      last = n;
      if (n >= requests) return;
    }
    if (owner.exitCode !== null)
      throw new Error(`gave up waiting for the load on executor ${pid}: perfpack exited (${owner.exitCode})`);
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `gave up waiting for the load on executor ${pid} after ${timeoutMs} ms: ${last === undefined ? "its metrics never answered" : `${last} of ${requests} requests answered`}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
