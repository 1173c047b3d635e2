/**
 * The Parquet decoder's thread (parquet.ts starts one per file). parquet-wasm panics on some damaged
 * files, and a panic inside its stream is thrown where no promise catches it: on the main thread that
 * would hang the load and take the server down. Here it ends this thread only, which the main side
 * reports as unreadable data.
 *
 * Protocol (pull, one batch in flight): the worker says {rows, groups, schema} once the footer is read.
 * The main side then hands it row groups one at a time ({group}); each "next" is answered by {ipc} (a
 * batch of that group as Arrow IPC stream bytes, transferred), {groupEnd}, or {error}. Several workers
 * decode alternate row groups of one file at once.
 */
import { openAsBlob } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import initParquetWasm, { ParquetFile } from "parquet-wasm/esm";

export interface ParquetWorkerData {
  /** parquet-wasm's module, compiled once on the main thread. */
  module: WebAssembly.Module;
  path: string;
  batchRows: number;
}

/** `error`: the file could not be read (bad input); `internal`: the decoder could not start (our fault). */
export type ParquetWorkerMessage =
  | { rows: number; groups: number; schema: Uint8Array }
  | { ipc: Uint8Array }
  | { groupEnd: true }
  | { error: string }
  | { internal: string };

/** What the main side sends: the row group to decode next, or a request for its next batch. */
export type ParquetWorkerRequest = { group: number } | "next";

const port = parentPort!;
const { module, path, batchRows } = workerData as ParquetWorkerData;

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

function fail(e: unknown): void {
  port.postMessage({ error: messageOf(e) } satisfies ParquetWorkerMessage);
}

try {
  await initParquetWasm({ module_or_path: module });
} catch (e) {
  port.postMessage({ internal: messageOf(e) } satisfies ParquetWorkerMessage);
  throw e;
}
try {
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  const meta = file.metadata();
  port.postMessage({
    rows: Number(meta.fileMetadata().numRows()),
    groups: meta.numRowGroups(),
    // the schema too: a file with no rows still names its columns and types
    schema: file.schema().intoIPCStream(),
  } satisfies ParquetWorkerMessage);
  type Reader = ReadableStreamDefaultReader<{ intoIPCStream(): Uint8Array }>;
  let current: Promise<Reader> | null = null;
  port.on("message", (m: ParquetWorkerRequest) => {
    if (m !== "next") {
      current = file.stream({ batchSize: batchRows, rowGroups: [m.group] }).then((s: ReadableStream) => s.getReader() as Reader);
      current.catch(() => undefined); // reported by the read that follows (assign always asks)
      return;
    }
    current!
      .then((reader) => reader.read())
      .then((next) => {
        if (next.done) {
          port.postMessage({ groupEnd: true } satisfies ParquetWorkerMessage);
          return;
        }
        const ipc = next.value.intoIPCStream();
        port.postMessage({ ipc } satisfies ParquetWorkerMessage, [ipc.buffer as ArrayBuffer]);
      })
      // a conversion error in intoIPCStream is the data's too
      .catch(fail);
  });
} catch (e) {
  fail(e);
}
