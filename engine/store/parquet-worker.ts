/**
 * The Parquet decoder's thread (parquet.ts starts one per file). parquet-wasm panics on some damaged
 * files, and a panic inside its stream is thrown where no promise catches it: on the main thread that
 * would hang the load and take the server down. Here it ends this thread only, which the main side
 * reports as unreadable data.
 *
 * Protocol (pull, one batch in flight): the worker says {rows} once the footer is read; each "next" from
 * the main side is answered by {ipc} (a batch as Arrow IPC stream bytes, transferred), {end}, or {error}.
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
export type ParquetWorkerMessage = { rows: number } | { ipc: Uint8Array } | { end: true; schema: Uint8Array } | { error: string } | { internal: string };

const port = parentPort!;
const { module, path, batchRows } = workerData as ParquetWorkerData;

function fail(e: unknown): void {
  port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies ParquetWorkerMessage);
}

try {
  await initParquetWasm({ module_or_path: module });
} catch (e) {
  port.postMessage({ internal: e instanceof Error ? e.message : String(e) } satisfies ParquetWorkerMessage);
  throw e;
}
try {
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  port.postMessage({ rows: Number(file.metadata().fileMetadata().numRows()) } satisfies ParquetWorkerMessage);
  const reader = (await file.stream({ batchSize: batchRows })).getReader();
  port.on("message", () => {
    reader.read().then(
      (next: { done: boolean; value?: { intoIPCStream(): Uint8Array } }) => {
        if (next.done) {
          // the schema too: a file with no rows still names its columns and types
          port.postMessage({ end: true, schema: file.schema().intoIPCStream() } satisfies ParquetWorkerMessage);
          return;
        }
        const ipc = next.value!.intoIPCStream();
        port.postMessage({ ipc } satisfies ParquetWorkerMessage, [ipc.buffer as ArrayBuffer]);
      },
      fail,
    );
  });
} catch (e) {
  fail(e);
}
