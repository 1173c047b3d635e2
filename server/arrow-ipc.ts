/**
 * Arrow IPC stream bytes produced piece by piece (schema, then one message per batch, then the
 * end-of-stream marker), so a large answer or a generated data set never sits whole in memory.
 *
 * apache-arrow's RecordBatchStreamWriter buffers its output in an AsyncByteQueue meant to be read
 * asynchronously; handing it a queue of our own (`reset(sink)` accepts any AsyncByteQueue) lets us take
 * the bytes synchronously right after each write.
 */
import { AsyncByteQueue, RecordBatch, RecordBatchStreamWriter, type Schema } from "apache-arrow";

class TakeQueue extends AsyncByteQueue {
  private parts: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.parts.push(value);
  }
  take(): Uint8Array {
    const parts = this.parts;
    this.parts = [];
    if (parts.length === 1) return parts[0]!;
    const size = parts.reduce((n, p) => n + p.byteLength, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

export class IpcStreamEncoder {
  private readonly sink = new TakeQueue();
  private readonly writer = new RecordBatchStreamWriter({ autoDestroy: true });

  constructor(readonly schema: Schema) {}

  /** The schema message: the first bytes of the stream. */
  start(): Uint8Array {
    this.writer.reset(this.sink, this.schema);
    return this.sink.take();
  }

  /** One record batch message (plus dictionaries it needs). */
  batch(batch: RecordBatch): Uint8Array {
    this.writer.write(batch);
    return this.sink.take();
  }

  /** The end-of-stream marker. */
  end(): Uint8Array {
    this.writer.close();
    return this.sink.take();
  }
}

/** Record batches → IPC stream bytes, lazily (one batch in memory at a time). */
export async function* ipcStream(batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>): AsyncGenerator<Uint8Array> {
  let enc: IpcStreamEncoder | undefined;
  for await (const b of batches) {
    if (!enc) {
      enc = new IpcStreamEncoder(b.schema);
      yield enc.start();
    }
    yield enc.batch(b);
  }
  if (enc) yield enc.end();
}
