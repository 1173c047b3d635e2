/**
 * A Parquet body as the Arrow IPC stream `engine.load` takes: the one way both `lasso load FILE.parquet`
 * and `POST …/load` with Content-Type application/vnd.apache.parquet build it. A request body is spooled
 * to a temporary file first (never into JS memory): Parquet keeps its schema and row-group index in a
 * footer at the end, and parquet-wasm reads the file by ranges.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { spool, spoolDir } from "../engine/store/ingest.js";
import { openParquet } from "../engine/store/parquet.js";
import { ipcStream } from "./arrow-ipc.js";

/** A Parquet file as IPC stream bytes; `onRows` hears the file's row count once its footer is read. */
export async function* parquetFileBody(path: string, onRows?: (rows: number) => void): AsyncGenerator<Uint8Array> {
  const src = await openParquet(path);
  onRows?.(src.rows);
  yield* ipcStream(src.batches);
}

/** A Parquet request body as IPC stream bytes: spooled, read, and the spool removed however the load ends. */
export async function* parquetRequestBody(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const dir = await spoolDir();
  try {
    const path = join(dir, "body.parquet");
    await spool(body, path);
    yield* parquetFileBody(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
