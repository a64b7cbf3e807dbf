/** In-process micro-benchmarks: interleaved timed batches, and the open-order fixtures they serialize. */
import { readFileSync } from "node:fs";
import type { ExchangeOrder } from "../../services/common/src/exchange-types.js";
import { fixturePath } from "../../services/common/src/project.js";
import { toOpenOrderView, type OpenOrdersView } from "../../services/executor/src/lib/fastJson.js";

/** Median with the mean of the middle pair for an even count (the one median perfpack uses). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** How many calls of `fn` take about `batchMs`, after a warm-up. */
function calibrate(fn: () => string, batchMs: number): number {
  for (let i = 0; i < 50; i++) fn();
  for (let n = 1; ; n *= 4) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= batchMs / 4) return Math.max(1, Math.ceil((n * batchMs) / ms));
  }
}

/**
 * ns per call of each function: timed batches of ~15 ms, the functions taking turns batch by
 * batch (A B A B …) so that whatever else the machine does hits them alike; the median batch
 * counts. The perfpack process shares the machine with the services it launched. Between batches
 * it yields to the event loop, so that a Ctrl-C is heard within a batch; `signal` ends it there.
 */
export async function nsPerOp(
  fns: Record<string, () => string>,
  o: { signal?: AbortSignal; reps?: number; batchMs?: number } = {},
): Promise<Record<string, number>> {
  const { reps = 7, batchMs = 15, signal } = o;
  const names = Object.keys(fns);
  const n: Record<string, number> = {};
  for (const k of names) {
    n[k] = calibrate(fns[k]!, batchMs);
    await between(signal);
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < reps; r++) {
    for (const k of r % 2 ? [...names].reverse() : names) {
      const fn = fns[k]!;
      const count = n[k]!;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) fn();
      samples[k]!.push(Number(process.hrtime.bigint() - t0) / count);
      await between(signal);
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(samples[k]!)]));
}

/** A turn of the event loop between batches; throws the abort's reason once `signal` has fired. */
async function between(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
  signal?.throwIfAborted();
}

export function loadFixture(n: 50 | 500): OpenOrdersView {
  const orders = (JSON.parse(readFileSync(fixturePath(`open-orders-${n}.json`), "utf8")) as ExchangeOrder[]).map(
    toOpenOrderView,
  );
  return { count: orders.length, orders };
}
