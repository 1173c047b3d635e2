/**
 * Cuts an Arrow IPC stream body into whole messages before apache-arrow's reader sees it, one chunk per
 * message. Fed the body's own chunks (1 MiB off a file, 64 KiB off a socket), the reader joins them into a
 * fresh buffer per message: a new 20+ MB ArrayBuffer for every record batch, whose pages are faulted in
 * on first touch and whose external memory drives the garbage collector. Given whole messages it reads
 * every part as a view, and record batches come from three buffers reused in turn.
 *
 * Reuse is safe because ingest is done with a batch before it asks for the next one: while batch k is
 * ingested, message k+1 is read ahead into the next buffer, and the third buffer (batch k−1's) is dead.
 * Schema and dictionary messages get buffers of their own (the reader keeps dictionaries for the rest
 * of the stream).
 *
 * Lengths come from the bytes, so they may lie: nothing is allocated by a claimed length, only by bytes
 * that have arrived (buffers grow as the bytes come), and a body that ends early is `bad_arrow`. After
 * the end-of-stream marker, or for anything this does not recognise, the rest passes through untouched
 * and the reader judges it as before.
 */
import * as arrow from "apache-arrow";
import { LassoError } from "../errors.js";

/** How many bytes a buffer grows by before more bytes have arrived (bounds memory under lying lengths). */
const GROW_STEP = 64 << 20;
const RING = 3;

export async function* ipcMessages(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const inner = frames(body);
  let pending = inner.next();
  for (;;) {
    const r = await pending;
    if (r.done) return;
    // the next message is read (into another buffer) while the caller works on this one; the caller's
    // pauses for I/O (ingest yields between columns) let it advance
    pending = inner.next();
    pending.catch(() => undefined); // rethrown where it is awaited
    yield r.value;
  }
}

async function* frames(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const src = new ByteSource(body[Symbol.asyncIterator]());
  const ring: (Uint8Array | null)[] = new Array<Uint8Array | null>(RING).fill(null);
  let turn = 0;
  for (;;) {
    const prefix = new Uint8Array(8);
    let got = await src.read(prefix, 0, 4);
    if (got === 0) return;
    if (got < 4) {
      yield prefix.subarray(0, got);
      return;
    }
    const first = readInt32(prefix, 0);
    let head = 4;
    let metaLength = first;
    if (first === -1) {
      got = await src.read(prefix, 4, 4);
      if (got < 4) {
        yield prefix.subarray(0, 4 + got);
        return;
      }
      metaLength = readInt32(prefix, 4);
      head = 8;
    }
    if (metaLength <= 0) {
      // end of stream (0), or a length the reader refuses: its bytes and whatever follows as they are
      yield prefix.subarray(0, head);
      yield* src.rest();
      return;
    }
    const meta = await src.readGrowing(new Uint8Array(Math.min(metaLength, GROW_STEP)), 0, metaLength);
    if (meta.filled < metaLength) throw early("metadata", metaLength, meta.filled);
    let message: arrow.Message;
    try {
      message = arrow.Message.decode(meta.bytes.subarray(0, metaLength));
    } catch (e) {
      throw new LassoError("bad_arrow", `unreadable Arrow IPC data: message metadata: ${e instanceof Error ? e.message : String(e)}`);
    }
    const bodyLength = Number(message.bodyLength);
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) {
      throw new LassoError("bad_arrow", `unreadable Arrow IPC data: a message body of ${message.bodyLength} bytes`);
    }
    const total = head + metaLength + bodyLength;
    const reuse = message.headerType === arrow.MessageHeader.RecordBatch;
    let buf = reuse ? ring[turn % RING] : null;
    const want = Math.min(total, head + metaLength + GROW_STEP);
    if (!buf || buf.length < want) buf = new Uint8Array(reuse ? Math.max(want, buf ? buf.length : 0) : want);
    buf.set(prefix.subarray(0, head), 0);
    buf.set(meta.bytes.subarray(0, metaLength), head);
    const whole = await src.readGrowing(buf, head + metaLength, bodyLength);
    if (whole.filled < bodyLength) throw early("body", bodyLength, whole.filled);
    if (reuse) ring[turn++ % RING] = whole.bytes;
    yield whole.bytes.subarray(0, total);
  }
}

function readInt32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

function early(what: string, claimed: number, got: number): LassoError {
  return new LassoError("bad_arrow", `unreadable Arrow IPC data: the data ends inside a message ${what} (${got} of ${claimed} bytes)`);
}

/** The body's chunks, read into caller buffers across chunk boundaries. */
class ByteSource {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private ended = false;

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Copies up to `n` bytes to `dst` at `at`; fewer only at the end of the body. Returns the count. */
  async read(dst: Uint8Array, at: number, n: number): Promise<number> {
    let done = 0;
    while (done < n) {
      if (this.pos === this.chunk.length && !(await this.more())) break;
      const k = Math.min(n - done, this.chunk.length - this.pos);
      dst.set(this.chunk.subarray(this.pos, this.pos + k), at + done);
      this.pos += k;
      done += k;
    }
    return done;
  }

  /**
   * Reads `n` bytes to `dst` at `at`, replacing `dst` by a larger copy as bytes arrive (never more than
   * GROW_STEP ahead of them). Returns the buffer holding them and how many came.
   */
  async readGrowing(dst: Uint8Array, at: number, n: number): Promise<{ bytes: Uint8Array; filled: number }> {
    let filled = 0;
    while (filled < n) {
      const room = dst.length - at - filled;
      if (room <= 0) {
        const need = at + Math.min(n, filled + GROW_STEP);
        const next = new Uint8Array(Math.max(need, Math.min(at + n, dst.length * 2)));
        next.set(dst.subarray(0, at + filled));
        dst = next;
        continue;
      }
      const got = await this.read(dst, at + filled, Math.min(room, n - filled));
      filled += got;
      if (got === 0) break;
    }
    return { bytes: dst, filled };
  }

  /**
   * Everything not read yet, as it comes. Copies: the reader may hold these past the next chunk, and a
   * body may reuse its chunk buffer once asked for the next (LoadRequest.body). Only a stream's tail
   * after its end marker, or bytes this does not recognise, come this way.
   */
  async *rest(): AsyncGenerator<Uint8Array> {
    if (this.pos < this.chunk.length) yield this.chunk.slice(this.pos);
    this.pos = this.chunk.length;
    while (await this.more()) {
      yield this.chunk.slice();
      this.pos = this.chunk.length;
    }
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      if (r.value.length === 0) continue;
      this.chunk = r.value;
      this.pos = 0;
      return true;
    }
  }
}
