#!/usr/bin/env node
/** perfpack's command line: parse → dispatch. The commands' work lives in their modules. */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { RUN_DEFAULTS } from "./plan/defaults.js";
import { EXIT } from "./errors.js";
import { exchangeDefaults as XD } from "../services/exchange/src/config.js";
import { PlanError } from "./plan/variants.js";

// Commands import their modules when they run: a service started through this CLI should not
// pay for loading the load generators, and the harness should not pay for the services.
const SCENARIO_NAMES = ["latency", "batch", "json", "ws"];

const VERSION = "0.1.0";
const collect = (v: string, prev: string[]) => [...prev, v];

const program = new Command("perfpack")
  .description("Benchmark and load-testing harness for the Performance Pack: did the change really make the service faster?")
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

/** The options of a run: `perfpack run`, and `perfpack gate` when it runs the current side itself. */
function withRunOptions(cmd: Command): Command {
  return cmd
    .option("--variants <names>", "comma-separated variants to run (presets: baseline, optimized; plus those --ablation/--matrix generate)")
    .option("--ablation", "baseline plus one toggle at a time")
    .option("--matrix <KEY=v1,v2>", "cross product of executor settings (repeatable)", collect, [])
    .option("--env <KEY=VALUE>", "added to every variant's executor environment (repeatable)", collect, [])
    .option("--scenarios <names>", `comma-separated scenarios (default: all: ${SCENARIO_NAMES.join(",")})`)
    .option("--rounds <n>", `rounds; variants are interleaved and rotated each round (default ${RUN_DEFAULTS.rounds})`)
    .option("--duration <s>", `measured seconds per trial (default ${RUN_DEFAULTS.durationS})`)
    .option("--warmup <s>", `unmeasured warm-up seconds before each measurement (default ${RUN_DEFAULTS.warmupS})`)
    .option("--connections <n>", `concurrent HTTP connections of the load generator (default ${RUN_DEFAULTS.connections})`)
    .option("--rate <r>", "latency scenario: open model at r requests/s, latency corrected for coordinated omission")
    .option("--ws-clients <n>", `WebSocket subscribers in the ws scenario (default ${RUN_DEFAULTS.wsClients})`)
    .option("--quick", "CI smoke preset: 2 rounds of 1 s trials (about a minute)")
    .option("--out <dir>", "run folder (default reports/<run-id>; reports/latest then points at it)")
    .option("--target <url>", "drive an executor that is already running (loopback only); launch nothing")
    .option("--allow-remote", "let --target point off loopback")
    .option("--soak <duration>", "soak: the optimized variant under steady open-model load (--rate, default 200 req/s of orders and open-orders, plus WS subscribers) for DURATION (10m, 1h …); reports RSS and GC share over time")
    .option("--ready-timeout <s>", `seconds a service may take to become ready before its trial fails with its log tail (default ${RUN_DEFAULTS.readyTimeoutMs / 1000})`)
    .option("--profile <tool>", "after the trials, a flamegraph per variant (0x, clinic-flame, clinic-doctor, cpuprof), linked from the report");
}

/** IO for a run: the process's streams, env and signals (only this module touches them). */
function runIO() {
  let interrupted = 0;
  return {
    out: { write: (t: string) => process.stdout.write(t), isTTY: process.stdout.isTTY === true },
    err: { write: (t: string) => process.stderr.write(t) },
    env: process.env,
    version: VERSION,
    onInterrupt: (handler: () => void) => {
      const on = () => {
        // a second Ctrl-C does not wait for the current trial's teardown
        if (++interrupted > 1) void import("./engine/launcher.js").then(({ stopAll }) => stopAll(500)).then(() => process.exit(EXIT.interrupted));
        else handler();
      };
      process.on("SIGINT", on);
      process.on("SIGTERM", on);
    },
  };
}

withRunOptions(
  program.command("run").description("the main job: launch the executor under each variant, drive the scenarios, write reports/<run-id>/{results.json,report.md,report.html}"),
).action(async (flags) => {
  const [{ runCommand }, { SCENARIOS }] = await Promise.all([import("./cli/run.js"), import("../scenarios/index.js")]);
  process.exitCode = await runCommand(flags, SCENARIOS, runIO());
});

program
  .command("report")
  .description("re-render every report format (report.md, report.html, summary.json) from a results file; nothing is re-run")
  .argument("<results.json>", "a results file written by perfpack run")
  .option("--out <dir>", "where to write (default: the results file's folder)")
  .action(async (file: string, o: { out?: string }) => {
    const [{ reportCommand }, { SCENARIOS }] = await Promise.all([import("./cli/report.js"), import("../scenarios/index.js")]);
    process.exitCode = reportCommand(file, o.out, SCENARIOS, process.stdout, process.env);
  });

program
  .command("compare")
  .description("two runs side by side: B against A for every variant and scenario in both, with 95% intervals")
  .argument("<a.json>", "run A (the reference)")
  .argument("<b.json>", "run B")
  .action(async (a: string, b: string) => {
    const [{ compareCommand }, { SCENARIOS }] = await Promise.all([import("./cli/report.js"), import("../scenarios/index.js")]);
    process.exitCode = compareCommand(a, b, SCENARIOS, process.stdout);
  });

withRunOptions(
  program
    .command("gate")
    .description("CI regression gate: the current run (--current, or one run now with the run options) against --baseline; exit 1 on a significant regression beyond --max-regression or a failed headline target")
    .requiredOption("--baseline <results.json>", "the baseline run")
    .option("--current <results.json>", "the current run (default: run one now, with the run options below)")
    .option("--max-regression <share>", "a significant change to the worse larger than this fails the gate (default 0.10 = 10%)", "0.10"),
).action(async (o: { baseline: string; current?: string; maxRegression: string } & Record<string, unknown>) => {
  const [{ gateCommand }, { SCENARIOS }, { readResultsFile }] = await Promise.all([import("./cli/report.js"), import("../scenarios/index.js"), import("./results/file.js")]);
  const max = Number(o.maxRegression);
  if (!(max >= 0 && max < 10)) throw new InvalidArgumentError(`--max-regression ${JSON.stringify(o.maxRegression)} is not valid: expected a share such as 0.10 for 10%`);
  if (o.soak !== undefined) throw new InvalidArgumentError("--soak is not for the gate: the gate tests throughput and p95 of the scenarios, and a soak has none it gates; run `perfpack run --soak` on its own");
  const base = readResultsFile(o.baseline, "baseline");
  let current;
  if (o.current) current = readResultsFile(o.current, "current run");
  else {
    const { runAndReport } = await import("./cli/run.js");
    const { baseline: _b, current: _c, maxRegression: _m, ...flags } = o;
    const r = await runAndReport(flags, SCENARIOS, runIO());
    if (r.code === EXIT.interrupted || r.code === EXIT.runFailure) {
      process.exitCode = r.code;
      return;
    }
    current = r.results;
  }
  process.exitCode = gateCommand(base, current, max, SCENARIOS, process.stdout);
});

program
  .command("profile")
  .description("run each variant's executor under a profiler while a scenario drives it; flamegraphs under <out>/flame/<variant>/ and a hot-path diff of self time")
  .option("--tool <tool>", "0x, clinic-flame, clinic-doctor or cpuprof", "cpuprof")
  .option("--variants <names>", "variants, comma-separated (the first two get the hot-path diff)", "baseline,optimized")
  .option("--scenario <name>", "the scenario that drives the executor", "latency")
  .option("--duration <s>", "seconds of load", "10")
  .option("--out <dir>", "output folder (default reports/profile-<id>)")
  .action(async (flags) => {
    const [{ profileCommand, ToolError }, { SCENARIOS }] = await Promise.all([import("./profile/profiler.js"), import("../scenarios/index.js")]);
    try {
      const r = await profileCommand(flags, SCENARIOS, { write: (t) => process.stdout.write(t), warn: (t) => process.stderr.write(t), env: process.env });
      if (r.code !== EXIT.ok) process.stderr.write(`perfpack profile: a profiler recorded too few samples (see the ⚠ lines above; ${r.dir}/profile.json has the counts)\n`);
      process.exitCode = r.code;
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
      process.stderr.write(`perfpack profile: ${err.message}\n--- the tool's output ---\n${err.output}\n`);
      process.exitCode = EXIT.runFailure;
    }
  });

program
  .command("guide")
  .description("the guide's operator checks (runtime/perf_*): latency, batch, json, profile-http; prints the guide's lines, measured")
  .argument("<check>", "latency | batch | json | profile-http")
  .action(async (check: string) => {
    const [{ guideCheck }, { SCENARIOS }] = await Promise.all([import("./cli/guide.js"), import("../scenarios/index.js")]);
    process.exitCode = await guideCheck(check, SCENARIOS, { out: (l) => process.stdout.write(l + "\n"), info: (l) => process.stderr.write(l + "\n"), env: process.env });
  });

const count = (v: string) => {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError("expected a whole number, 0 or more");
  return Number(v);
};

program
  .command("harden")
  .description("robustness checks: fuzz a fresh executor with malformed requests, then place orders through an exchange that fails on purpose; exit 1 if any check fails")
  .option("--fuzz <n>", "malformed requests to send (0 skips the fuzzer)", count, 10_000)
  .option("--orders <n>", "orders per fault drill, run with batching off and on (0 skips the drill)", count, 2000)
  .option("--seed <n>", "seed of the fuzz cases and of the exchange's faults", count, 1)
  .option("--json <file>", "also write the full report as JSON")
  .action(async (o: { fuzz: number; orders: number; seed: number; json?: string }) => {
    const { hardenCommand } = await import("./cli/harden.js");
    process.exitCode = await hardenCommand(o, (l) => process.stdout.write(l + "\n"));
  });

program
  .command("executor")
  .description(
    "start the reference executor alone (the system under test). Toggles come from the environment, as in the guide; see the README for every variable",
  )
  .option("--port <n>", "port to listen on (0 picks a free one); overrides PORT", undefined)
  .option("--host <addr>", "address to bind; overrides HOST")
  .action(async (o: { port?: string; host?: string }) => (await import("../services/executor/src/main.js")).executorMain(o));

const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.05");
  return v;
};

program
  .command("exchange")
  .description("start the mock exchange alone: Binance-like REST over HTTPS (TLS 1.3, loopback certificate) and a market-data WebSocket")
  .option("--port <n>", `port to listen on (0 picks a free one) (default: ${XD.port})`)
  .option("--host <addr>", `address to bind (default: ${XD.host})`)
  .option("--http", "serve plain HTTP instead of HTTPS")
  .option("--latency-ms <ms>", `latency added to every REST answer (default: ${XD.latencyMs})`)
  .option("--order-cost-ms <ms>", `extra latency per order: a batch of n costs latency + n × this (default: ${XD.orderCostMs})`)
  .option("--batch-cap <n>", `most orders one batchOrders call may carry (default: ${XD.batchCap})`)
  .addOption(new Option("--fault-5xx <share>", "share of order/openOrders requests answered 503").argParser(share))
  .addOption(new Option("--fault-reset <share>", "share of requests whose connection is reset after the order is placed").argParser(share))
  .addOption(new Option("--fault-stall <share>", "share of requests stalled for --stall-ms before they are served").argParser(share))
  .option("--stall-ms <ms>", `length of an injected stall (default: ${XD.stallMs})`)
  .option("--seed <n>", `seed of the fault draws and the generated data: same seed, same faults (default: ${XD.seed})`)
  .option("--ws-rate <n>", `market messages per second on each /ws/market connection (default: ${XD.wsRate})`)
  .option("--open-orders <n>", `open LIMIT orders seeded into the book (default: ${XD.openOrders})`)
  .option("--max-open-orders <n>", `most open orders the book keeps; the oldest go first (default: ${XD.maxOpenOrders})`)
  .action(async (o: Record<string, string | boolean | undefined>) =>
    (await import("../services/exchange/src/main.js")).exchangeMain({
      port: o.port,
      host: o.host,
      tls: o.http ? false : true,
      latencyMs: o.latencyMs,
      orderCostMs: o.orderCostMs,
      batchCap: o.batchCap,
      fault5xx: o.fault5xx,
      faultReset: o.faultReset,
      faultStall: o.faultStall,
      stallMs: o.stallMs,
      seed: o.seed,
      wsRate: o.wsRate,
      openOrders: o.openOrders,
      maxOpenOrders: o.maxOpenOrders,
    }),
  );

program
  .command("up")
  .description("start a mock exchange and a reference executor wired together (executor toggles from the environment); Ctrl-C stops both")
  .option("--executor-port <n>", "executor port (the guide's 4001; 0 picks a free one)", "4001")
  .option("--exchange-port <n>", "exchange port (0 picks a free one)", "4002")
  .argument("[exchange-flags...]", "flags passed to `perfpack exchange`, after --, e.g. -- --fault-5xx 0.1")
  .action(async (exchangeArgs: string[], o: { executorPort: string; exchangePort: string }) => {
    const port = (name: string, v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} accepts an integer from 0 to 65535, not ${JSON.stringify(v)}`);
      return n;
    };
    const opts = { executorPort: port("--executor-port", o.executorPort), exchangePort: port("--exchange-port", o.exchangePort), exchangeArgs };
    const { up } = await import("./cli/up.js");
    const stack = await up(opts, process.env, (l) => process.stdout.write(l + "\n"));
    let stopping = false;
    const stop = (signal: string) => {
      stopping = true;
      process.stderr.write(`perfpack up: ${signal}, stopping the executor (it drains) and the exchange\n`);
      stack.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
    const gone = await Promise.race([stack.executor.exited.then((e) => ["executor", e] as const), stack.exchange.exited.then((e) => ["exchange", e] as const)]);
    if (stopping) return;
    process.stderr.write(`perfpack up: the ${gone[0]} exited (code ${gone[1].code}, signal ${gone[1].signal}); stopping the other\n`);
    await stack.stop();
    process.exitCode = EXIT.runFailure;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const { LaunchError, stopAll } = await import("./engine/launcher.js");
  if (err instanceof InvalidArgumentError || err instanceof PlanError) {
    process.stderr.write(`perfpack: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors with the documented 2
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof LaunchError) {
    process.stderr.write(`perfpack: ${err.message}\n--- last lines of its log ---\n${err.logTail}\n`);
    process.exitCode = err.exit?.code === EXIT.usage ? EXIT.usage : EXIT.runFailure;
  } else {
    process.stderr.write(`perfpack: ${(err as Error).stack ?? err}\n`);
    process.exitCode = EXIT.runFailure;
  }
  await stopAll();
}
