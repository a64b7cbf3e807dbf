import { request } from "undici";
import { loadFixture, nsPerOp } from "../load/microbench.js";
import { compileSerializers } from "../../services/executor/src/lib/fastJson.js";
import { ENV_SPECS } from "../../services/executor/src/config.js";
import type { Scenario } from "../../scenarios/contract.js";
import { serviceEnv, startStack } from "../engine/rig.js";

import { EXIT, UsageError } from "../errors.js";

/** The guide's four operator scripts (runtime/*.sh|.cmd), each printing the guide's own lines, measured. */
const GUIDE_CHECKS = ["latency", "batch", "json", "profile-http"] as const;

export interface GuideIO {
  /** The guide's lines. */
  out(line: string): void;
  /** Commentary, on stderr. */
  info(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Where the flamegraph's folder goes (reports/profile-<id> below it), unless PERF_PROFILE_OUT names one. */
  cwd: string;
}

/** The caller's executor settings, over the check's defaults (e.g. HTTP_KEEPALIVE=true for the keep-alive test). */
function toggles(env: NodeJS.ProcessEnv, defaults: Record<string, string>): Record<string, string> {
  const out = { ...defaults };
  for (const k of Object.keys(ENV_SPECS)) if (env[k] !== undefined && k !== "PORT" && k !== "HOST" && k !== "EXCHANGE_URL") out[k] = env[k]!;
  return out;
}

export async function guideCheck(name: string, scenarios: ReadonlyMap<string, Scenario>, io: GuideIO): Promise<number> {
  switch (name) {
    case "latency": {
      // perf_latency_test: the first three open-orders requests of a fresh executor, each on a new
      // connection as three curl calls; with keep-alive the second should beat the first
      const stack = await startStack({ baseEnv: serviceEnv(io.env), executorEnv: toggles(io.env, { HTTP_KEEPALIVE: "true" }) });
      try {
        io.info(`# executor ${stack.executor.url}, HTTP_KEEPALIVE=${toggles(io.env, { HTTP_KEEPALIVE: "true" }).HTTP_KEEPALIVE}`);
        for (let i = 1; i <= 3; i++) {
          const t0 = performance.now();
          const r = await request(`${stack.executor.url}/api/private/open-orders`, { reset: true });
          await r.body.dump();
          if (r.statusCode !== 200) throw new Error(`open-orders answered ${r.statusCode}`);
          io.out(`open_orders_${i}=${((performance.now() - t0) / 1000).toFixed(3)}s`);
        }
      } finally {
        await stack.stop();
      }
      return 0;
    }
    case "batch": {
      // perf_batch_test: the guide's order, then the flush counter
      const t = toggles(io.env, { BATCH_ENABLED: "true" });
      const stack = await startStack({ baseEnv: serviceEnv(io.env), executorEnv: t });
      try {
        io.info(`# executor ${stack.executor.url}, BATCH_ENABLED=${t.BATCH_ENABLED} BATCH_MAX_SIZE=${t.BATCH_MAX_SIZE ?? 8} BATCH_FLUSH_MS=${t.BATCH_FLUSH_MS ?? 40}`);
        const r = await request(`${stack.executor.url}/api/private/order`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" }),
        });
        io.info(`# order: HTTP ${r.statusCode} ${await r.body.text()}`);
        const text = await (await request(`${stack.executor.url}/api/public/metrics/prom`)).body.text();
        const line = text.split("\n").find((l) => l.startsWith('spark_batch_flush_total{key="BTCUSDT"}'));
        if (!line) throw new Error('the executor exposes no spark_batch_flush_total{key="BTCUSDT"}');
        io.out(line);
      } finally {
        await stack.stop();
      }
      return 0;
    }
    case "json": {
      // perf_json_test: 1,000 serializations of the 50-open-order fixture, fast and native, in process
      const view = loadFixture(50);
      const fast = compileSerializers("fast");
      const native = compileSerializers("native");
      const ns = nsPerOp({ fast: () => fast.openOrders(view), native: () => native.openOrders(view) });
      io.info("# seconds for 1,000 serializations of 50 open orders (median of 7 interleaved timed batches)");
      io.out(`fast_json=${((ns.fast! * 1000) / 1e9).toFixed(3)}s`);
      io.out(`native_json=${((ns.native! * 1000) / 1e9).toFixed(3)}s`);
      return 0;
    }
    case "profile-http": {
      // perf_profile_http: a 0x flamegraph of the executor under HTTP load
      const [{ profile, resolveProfilePlan }, { profileText }] = await Promise.all([import("../profile/profiler.js"), import("./profile.js")]);
      const out = io.env.PERF_PROFILE_OUT;
      const plan = resolveProfilePlan({ tool: "0x", variants: "optimized", scenario: "latency", duration: io.env.PERF_PROFILE_SECONDS ?? "5", ...(out ? { out } : {}) }, scenarios, io.cwd);
      const r = await profile(plan, {
        events: (e) => {
          const { lines, warning } = profileText(e);
          for (const l of lines) io.info(`# ${l.trim()}`);
          if (warning) io.info(warning);
        },
        env: io.env,
      });
      const flame = r.variants[0]?.artifacts[0];
      if (flame) io.out(`flamegraph=${flame}`);
      return flame && r.ok ? EXIT.ok : EXIT.runFailure;
    }
    default:
      throw new UsageError(`unknown guide check ${JSON.stringify(name)}: valid checks are ${GUIDE_CHECKS.join(", ")}`);
  }
}
