import assert from "node:assert/strict";
import { test } from "node:test";
import { QUICK, RUN_DEFAULTS } from "../../../harness/plan/defaults.js";
import { resolveRunConfig, type RunFlags } from "../../../harness/plan/config.js";
import { flagOf, parseDuration, RUN_OPTIONS } from "../../../harness/plan/options.js";

import { UsageError } from "../../../harness/errors.js";
import { buildPlan } from "../../../harness/plan/order.js";
import { harnessEnv, harnessOf } from "../../../harness/plan/variants.js";

const NAMES = ["latency", "batch", "json", "ws"];
const resolve = (f: RunFlags) => resolveRunConfig(f, NAMES);
const refuses = (f: RunFlags, message: RegExp) =>
  assert.throws(
    () => resolve(f),
    (e: unknown) => e instanceof UsageError && message.test(e.message),
  );

test("defaults: baseline against optimized, every scenario, 3 rounds", () => {
  const c = resolve({});
  assert.deepEqual(
    c.variants.map((v) => v.name),
    ["baseline", "optimized"],
  );
  assert.deepEqual(c.scenarios, NAMES);
  assert.equal(c.rounds, RUN_DEFAULTS.rounds);
  assert.equal(c.durationS, RUN_DEFAULTS.durationS);
  assert.equal(c.updateLatest, true);
  assert.match(c.outDir, /reports\/\d{8}-\d{6}-[a-z0-9]+$/);
});

test("the run folder belongs to the user: reports/<run-id> and a relative --out resolve against their directory", () => {
  const at = resolveRunConfig({}, NAMES, { cwd: "/home/team/repo" });
  assert.match(at.outDir, /^\/home\/team\/repo\/reports\/\d{8}-\d{6}-[a-z0-9]+$/);
  assert.equal(
    resolveRunConfig({ out: "perf/run1" }, NAMES, { cwd: "/home/team/repo" }).outDir,
    "/home/team/repo/perf/run1",
  );
  assert.equal(resolveRunConfig({ out: "/tmp/abs" }, NAMES, { cwd: "/home/team/repo" }).outDir, "/tmp/abs");
});

test("--quick is the smoke preset; explicit flags still win", () => {
  const q = resolve({ quick: true });
  assert.equal(q.rounds, QUICK.rounds);
  assert.equal(q.durationS, QUICK.durationS);
  assert.equal(resolve({ quick: true, rounds: "5" }).rounds, 5);
});

test("unknown scenario, variant or matrix syntax is refused with the valid values", () => {
  refuses({ scenarios: "latency,foo" }, /unknown scenario "foo": valid scenarios are latency, batch, json, ws/);
  refuses({ variants: "baseline,turbo" }, /unknown variant "turbo": valid variants are baseline, optimized/);
  refuses({ matrix: ["BATCH_FLUSH_MS"] }, /expected KEY=v1,v2/);
  refuses({ rounds: "0" }, /--rounds "0" is not valid: expected an integer from 1/);
  refuses({ duration: "soon" }, /--duration/);
});

test("a bad value in --matrix or --env names the variant and the variable", () => {
  refuses({ matrix: ["BATCH_MAX_SIZE=abc,8"] }, /variant BATCH_MAX_SIZE=abc: BATCH_MAX_SIZE="abc" is not valid/);
  refuses(
    { env: ["JSON_STRINGIFIER=turbo"] },
    /JSON_STRINGIFIER="turbo" is not valid: JSON_STRINGIFIER accepts fast, native/,
  );
  refuses({ env: ["no-equals"] }, /expected KEY=VALUE/);
});

test("--env reaches every variant; an unknown key is passed on with a warning", () => {
  const c = resolve({ env: ["EXECUTOR_CPU_BURN_US=200", "NODE_OPTIONS=--max-old-space-size=512"] });
  assert.ok(
    c.variants.every((v) => v.env.EXECUTOR_CPU_BURN_US === "200" && v.env.NODE_OPTIONS === "--max-old-space-size=512"),
    "--env is in every variant's env",
  );
  // the env each variant is launched with, harness variables aside
  assert.deepEqual(
    c.variants.map((v) => harnessOf(v).executorEnv.EXECUTOR_CPU_BURN_US),
    ["200", "200"],
  );
  assert.equal(c.warnings.length, 1);
  assert.match(c.warnings[0]!, /NODE_OPTIONS/);
});

test("--variants picks among presets and generated variants", () => {
  const c = resolve({ ablation: true, variants: "baseline,baseline+HTTP_KEEPALIVE=true" });
  assert.deepEqual(
    c.variants.map((v) => v.name),
    ["baseline", "baseline+HTTP_KEEPALIVE=true"],
  );
  assert.equal(resolve({ ablation: true }).variants.length, 5);
  assert.deepEqual(
    resolve({ matrix: ["WS_DEFLATE_LEVEL=1,9"] }).variants.map((v) => v.name),
    ["WS_DEFLATE_LEVEL=1", "WS_DEFLATE_LEVEL=9"],
  );
});

test("--target: loopback only unless --allow-remote, and no toggles", () => {
  const c = resolve({ target: "http://127.0.0.1:4001/" });
  assert.equal(c.target, "http://127.0.0.1:4001");
  assert.deepEqual(
    c.variants.map((v) => v.name),
    ["target"],
  );
  assert.equal(resolve({ target: "http://[::1]:4001" }).target, "http://[::1]:4001");
  assert.equal(resolve({ target: "http://localhost:4001" }).target, "http://localhost:4001");
  refuses({ target: "http://10.0.0.5:4001" }, /not on loopback .* --allow-remote/);
  refuses({ target: "http://example.com" }, /not on loopback/);
  assert.equal(resolve({ target: "http://10.0.0.5:4001", allowRemote: true }).target, "http://10.0.0.5:4001");
  refuses({ target: "http://127.0.0.1:4001", variants: "optimized" }, /cannot apply/);
  refuses({ target: "not a url" }, /not a URL/);
});

test("--soak: the optimized variant alone, one trial of the soak scenario, for the given duration", () => {
  const names = ["latency", "batch", "json", "ws", "soak"];
  const c = resolveRunConfig({ soak: "10m", env: ["PERFPACK_NOTE=x"] }, names);
  assert.deepEqual(
    c.variants.map((v) => v.name),
    ["optimized"],
  );
  assert.equal(c.variants[0]!.env.PERFPACK_NOTE, "x");
  assert.deepEqual(c.scenarios, ["soak"]);
  assert.equal(c.rounds, 1);
  assert.equal(c.durationS, 600);
  // the plan: that one trial
  assert.deepEqual(
    buildPlan(c.variants, c.scenarios, c.rounds).trials.map((t) => [t.variant.name, t.scenario, t.round]),
    [["optimized", "soak", 1]],
  );
  // soak is not part of "all scenarios", nor reachable through --scenarios
  assert.deepEqual(resolveRunConfig({}, names).scenarios, ["latency", "batch", "json", "ws"]);
  assert.throws(() => resolveRunConfig({ scenarios: "soak" }, names), /--soak DURATION/);
  assert.throws(
    () => resolveRunConfig({ soak: "10m", ablation: true, rounds: "3" }, names),
    /cannot combine with --ablation, --rounds/,
  );
  for (const bad of ["10x", "", "-5s", "1s", "25h"])
    assert.throws(
      () => resolveRunConfig({ soak: bad }, names),
      /--soak .* is not valid: expected a duration from 2 s to 24 h, such as 90s, 10m or 1h/,
    );
});

test("durations: ms, s, m, h and plain seconds", () => {
  assert.equal(parseDuration("--soak", "90s", 2, 86_400), 90);
  assert.equal(parseDuration("--soak", "1.5m", 2, 86_400), 90);
  assert.equal(parseDuration("--soak", "1h", 2, 86_400), 3600);
  assert.equal(parseDuration("--soak", "2500ms", 2, 86_400), 2.5);
  assert.equal(parseDuration("--soak", "45", 2, 86_400), 45);
});

test("--ready-timeout is in seconds and bounded", () => {
  assert.equal(resolveRunConfig({}, ["latency"]).readyTimeoutMs, 15_000);
  assert.equal(resolveRunConfig({ readyTimeout: "2.5" }, ["latency"]).readyTimeoutMs, 2500);
  assert.throws(() => resolveRunConfig({ readyTimeout: "0" }, ["latency"]), /--ready-timeout "0" is not valid/);
});

test("--scenarios all is every scenario but soak, as when it is not given", () => {
  assert.deepEqual(resolve({ scenarios: "all" }).scenarios, resolve({}).scenarios);
});

test("--upstream-rtt, --upstream-bandwidth and --generator: one value is part of every variant, several multiply them; none reaches the executor", () => {
  const one = resolve({ upstreamRtt: "10", upstreamBandwidth: "100" });
  assert.deepEqual(
    one.variants.map((v) => [v.name, v.env.UPSTREAM_RTT_MS, v.env.UPSTREAM_BANDWIDTH_MBPS]),
    [
      ["baseline", "10", "100"],
      ["optimized", "10", "100"],
    ],
  );
  const axes = resolve({
    variants: "optimized",
    upstreamRtt: "0,50:5",
    upstreamBandwidth: "1,1000",
    generator: "perfpack,artillery",
    scenarios: "latency",
  });
  assert.equal(axes.variants.length, 8);
  assert.equal(
    axes.variants[7]!.name,
    "optimized+UPSTREAM_RTT_MS=50:5+UPSTREAM_BANDWIDTH_MBPS=1000+generator=artillery",
  );
  const split = harnessEnv(axes.variants[7]!.env);
  assert.deepEqual(split.link, { rttMs: 50, jitterMs: 5, bandwidthMbps: 1000 });
  assert.equal(split.generator, "artillery");
  assert.deepEqual(
    Object.keys(split.executorEnv).filter((k) => /UPSTREAM|GENERATOR/.test(k)),
    [],
  );
  // a bandwidth alone is a link at RTT 0
  assert.deepEqual(harnessEnv({ UPSTREAM_BANDWIDTH_MBPS: "2.5" }).link, { rttMs: 0, jitterMs: 0, bandwidthMbps: 2.5 });
  assert.equal(harnessEnv({ HTTP_KEEPALIVE: "true" }).link, undefined);
  assert.equal(resolve({ upstreamBandwidth: "5" }).warnings.length, 0);
});

test("a bad --upstream-bandwidth, or one with --target, is refused naming what is accepted", () => {
  for (const bad of ["0", "-5", "fast", "100001", "1e3"])
    refuses(
      { upstreamBandwidth: bad },
      /--upstream-bandwidth ".*" is not valid: expected megabits per second each way, more than 0 and at most 100000/,
    );
  refuses({ upstreamBandwidth: "," }, /--upstream-bandwidth is empty/);
  refuses({ upstreamBandwidth: "10,10" }, /--upstream-bandwidth names a value twice/);
  refuses({ matrix: ["UPSTREAM_BANDWIDTH_MBPS=10,slow"] }, /--upstream-bandwidth "slow" is not valid/);
  refuses(
    { upstreamBandwidth: "10", target: "http://127.0.0.1:9" },
    /--upstream-bandwidth puts a link between the executor and the exchange perfpack launches; --target launches neither/,
  );
});

test("--design: alternate by default, duet on request; --duet-exchange goes with duet, and names what it accepts", () => {
  assert.equal(resolve({}).design, "alternate");
  assert.equal(resolve({ design: "duet" }).duetExchange, "shared");
  assert.equal(resolve({ design: "duet", duetExchange: "each" }).duetExchange, "each");
  refuses({ design: "trio" }, /^--design "trio" is not valid: expected alternate or duet$/);
  refuses({ design: "duet", duetExchange: "some" }, /^--duet-exchange "some" is not valid: expected shared or each$/);
  refuses({ duetExchange: "each" }, /^--duet-exchange goes with --design duet/);
  refuses(
    { design: "duet", target: "http://127.0.0.1:4001" },
    /--design duet starts every arm's executor on one exchange; --target/,
  );
});

test("a number option's range is its entry in the table: its bounds pass, a step past either is refused naming the flag and the range", () => {
  const numbers = Object.entries(RUN_OPTIONS).filter(([, o]) => o.kind === "number" || o.kind === "integer");
  assert.ok(numbers.length >= 9);
  for (const [key, o] of numbers) {
    const at = (v: number) => ({ scenarios: "latency", [key]: String(v) }) as RunFlags;
    for (const ok of [o.min!, o.max!]) assert.doesNotThrow(() => resolve(at(ok)), `${key} ${ok}`);
    const expected = `expected ${o.kind === "integer" ? "an integer" : "a number"} from ${o.min} to ${o.max}`;
    for (const bad of [o.min! - 1, o.max! + 1, ...(o.kind === "integer" ? [o.min! + 0.5] : [])])
      refuses(at(bad), new RegExp(`^${flagOf(o)} "${bad}" is not valid: ${expected}$`));
  }
  refuses({ profile: "perf" }, /^--profile "perf" is not valid: tools are 0x, clinic-flame, clinic-doctor, cpuprof$/);
});

test("each value carries its source: a bad one from the config file names the file and the key, from a flag the flag", () => {
  const from = {
    rounds: "/repo/perfpack.config.json",
    soak: "/repo/perfpack.config.json",
    scenarios: "/repo/perfpack.config.json",
    requests: "/repo/perfpack.config.json",
  };
  const at = (f: RunFlags, message: RegExp) =>
    assert.throws(
      () => resolveRunConfig(f, [...NAMES, "soak"], { from }),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  at(
    { rounds: "0" },
    /^config file \/repo\/perfpack\.config\.json: "rounds": --rounds "0" is not valid: expected an integer from 1 to 1000$/,
  );
  at({ duration: "0" }, /^--duration "0" is not valid/);
  // a rule across options names the source of the option it is about
  at(
    { soak: "10m", duration: "5" },
    /^config file \/repo\/perfpack\.config\.json: "soak": --soak runs the optimized variant alone, for its own duration: it cannot combine with --duration$/,
  );
  // a message that does not start with the flag names the file alone, as it always did
  at(
    { scenarios: "latency,foo" },
    /^config file \/repo\/perfpack\.config\.json: unknown scenario "foo": valid scenarios are latency, batch, json, ws$/,
  );
  at({ requests: { orders: {} } }, /^config file \/repo\/perfpack\.config\.json: requests: unknown scenario "orders"/);
  at({ header: ["no colon"] }, /^--header "no colon" is not valid/);
});

test("a bad value that --env sets is --env's, one that --matrix sets is --matrix's", () => {
  const file = "/repo/perfpack.config.json";
  const at = (f: RunFlags, from: Record<string, string>, message: RegExp) =>
    assert.throws(
      () => resolveRunConfig(f, NAMES, { from }),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  at(
    { env: ["JSON_STRINGIFIER=turbo"], matrix: ["BATCH_FLUSH_MS=10,40"] },
    { env: file },
    /^config file .*: variant BATCH_FLUSH_MS=10: JSON_STRINGIFIER="turbo" is not valid/,
  );
  at(
    { env: ["JSON_STRINGIFIER=turbo"], matrix: ["BATCH_FLUSH_MS=10,40"] },
    { matrix: file },
    /^variant BATCH_FLUSH_MS=10: JSON_STRINGIFIER="turbo" is not valid/,
  );
  at(
    { env: ["BATCH_FLUSH_MS=20"], matrix: ["BATCH_MAX_SIZE=abc,8"] },
    { matrix: file },
    /^config file .*: variant BATCH_MAX_SIZE=abc: BATCH_MAX_SIZE="abc" is not valid/,
  );
  at(
    { env: ["BATCH_FLUSH_MS=20"], matrix: ["BATCH_MAX_SIZE=abc,8"] },
    { env: file },
    /^variant BATCH_MAX_SIZE=abc: BATCH_MAX_SIZE="abc" is not valid/,
  );
});
