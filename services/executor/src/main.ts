/** Entry point of the reference executor: the only executor module that touches the process. */
import { ConfigError, loadExecutorConfig, type ExecutorConfig } from "./config.js";
import { CpuProfiler } from "./lib/profiler.js";
import { startExecutor } from "./server.js";
import { setTimeout as sleep } from "node:timers/promises";

export interface ExecutorArgs {
  port?: string;
  host?: string;
}

const log = (line: string) => process.stderr.write(line + "\n");

/** Validates the environment (exit 2 on a bad value), starts, prints `listening <url>`, drains on SIGTERM. */
export async function executorMain(args: ExecutorArgs): Promise<void> {
  let cfg: ExecutorConfig;
  try {
    const port = args.port === undefined ? undefined : Number(args.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new ConfigError([
        `--port=${JSON.stringify(args.port)} is not valid: --port accepts an integer from 0 to 65535 (0 picks a free port)`,
      ]);
    }
    cfg = loadExecutorConfig(process.env, { port, host: args.host || undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      log(`perfpack executor: invalid configuration, not starting:\n${err.problems.map((p) => `  - ${p}`).join("\n")}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }

  const profiler = cfg.cpuProfiling.enabled ? new CpuProfiler(cfg.cpuProfiling.dir) : undefined;
  await profiler?.start();

  if (cfg.startDelayMs > 0) {
    // test aid: a start that hangs (SIGTERM meanwhile ends the process at once, as Node does by default)
    log(`executor: EXECUTOR_START_DELAY_MS=${cfg.startDelayMs} (test aid): waiting before listening`);
    await sleep(cfg.startDelayMs);
  }

  let exec;
  try {
    exec = await startExecutor(cfg, { log });
  } catch (err) {
    log(`perfpack executor: cannot listen on ${cfg.host}:${cfg.port}: ${(err as Error).message}`);
    process.exitCode = 3;
    return;
  }
  process.stdout.write(`listening ${exec.url}\n`);
  log(
    `executor: upstream ${cfg.exchangeUrl.origin}; HTTP_KEEPALIVE=${cfg.keepAlive.enabled} BATCH_ENABLED=${cfg.batch.enabled}` +
      `${cfg.batch.enabled ? ` (${cfg.batch.mode}, ${cfg.batch.maxSize} orders / ${cfg.batch.flushMs} ms)` : ""} ` +
      `JSON_STRINGIFIER=${cfg.json.stringifier} WS_COMPRESS=${cfg.ws.compress}${cfg.ws.compress ? ` (level ${cfg.ws.deflateLevel}, ${cfg.ws.fanout} fan-out)` : ""}` +
      `${cfg.ws.coalesce ? " WS_COALESCE=true" : ""}` +
      `${cfg.cpuBurnUs ? ` EXECUTOR_CPU_BURN_US=${cfg.cpuBurnUs} (test aid)` : ""}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log(`executor: second ${signal}, exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`executor: ${signal}, draining`);
    await exec.close();
    if (profiler) log(`cpu profile: ${await profiler.stop()}`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
