/**
 * A Parquet body as the Arrow IPC stream `engine.load` takes: the one way both `lasso load FILE.parquet`
 * and `POST …/load` with Content-Type application/vnd.apache.parquet build it. A request body is spooled
 * to a temporary file first (never into JS memory): Parquet keeps its schema and row-group index in a
 * footer at the end, and parquet-wasm reads the file by ranges.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  const dir = await mkdtemp(join(tmpdir(), "lasso-load-"));
  try {
    const path = join(dir, "body.parquet");
    const out = await open(path, "w");
    try {
      for await (const chunk of body) await out.write(chunk);
    } finally {
      await out.close();
    }
    yield* parquetFileBody(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
