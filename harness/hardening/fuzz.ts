import { connect } from "node:net";
import { seededRandom } from "../../services/common/src/rng.js";

/**
 * The executor's fuzzer: malformed requests over raw TCP (so that broken HTTP can be sent too),
 * each judged on its answer. Required of every answer: it comes, it is not a 5xx, and it is a
 * clear error (a 4xx with a JSON {error, message}). The executor must be alive at the end.
 *
 * Each case is built from a seeded generator, so a failing case can be replayed from its
 * (seed, index), which the report names.
 */
export const FUZZ_KINDS = [
  "random-bytes-body",
  "random-bytes-request",
  "truncated-json",
  "wrong-types",
  "huge-numbers",
  "deep-nesting",
  "huge-body",
  "oversized-headers",
  "bad-content-type",
  "bad-route",
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

export interface FuzzCase {
  index: number;
  kind: FuzzKind;
  bytes: Buffer;
}

export interface FuzzFailure {
  index: number;
  kind: FuzzKind;
  why: string;
  status?: number;
  /** The first bytes of the request, to replay it by hand. */
  head: string;
}

export interface FuzzReport {
  seed: number;
  sent: number;
  byKind: Record<string, number>;
  byStatus: Record<string, number>;
  clearErrors: number;
  failures: FuzzFailure[];
  ms: number;
}

const VALID = { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" };
const FIELDS = ["symbol", "side", "type", "quantity", "price", "clientOrderId"] as const;

function request(path: string, body: Buffer | string, headers: Record<string, string> = {}, method = "POST"): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const h = {
    host: "127.0.0.1",
    "content-type": "application/json",
    connection: "close",
    ...headers,
    "content-length": String(b.length),
  };
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), b]);
}

const ORDER_PATH = "/api/private/order";

/** The `index`-th case of the stream for `seed` (kinds in turn, contents random). */
export function fuzzCase(seed: number, index: number, bodyLimit: number): FuzzCase {
  const kind = FUZZ_KINDS[index % FUZZ_KINDS.length]!;
  return { index, kind, bytes: BUILD[kind](caseDraw(seed, index, bodyLimit)) };
}

/** One case's seeded random source, and what any kind may build from. */
interface Draw {
  index: number;
  bodyLimit: number;
  int: (n: number) => number;
  bytes: (n: number) => Buffer;
  /** Values an order field cannot take. */
  wrong: readonly unknown[];
}

function caseDraw(seed: number, index: number, bodyLimit: number): Draw {
  const rand = seededRandom((seed * 1_000_003 + index) >>> 0);
  const int = (n: number) => Math.floor(rand() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  // drawn for every kind, not only wrong-types: each case's later draws, and so its bytes, follow it
  const wrong = [null, true, 42, -1, [], {}, [1, 2], { a: 1 }, "", "x".repeat(int(100)), 1.5e300];
  return { index, bodyLimit, int, bytes, wrong };
}

/** Each kind's request bytes. */
const BUILD: Record<FuzzKind, (d: Draw) => Buffer> = {
  "random-bytes-body": ({ int, bytes }) => request(ORDER_PATH, bytes(1 + int(2000))),
  "random-bytes-request": randomBytesRequest,
  "truncated-json": truncatedJson,
  "wrong-types": wrongTypes,
  "huge-numbers": hugeNumbers,
  "deep-nesting": deepNesting,
  "huge-body": hugeBody,
  "oversized-headers": oversizedHeaders,
  "bad-content-type": badContentType,
  "bad-route": badRoute,
};

function randomBytesRequest({ int, bytes }: Draw): Buffer {
  // garbage where the request line and headers go, ended so the parser must decide
  const junk = bytes(1 + int(300)).map((b) => (b === 13 || b === 10 ? 32 : b));
  return Buffer.concat([junk, Buffer.from("\r\n\r\n")]);
}

function truncatedJson({ index, int }: Draw): Buffer {
  const full = JSON.stringify({ ...VALID, clientOrderId: `fz-${index}` });
  return request(ORDER_PATH, full.slice(0, int(full.length - 1)));
}

function wrongTypes({ int, wrong }: Draw): Buffer {
  const o: Record<string, unknown> = { ...VALID };
  // symbol or side always gets a value it cannot take, so the case is never a valid order
  o[int(2) === 0 ? "symbol" : "side"] = wrong[int(wrong.length)];
  const more = int(3);
  for (let i = 0; i < more; i++) o[FIELDS[int(FIELDS.length)]!] = wrong[int(wrong.length)];
  // and now and then a whole body of the wrong type
  const body = int(5) === 0 ? wrong[int(wrong.length)] : o;
  return request(ORDER_PATH, JSON.stringify(body));
}

function hugeNumbers({ int }: Draw): Buffer {
  const huge = [
    "1e309",
    "-1e309",
    "99999999999999999999999999",
    "1e-400",
    "-0",
    "0",
    "NaN",
    "Infinity",
    "0x10",
    "1".repeat(400),
  ];
  const q = huge[int(huge.length)]!;
  const asString = int(2) === 0;
  const field = int(2) === 0 ? "quantity" : "price";
  const text = `{"symbol":"BTCUSDT","side":"BUY","type":"${field === "price" ? "LIMIT" : "MARKET"}","quantity":${field === "quantity" ? (asString ? `"${q}"` : q) : '"0.001"'}${field === "price" ? `,"price":${asString ? `"${q}"` : q}` : ""}}`;
  return request(ORDER_PATH, text);
}

function deepNesting({ int, bodyLimit }: Draw): Buffer {
  const depth = 500 + int(Math.max(1, bodyLimit / 2 - 600));
  const open = int(2) === 0 ? "[" : '{"a":';
  const close = open === "[" ? "]" : "}";
  return request(ORDER_PATH, open.repeat(depth) + close.repeat(depth));
}

function hugeBody({ int, bodyLimit }: Draw): Buffer {
  const size = bodyLimit + 1 + int(bodyLimit * 8);
  const body = Buffer.alloc(size, int(2) === 0 ? 0x20 : 0x61);
  // half of them lie about their length in a chunked body instead of a content-length
  if (int(2) === 0) return request(ORDER_PATH, body);
  const head = `POST ${ORDER_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n`;
  return Buffer.concat([
    Buffer.from(head),
    Buffer.from(`${size.toString(16)}\r\n`),
    body,
    Buffer.from("\r\n0\r\n\r\n"),
  ]);
}

function oversizedHeaders({ int }: Draw): Buffer {
  const many = int(2) === 0;
  const headers: Record<string, string> = many
    ? Object.fromEntries(Array.from({ length: 2000 + int(2000) }, (_, i) => [`x-h${i}`, "v".repeat(8)]))
    : { "x-big": "b".repeat(17_000 + int(40_000)) };
  return request(ORDER_PATH, JSON.stringify(VALID), headers);
}

function badContentType({ int }: Draw): Buffer {
  const types = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "",
    "json",
    "application/xml",
  ];
  const t = types[int(types.length)]!;
  return request(ORDER_PATH, JSON.stringify(VALID), { "content-type": t });
}

function badRoute({ int }: Draw): Buffer {
  // unknown paths with any method, or the order path with a method it does not take
  const paths = [
    "/api/private/order/../../etc",
    "/%zz",
    "/api/private/ORDER",
    "/" + "a".repeat(int(3000)),
    "//",
    "/api/private/order/x",
  ];
  const methods = ["GET", "PUT", "DELETE", "PATCH", "POST"];
  const m = methods[int(methods.length)]!;
  const p = int(3) === 0 ? ORDER_PATH : paths[int(paths.length)]!;
  return request(p, JSON.stringify(VALID), {}, p === ORDER_PATH && m === "POST" ? "PUT" : m);
}

interface RawAnswer {
  status?: number;
  contentType?: string;
  body: string;
  error?: string;
}

/** Sends raw bytes, reads one HTTP answer until the server closes or the answer is complete. */
function sendRaw(host: string, port: number, bytes: Buffer, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
      if (!m) return resolve({ body: text, error: error ?? "no HTTP answer" });
      // an empty content-type is none
      const contentType = /^content-type:\s*(.*)$/im.exec(m[2]!)?.[1]?.trim() || undefined;
      resolve({ status: Number(m[1]), contentType, body: m[3]!, error });
    };
    const timer = setTimeout(() => finish("timed out"), timeoutMs);
    sock.on("data", (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      const len = /^content-length:\s*(\d+)/im.exec(text.slice(0, headEnd))?.[1];
      if (headEnd >= 0 && len !== undefined && Buffer.byteLength(text.slice(headEnd + 4), "latin1") >= Number(len))
        finish();
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      // the server may close while we still write a refused body: the answer already read counts
      if (chunks.length > 0) finish();
      else finish(e.code ?? e.message);
    });
    sock.on("close", () => finish());
    sock.write(bytes, () => sock.end());
  });
}

/** Whether an answer is a clear error: a 4xx carrying {error, message} as JSON. */
export function judge(a: RawAnswer): string | undefined {
  if (a.status === undefined) return `no answer (${a.error ?? "closed"})`;
  if (a.status >= 500) return `answered ${a.status}`;
  if (a.status < 400) return `answered ${a.status} to a malformed request`;
  if (!/application\/json/i.test(a.contentType ?? ""))
    return `answered ${a.status} without a JSON body (${a.contentType ?? "no content-type"})`;
  try {
    const b = JSON.parse(a.body) as { error?: unknown; message?: unknown };
    if (typeof b.error !== "string" || typeof b.message !== "string" || b.message.length < 10)
      return `answered ${a.status} without a clear {error, message}`;
  } catch {
    return `answered ${a.status} with a body that is not JSON`;
  }
  return undefined;
}

export interface FuzzOptions {
  url: string;
  count: number;
  seed: number;
  concurrency: number;
  bodyLimit: number;
  timeoutMs: number;
  onProgress?: (sent: number) => void;
}

export async function fuzzExecutor(o: FuzzOptions): Promise<FuzzReport> {
  const { hostname, port } = new URL(o.url);
  const host = hostname.replace(/^\[|\]$/g, "");
  const t0 = performance.now();
  const report: FuzzReport = { seed: o.seed, sent: 0, byKind: {}, byStatus: {}, clearErrors: 0, failures: [], ms: 0 };
  let next = 0;
  const worker = async () => {
    while (next < o.count) {
      const c = fuzzCase(o.seed, next++, o.bodyLimit);
      const a = await sendRaw(host, Number(port), c.bytes, o.timeoutMs);
      report.sent++;
      report.byKind[c.kind] = (report.byKind[c.kind] ?? 0) + 1;
      report.byStatus[a.status ?? "none"] = (report.byStatus[a.status ?? "none"] ?? 0) + 1;
      const why = judge(a);
      if (why === undefined) report.clearErrors++;
      else
        report.failures.push({
          index: c.index,
          kind: c.kind,
          why,
          status: a.status,
          head: c.bytes.subarray(0, 120).toString("latin1"),
        });
      if (report.sent % 500 === 0) o.onProgress?.(report.sent);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  report.ms = Math.round(performance.now() - t0);
  return report;
}
