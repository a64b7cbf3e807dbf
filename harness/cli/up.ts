/** `perfpack up`: the job (api/up.ts); where the services are and what to try, then it waits for a signal or for a service to exit. */
import { EXIT } from "../errors.js";
import { up, type UpHandle, type UpOptions } from "../api/up.js";
import type { IO } from "./io.js";

function tryLines(h: UpHandle): string[] {
  const u = h.executor.url;
  return [
    `exchange  ${h.exchange.url}   (pid ${h.exchange.pid}; stats: curl -sk ${h.exchange.url}/stats)`,
    `executor  ${u}   (pid ${h.executor.pid})`,
    "",
    "try:",
    `  curl -s -X POST ${u}/api/private/order -H "Content-Type: application/json" \\`,
    `    -d '{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.001"}'`,
    `  curl -s ${u}/api/private/open-orders`,
    `  curl -s ${u}/api/public/metrics/prom | grep spark_`,
    "",
    "Ctrl-C stops both.",
  ];
}

/**
 * Runs until `onSignal`'s handler is called (cli.ts registers it for SIGINT and SIGTERM): both
 * services stop, exit 0. When one exits on its own the other is stopped: exit 3.
 */
export async function upCommand(
  o: UpOptions,
  io: IO,
  onSignal: (handler: (signal: string) => void) => void,
): Promise<number> {
  const h = await up(o, io);
  for (const l of tryLines(h)) io.out.write(l + "\n");
  const signalled = new Promise<string>((resolve) => onSignal(resolve));
  const first = await Promise.race([signalled.then((signal) => ({ signal })), h.firstExit.then((gone) => ({ gone }))]);
  if ("signal" in first) {
    io.err.write(`perfpack up: ${first.signal}, stopping the executor (it drains) and the exchange\n`);
    await h.stop();
    return EXIT.ok;
  }
  io.err.write(
    `perfpack up: the ${first.gone.service} exited (code ${first.gone.code}, signal ${first.gone.signal}); stopping the other\n`,
  );
  await h.stop();
  return EXIT.runFailure;
}
