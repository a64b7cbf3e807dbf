import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { request } from "undici";
import { freePort } from "../../harness/engine/stack.js";

/** Debian's prometheus (.ci/run installs it); PROMETHEUS_BIN points elsewhere. */
export const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "prometheus";

/**
 * Whether the Prometheus binary is there. Without it the test skips with the package to install;
 * under CI it fails, because CI installs it.
 */
export function hasPrometheus(t: TestContext): boolean {
  const found = spawnSync(PROMETHEUS, ["--version"], { stdio: "ignore" }).error === undefined;
  if (found) return true;
  if (process.env.CI) assert.fail(`${PROMETHEUS} is missing: .ci/run installs Debian's prometheus`);
  t.skip(`${PROMETHEUS} not installed (apt-get install prometheus, or set PROMETHEUS_BIN)`);
  return false;
}

export interface Prometheus {
  url: string;
  /** An instant query through the HTTP API; throws on an API error. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
  log(): string;
}

/**
 * A real Prometheus (Debian's package, installed by .ci/run) on loopback, scraping `target`
 * (host:port) at `metricsPath` every second, with its data in a temporary folder.
 */
export async function startPrometheus(target: string, metricsPath: string): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "perfpack-prom-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: perfpack-executor\n    metrics_path: ${metricsPath}\n    static_configs:\n      - targets: ["${target}"]\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))]);
    if (failed)
      throw new Error(`cannot start prometheus (${failed.message}); .ci/run installs Debian's prometheus package`);
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log.slice(-2000)}`);
    try {
      const r = await request(`${url}/-/ready`);
      await r.body.text();
      if (r.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 30_000) {
      await stop();
      throw new Error(`prometheus not ready within 30 s:\n${log.slice(-2000)}`);
    }
  }
  return {
    url,
    log: () => log,
    stop,
    query: async (expr) => {
      const r = await request(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await r.body.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (body.status !== "success") throw new Error(`prometheus refused ${expr}: ${body.error}`);
      if (body.data!.resultType !== "vector")
        throw new Error(`${expr}: a ${body.data!.resultType}, not an instant vector`);
      return body.data!.result;
    },
  };
}
