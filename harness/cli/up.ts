import { startStack, type Stack } from "../engine/rig.js";

/**
 * `perfpack up`: a mock exchange and a reference executor wired together, for trying the
 * system by hand. The executor takes its toggles from the environment, as `perfpack executor`.
 */
export interface UpOptions {
  exchangePort: number;
  executorPort: number;
  exchangeArgs: string[];
}

export async function up(o: UpOptions, env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<Stack> {
  const stack = await startStack({
    exchangeArgs: o.exchangeArgs,
    baseEnv: env,
    readyTimeoutMs: 20_000,
    exchangePort: o.exchangePort,
    executorPort: o.executorPort,
  });
  const u = stack.executor.url;
  print(`exchange  ${stack.exchange.url}   (pid ${stack.exchange.pid}; stats: curl -sk ${stack.exchange.url}/stats)`);
  print(`executor  ${u}   (pid ${stack.executor.pid})`);
  print("");
  print("try:");
  print(`  curl -s -X POST ${u}/api/private/order -H "Content-Type: application/json" \\`);
  print(`    -d '{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.001"}'`);
  print(`  curl -s ${u}/api/private/open-orders`);
  print(`  curl -s ${u}/api/public/metrics/prom | grep spark_`);
  print("");
  print("Ctrl-C stops both.");
  return stack;
}
