import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DuetProfileError, profileDuet } from "../../../harness/profile/duet.js";
import type { Variant } from "../../../harness/plan/variants.js";
import { defaultRequests } from "../../../harness/plan/requests.js";
import { liveRequests } from "../../../harness/load/request.js";
import { SCENARIOS } from "../../../scenarios/index.js";
import { descendants } from "../../helpers/procs.js";

const tmp = mkdtempSync(join(tmpdir(), "perfpack-duet-prof-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A team's Python service: ready on /health, and it notes every other path it is asked for. */
const PY = `import http.server, os, sys
seen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seen.txt")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/health":
            with open(seen, "a") as f: f.write(self.path + "\\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
s = http.server.HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), H)
print("listening http://%s:%d" % s.server_address, flush=True)
s.serve_forever()
`;

test("a service that is not Node is told so in one line before any load: cpuprof needs Node, py-spy or perf would profile it", async () => {
  writeFileSync(join(tmp, "svc.py"), PY);
  const system = { kind: "command" as const, cmd: "python3 svc.py", cwd: tmp, readyPath: "/health" };
  const arm = (name: string): Variant => ({ name, kind: "preset", env: {}, system });
  await assert.rejects(
    profileDuet({
      reference: arm("optimized@HEAD~1"),
      candidate: arm("optimized"),
      scenario: SCENARIOS.get("latency")!,
      out: tmp,
      capS: 20,
      connections: 8,
      wsClients: 0,
      rate: undefined,
      requests: liveRequests(defaultRequests(SCENARIOS.values()), {}).requests,
      readyTimeoutMs: 15_000,
      seed: 1,
      env: process.env,
      log: () => {},
    }),
    (err: unknown) =>
      err instanceof DuetProfileError &&
      /^cpuprof needs a Node service, and the service's listening process runs \S*python3[.\d]* \(\S*python3[.\d]* svc\.py\); py-spy \(py-spy record -- \S*python3[.\d]* svc\.py\) or Linux perf would profile this Python service$/.test(
        err.message,
      ),
  );
  // before any load: the service was never asked for the scenario's route
  assert.equal(existsSync(join(tmp, "seen.txt")) ? readFileSync(join(tmp, "seen.txt"), "utf8") : "", "");
  assert.ok(!existsSync(join(tmp, "flame", ".reference")), "the tool's folders are removed");
  assert.deepEqual(descendants(process.pid), []);
});
