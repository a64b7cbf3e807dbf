/**
 * Micro-batching keyed by symbol.
 *
 * fixed (the guide's): a key's batch goes out when it reaches maxSize orders or when flushMs
 * has passed since its first order, whichever comes first.
 * adaptive: a batch goes out at once (next turn of the event loop, so orders that arrived
 * together travel together) while fewer than maxInFlight batches of that key are in flight;
 * while they are, orders accumulate until one returns, the batch fills, or flushMs passes.
 * A fixed window costs up to flushMs of latency to every order at low concurrency; adaptive
 * only batches when there is a queue to batch.
 *
 * Every order is flushed exactly once: it leaves the pending list when its batch is cut, and
 * its caller gets its own result or its own error. Nothing is retried here, so nothing is sent
 * twice.
 */
export interface BatcherOptions {
  maxSize: number;
  flushMs: number;
  mode: "fixed" | "adaptive";
  maxInFlight: number;
}

export type FlushReason = "size" | "timer" | "idle" | "drain";

export interface FlushEvent {
  key: string;
  size: number;
  reason: FlushReason;
  /** From the first order entering the batch to its results. */
  latencyMs: number;
  failed: boolean;
}

/** Flushes one batch; answers one result or Error per item, in order. */
export type FlushFn<I, R> = (key: string, items: I[]) => Promise<Array<R | Error>>;

export class BatcherClosedError extends Error {
  constructor() {
    super("the executor is shutting down and accepts no new orders");
  }
}

interface Entry<I, R> {
  item: I;
  resolve(r: R): void;
  reject(e: Error): void;
}

interface KeyState<I, R> {
  entries: Entry<I, R>[];
  firstAt: number;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  inFlight: number;
}

export class Batcher<I, R> {
  private readonly keys = new Map<string, KeyState<I, R>>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly flushFn: FlushFn<I, R>,
    private readonly onFlushed: (e: FlushEvent) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  submit(key: string, item: I): Promise<R> {
    if (this.closed) return Promise.reject(new BatcherClosedError());
    return new Promise<R>((resolve, reject) => {
      const st = this.state(key);
      if (st.entries.length === 0) st.firstAt = this.now();
      st.entries.push({ item, resolve, reject });
      if (st.entries.length >= this.opts.maxSize) return this.flush(key, st, "size");
      if (this.opts.mode === "adaptive" && st.inFlight < this.opts.maxInFlight) {
        st.immediate ??= setImmediate(() => {
          st.immediate = undefined;
          if (st.entries.length > 0 && st.inFlight < this.opts.maxInFlight) this.flush(key, st, "idle");
        });
      }
      this.arm(key, st);
    });
  }

  /** Starts the window of the batch now filling, unless it already runs. */
  private arm(key: string, st: KeyState<I, R>): void {
    if (st.timer || st.entries.length === 0 || this.closed) return;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      if (st.entries.length > 0) this.flush(key, st, "timer");
    }, this.opts.flushMs);
  }

  /** Orders waiting for a flush, over all keys. */
  pending(): number {
    let n = 0;
    for (const st of this.keys.values()) n += st.entries.length;
    return n;
  }

  /** Refuses new orders, flushes every pending batch, and waits for all batches in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [key, st] of this.keys) {
      while (st.entries.length > 0) this.flush(key, st, "drain");
    }
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private state(key: string): KeyState<I, R> {
    let st = this.keys.get(key);
    if (!st) {
      st = { entries: [], firstAt: 0, timer: undefined, immediate: undefined, inFlight: 0 };
      this.keys.set(key, st);
    }
    return st;
  }

  private flush(key: string, st: KeyState<I, R>, reason: FlushReason): void {
    const batch = st.entries.splice(0, this.opts.maxSize);
    const firstAt = st.firstAt;
    st.firstAt = this.now();
    // the orders left behind start a window of their own
    if (st.timer) clearTimeout(st.timer);
    st.timer = undefined;
    this.arm(key, st);
    st.inFlight++;
    const done = this.run(key, batch, reason, firstAt).finally(() => {
      st.inFlight--;
      this.running.delete(done);
      // adaptive: a batch came back, so the queue that built up behind it may go now
      if (this.opts.mode === "adaptive" && st.entries.length > 0 && st.inFlight < this.opts.maxInFlight)
        this.flush(key, st, "idle");
    });
    this.running.add(done);
  }

  /**
   * Runs the flush, reports it, then settles every caller: the report comes first so that a
   * metrics scrape made right after an order's answer already counts its batch.
   */
  private async run(key: string, batch: Entry<I, R>[], reason: FlushReason, firstAt: number): Promise<void> {
    let results: Array<R | Error>;
    try {
      results = await this.flushFn(
        key,
        batch.map((e) => e.item),
      );
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.onFlushed({ key, size: batch.length, reason, latencyMs: this.now() - firstAt, failed: true });
      for (const entry of batch) entry.reject(e);
      return;
    }
    this.onFlushed({ key, size: batch.length, reason, latencyMs: this.now() - firstAt, failed: false });
    batch.forEach((entry, i) => {
      const r = results[i];
      if (r === undefined)
        entry.reject(new Error(`batch answered ${results.length} results for ${batch.length} orders`));
      else if (r instanceof Error) entry.reject(r);
      else entry.resolve(r);
    });
  }
}
