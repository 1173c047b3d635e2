// Parquet load speed: the standard fixture written as Parquet (parquet-wasm, zstd, 128K-row groups), loaded
// into an in-memory engine, beside DuckDB (2 threads) reading the same file into an in-memory table in the
// same process, twice. Not a test (timings belong to benchmarks); run after `npm run build`:
//
//   node test/store/parquet-measure.mjs [rows=1000000]
//
// The Parquet file is kept in the system temp directory (lasso-parquet-measure-ROWS.parquet) for later runs.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import initParquetWasm, { Table as WasmTable, writeParquet, WriterPropertiesBuilder, Compression } from "parquet-wasm/esm";
import { openEngine } from "../../dist/engine/index.js";
import { generateBatches, KEY_COLUMN } from "../../dist/fixtures/generate.js";
import { ipcStream } from "../../dist/server/arrow-ipc.js";
import { parquetFileBody } from "../../dist/server/parquet-load.js";
const rows = Number(process.argv[2] ?? 1_000_000);
const path = join(tmpdir(), `lasso-parquet-measure-${rows}.parquet`);
if (!existsSync(path)) {
  await initParquetWasm({ module_or_path: readFileSync(createRequire(import.meta.url).resolve("parquet-wasm/esm/parquet_wasm_bg.wasm")) });
  const parts = [];
  for await (const p of ipcStream(generateBatches({ rows, seed: 1, schema: "standard" }))) parts.push(Buffer.from(p));
  const t = WasmTable.fromIPCStream(Buffer.concat(parts));
  const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setMaxRowGroupSize(131072).build();
  // under another name first: an interrupted run must not leave a partial file to be reused
  writeFileSync(`${path}.tmp-${process.pid}`, writeParquet(t, props));
  renameSync(`${path}.tmp-${process.pid}`, path);
}
const size = readFileSync(path).length;
const db = await DuckDBInstance.create(":memory:", { threads: "2" });
const c = await db.connect();
for (let round = 0; round < 2; round++) {
  let t = performance.now();
  await c.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet('${path}')`);
  const duck = performance.now() - t;
  const e = await openEngine({ threads: 0 });
  t = performance.now();
  const r = await e.load({ entity: "user", key: KEY_COLUMN, body: parquetFileBody(path) });
  const lasso = performance.now() - t;
  await e.close();
  console.log(JSON.stringify({ rows: r.rows, parquetMB: Math.round(size / 1e6), lassoMs: Math.round(lasso), duckdbMs: Math.round(duck), lassoRowsPerSec: Math.round(rows / lasso * 1000), ratio: Math.round((lasso / duck) * 100) / 100 }));
}
