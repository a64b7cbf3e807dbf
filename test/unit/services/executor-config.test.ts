import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, ENV_SPECS, loadExecutorConfig } from "../../../services/executor/src/config.js";

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadExecutorConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

test("defaults follow the guide's code where it gives one", () => {
  const c = loadExecutorConfig({});
  assert.equal(c.port, 4001);
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.keepAlive.enabled, false);
  assert.equal(c.keepAlive.maxSockets, 256);
  assert.equal(c.keepAlive.timeoutMs, 60000);
  assert.equal(c.batch.enabled, false);
  assert.equal(c.batch.maxSize, 8);
  assert.equal(c.batch.flushMs, 40);
  assert.equal(c.batch.mode, "fixed");
  assert.equal(c.json.stringifier, "fast");
  assert.equal(c.ws.compress, false);
  assert.equal(c.ws.deflateLevel, 3);
  assert.equal(c.ws.fanout, "shared");
  assert.equal(c.ws.coalesce, false);
  assert.equal(c.cpuProfiling.enabled, false);
  assert.equal(c.cpuBurnUs, 0);
  assert.equal(c.apiKey, undefined);
  assert.match(c.exchangeCaFile, /fixtures\/tls\/ca\.pem$/);
});

test("the guide's recommended values parse", () => {
  const c = loadExecutorConfig({
    HTTP_KEEPALIVE: "true",
    HTTP_KEEPALIVE_MAX_SOCKETS: "128",
    HTTP_KEEPALIVE_TIMEOUT_MS: "120000",
    BATCH_ENABLED: "1",
    BATCH_MAX_SIZE: "4",
    BATCH_FLUSH_MS: "20",
    BATCH_MODE: "adaptive",
    JSON_STRINGIFIER: "native",
    WS_COMPRESS: "TRUE",
    WS_DEFLATE_LEVEL: "1",
    CPU_PROFILING: "false",
  });
  assert.deepEqual(c.keepAlive, { enabled: true, maxSockets: 128, timeoutMs: 120000 });
  assert.deepEqual(c.batch, { enabled: true, maxSize: 4, flushMs: 20, mode: "adaptive", adaptiveMaxInFlight: 4 });
  assert.equal(c.json.stringifier, "native");
  assert.equal(c.ws.compress, true);
  assert.equal(c.ws.deflateLevel, 1);
});

for (const [key, value, accepts] of [
  ["BATCH_MAX_SIZE", "abc", "an integer from 1 to 1000"],
  ["BATCH_MAX_SIZE", "0", "an integer from 1 to 1000"],
  ["BATCH_MAX_SIZE", "2.5", "an integer from 1 to 1000"],
  ["JSON_STRINGIFIER", "turbo", "fast, native"],
  ["WS_DEFLATE_LEVEL", "12", "an integer from 0 to 9"],
  ["WS_FANOUT", "broadcast", "shared, shared-stateless, per-client-sync, per-client"],
  ["WS_COALESCE", "often", "true, false"],
  ["HTTP_KEEPALIVE", "yes please", "true, false"],
  ["BATCH_MODE", "sometimes", "fixed, adaptive"],
  ["EXCHANGE_URL", "ftp://example", "http:// or https://"],
  ["EXCHANGE_CA_FILE", "/no/such/file.pem", "a readable PEM file"],
  ["PORT", "70000", "an integer from 0 to 65535"],
] as const) {
  test(`${key}=${value} is refused with the variable's name and what it accepts`, () => {
    const problems = problemsOf({ [key]: value });
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.startsWith(`${key}=`), problems[0]);
    assert.ok(problems[0]!.includes(accepts), problems[0]);
  });
}

test("every bad variable is reported at once", () => {
  const problems = problemsOf({ BATCH_MAX_SIZE: "abc", JSON_STRINGIFIER: "turbo", WS_DEFLATE_LEVEL: "12" });
  assert.deepEqual(
    problems.map((p) => p.split("=")[0]),
    ["BATCH_MAX_SIZE", "JSON_STRINGIFIER", "WS_DEFLATE_LEVEL"],
  );
});

test("every spec's default is itself valid", () => {
  for (const spec of Object.values(ENV_SPECS)) {
    if (spec.default === "" || spec.name === "EXCHANGE_CA_FILE" || spec.name === "CPU_PROFILE_DIR") continue;
    assert.notEqual((spec.parse as (r: string) => unknown)(spec.default), undefined, spec.name);
  }
});
