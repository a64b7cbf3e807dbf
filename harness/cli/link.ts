import { isLoopbackHost } from "../../services/common/src/http-util.js";
import { linkMain } from "../api/link.js";
import { UsageError } from "../errors.js";
import { parseBandwidth, parseRtt } from "../plan/variants.js";
import type { IO } from "./io.js";

/** `perfpack link --to HOST:PORT --rtt MS[:JITTER] [--bandwidth MBPS] [--port N]`: flags checked, then the link until a signal. */
export async function linkCommand(
  o: { to?: string; rtt?: string; bandwidth?: string; port?: string },
  io: IO,
): Promise<void> {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(o.to ?? "");
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new UsageError(
      `--to ${JSON.stringify(o.to ?? "")} is not valid: expected HOST:PORT of the server behind the link, e.g. --to 127.0.0.1:4002`,
    );
  const host = m[1]!.replace(/^\[|\]$/g, "");
  if (!isLoopbackHost(host))
    throw new UsageError(`--to ${o.to}: the link forwards to loopback only (127.0.0.1, ::1, localhost)`);
  const listenPort = o.port === undefined ? 0 : Number(o.port);
  if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535)
    throw new UsageError(
      `--port ${JSON.stringify(o.port)} is not valid: expected an integer from 0 to 65535 (0 picks a free one)`,
    );
  const { rttMs, jitterMs } = parseRtt(o.rtt ?? "0", "--rtt");
  const bandwidthMbps = o.bandwidth === undefined ? undefined : parseBandwidth(o.bandwidth, "--bandwidth");
  await linkMain({ host, port, rttMs, jitterMs, listenPort, bandwidthMbps }, (l) => io.out.write(l + "\n"));
}
