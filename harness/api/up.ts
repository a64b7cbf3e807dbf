/**
 * `perfpack up` as a job: a mock exchange and a reference executor wired together, for trying the
 * system by hand. The executor takes its toggles from the environment, as `perfpack executor`.
 * It returns once both are ready, with a handle: where they are, the first to exit, and stop().
 */
import { startStack } from "../engine/rig.js";
import type { JobContext } from "./context.js";

export interface UpOptions {
  /** 0 picks a free port. */
  exchangePort: number;
  executorPort: number;
  /** Flags of `perfpack exchange`, e.g. --fault-5xx 0.1. */
  exchangeArgs: string[];
}

export interface UpService {
  url: string;
  pid: number;
}

export interface UpHandle {
  exchange: UpService;
  executor: UpService;
  /** The first service to exit, and how: on its own, or because stop() ended it. */
  firstExit: Promise<{ service: "executor" | "exchange"; code: number | null; signal: string | null }>;
  /** Stops the executor (it drains its requests), then the exchange. */
  stop(): Promise<void>;
}

export async function up(o: UpOptions, ctx: Pick<JobContext, "env">): Promise<UpHandle> {
  const stack = await startStack({
    // the exchange's own --http: the executor's upstream URL must say http too
    exchangeArgs: o.exchangeArgs.filter((a) => a !== "--http"),
    plainHttp: o.exchangeArgs.includes("--http"),
    // the whole environment, executor variables included: they are the toggles of the executor it starts
    baseEnv: ctx.env,
    readyTimeoutMs: 20_000,
    exchangePort: o.exchangePort,
    executorPort: o.executorPort,
  });
  return {
    exchange: { url: stack.exchange.url, pid: stack.exchange.pid },
    executor: { url: stack.executor.url, pid: stack.executor.pid },
    firstExit: Promise.race([
      stack.executor.exited.then((e) => ({ service: "executor" as const, ...e })),
      stack.exchange.exited.then((e) => ({ service: "exchange" as const, ...e })),
    ]),
    stop: () => stack.stop(),
  };
}
