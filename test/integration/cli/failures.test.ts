import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Results } from "../../../harness/results/schema.js";
import { perfpack } from "../../helpers/cli.js";

/**
 * Failed answers are never a result, and the requests fit the service: a team's services in a
 * directory of their own, measured through --executor-cmd. Each figure asserted is a count the
 * service decides (which answers fail), never a timing.
 */
const dir = mkdtempSync(join(tmpdir(), "perfpack-failures-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = "team-key-7f3a9c21";

/** A service that forgot the exchange's mandatory order id: every order is refused, and it passes the 400 on. */
writeFileSync(
  join(dir, "refusing.mjs"),
  `import http from "node:http";
http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.url === "/health") return res.end("ok");
    if (req.method === "POST" && req.url === "/api/private/order") {
      res.writeHead(400, { "content-type": "application/json" });
      return res.end(JSON.stringify({ code: -1102, msg: "Mandatory parameter 'newClientOrderId' was not sent or malformed." }));
    }
    res.writeHead(404); res.end();
  });
}).listen(Number(process.env.PORT), process.env.HOST, function () { console.log("listening http://" + process.env.HOST + ":" + this.address().port); });
`,
);

/**
 * A service on its own paths behind an API key: every 4th request is a 503 whose body echoes the
 * key it got (as a careless error page might), a repeated clientId is a 409, and it logs the key.
 */
writeFileSync(
  join(dir, "own.mjs"),
  `import http from "node:http";
let n = 0;
const ids = new Set();
http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const u = new URL(req.url, "http://x");
    if (u.pathname === "/healthz") return res.end("ok");
    const key = req.headers["x-api-key"];
    if (n === 0) console.log("first request with key " + key);
    if (key !== process.env.TEAM_KEY) { res.writeHead(401); return res.end(); }
    if (++n % 4 === 0) { res.writeHead(503, { "content-type": "application/json" }); return res.end(JSON.stringify({ busy: true, key })); }
    if (req.method === "GET" && u.pathname === "/v2/book" && u.searchParams.get("symbol") === "BTCUSDT") return res.end("[]");
    if (req.method === "PUT" && u.pathname === "/v2/orders") {
      const o = JSON.parse(body);
      if (ids.has(o.clientId)) { res.writeHead(409); return res.end("duplicate clientId"); }
      ids.add(o.clientId);
      return res.end(JSON.stringify({ accepted: o.clientId }));
    }
    res.writeHead(404); res.end();
  });
}).listen(Number(process.env.PORT), process.env.HOST, function () { console.log("listening http://" + process.env.HOST + ":" + this.address().port); });
`,
);

const filesUnder = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

describe("failed answers and the service's own requests", () => {
  test("a service that refuses every order fails its trials, naming 400 and the answer's body; the run exits 3", async () => {
    const out = join(dir, "refusing-run");
    const run = perfpack(
      [
        "run",
        "--executor-cmd",
        "node refusing.mjs",
        "--scenarios",
        "batch",
        "--variants",
        "optimized",
        "--quick",
        "--rounds",
        "1",
        "--out",
        out,
      ],
      process.env,
      dir,
    );
    assert.equal(await run.exit, 3, run.output());
    assert.match(
      run.output(),
      /✗ \[1\/1\] optimized · batch · round 1: failed: (\d+) of \1 requests failed \(100\.0%, over --max-errors 0\.01\): 400 ×\1; first failing answer: 400 \{"code":-1102,"msg":"Mandatory parameter 'newClientOrderId'/,
    );
    const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
    const t = r.trials[0]!;
    assert.equal(t.status, "failed");
    assert.ok(t.answers!.statuses["400"]! > 0 && t.answers!.ok === 0, JSON.stringify(t.answers));
    assert.equal(t.answers!.first?.status, 400);
    assert.equal(r.summary.verdict?.pass, false);
    assert.match(
      readFileSync(join(out, "report.md"), "utf8"),
      /## Failed trials\n\n- optimized · batch · round 1: \d+ of \d+ requests failed .*400 ×/,
    );
    assert.match(
      readFileSync(join(out, "report.html"), "utf8"),
      /<h2>Failed trials<\/h2><ul><li>optimized · batch · round 1: \d+ of \d+ requests failed/,
    );
  });

  test("own paths, methods and an API key from the environment; each order its own id; a 1-in-4 failure share within --max-errors shows beside the throughput; the key is written nowhere", async () => {
    const out = join(dir, "own-run");
    writeFileSync(
      join(dir, "perfpack.config.json"),
      JSON.stringify({
        executorCmd: "node own.mjs",
        readyPath: "/healthz",
        header: ["x-api-key: ${env:TEAM_KEY}"],
        requests: {
          latency: { path: "/v2/book?symbol=BTCUSDT" },
          batch: { method: "PUT", path: "/v2/orders", body: { clientId: "pp-{{seq}}-{{uuid}}", size: 1 } },
        },
      }),
    );
    try {
      const run = perfpack(
        [
          "run",
          "--scenarios",
          "latency,batch",
          "--variants",
          "optimized",
          "--quick",
          "--rounds",
          "1",
          "--max-errors",
          "0.5",
          "--out",
          out,
        ],
        { ...process.env, TEAM_KEY: KEY },
        dir,
      );
      assert.equal(await run.exit, 0, run.output());
      assert.match(run.output(), /optimized · batch · round 1 [\d.]+ s: orders\/s [\d,.]+, failed 2\d\.\d%/);
      const r = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
      for (const t of r.trials) {
        assert.equal(t.status, "ok");
        const a = t.answers!;
        // the service's rule: every 4th request it sees (the route check's one included) is a 503
        assert.ok(a.failureShare > 0.2 && a.failureShare < 0.3, `${t.scenario}: ${JSON.stringify(a)}`);
        assert.deepEqual(
          Object.keys(a.statuses),
          ["503"],
          "no 401 (the key was sent), no 409 (no clientId repeated), no 404 (the paths were the service's)",
        );
        assert.equal(a.first?.body, '{"busy":true,"key":"[redacted]"}');
        assert.ok(t.metrics.failure_share! > 0.2);
      }
      assert.equal(r.plan.requests?.batch?.headers["x-api-key"], "${env:TEAM_KEY}");
      assert.equal(r.plan.requests?.batch?.method, "PUT");
      assert.equal(r.plan.maxErrors, 0.5);
      const md = readFileSync(join(out, "report.md"), "utf8");
      assert.match(md, /\| variant \| req\/s \| failed \|/);
      assert.match(md, /\| optimized \| [\d,.]+ \| 2\d\.\d% \|/);
      const leaks = filesUnder(out).filter((f) => readFileSync(f, "utf8").includes(KEY));
      assert.deepEqual(leaks, [], "the key appears in none of the run's files");
      assert.ok(
        filesUnder(out).some(
          (f) => f.endsWith(".executor.log") && readFileSync(f, "utf8").includes("first request with key [redacted]"),
        ),
        "the service's log line is kept, the key scrubbed",
      );
    } finally {
      rmSync(join(dir, "perfpack.config.json"), { force: true });
    }
  });

  test("a requests entry for an unknown scenario is exit 2 naming the file and the key", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ requests: { orders: { path: "/v2/orders" } } }));
    const run = perfpack(["run", "--config", bad, "--quick"], process.env, dir);
    assert.equal(await run.exit, 2, run.output());
    assert.match(
      run.output(),
      /config file .*bad\.json: requests: unknown scenario "orders": requests can be given for latency, batch, json, ws/,
    );
  });
});
