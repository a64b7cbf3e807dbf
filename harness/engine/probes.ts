import os from "node:os";
import type { Machine } from "../results/schema.js";
import { getJson } from "./launcher.js";
import { request, type Dispatcher } from "undici";
import { subscribe } from "../load/ws.js";
import { routeOf, type LiveRequest } from "../load/request.js";
import { forgetProcessUsage, processUsage } from "../load/process-usage.js";

/** CPU seconds and resident memory of processes, sampled at an interval over a window. */
export class ProcessSampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly rssMax = new Map<number, number>();
  private readonly rssSum = new Map<number, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: number[],
    private readonly intervalMs = 250,
  ) {}

  private async sample(): Promise<void> {
    const alive = this.pids.filter((p) => p > 0);
    if (alive.length === 0) return;
    const usage = await processUsage(alive);
    if (!usage) return; // a process went away; the runner notices that separately
    this.samples++;
    for (const pid of alive) {
      const u = usage.get(pid);
      if (!u) continue;
      if (!this.first.has(pid)) this.first.set(pid, u.cpuMs);
      this.last.set(pid, u.cpuMs);
      this.rssMax.set(pid, Math.max(this.rssMax.get(pid) ?? 0, u.rssBytes));
      this.rssSum.set(pid, (this.rssSum.get(pid) ?? 0) + u.rssBytes);
    }
  }

  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sample();
    forgetProcessUsage();
  }

  /** CPU seconds used by `pid` over the window, RSS peak and mean in MB. */
  of(pid: number): { cpuS: number; rssMaxMb: number; rssMeanMb: number } | undefined {
    if (!this.first.has(pid)) return undefined;
    const cpuS = (this.last.get(pid)! - this.first.get(pid)!) / 1000;
    return {
      cpuS,
      rssMaxMb: this.rssMax.get(pid)! / 2 ** 20,
      rssMeanMb: this.rssSum.get(pid)! / this.samples / 2 ** 20,
    };
  }
}

/**
 * The requests a user's service does not serve, each with why: the request as configured (its
 * method, path, headers and one instance of its body: one real order, before the window) answered
 * 404 or 405, or failed; a WebSocket path that does not upgrade. Any other answer (a 400 or a 401
 * included) means the route exists: the trial's failure accounting judges the answers.
 */
export async function missingRoutes(base: string, requests: readonly LiveRequest[]): Promise<string[]> {
  const missing: string[] = [];
  for (const r of requests) {
    const route = routeOf(r);
    if (r.protocol === "ws") {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 5000);
      try {
        const s = await subscribe(base.replace(/^http/, "ws") + r.path, ac.signal, r.headers);
        s.ws.terminate();
      } catch (err) {
        missing.push(`${route} (${(err as Error).message})`);
      } finally {
        clearTimeout(timer);
      }
      continue;
    }
    try {
      const res = await request(base + r.path, {
        method: r.method as Dispatcher.HttpMethod,
        headersTimeout: 5000,
        bodyTimeout: 5000,
        headers: r.headers,
        body: r.body?.next(),
      });
      await res.body.dump();
      if (res.statusCode === 404 || res.statusCode === 405) missing.push(`${route} (answered ${res.statusCode})`);
    } catch (err) {
      missing.push(`${route} (${(err as Error).message})`);
    }
  }
  return missing;
}

/** The mock exchange's counters, or undefined when the upstream is not our mock. */
export async function exchangeStats(exchangeUrl: string | undefined): Promise<Record<string, number> | undefined> {
  if (!exchangeUrl) return undefined;
  try {
    const r = await getJson(`${exchangeUrl}/stats`);
    if (r.status !== 200 || typeof r.body !== "object" || r.body === null) return undefined;
    const flat: Record<string, number> = {};
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === "number") flat[prefix + k] = v;
        else if (typeof v === "object" && v !== null) walk(v as Record<string, unknown>, `${prefix}${k}.`);
      }
    };
    walk(r.body as Record<string, unknown>, "");
    return flat;
  } catch {
    return undefined;
  }
}

/** The machine a run ran on, as results.json records it. */
export const describeMachine = (): Machine => ({
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  hostname: os.hostname(),
});
