/**
 * The guide's four operator checks (runtime/perf_*.sh|.cmd) as a job: each measures what the
 * guide's script measures and returns the guide's own lines; its commentary comes as notes.
 */
import { request } from "undici";
import { serviceEnv, startStack } from "../engine/rig.js";
import { UsageError } from "../errors.js";
import { loadFixture, nsPerOp } from "../load/microbench.js";
import { compileSerializers } from "../../services/executor/src/lib/fastJson.js";
import { ENV_SPECS } from "../../services/executor/src/config.js";
import type { Scenario } from "../../scenarios/contract.js";
import { tell, type JobContext } from "./context.js";

type GuideContext = Pick<JobContext, "cwd" | "env" | "events">;

export interface GuideDocument {
  /** The guide's lines, measured: what the runtime script prints on stdout. */
  lines: string[];
  /** false when profile-http drew no flamegraph, or its profiler recorded too few samples. */
  ok: boolean;
}

/** The caller's executor settings, over the check's defaults (e.g. HTTP_KEEPALIVE=true for the keep-alive test). */
function toggles(env: Readonly<NodeJS.ProcessEnv>, defaults: Record<string, string>): Record<string, string> {
  const out = { ...defaults };
  for (const k of Object.keys(ENV_SPECS))
    if (env[k] !== undefined && k !== "PORT" && k !== "HOST" && k !== "EXCHANGE_URL") out[k] = env[k]!;
  return out;
}

const note = (ctx: GuideContext, text: string) => tell(ctx, { type: "note", text });

/** The guide's lines as they are measured: told at once (a check that fails later loses none), and returned. */
function measured(ctx: GuideContext, ...texts: string[]): string[] {
  for (const text of texts) tell(ctx, { type: "line", text });
  return texts;
}

/**
 * perf_latency_test: the first three open-orders requests of a fresh executor, each on a new
 * connection as three curl calls; with keep-alive the second should beat the first.
 */
async function latencyCheck(ctx: GuideContext): Promise<GuideDocument> {
  const t = toggles(ctx.env, { HTTP_KEEPALIVE: "true" });
  const stack = await startStack({ baseEnv: serviceEnv(ctx.env), executorEnv: t });
  const lines: string[] = [];
  try {
    note(ctx, `# executor ${stack.executor.url}, HTTP_KEEPALIVE=${t.HTTP_KEEPALIVE}`);
    for (let i = 1; i <= 3; i++) {
      const t0 = performance.now();
      const r = await request(`${stack.executor.url}/api/private/open-orders`, { reset: true });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`open-orders answered ${r.statusCode}`);
      lines.push(...measured(ctx, `open_orders_${i}=${((performance.now() - t0) / 1000).toFixed(3)}s`));
    }
  } finally {
    await stack.stop();
  }
  return { lines, ok: true };
}

/** perf_batch_test: the guide's order, then the flush counter. */
async function batchCheck(ctx: GuideContext): Promise<GuideDocument> {
  const t = toggles(ctx.env, { BATCH_ENABLED: "true" });
  const stack = await startStack({ baseEnv: serviceEnv(ctx.env), executorEnv: t });
  try {
    note(
      ctx,
      `# executor ${stack.executor.url}, BATCH_ENABLED=${t.BATCH_ENABLED} BATCH_MAX_SIZE=${t.BATCH_MAX_SIZE ?? 8} BATCH_FLUSH_MS=${t.BATCH_FLUSH_MS ?? 40}`,
    );
    const r = await request(`${stack.executor.url}/api/private/order`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" }),
    });
    note(ctx, `# order: HTTP ${r.statusCode} ${await r.body.text()}`);
    const text = await (await request(`${stack.executor.url}/api/public/metrics/prom`)).body.text();
    const line = text.split("\n").find((l) => l.startsWith('spark_batch_flush_total{key="BTCUSDT"}'));
    if (!line) throw new Error('the executor exposes no spark_batch_flush_total{key="BTCUSDT"}');
    return { lines: measured(ctx, line), ok: true };
  } finally {
    await stack.stop();
  }
}

/** perf_json_test: 1,000 serializations of the 50-open-order fixture, fast and native, in process. */
async function jsonCheck(ctx: GuideContext): Promise<GuideDocument> {
  const view = loadFixture(50);
  const fast = compileSerializers("fast");
  const native = compileSerializers("native");
  const ns = await nsPerOp({ fast: () => fast.openOrders(view), native: () => native.openOrders(view) });
  note(ctx, "# seconds for 1,000 serializations of 50 open orders (median of 7 interleaved timed batches)");
  const lines = measured(
    ctx,
    `fast_json=${((ns.fast! * 1000) / 1e9).toFixed(3)}s`,
    `native_json=${((ns.native! * 1000) / 1e9).toFixed(3)}s`,
  );
  return { lines, ok: true };
}

/** perf_profile_http: a 0x flamegraph of the executor under HTTP load (PERF_PROFILE_OUT, PERF_PROFILE_SECONDS). */
async function profileHttpCheck(ctx: GuideContext, scenarios: ReadonlyMap<string, Scenario>): Promise<GuideDocument> {
  const [{ profile }, { resolveProfilePlan }] = await Promise.all([
    import("../profile/profiler.js"),
    import("./profile.js"),
  ]);
  const out = ctx.env.PERF_PROFILE_OUT || undefined;
  const plan = resolveProfilePlan(
    {
      tool: "0x",
      variants: "optimized",
      scenario: "latency",
      duration: ctx.env.PERF_PROFILE_SECONDS ?? "5",
      out,
    },
    scenarios,
    ctx.cwd,
    ctx.env,
  );
  const r = await profile(plan, { events: (e) => tell(ctx, e), env: { ...ctx.env } });
  const flame = r.variants[0]?.artifacts[0];
  return { lines: flame ? measured(ctx, `flamegraph=${flame}`) : [], ok: flame !== undefined && r.ok };
}

const CHECKS = {
  latency: latencyCheck,
  batch: batchCheck,
  json: jsonCheck,
  "profile-http": profileHttpCheck,
} satisfies Record<string, (ctx: GuideContext, scenarios: ReadonlyMap<string, Scenario>) => Promise<GuideDocument>>;

/** `perfpack guide CHECK`: one of the guide's checks, measured. */
export async function guide(
  check: string,
  scenarios: ReadonlyMap<string, Scenario>,
  ctx: GuideContext,
): Promise<GuideDocument> {
  if (!Object.hasOwn(CHECKS, check))
    throw new UsageError(
      `unknown guide check ${JSON.stringify(check)}: valid checks are ${Object.keys(CHECKS).join(", ")}`,
    );
  return CHECKS[check as keyof typeof CHECKS](ctx, scenarios);
}
