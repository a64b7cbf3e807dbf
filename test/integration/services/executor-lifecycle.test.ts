import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { launch, LaunchError, type Service } from "../../../harness/engine/launcher.js";
import { startExchangeService, startExecutorService } from "../../../harness/engine/stack.js";
import { projectRoot } from "../../../services/common/src/project.js";
import { ORDER, call, closeHttp, postJson, sample } from "../../helpers/http.js";

const started: Service[] = [];
const track = <T extends Service>(s: T) => (started.push(s), s);
after(async () => {
  for (const s of started.reverse()) await s.stop();
  await closeHttp();
});

describe("bad toggles stop start-up with exit code 2", () => {
  for (const [key, value, accepts] of [
    ["BATCH_MAX_SIZE", "abc", "integer"],
    ["JSON_STRINGIFIER", "turbo", "fast, native"],
    ["WS_DEFLATE_LEVEL", "12", "0 to 9"],
  ] as const) {
    test(`${key}=${value}`, async () => {
      await assert.rejects(startExecutorService("https://127.0.0.1:9", { [key]: value }), (e: unknown) => {
        assert.ok(e instanceof LaunchError);
        assert.equal(e.exit?.code, 2);
        assert.match(e.logTail, new RegExp(`${key}="${value}" is not valid`));
        assert.ok(e.logTail.includes(accepts), e.logTail);
        return true;
      });
    });
  }
});

describe("upstream faults", () => {
  for (const batch of ["false", "true"]) {
    test(`an exchange that only answers 5xx: retried, then 502 naming the upstream and the order's state (batching ${batch})`, async () => {
      const ex = track(await startExchangeService(["--latency-ms", "0", "--fault-5xx", "1"]));
      const exe = track(
        await startExecutorService(ex.url, {
          BATCH_ENABLED: batch,
          BATCH_FLUSH_MS: "5",
          UPSTREAM_RETRIES: "2",
          UPSTREAM_RETRY_BACKOFF_MS: "1",
        }),
      );
      const replies = await Promise.all(
        [1, 2, 3].map((i) =>
          postJson(`${exe.url}/api/private/order`, { ...ORDER, clientOrderId: `all5xx-${batch}-${i}` }),
        ),
      );
      for (const [i, r] of replies.entries()) {
        assert.equal(r.status, 502);
        assert.equal(r.json().error, "upstream_error");
        assert.equal(r.json().upstream, ex.url);
        assert.match(r.json().message, /503.*after 3 attempts.*may have been placed/);
        assert.equal(r.json().attempts, 3);
        assert.equal(r.json().clientOrderId, `all5xx-${batch}-${i + 1}`);
        // the last query failed too, so the executor cannot say the order is absent
        assert.equal(r.json().orderStatus, "unknown");
      }
      assert.equal((await call("GET", `${ex.url}/stats`)).json().orders, 0);
    });
  }

  test("a dead exchange becomes 502 'unreachable', and the executor stays up", async () => {
    const ex = await startExchangeService();
    const exe = track(await startExecutorService(ex.url, {}));
    await ex.stop();
    const r = await call("GET", `${exe.url}/api/private/open-orders`);
    assert.equal(r.status, 502);
    assert.match(r.json().message, /unreachable|ECONNREFUSED/);
    assert.equal((await call("GET", `${exe.url}/health`)).status, 200);
  });

  test("a stalled exchange becomes 504 after UPSTREAM_TIMEOUT_MS", async () => {
    const ex = track(await startExchangeService(["--latency-ms", "0", "--fault-stall", "1", "--stall-ms", "3000"]));
    const exe = track(await startExecutorService(ex.url, { UPSTREAM_TIMEOUT_MS: "200" }));
    const r = await call("GET", `${exe.url}/api/private/open-orders`);
    assert.equal(r.status, 504);
    assert.equal(r.json().error, "upstream_timeout");
    assert.equal(r.json().upstream, ex.url);
  });
});

describe("shutdown", () => {
  test("SIGTERM drains pending batches: every accepted order is flushed upstream and answered", async () => {
    const ex = track(await startExchangeService(["--latency-ms", "1"]));
    const exe = await startExecutorService(ex.url, {
      BATCH_ENABLED: "true",
      BATCH_MAX_SIZE: "100",
      BATCH_FLUSH_MS: "60000",
    });
    const replies = Array.from({ length: 7 }, (_, i) =>
      postJson(`${exe.url}/api/private/order`, { ...ORDER, clientOrderId: `drain-${i}` }),
    );
    // wait (by probing, not sleeping) until all 7 sit in the batcher's window
    while ((await call("GET", `${exe.url}/health`)).json().batchPending < 7) await new Promise((r) => setImmediate(r));
    const exit = exe.stop(10_000);
    const answered = await Promise.all(replies);
    assert.ok(
      answered.every((r) => r.status === 200),
      answered.map((r) => r.status).join(","),
    );
    assert.deepEqual((await exit).code, 0);
    const st = (await call("GET", `${ex.url}/stats`)).json();
    assert.equal(st.orders, 7);
    assert.match(exe.log(), /batches drained/);
  });
});

describe("profiling and the guide's bundle", () => {
  test("CPU_PROFILING=true writes a .cpuprofile on exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "perfpack-prof-"));
    try {
      const ex = track(await startExchangeService());
      const exe = await startExecutorService(ex.url, { CPU_PROFILING: "true", CPU_PROFILE_DIR: dir });
      await call("GET", `${exe.url}/api/private/open-orders`);
      assert.equal((await exe.stop()).code, 0);
      const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
      assert.equal(files.length, 1);
      const profile = JSON.parse(readFileSync(join(dir, files[0]!), "utf8"));
      assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 10);
      assert.match(exe.log(), /cpu profile: .*\.cpuprofile/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("services/executor/dist/bundle.cjs starts as the guide runs it", async () => {
    const ex = track(await startExchangeService());
    const exe = track(
      await launch({
        name: "bundle",
        command: process.execPath,
        args: [join(projectRoot(), "services/executor/dist/bundle.cjs"), "--port", "0"],
        env: { ...process.env, EXCHANGE_URL: ex.url, JSON_STRINGIFIER: "fast" },
      }),
    );
    const r = await call("GET", `${exe.url}/api/private/open-orders`);
    assert.equal(r.status, 200);
    assert.equal(r.json().count, 50);
    assert.equal(
      sample((await call("GET", `${exe.url}/api/public/metrics/prom`)).text, "spark_json_stringifier_cache_hits"),
      1,
    );
  });
});
