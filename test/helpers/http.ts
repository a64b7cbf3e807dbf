import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { tlsFixture } from "../../services/common/src/project.js";

/** One client for the tests: trusts the loopback CA, keeps no connection past a test. */
let agent: Agent | undefined;
const dispatcher = () =>
  (agent ??= new Agent({
    connect: { ca: readFileSync(tlsFixture.ca()) },
    keepAliveTimeout: 10,
    keepAliveMaxTimeout: 10,
  }));

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export async function call(
  method: "GET" | "POST" | "DELETE" | "PUT",
  url: string,
  opts: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await request(url, { method, dispatcher: dispatcher(), headers: opts.headers, body: opts.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

export const postJson = (url: string, data: unknown, headers: Record<string, string> = {}) =>
  call("POST", url, {
    body: typeof data === "string" ? data : JSON.stringify(data),
    headers: { "content-type": "application/json", ...headers },
  });

export const ORDER = { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" };

/** Reads one sample of a Prometheus text exposition (exact series, e.g. 'spark_batch_flush_total{key="BTCUSDT"}'). */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

export async function closeHttp(): Promise<void> {
  const a = agent;
  agent = undefined;
  await a?.close();
}
