import zlib from "node:zlib";

/**
 * What the executor's market relay writes itself, instead of through `ws`'s per-socket sender:
 * whole server frames (RFC 6455 §5.2, unmasked, as a server's are) and permessage-deflate
 * payloads (RFC 7692 §7.2.1) compressed synchronously on the event loop.
 */

const TEXT = 0x1;
const BINARY = 0x2;
/** RSV1: the message is compressed (RFC 7692 §6). */
const RSV1 = 0x40;

/** One final frame around `payload`; a single buffer, so the same bytes can go to every socket. */
export function frame(payload: Buffer, binary: boolean, compressed: boolean): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x80 | (compressed ? RSV1 : 0) | (binary ? BINARY : TEXT);
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(out, head);
  return out;
}

interface RawHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    out: Buffer,
    outOff: number,
    outLen: number,
  ): void;
}

/**
 * A raw deflate stream driven synchronously, one message at a time, keeping its window between
 * messages (context takeover) unless reset. Node's public zlib API is either asynchronous (a
 * stream: one threadpool hop per message, which is what `ws` does) or one-shot (deflateRawSync:
 * a fresh 256 KiB context per call, ~25 µs for a 300-byte message). This drives the stream's
 * handle the way zlib's own sync path does (`processChunkSync` in node:zlib), without closing it.
 */
export class SyncDeflate {
  private readonly z: zlib.DeflateRaw;
  private readonly handle: RawHandle;
  private readonly state: Uint32Array;
  private readonly scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(level: number, windowBits = 15) {
    this.z = zlib.createDeflateRaw({ level, memLevel: 8, windowBits });
    const internals = this.z as unknown as { _handle?: RawHandle; _writeState?: Uint32Array };
    if (typeof internals._handle?.writeSync !== "function" || !(internals._writeState instanceof Uint32Array)) {
      throw new Error(
        `this Node.js (${process.version}) has no synchronous zlib stream handle; use WS_FANOUT=per-client`,
      );
    }
    this.handle = internals._handle;
    this.state = internals._writeState;
  }

  /**
   * `input` compressed as one permessage-deflate payload: deflate up to a sync flush (or a full
   * flush, after which nothing refers back past this message), without the flush's trailing
   * 00 00 ff ff (RFC 7692 §7.2.1).
   */
  compress(input: Buffer, fullFlush = false): Buffer {
    const flush = fullFlush ? zlib.constants.Z_FULL_FLUSH : zlib.constants.Z_SYNC_FLUSH;
    const parts: Buffer[] = [];
    let off = 0;
    let avail = input.length;
    for (;;) {
      this.handle.writeSync(flush, input, off, avail, this.scratch, 0, this.scratch.length);
      const availOut = this.state[0]!;
      const availIn = this.state[1]!;
      parts.push(Buffer.from(this.scratch.subarray(0, this.scratch.length - availOut)));
      off += avail - availIn;
      avail = availIn;
      if (availOut !== 0) break;
    }
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return all.subarray(0, all.length - 4);
  }

  /** Forgets the window: the next message refers to nothing before it. */
  reset(): void {
    this.z.reset();
  }

  close(): void {
    this.z.close();
  }
}
