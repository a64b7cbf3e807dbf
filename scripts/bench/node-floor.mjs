// The least a Node.js client can do per answer and still be a load generator that times it: the
// bench's floor for perfpack's generator (the part of its gap to wrk that is Node.js itself, not
// perfpack's code). Keep-alive connections reading through `onread` into one buffer, a fixed
// request written on each answer's last byte, one performance.now() per request and per answer.
// It frames only what the bench's target sends (a Content-Length answer, head in one read) and
// throws on anything else; it is not a client for other targets.
import net from "node:net";

const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

/** Closed model, `connections` connections for `durationS`; resolves with the answers counted. */
export function nodeFloorLoad({ url, connections, durationS }) {
  const u = new URL(url);
  const request = Buffer.from(`GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n\r\n`, "latin1");
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const sockets = [];
  let responses = 0;
  let latencyUs = 0;
  let over = false;
  return new Promise((resolve, reject) => {
    const connect = () => {
      let remaining = -1;
      let sentAt = 0;
      const s = net.connect({
        host: u.hostname,
        port: Number(u.port),
        noDelay: true,
        onread: {
          buffer,
          callback: (n, buf) => {
            let body = 0;
            if (remaining < 0) {
              const at = buf.indexOf(HEAD_END, 0);
              const m = at >= 0 && at + 4 <= n ? /\r\ncontent-length: *(\d+)/i.exec(buf.latin1Slice(0, at)) : null;
              if (!m) return (fail(new Error("the node floor frames only a Content-Length answer whose head comes in one read")), false);
              remaining = Number(m[1]);
              body = n - at - 4;
            } else body = n;
            remaining -= body;
            if (remaining > 0) return true;
            if (remaining < 0) return (fail(new Error("bytes past the end of an answer")), false);
            responses++;
            latencyUs += (performance.now() - sentAt) * 1000;
            remaining = -1;
            if (!over) {
              sentAt = performance.now();
              s.write(request);
            }
            return true;
          },
        },
      });
      s.on("connect", () => {
        sentAt = performance.now();
        s.write(request);
      });
      s.on("error", fail);
      sockets.push(s);
    };
    const fail = (err) => {
      over = true;
      for (const s of sockets) s.destroy();
      reject(err);
    };
    for (let c = 0; c < connections; c++) connect();
    setTimeout(() => {
      over = true;
      for (const s of sockets) s.destroy();
      resolve({ responses, meanLatencyMs: responses > 0 ? latencyUs / responses / 1000 : NaN });
    }, durationS * 1000);
  });
}
