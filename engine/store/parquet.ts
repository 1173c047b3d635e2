/**
 * Parquet input: `lasso load users.parquet`, and `POST …/load` with Content-Type
 * application/vnd.apache.parquet (the body is spooled to a file first: a Parquet file's schema and row
 * group index sit in a footer at its end).
 *
 * parquet-wasm (arrow-rs compiled to Wasm) reads the file through a Blob over it, by byte ranges, a row
 * group at a time: the file is never read whole, and its Wasm memory holds one row group's column chunks.
 * Each decoded batch leaves Wasm as Arrow IPC bytes, read back by apache-arrow as record batches for the
 * same ingest as Arrow input — types follow SEL.md's table exactly as for Arrow (a Parquet DECIMAL
 * arrives as Decimal and loads as float, a LIST<VARCHAR> as List<Utf8> and loads as multi).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import * as arrow from "apache-arrow";
import { LassoError } from "../errors.js";
import { workerScript } from "../worker-script.js";
import type { ParquetWorkerData, ParquetWorkerMessage, ParquetWorkerRequest } from "./parquet-worker.js";

/** Rows per decoded batch: large enough that per-batch costs vanish, small enough to bound memory. */
const BATCH_ROWS = 65_536;

/** The media type IANA registered for Parquet (2024): a load body of this type is read by this module. */
export const PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet";

/** First and last 4 bytes of every Parquet file. */
const PARQUET_MAGIC = new TextEncoder().encode("PAR1");

let compiled: Promise<WebAssembly.Module> | null = null;

/**
 * parquet-wasm's module, compiled once (6.6 MB of Wasm) and handed to each decoder thread. Its Node build
 * is CommonJS inside a package marked as ES modules, which Node refuses to load, so the worker uses its
 * ES-module build, given this module instead of a URL to fetch.
 */
function parquetModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(createRequire(import.meta.url).resolve("parquet-wasm/esm/parquet_wasm_bg.wasm")));
  return compiled;
}

export interface ParquetSource {
  /** Rows in the file, from its footer (progress is rows read of these). */
  rows: number;
  /** The rows as Arrow record batches, in file order; the decoders stop when they end or are left. */
  batches: AsyncGenerator<arrow.RecordBatch>;
}

/** Whether `head` (a file's first bytes) starts as a Parquet file does. */
export function isParquet(head: Uint8Array): boolean {
  return head.length >= 4 && PARQUET_MAGIC.every((b, i) => head[i] === b);
}

/**
 * Decoder threads per file: decoding is the slow stage (the main thread waited for one decoder half the
 * time), so two decode alternate row groups. Not more: each holds a whole row group's column chunks
 * (hundreds of MB in files written by Spark), and the main thread's share caps the gain anyway.
 */
const DECODERS = 2;

/** Opens a Parquet file on decoder threads of its own (parquet-worker.ts); damaged files are `bad_request`. */
export async function openParquet(path: string): Promise<ParquetSource> {
  const data: ParquetWorkerData = { module: await parquetModule(), path, batchRows: BATCH_ROWS };
  const decoders: Decoder[] = [];
  // a failure in any decoder fails the load at once, not when the consumer reaches that decoder's group
  const failAll = (e: LassoError) => decoders.forEach((d) => d.fail(e));
  const start = () => new Decoder(new Worker(workerScript(import.meta.url, "parquet-worker.js"), { workerData: data }), failAll);
  decoders.push(start());
  try {
    const head = await decoders[0]!.receive();
    if (!("groups" in head)) throw new LassoError("internal", "the Parquet decoder answered out of turn");
    while (decoders.length < Math.min(DECODERS, head.groups)) decoders.push(start());
    for (const d of decoders.slice(1)) await d.receive(); // the same footer: only its errors matter
    return { rows: head.rows, batches: decode(decoders, head.groups, head.schema) };
  } catch (e) {
    await Promise.all(decoders.map((d) => d.stop()));
    throw e;
  }
}

/** Row group g is decoded by decoders[g % n]: the next group is under way while this one is loaded. */
async function* decode(decoders: Decoder[], groups: number, schema: Uint8Array): AsyncGenerator<arrow.RecordBatch> {
  try {
    const n = decoders.length;
    const begin = (g: number) => {
      if (g < groups) decoders[g % n]!.assign(g);
    };
    for (let g = 0; g < Math.min(n, groups); g++) begin(g);
    let rows = 0;
    for (let g = 0; g < groups; g++) {
      const d = decoders[g % n]!;
      for (;;) {
        const m = await d.receive();
        if ("groupEnd" in m) break;
        if (!("ipc" in m)) throw new LassoError("internal", "the Parquet decoder answered out of turn");
        // the group's next batch is decoded while this one is loaded
        d.ask();
        const table = readIpc(m.ipc);
        rows += table.numRows;
        yield* table.batches;
      }
      // this decoder is free: it takes the group n ahead
      begin(g + n);
    }
    // no rows: one empty batch, so that the schema still reaches the load (new tags, key check)
    if (rows === 0) yield emptyBatch(readIpc(schema).schema);
  } finally {
    await Promise.all(decoders.map((d) => d.stop()));
  }
}

/** The decoder thread's answers, one at a time; its failure or death is unreadable data. */
class Decoder {
  private waiting: { resolve: (m: ParquetWorkerMessage) => void; reject: (e: LassoError) => void } | null = null;
  private queued: ParquetWorkerMessage[] = [];
  private failed: LassoError | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly onFail: (e: LassoError) => void,
  ) {
    worker.on("message", (m: ParquetWorkerMessage) => {
      if ("error" in m) this.fail(unreadable(m.error));
      else if ("internal" in m) this.fail(new LassoError("internal", `the Parquet decoder could not start: ${m.internal}`));
      else if (this.waiting) this.settle().resolve(m);
      else this.queued.push(m);
    });
    worker.on("error", (e) => {
      // a panic in parquet-wasm ends the thread with an uncaught RuntimeError ("unreachable"): the data's
      // fault; anything else (out of memory, a missing script) is ours
      if (e.name === "RuntimeError") this.fail(unreadable(`the decoder failed on it (${e.message}): the file is damaged, or uses a feature parquet-wasm does not read`));
      else this.fail(new LassoError("internal", `the Parquet decoder failed: ${e.message}`));
    });
    worker.on("exit", () => this.fail(new LassoError("internal", "the Parquet decoder stopped unexpectedly")));
  }

  /** Starts on row group `g` and asks for its first batch. */
  assign(g: number): void {
    this.worker.postMessage({ group: g } satisfies ParquetWorkerRequest);
    this.ask();
  }

  ask(): void {
    this.worker.postMessage("next" satisfies ParquetWorkerRequest);
  }

  receive(): Promise<ParquetWorkerMessage> {
    const m = this.queued.shift();
    if (m) return Promise.resolve(m);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async stop(): Promise<void> {
    this.failed ??= new LassoError("cancelled", "the Parquet decoder was stopped");
    await this.worker.terminate();
  }

  fail(e: LassoError): void {
    if (this.failed) return;
    this.failed = e;
    if (this.waiting) this.settle().reject(e);
    this.onFail(e);
  }

  private settle() {
    const w = this.waiting!;
    this.waiting = null;
    return w;
  }
}

function readIpc(ipc: Uint8Array): arrow.Table {
  try {
    return arrow.tableFromIPC(ipc);
  } catch (e) {
    // arrow-rs produced a type Arrow JS cannot read (LargeList, Utf8View, …)
    throw new LassoError("bad_request", `a Parquet column has a type Lasso cannot load: ${messageOf(e)}`);
  }
}

/** A batch of no rows with `schema`'s columns (builders give empty data of any type). */
function emptyBatch(schema: arrow.Schema): arrow.RecordBatch {
  const children = schema.fields.map((f) => arrow.makeBuilder({ type: f.type }).finish().flush());
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: 0, nullCount: 0, children }));
}

function unreadable(e: unknown): LassoError {
  if (e instanceof LassoError) return e;
  return new LassoError("bad_request", `unreadable Parquet data: ${messageOf(e)}`);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
