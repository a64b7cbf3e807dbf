#!/usr/bin/env node
/** perfpack's command line: wiring only. parse → config → plan → runner → verdict → exporters live in the commands. */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { Chalk } from "chalk";
import { EXIT, exitCodeOf, PerfpackError, UsageError } from "./errors.js";
import { colourLevel, type IO } from "./cli/io.js";
import {
  CAPACITY_OPTIONS,
  CAPACITY_RUN_OPTIONS,
  GATE_OPTIONS,
  helpText,
  RUN_ONLY_OPTIONS,
  RUN_OPTIONS,
  type OptionSpec,
} from "./plan/options.js";
import { RUN_DEFAULTS } from "./plan/defaults.js";
import { exchangeDefaults as XD } from "../services/exchange/src/config.js";
import { packageVersion } from "../services/common/src/project.js";

// Commands import their modules when they run: a service started through this CLI should not
// pay for loading the load generators, and the harness should not pay for the services.

const VERSION = packageVersion();
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** How many times perfpack got SIGINT/SIGTERM through `onInterrupt`. */
let interrupted = 0;
/** true once a service command (executor, exchange, link) is listening: it lives on after its action returns. */
let serving = false;

/**
 * The first Ctrl-C (or SIGTERM): every job that registered hears it, and every process perfpack
 * started gets SIGTERM at once (SIGKILL after the interrupt grace). A second one kills them all and exits.
 */
function onSignal(handlers: ReadonlyArray<() => void>): void {
  const children = import("./api/children.js");
  if (++interrupted > 1) {
    void children.then(({ killAll }) => {
      killAll();
      process.exit(EXIT.interrupted);
    });
    return;
  }
  for (const h of handlers) h();
  void children.then(({ stopAll }) => stopAll(RUN_DEFAULTS.interruptGraceMs));
}

/** The process, gathered once (k6's GlobalState): the only place perfpack reads env, streams and signals. */
function processIO(): IO {
  const handlers: Array<() => void> = [];
  const tty = process.stderr.isTTY === true || process.stdout.isTTY === true;
  // a reader that stops early (`perfpack history list | head`) closes the pipe: the rest is not wanted, and no stack trace is
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  return {
    env: process.env,
    cwd: process.cwd(),
    out: { write: (t: string) => void process.stdout.write(t), isTTY: process.stdout.isTTY === true },
    err: { write: (t: string) => void process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    paint: new Chalk({ level: colourLevel(process.env, tty) }),
    version: VERSION,
    onInterrupt: (handler: () => void) => {
      // one listener for every handler (the gate registers its build's and its run's), so that the
      // first Ctrl-C reaches them all and only a second one skips the teardown
      if (handlers.push(handler) > 1) return;
      process.on("SIGINT", () => onSignal(handlers));
      process.on("SIGTERM", () => onSignal(handlers));
    },
  };
}
const io = processIO();

const program = new Command("perfpack")
  .description(
    "Benchmark and load-testing harness for the Performance Pack: did the change really make the service faster?",
  )
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)")
  // a subcommand's own options (history list --history …) are its own, not its parent's
  .enablePositionalOptions()
  .configureOutput({ writeOut: (t) => io.out.write(t), writeErr: (t) => io.err.write(t) })
  .exitOverride();

/** Options from a table (plan/options.ts): its flags, help and repeatable ones. */
function withOptions(cmd: Command, table: Readonly<Partial<Record<string, OptionSpec>>>): Command {
  for (const o of Object.values(table)) {
    if (!o || o.fileOnly) continue;
    const opt = new Option(o.flag, helpText(o));
    if (o.kind === "repeatable") opt.argParser(collect);
    cmd.addOption(opt);
  }
  return cmd;
}

/** The run options: `perfpack run`, `export artillery`, and `perfpack gate` when it runs the current side. */
const withRunOptions = (cmd: Command): Command => withOptions(cmd, RUN_OPTIONS);

withOptions(
  withRunOptions(
    program
      .command("run")
      .description(
        "the main job: launch the executor under each variant, drive the scenarios, write reports/<run-id>/{results.json,report.md,report.html}; --resume continues an interrupted one",
      ),
  ),
  RUN_ONLY_OPTIONS,
).action(async (flags) => {
  const [{ runCommand }, { SCENARIOS }] = await Promise.all([import("./cli/run.js"), import("../scenarios/index.js")]);
  process.exitCode = await runCommand(flags, SCENARIOS, io);
});

const STORE_FLAG = "--history <store>";
const STORE_HELP =
  "the store: a file or a postgres:// URL (default: the config file's history, else .perfpack/history.db)";
const CONFIG_HELP = "the config file whose history applies (default: perfpack.config.json in the working directory)";

/** The filters every reading of the history takes. */
const withSeriesFilters = (cmd: Command): Command =>
  cmd
    .option(STORE_FLAG, STORE_HELP)
    .option(RUN_OPTIONS.config.flag, CONFIG_HELP)
    .option("--testbed <id>", "only this machine's runs (its id, as `history list` shows)")
    .option("--branch <name>", "only this branch's runs")
    .option("--variant <name>", "only this variant")
    .option("--scenario <name>", "only this scenario")
    .option("--metric <name>", "only this metric (its results.json name, e.g. rps, latency_p95_ms)")
    .option("--json", "print one JSON document instead of the text");

const history = withSeriesFilters(
  program
    .command("history")
    .description(
      "the run history: every series (metric × variant × scenario, per branch and machine) along its commits, its change points (E-divisive means) and, where commits were gated against their parents, the chained trend and its creep; writes history.md and history.html; exit 1 when a regression stands. `run --history STORE` and `gate --history STORE` append as they finish",
    ),
)
  .enablePositionalOptions()
  .option(
    "--since <rev>",
    "the creep's anchor: a tag or commit (default: the newest tag on the stored commits, else --last 50)",
  )
  .option("--last <n>", "the creep's anchor: the last N gate links")
  .option("--max-regression <share>", "the line (default: the config's maxRegression, else the gates' own, else 0.05)")
  .option("--out <dir>", "where history.md and history.html go (default reports/history)")
  .option("--no-write", "write no files: the terminal (or --json) only")
  .action(async (o: Record<string, string | boolean | undefined>) => {
    const { historyTrendCommand } = await import("./cli/history.js");
    process.exitCode = await historyTrendCommand(o, io);
  });
history
  .command("add")
  .description(
    "append a run or gate stored earlier (its results.json, or its report folder; gate.json beside it makes it a gate) to the history, once: a run already stored is left as it is",
  )
  .argument("<results.json | folder>", "a results file, or the run's (or gate's) report folder")
  .option(STORE_FLAG, STORE_HELP)
  .option("--commit <sha>", "the commit the run measured (default: the one its results.json records)")
  .option("--branch <name>", "its branch (default: the checkout's, when its HEAD is that commit, or GITHUB_REF_NAME)")
  .option(RUN_OPTIONS.config.flag, CONFIG_HELP)
  .option("--json", "print what was appended as one JSON document")
  .action(
    async (
      path: string,
      o: { history?: string; commit?: string; branch?: string; config?: string; json?: boolean },
    ) => {
      const { historyAddCommand } = await import("./cli/history.js");
      process.exitCode = await historyAddCommand(path, o, io);
    },
  );
withSeriesFilters(history.command("list").description("the stored runs, oldest first")).action(
  async (o: Record<string, string | boolean | undefined>) => {
    const { historyListCommand } = await import("./cli/history.js");
    process.exitCode = await historyListCommand(o, io);
  },
);
withSeriesFilters(
  history
    .command("show")
    .description("one stored run's points (by run id), or each run of a commit (4 or more hex digits of it)")
    .argument("<commit | run id>", "a stored commit or run id"),
).action(async (which: string, o: Record<string, string | boolean | undefined>) => {
  const { historyShowCommand } = await import("./cli/history.js");
  process.exitCode = await historyShowCommand(which, o, io);
});
withOptions(
  withRunOptions(
    history
      .command("confirm")
      .description(
        "confirm a suspected change: gate <commit> against its first parent (or --against REV), both built from git and run interleaved in one run, as `gate --candidate-ref <commit> --baseline-ref <commit>^`; the gate's exit codes",
      )
      .argument("<commit>", "the commit where the new level starts (a change point's commit)")
      .option("--against <rev>", "the baseline revision (default: the commit's first parent)"),
  ),
  Object.fromEntries(
    Object.entries(GATE_OPTIONS).filter(([k]) => !["baselineRef", "baseline", "current", "candidateRef"].includes(k)),
  ),
).action(async (commit: string, flags) => {
  const [{ historyConfirmCommand }, { SCENARIOS }] = await Promise.all([
    import("./cli/history.js"),
    import("../scenarios/index.js"),
  ]);
  process.exitCode = await historyConfirmCommand(commit, flags, SCENARIOS, io);
});

program
  .command("report")
  .description(
    "re-render every report format (report.md, report.html, summary.json) from a results file; nothing is re-run",
  )
  .argument("<results.json>", "a results file written by perfpack run")
  .option("--out <dir>", "where to write (default: the results file's folder)")
  .action(async (file: string, o: { out?: string }) => {
    const { reportCommand } = await import("./cli/report.js");
    process.exitCode = reportCommand(file, o.out, io);
  });

program
  .command("compare")
  .description("two runs side by side: B against A for every variant and scenario in both, with 95% intervals")
  .argument("<a.json>", "run A (the reference)")
  .argument("<b.json>", "run B")
  .option("--json", "print the comparisons as one JSON document to stdout")
  .action(async (a: string, b: string, o: { json?: boolean }) => {
    const { compareCommand } = await import("./cli/report.js");
    process.exitCode = compareCommand(a, b, o, io);
  });

withOptions(
  withRunOptions(
    program
      .command("gate")
      .description(
        "CI regression gate: this checkout against --baseline-ref REV (both built and run interleaved in one run, sampled in batches until every gate metric is decided or --budget ends; --rounds is the minimum before the first look), or a run (--current, or one now) against a stored --baseline results file; exit 1 on a regression beyond --max-regression",
      ),
  ),
  GATE_OPTIONS,
)
  // not offered, but answered: a gate's looks cannot be resumed (cli/gate.ts says why)
  .addOption(new Option("--resume <dir>").hideHelp())
  .action(async (flags) => {
    const [{ gateCommand }, { SCENARIOS }] = await Promise.all([
      import("./cli/gate.js"),
      import("../scenarios/index.js"),
    ]);
    process.exitCode = await gateCommand(flags, SCENARIOS, io);
  });

withOptions(
  withOptions(
    program
      .command("capacity")
      .description(
        "per variant and scenario, the highest offered rate (open model; ws: the most subscribers) at which an SLO holds (--slo, default the guide's p95 target): levels double from a closed-model probe until a step fails, then bisect to --resolution; the variants' steps interleave; capacity.json, report.md, report.html with the latency-throughput curve, a USL fit and the capacity ratio",
      ),
    CAPACITY_RUN_OPTIONS,
  ),
  CAPACITY_OPTIONS,
).action(async (flags) => {
  const [{ capacityCommand }, { SCENARIOS }] = await Promise.all([
    import("./cli/capacity.js"),
    import("../scenarios/index.js"),
  ]);
  process.exitCode = await capacityCommand(flags, SCENARIOS, io);
});

program
  .command("profile")
  .description(
    "run each variant's executor under a profiler while a scenario drives it; flamegraphs under <out>/flame/<variant>/, a differential flamegraph per unit of work of each variant against the first (flame/diff.html), folded stacks, and a hot-path diff of self time",
  )
  .option("--tool <tool>", "0x, clinic-flame, clinic-doctor or cpuprof", "cpuprof")
  .option(
    "--variants <names>",
    "variants, comma-separated (the first is the reference of the differential flamegraphs; the first two get the hot-path diff)",
    "baseline,optimized",
  )
  .option("--scenario <name>", "the scenario that drives the executor", "latency")
  .option("--duration <s>", "seconds of load", "10")
  .option("--out <dir>", "output folder (default reports/profile-<id>)")
  .option(
    "--executor-cmd <cmd>",
    "profile your own service, started as by run --executor-cmd (0x and clinic need a command that starts node itself; cpuprof works for any Node service)",
  )
  .option(
    "--ready-path <path>",
    "with --executor-cmd: the service is ready when it prints `listening <url>` or this path answers below 500 (default /health)",
  )
  .option(
    "--header <Name: value>",
    "a header on every request the scenario sends, as run --header (repeatable; the config file's requests apply too)",
    collect,
  )
  .option(
    RUN_OPTIONS.config.flag,
    "the config file whose executorCmd, readyPath, requests and header apply (default: perfpack.config.json in the working directory); flags win over it",
  )
  .action(async (flags) => {
    const [{ profile }, { jobContext }, { isProfileEvent, profileText }, { SCENARIOS }] = await Promise.all([
      import("./api/profile.js"),
      import("./cli/run.js"),
      import("./cli/profile.js"),
      import("../scenarios/index.js"),
    ]);
    const r = await profile(flags, SCENARIOS, {
      ...jobContext(io),
      events: (e) => {
        if (!isProfileEvent(e)) return;
        const { lines, warning } = profileText(e);
        for (const l of lines) io.out.write(l + "\n");
        if (warning) io.err.write(io.paint.yellow(warning + "\n"));
      },
    });
    if (r.interrupted) {
      io.err.write(
        `perfpack profile: interrupted; ${r.variants.length} finished variant(s) kept in ${r.dir}/profile.json\n`,
      );
      process.exitCode = EXIT.interrupted;
      return;
    }
    if (!r.ok)
      io.err.write(
        `perfpack profile: a profiler recorded too few samples (see the ⚠ lines above; ${r.dir}/profile.json has the counts)\n`,
      );
    process.exitCode = r.ok ? EXIT.ok : EXIT.runFailure;
  });

program
  .command("init")
  .description(
    "write perfpack.config.json here and .github/workflows/perfpack.yml at the top of the git repository (pull requests gated against their merge base; pushes to the default branch gated against the branch's previous tip and kept in the run history; a weekly history job), and add .perfpack/ to the .gitignore there; never overwrites",
  )
  .option(
    "--executor-cmd <cmd>",
    'the shell command that starts your service, e.g. "node server.js" (written into perfpack.config.json)',
  )
  .action(async (o: { executorCmd?: string }) => {
    const { initCommand } = await import("./cli/init.js");
    initCommand(o, io);
  });

const exportCmd = program
  .command("export")
  .description(
    "write scripts for an outside load generator (artillery): the same scenarios and variants, to run elsewhere",
  );
withRunOptions(
  exportCmd
    .command("artillery")
    .description(
      "one Artillery script per scenario (latency, batch, ws) and variant, a warm-up script beside each, the processor they load and a README; --target is the executor they will load (default http://127.0.0.1:4001)",
    ),
).action(async (flags) => {
  const [{ exportArtilleryCommand }, { SCENARIOS }] = await Promise.all([
    import("./cli/artillery.js"),
    import("../scenarios/index.js"),
  ]);
  process.exitCode = exportArtilleryCommand(flags, SCENARIOS, io);
});

program
  .command("import")
  .description("turn an outside generator's report into a trial of a results.json")
  .command("artillery")
  .description(
    "an Artillery report (artillery run --output report.json, locally or on Fargate/Lambda) as one trial: http.response_time → latency, counters → rps, errors, non-2xx; then every report format",
  )
  .argument("<report.json>", "the report Artillery wrote")
  .option("--variant <name>", "the variant the report measured")
  .option("--scenario <name>", "latency, batch or ws")
  .option("--round <n>", "its round (default 1)")
  .option("--out <dir>", "the run folder: its results.json gets the trial (created when absent)")
  .action(async (file: string, o: { variant?: string; scenario?: string; round?: string; out?: string }) => {
    const [{ importArtilleryCommand }, { SCENARIOS }] = await Promise.all([
      import("./cli/artillery.js"),
      import("../scenarios/index.js"),
    ]);
    process.exitCode = importArtilleryCommand(file, o, SCENARIOS, io);
  });

program
  .command("guide")
  .description(
    "the guide's operator checks (runtime/perf_*): latency, batch, json, profile-http; prints the guide's lines, measured",
  )
  .argument("<check>", "latency | batch | json | profile-http")
  .action(async (check: string) => {
    const [{ guideCommand }, { SCENARIOS }] = await Promise.all([
      import("./cli/guide.js"),
      import("../scenarios/index.js"),
    ]);
    process.exitCode = await guideCommand(check, SCENARIOS, io);
  });

const count = (v: string) => {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError("expected a whole number, 0 or more");
  return Number(v);
};

program
  .command("harden")
  .description(
    "robustness checks: fuzz a fresh executor with malformed requests, then place orders through an exchange that fails on purpose; exit 1 if any check fails",
  )
  .option("--fuzz <n>", "malformed requests to send (0 skips the fuzzer)", count, 10_000)
  .option("--orders <n>", "orders per fault drill, run with batching off and on (0 skips the drill)", count, 2000)
  .option("--seed <n>", "seed of the fuzz cases and of the exchange's faults", count, 1)
  .option("--json <file>", "also write the full report as JSON")
  .action(async (o: { fuzz: number; orders: number; seed: number; json?: string }) => {
    const { hardenCommand } = await import("./cli/harden.js");
    process.exitCode = await hardenCommand(o, io);
  });

program
  .command("executor")
  .description(
    "start the reference executor alone (the system under test). Toggles come from the environment, as in the guide; see the README for every variable",
  )
  .option("--port <n>", "port to listen on (0 picks a free one); overrides PORT", undefined)
  .option("--host <addr>", "address to bind; overrides HOST")
  .action(async (o: { port?: string; host?: string }) => {
    serving = true;
    await (await import("../services/executor/src/main.js")).executorMain(o);
  });

const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.05");
  return v;
};

program
  .command("exchange")
  .description(
    "start the mock exchange alone: Binance-like REST over HTTPS (TLS 1.3, loopback certificate) and a market-data WebSocket",
  )
  .option("--port <n>", `port to listen on (0 picks a free one) (default: ${XD.port})`)
  .option("--host <addr>", `address to bind (default: ${XD.host})`)
  .option("--http", "serve plain HTTP instead of HTTPS")
  .option("--latency-ms <ms>", `latency added to every REST answer (default: ${XD.latencyMs})`)
  .option(
    "--order-cost-ms <ms>",
    `extra latency per order: a batch of n costs latency + n × this (default: ${XD.orderCostMs})`,
  )
  .option("--batch-cap <n>", `most orders one batchOrders call may carry (default: ${XD.batchCap})`)
  .addOption(new Option("--fault-5xx <share>", "share of order/openOrders requests answered 503").argParser(share))
  .addOption(
    new Option(
      "--fault-reset <share>",
      "share of requests whose connection is reset after the order is placed",
    ).argParser(share),
  )
  .addOption(
    new Option("--fault-stall <share>", "share of requests stalled for --stall-ms before they are served").argParser(
      share,
    ),
  )
  .option("--stall-ms <ms>", `length of an injected stall (default: ${XD.stallMs})`)
  .option("--seed <n>", `seed of the fault draws and the generated data: same seed, same faults (default: ${XD.seed})`)
  .option("--ws-rate <n>", `market messages per second on each /ws/market connection (default: ${XD.wsRate})`)
  .option("--open-orders <n>", `open LIMIT orders seeded into the book (default: ${XD.openOrders})`)
  .option(
    "--max-open-orders <n>",
    `most open orders the book keeps; the oldest go first (default: ${XD.maxOpenOrders})`,
  )
  .action(async (o: Record<string, string | boolean | undefined>) => {
    serving = true;
    await (
      await import("../services/exchange/src/main.js")
    ).exchangeMain({
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
    });
  });

program
  .command("link")
  .description(
    "a network link in user space: a TCP proxy on 127.0.0.1 that delays each direction by half a round trip, optionally at a bandwidth (what run --upstream-rtt puts between executor and exchange); Ctrl-C stops it",
  )
  .option("--to <host:port>", "the server behind the link (loopback only)")
  .option("--rtt <ms>", "round-trip time, MS or MS:JITTER, 0 to 10000 (default: 0)")
  .option("--bandwidth <mbps>", "megabits per second each way, shared by all connections (default: unlimited)")
  .option("--port <n>", "port to listen on, on 127.0.0.1 (default: 0, a free one)")
  .action(async (o: { to?: string; rtt?: string; bandwidth?: string; port?: string }) => {
    serving = true;
    await (await import("./cli/link.js")).linkCommand(o, io);
  });

program
  .command("up")
  .description(
    "start a mock exchange and a reference executor wired together (executor toggles from the environment); Ctrl-C stops both",
  )
  .option("--executor-port <n>", "executor port (the guide's 4001; 0 picks a free one)", "4001")
  .option("--exchange-port <n>", "exchange port (0 picks a free one)", "4002")
  .argument("[exchange-flags...]", "flags passed to `perfpack exchange`, after --, e.g. -- --fault-5xx 0.1")
  .action(async (exchangeArgs: string[], o: { executorPort: string; exchangePort: string }) => {
    const port = (name: string, v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new UsageError(`${name} accepts an integer from 0 to 65535, not ${JSON.stringify(v)}`);
      return n;
    };
    const opts = {
      executorPort: port("--executor-port", o.executorPort),
      exchangePort: port("--exchange-port", o.exchangePort),
      exchangeArgs,
    };
    const { upCommand } = await import("./cli/up.js");
    process.exitCode = await upCommand(opts, io, (stop) => {
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander printed it; --help and --version end here with 0, usage errors with the documented 2
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (interrupted > 0) {
    // what failed after Ctrl-C failed because of it (a service stopped under its job); an error
    // that says what the interruption did (a revision build set aside) is printed as it is
    const own = err instanceof PerfpackError && err.exitCode === EXIT.interrupted;
    io.err.write(`perfpack: ${own ? err.message : "interrupted"}\n`);
    process.exitCode = EXIT.interrupted;
  } else {
    const known = err instanceof PerfpackError;
    io.err.write(
      `perfpack: ${known ? err.message : ((err as Error).stack ?? String(err))}\n${known && err.detail ? err.detail + "\n" : ""}`,
    );
    process.exitCode = exitCodeOf(err);
  }
  const { stopAll } = await import("./api/children.js");
  await stopAll(RUN_DEFAULTS.interruptGraceMs);
}
{
  // the watchdog (children.ts) ends with perfpack, not after it
  const { releaseWatchdog, stopAll } = await import("./api/children.js");
  if (interrupted > 0) await stopAll(RUN_DEFAULTS.interruptGraceMs);
  await releaseWatchdog();
  // the job has ended (after Ctrl-C: kept what finished and written its reports): a timer or
  // socket left behind does not hold the prompt, nor leave a process that only a second
  // SIGTERM would end; what was written is flushed first (pipes are asynchronous on macOS)
  for (const s of [process.stdout, process.stderr]) await new Promise<void>((r) => s.write("", () => r()));
  if (interrupted > 0 || !serving)
    process.exit(interrupted > 0 ? EXIT.interrupted : Number(process.exitCode ?? EXIT.ok));
}
