/** Entry point of the mock exchange: the only module here that touches the process. */
import { OptionError, resolveExchangeOptions, type ExchangeOptions } from "./config.js";
import { startExchange } from "./server.js";

export type RawExchangeOptions = Partial<Record<keyof ExchangeOptions, string | boolean | undefined>>;

/** Starts the exchange, prints `listening <url>`, and stops cleanly on SIGTERM/SIGINT. */
export async function exchangeMain(raw: RawExchangeOptions): Promise<void> {
  let opts: ExchangeOptions;
  try {
    opts = resolveExchangeOptions(raw);
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`perfpack exchange: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  let ex;
  try {
    ex = await startExchange(opts);
  } catch (err) {
    process.stderr.write(`perfpack exchange: cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}\n`);
    process.exitCode = 3;
    return;
  }
  process.stdout.write(`listening ${ex.url}\n`);
  process.stderr.write(
    `exchange: ${opts.tls ? "TLS 1.3" : "plain HTTP"}, latency ${opts.latencyMs} ms + ${opts.orderCostMs} ms/order, batch cap ${opts.batchCap}, ` +
      `faults 5xx=${opts.fault5xx} reset=${opts.faultReset} stall=${opts.faultStall}×${opts.stallMs}ms seed=${opts.seed}, ` +
      `market stream ${ex.wsUrl} at ${opts.wsRate} msg/s\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`exchange: ${signal}, stopping\n`);
    ex.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
