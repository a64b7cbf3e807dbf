import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { perfpack } from "../../helpers/cli.js";
import { descendants } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-runtime-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A Python service, as a new user brings one: /health, and 200 to anything else. */
const SERVICE = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        if n: self.rfile.read(n)
        body = b"ok" if self.path == "/health" else b'{"ok":true}'
        if self.path != "/health":
            with open("requests.log", "a") as f: f.write(self.path + "\\n")
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    do_GET = do_POST = do_DELETE = answer
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), H)
print("listening http://127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
`;

const python = spawnSync("python3", ["--version"]).status === 0;

test("profile --tool cpuprof of a Python service: one line that names the runtime and what would profile it, exit 2, before any load", async (t) => {
  if (!python) {
    if (process.env.CI) assert.fail("python3 is not installed (Debian package python3): CI must have it");
    t.skip("python3 is not installed (Debian package python3)");
    return;
  }
  writeFileSync(join(tmp, "svc.py"), SERVICE);
  const out = join(tmp, "prof");
  const run = perfpack(
    ["profile", "--tool", "cpuprof", "--executor-cmd", "python3 svc.py", "--duration", "30", "--out", out],
    process.env,
    tmp,
  );
  assert.equal(await run.exit, 2, run.output());
  // refused before the load, not after it: the service saw no request but /health
  assert.equal(existsSync(join(tmp, "requests.log")), false, "the service was loaded");
  assert.match(
    run.output(),
    /--tool cpuprof needs a Node service, and the service's listening process runs \S*python3\S* \(\S*python3 svc\.py\); py-spy \(py-spy record -- \S*python3 svc\.py\) or Linux perf would profile this Python service; nothing was loaded/,
  );

  assert.doesNotMatch(run.output(), /produced no/);
  assert.deepEqual(descendants(run.child.pid!), [], "no process left");
  assert.equal(existsSync(join(out, "flame", "hot-path-diff.md")), false);
});
