#!/usr/bin/env node
/** perfpack's command line: parse → dispatch. The commands' work lives in their modules. */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { exchangeMain } from "../services/exchange/src/main.js";
import { executorMain } from "../services/executor/src/main.js";
import { EXIT } from "./exit-codes.js";
import { LaunchError, stopAll } from "./launcher.js";
import { up } from "./up.js";

const program = new Command("perfpack")
  .description("Benchmark and load-testing harness for the Performance Pack: did the change really make the service faster?")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

program
  .command("executor")
  .description(
    "start the reference executor alone (the system under test). Toggles come from the environment, as in the guide; see the README for every variable",
  )
  .option("--port <n>", "port to listen on (0 picks a free one); overrides PORT", undefined)
  .option("--host <addr>", "address to bind; overrides HOST")
  .action(async (o: { port?: string; host?: string }) => executorMain(o));

const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.05");
  return v;
};

program
  .command("exchange")
  .description("start the mock exchange alone: Binance-like REST over HTTPS (TLS 1.3, loopback certificate) and a market-data WebSocket")
  .option("--port <n>", "port to listen on (0 picks a free one)", "4002")
  .option("--host <addr>", "address to bind", "127.0.0.1")
  .option("--http", "serve plain HTTP instead of HTTPS")
  .option("--latency-ms <ms>", "latency added to every REST answer", "5")
  .option("--order-cost-ms <ms>", "extra latency per order (a batch of n costs latency + n × this)", "0.5")
  .option("--batch-cap <n>", "most orders one batchOrders call may carry", "5")
  .addOption(new Option("--fault-5xx <share>", "share of order/openOrders requests answered 503").argParser(share))
  .addOption(new Option("--fault-reset <share>", "share of requests whose connection is reset after the order is placed").argParser(share))
  .addOption(new Option("--fault-stall <share>", "share of requests stalled for --stall-ms before they are served").argParser(share))
  .option("--stall-ms <ms>", "length of an injected stall", "2000")
  .option("--seed <n>", "seed of the fault draws and the generated data (same seed, same faults)", "1")
  .option("--ws-rate <n>", "market messages per second on each /ws/market connection", "100")
  .option("--open-orders <n>", "open LIMIT orders seeded into the book", "50")
  .option("--max-open-orders <n>", "most open orders the book keeps (oldest are filled first)", "1000")
  .action(async (o: Record<string, string | boolean | undefined>) =>
    exchangeMain({
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
  if (err instanceof InvalidArgumentError) {
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
