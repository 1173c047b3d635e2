/**
 * Arrow IPC (stream or file) → a staged store version. The body is consumed batch by batch as it arrives;
 * nothing but the current record batch is held in JS memory. Any failure rolls the transaction back, so a
 * failed load leaves the store exactly as it was (API.md "Bulk load").
 */
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import type { KeyType } from "../api.js";
import { LassoError } from "../errors.js";
import { checkBatch } from "./batch-check.js";
import { ipcMessages } from "./ipc-frames.js";
import { isParquet, PARQUET_MEDIA_TYPE } from "./parquet.js";
import { ioError, writeAt } from "./persist-io.js";
import { columnKind, finerUnit, keyTypeFits, keyTypeOf, type ColumnKind } from "./arrow-types.js";
import type { EntityStore } from "./entity.js";
import { Transaction, codeView, reserveCodes, setBitRange, type ListStage } from "./transaction.js";
import { Dictionary, UNIT_NS, codeBytesFor, type Chunk, type TagMeta, type TimeUnit } from "./tags.js";

export interface IngestOptions {
  key: string;
  signal?: AbortSignal;
  onProgress?: (rows: number) => void;
}

interface ColumnPlan {
  index: number;
  name: string;
  kind: ColumnKind;
}

const ARROW_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"
/** Columns written between two pauses for I/O (about 20 pauses in a 100-column batch). */
const YIELD_EVERY_COLUMNS = 5;

/** Reads the key column's type from a schema, for creating a new entity. */
export function keyTypeFromSchema(schema: arrow.Schema, key: string): KeyType {
  const idx = schema.fields.findIndex((f) => f.name === key);
  if (idx < 0) {
    const names = schema.fields.map((f) => f.name).join(", ");
    throw new LassoError("bad_request", `key column '${key}' is not in the data (columns: ${names || "none"})`);
  }
  const kt = keyTypeOf(schema.fields[idx]!.type);
  if (!kt) {
    throw new LassoError(
      "bad_request",
      `key column '${key}' has type ${schema.fields[idx]!.type}; keys must be Utf8, Int32, Int64, UInt32 or UInt64`,
    );
  }
  return kt;
}

export interface IpcSource {
  reader: arrow.AsyncRecordBatchStreamReader | arrow.AsyncRecordBatchFileReader;
  /** Closes and removes anything the source spooled. */
  close(): Promise<void>;
}

/**
 * Opens an IPC body. The stream format is read as it arrives. The file format keeps its schema and
 * batch index in a footer at the end (Arrow JS writes no schema message up front), so a file body is
 * spooled to a temporary file — never into JS memory — and read from there with random access.
 */
export async function openIpc(body: AsyncIterable<Uint8Array>): Promise<IpcSource> {
  const it = body[Symbol.asyncIterator]();
  /**
   * Lets go of the body when the load ends, perhaps before reading it all (an error, a cancel): a
   * generator body then runs its cleanup (a Parquet decoder thread, a spool file). Not awaited: the read-ahead may be
   * waiting inside the body for bytes that will not come, and the return runs once that wait ends.
   */
  const release = (): void => {
    try {
      void Promise.resolve(it.return?.()).catch(() => undefined);
    } catch {
      // a body whose return throws has nothing to clean
    }
  };
  try {
    const source = await openIpcBody(it);
    return {
      reader: source.reader,
      close: async () => {
        await source.close();
        release();
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

async function openIpcBody(it: AsyncIterator<Uint8Array>): Promise<IpcSource> {
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  try {
    while (head.length < 8) {
      const n = await it.next();
      if (n.done) {
        ended = true;
        break;
      }
      head = concat(head, n.value);
      // a piece kept across the next read is copied: the body may reuse its chunk buffer (LoadRequest.body)
      if (head.length < 8) head = head.slice();
    }
  } catch (e) {
    throw asArrowError(e);
  }
  if (isParquet(head)) {
    throw new LassoError("bad_arrow", `the body is a Parquet file, not Arrow IPC: send it as Content-Type ${PARQUET_MEDIA_TYPE} (lasso load: a .parquet file or --format parquet)`);
  }
  const isFile = head.length >= 8 && ARROW_MAGIC.every((b, i) => head[i] === b);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  if (!isFile) {
    try {
      const reader = (await arrow.RecordBatchReader.from(ipcMessages(rest()))) as unknown as arrow.AsyncRecordBatchStreamReader;
      await reader.open();
      if (!reader.schema) throw new Error("no schema message");
      return { reader, close: async () => undefined };
    } catch (e) {
      throw asArrowError(e);
    }
  }
  const dir = await spoolDir();
  const path = join(dir, "body.arrow");
  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true });
  };
  let handle: FileHandle | undefined;
  try {
    await spool(rest(), path);
    handle = await open(path, "r");
    const reader = (await arrow.RecordBatchReader.from(handle)) as unknown as arrow.AsyncRecordBatchFileReader;
    await reader.open();
    if (!reader.schema) throw new Error("no schema in the file footer");
    const h = handle;
    return {
      reader,
      close: async () => {
        await h.close().catch(() => undefined);
        await cleanup();
      },
    };
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await cleanup();
    throw asArrowError(e);
  }
}

/** A new temporary directory for a spooled body (removed by the caller); failure is `io_error`. */
export async function spoolDir(): Promise<string> {
  try {
    return await mkdtemp(join(tmpdir(), "lasso-load-"));
  } catch (e) {
    throw ioError(e, `could not create a temporary directory in ${tmpdir()} for the load body`);
  }
}

/**
 * Writes a body to a temporary file. A failed write (a full temp disk) is `io_error`, the server's fault
 * rather than the body's; errors of the body itself (cut short, client gone) pass through as they are.
 */
export async function spool(body: AsyncIterable<Uint8Array>, path: string): Promise<void> {
  const failed = (e: unknown) => ioError(e, `could not spool the load body to ${path}`);
  let out: FileHandle;
  try {
    out = await open(path, "w");
  } catch (e) {
    throw failed(e);
  }
  let ok = false;
  try {
    let at = 0;
    for await (const chunk of body) {
      try {
        await writeAt(out, path, chunk, at);
      } catch (e) {
        throw failed(e);
      }
      at += chunk.length;
    }
    ok = true;
  } finally {
    // a failed close is the error only when nothing failed before it
    await out.close().catch((e: unknown) => {
      if (ok) throw failed(e);
    });
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function asArrowError(e: unknown): LassoError {
  if (e instanceof LassoError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new LassoError("bad_arrow", `unreadable Arrow IPC data: ${msg}`);
}

/** Validates the schema against the entity's tags; returns the tag columns to write. */
export function planColumns(schema: arrow.Schema, key: string, tags: ReadonlyMap<string, TagMeta>, keyType: KeyType | null): ColumnPlan[] {
  const incomingKey = keyTypeFromSchema(schema, key);
  if (keyType && !keyTypeFits(keyType, incomingKey)) {
    throw new LassoError("schema_conflict", `key column '${key}' is ${incomingKey} but the entity's keys are ${keyType}`);
  }
  const seen = new Set<string>();
  const plans: ColumnPlan[] = [];
  schema.fields.forEach((f, index) => {
    if (seen.has(f.name)) throw new LassoError("schema_conflict", `column '${f.name}' appears more than once`);
    seen.add(f.name);
    if (f.name === key) return;
    if (f.name.length === 0) throw new LassoError("schema_conflict", `column ${index} has an empty name`);
    const kind = columnKind(f.type);
    if (!kind) throw new LassoError("schema_conflict", `column '${f.name}' has Arrow type ${f.type}, which maps to no tag type`);
    const tag = tags.get(f.name);
    if (tag && tag.type !== kind.type) {
      throw new LassoError(
        "schema_conflict",
        `column '${f.name}' is ${kind.type} (Arrow ${f.type}) but tag '${f.name}' is ${tag.type}`,
      );
    }
    plans.push({ index, name: f.name, kind });
  });
  return plans;
}

export async function ingest(
  store: EntityStore,
  reader: arrow.AsyncRecordBatchStreamReader | arrow.AsyncRecordBatchFileReader,
  opts: IngestOptions,
): Promise<Transaction> {
  const schema = reader.schema;
  const plans = planColumns(schema, opts.key, store.current.tags, store.keys.type);
  const keyIndex = schema.fields.findIndex((f) => f.name === opts.key);
  const tx = new Transaction(store);
  try {
    for (const p of plans) {
      if (!tx.tags.has(p.name)) tx.addTag(newTagMeta(p.name, p.kind));
      else {
        const d = tx.tags.get(p.name)!.dict;
        if (d) tx.trackDict(d);
      }
    }
    const seen = new SeenRows();
    const fresh = FreshKeys.start(tx);
    let rowsDone = 0;
    for (;;) {
      let next: IteratorResult<arrow.RecordBatch>;
      try {
        next = await reader.next();
      } catch (e) {
        throw asArrowError(e);
      }
      if (next.done) break;
      if (opts.signal?.aborted) throw new LassoError("cancelled", "load cancelled");
      const batch = next.value;
      checkBatch(batch);
      if (batch.numRows === 0) continue;
      const keyData = batch.getChildAt(keyIndex)!.data[0]!;
      const rows = fresh?.append(tx, keyData) ?? resolveKeys(tx, keyData, seen);
      const br = batchRows(rows, tx.shardRows);
      for (let c = 0; c < plans.length; c++) {
        const p = plans[c]!;
        writeColumn(tx, p, batch.getChildAt(p.index)!.data[0]!, br);
        // a pause for I/O now and then: the body's next message is read meanwhile (ipc-frames.ts), instead
        // of the load waiting for it after each batch. Between columns, never inside one (the writers'
        // scratch buffers are shared).
        if (c % YIELD_EVERY_COLUMNS === YIELD_EVERY_COLUMNS - 1) await new Promise<void>((r) => setImmediate(r));
      }
      rowsDone += batch.numRows;
      opts.onProgress?.(rowsDone);
    }
    fresh?.finish(tx);
    return tx;
  } catch (e) {
    tx.rollback();
    throw e;
  }
}

function newTagMeta(name: string, kind: ColumnKind): TagMeta {
  switch (kind.form) {
    case "codes":
      return { name, type: kind.type, form: "codes", codeBytes: 1, dict: new Dictionary() };
    case "list":
      return { name, type: kind.type, form: "list", codeBytes: 2, dict: new Dictionary() };
    default:
      return kind.unit ? { name, type: kind.type, form: kind.form, unit: kind.unit } : { name, type: kind.type, form: kind.form };
  }
}

/** Rows already given a value in this load: a second occurrence of a key is `duplicate_key`. */
class SeenRows {
  private bits = new Uint8Array(1024);
  testAndSet(row: number): boolean {
    const byte = row >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      next.set(this.bits);
      this.bits = next;
    }
    const m = 1 << (row & 7);
    const was = (this.bits[byte]! & m) !== 0;
    this.bits[byte]! |= m;
    return was;
  }
}

// Arrow's nullCount getter re-checks the type each call; writers ask per row, so remember the answer
// for the column being written.
let nullsData: arrow.Data | null = null;
let nullsBits: Uint8Array | null = null;

function isValid(data: arrow.Data, i: number): boolean {
  if (data !== nullsData) {
    nullsData = data;
    nullsBits = nullBits(data);
  }
  if (nullsBits === null) return true;
  const bit = data.offset + i;
  return (nullsBits[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

/** A column's validity bitmap (bit offset + i for row i), or null when every row is valid. */
function nullBits(data: arrow.Data): Uint8Array | null {
  return data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0 ? data.nullBitmap : null;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function utf8At(data: arrow.Data, i: number): string {
  const offs = data.valueOffsets as Int32Array | BigInt64Array;
  const j = data.offset + i;
  const a = Number(offs[j]!);
  const b = Number(offs[j + 1]!);
  return utf8.decode(data.values.subarray(a, b));
}

type IntValues = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/**
 * Value j of an integer column as two's complement (lo, hi) words: a 64-bit column's word pair, or a
 * narrower value sign-extended (unsigned arrays hold no negatives, so they extend with zeros).
 */
function loWord(words: Int32Array | null, narrow: IntValues | null, j: number): number {
  return words ? words[j * 2]! : narrow![j]! | 0;
}
function hiWord(words: Int32Array | null, narrow: IntValues | null, j: number): number {
  return words ? words[j * 2 + 1]! : narrow![j]! < 0 ? -1 : 0;
}

/**
 * Maps a batch's keys to rows: known keys to their row, new keys to rows appended in order (so a batch's
 * new rows are one contiguous range, marked existing in bulk). A key met twice in one load is
 * `duplicate_key`: a row created by this load found again, or an older row already `seen`.
 */
function resolveKeys(tx: Transaction, data: arrow.Data, seen: SeenRows): Int32Array {
  const keys = tx.store.keys;
  const n = data.length;
  if (data.nullCount > 0) {
    for (let i = 0; i < n; i++) if (!isValid(data, i)) throw new LassoError("null_key", `the key column has a null at row ${i} of a batch`);
  }
  const rows = new Int32Array(n);
  const firstNew = keys.rows;
  const loadStart = tx.firstNewRow;
  keys.reserveRows(n);
  const t = data.type as arrow.DataType;
  const dictKeys = arrow.DataType.isDictionary(t) ? dictionaryStrings(data) : null;
  const text = dictKeys !== null || arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t);
  const wide = !text && (t as arrow.Int).bitWidth === 64;
  const words = !text && wide ? new Int32Array(data.values.buffer, data.values.byteOffset, data.values.length * 2) : null;
  const narrow = !text && !wide ? (data.values as Int32Array | Uint32Array) : null;
  let updated = 0;
  for (let i = 0; i < n; i++) {
    let row: number;
    if (text) {
      const k = dictKeys ? dictKeys(i) : utf8At(data, i);
      row = keys.findStr(k);
      if (row < 0) row = keys.appendStr(k);
      else if (row >= loadStart || seen.testAndSet(row)) throw dup(k);
      else updated++;
    } else {
      const j = data.offset + i;
      const lo = loWord(words, narrow, j);
      const hi = hiWord(words, narrow, j);
      row = keys.findInt(lo, hi);
      if (row < 0) row = keys.appendInt(lo, hi);
      else if (row >= loadStart || seen.testAndSet(row)) throw dup(keys.jsonKey(row));
      else updated++;
    }
    rows[i] = row;
  }
  tx.updated += updated;
  tx.newRows(firstNew, keys.rows);
  return rows;
}

/**
 * The first load into an empty entity with integer keys in strictly ascending file order (the usual shape
 * of a bulk export): every key is then new and distinct by construction, so rows are appended without a
 * hash probe per key, and the hash is built once at the end, sized for the whole load (no regrowth). The
 * unhashed rows go through the key index's restore API, whose pending hash any other use finishes first.
 * The first batch that is not ascending (or not above the previous one) ends this path: the hash is
 * built for the rows so far and `resolveKeys` takes over, so duplicates are still refused.
 */
class FreshKeys {
  private lastLo = 0;
  private lastHi = 0;
  private reserved = 0;
  private rows = 0;
  private active = true;

  static start(tx: Transaction): FreshKeys | null {
    const keys = tx.store.keys;
    if (keys.type === "utf8" || keys.rows !== 0 || keys.size !== 0 || keys.hashPending) return null;
    return new FreshKeys();
  }

  /** Rows of a batch's keys, or null when the batch leaves the ascending path (hash built; resolve it). */
  append(tx: Transaction, data: arrow.Data): Int32Array | null {
    if (!this.active) return null;
    const n = data.length;
    const t = data.type as arrow.DataType;
    if (data.nullCount > 0 || !arrow.DataType.isInt(t)) return this.leave(tx);
    const off = data.offset;
    const wide = t.bitWidth === 64;
    const words = wide ? new Int32Array(data.values.buffer, data.values.byteOffset, data.values.length * 2) : null;
    const narrow = wide ? null : (data.values as IntValues);
    // strictly ascending in (signed hi, unsigned lo) order, above the last key appended: any total order
    // does, ascending only has to prove the keys distinct
    let pLo = this.lastLo;
    let pHi = this.lastHi;
    let first = this.rows === 0;
    for (let i = 0; i < n; i++) {
      const lo = loWord(words, narrow, off + i);
      const hi = hiWord(words, narrow, off + i);
      if (!first && (hi < pHi || (hi === pHi && lo >>> 0 <= pLo >>> 0))) return this.leave(tx);
      first = false;
      pLo = lo;
      pHi = hi;
    }
    const keys = tx.store.keys;
    const start = keys.rows;
    if (start + n > this.reserved) {
      this.reserved = Math.max(start + n, this.reserved * 2);
      keys.reserveRestored(this.reserved);
    }
    const dst = keys.restoreInt(n);
    if (words) dst.set(words.subarray(off * 2, (off + n) * 2));
    else {
      for (let i = 0; i < n; i++) {
        dst[i * 2] = loWord(null, narrow, off + i);
        dst[i * 2 + 1] = hiWord(null, narrow, off + i);
      }
    }
    this.lastLo = pLo;
    this.lastHi = pHi;
    this.rows = start + n;
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = start + i;
    tx.newRows(start, start + n);
    return rows;
  }

  /** Builds the hash of the rows appended so far (all of them entities). */
  finish(tx: Transaction): void {
    if (!this.active) return;
    this.active = false;
    if (this.rows === 0) return;
    const keys = tx.store.keys;
    keys.hashRestored(this.rows, () => true);
    keys.buildHash();
  }

  private leave(tx: Transaction): null {
    this.finish(tx);
    return null;
  }
}

/** Reads a Dictionary<Utf8> column's strings by row. */
function dictionaryStrings(data: arrow.Data): (i: number) => string {
  const values: string[] = [];
  for (const d of data.dictionary!.data) for (let k = 0; k < d.length; k++) values.push(isValid(d, k) ? utf8At(d, k) : "");
  const idx = data.values as Int32Array;
  return (i) => {
    const s = values[Number(idx[data.offset + i]!)];
    if (s === undefined) throw new LassoError("bad_arrow", `key column: dictionary index ${idx[data.offset + i]} out of range`);
    return s;
  };
}

function dup(key: unknown): LassoError {
  return new LassoError("duplicate_key", `key ${JSON.stringify(key)} appears more than once in this load`);
}

// ---------------------------------------------------------------------------------------------------
// Column writers: one per storage form. Each first makes every touched shard's chunk private (which may
// grow memory), then takes views and writes row by row.

/** A shard's private chunk and whole-memory views (made once per batch: per-row views would allocate). */
interface ShardTarget {
  chunk: Chunk;
  buffer: ArrayBufferLike;
  u8: Uint8Array;
  u16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  f32: Float32Array;
  f64: Float64Array;
  i64: BigInt64Array;
}

function targets(tx: Transaction, meta: TagMeta, br: BatchRows): (ShardTarget | undefined)[] {
  const out: (ShardTarget | undefined)[] = [];
  for (const s of br.shards) out[s] = { chunk: tx.chunk(s, meta) } as ShardTarget;
  out.forEach((t, s) => {
    if (!t) return;
    Object.assign(t, memoryViews(tx.store.memory(s).memory.buffer));
  });
  return out;
}

type MemoryViews = Omit<ShardTarget, "chunk">;

/**
 * Whole-memory views by buffer: a shard memory's buffer object stays the same until the memory grows,
 * so ~100 columns × batches reuse seven views instead of making them anew each time.
 */
const viewsByBuffer = new WeakMap<ArrayBufferLike, MemoryViews>();
function memoryViews(buf: ArrayBufferLike): MemoryViews {
  let v = viewsByBuffer.get(buf);
  if (!v) {
    v = {
      buffer: buf,
      u8: new Uint8Array(buf),
      u16: new Uint16Array(buf),
      i32: new Int32Array(buf),
      u32: new Uint32Array(buf),
      f32: new Float32Array(buf),
      f64: new Float64Array(buf),
      i64: new BigInt64Array(buf),
    };
    viewsByBuffer.set(buf, v);
  }
  return v;
}

function setBit(u8: Uint8Array, base: number, bit: number, on: boolean): void {
  if (on) u8[base + (bit >> 3)]! |= 1 << (bit & 7);
  else u8[base + (bit >> 3)]! &= ~(1 << (bit & 7));
}

/** A batch's rows as contiguous per-shard runs (the bulk-append case), or null when rows are scattered. */
interface Run {
  shard: number;
  /** First local row in the shard. */
  local: number;
  /** First batch index. */
  i0: number;
  n: number;
}

/** A batch's destination rows, with what every column writer needs computed once. */
interface BatchRows {
  rows: Int32Array;
  /** Contiguous per-shard runs, or null when rows are scattered. */
  runs: Run[] | null;
  /** Distinct shards the batch touches. */
  shards: number[];
}

function batchRows(rows: Int32Array, sr: number): BatchRows {
  const runs = contiguousRuns(rows, sr);
  let shards: number[];
  if (runs) shards = runs.map((r) => r.shard);
  else {
    const set = new Set<number>();
    for (let i = 0; i < rows.length; i++) set.add(Math.floor(rows[i]! / sr));
    shards = [...set];
  }
  return { rows, runs, shards };
}

function contiguousRuns(rows: Int32Array, sr: number): Run[] | null {
  for (let i = 1; i < rows.length; i++) if (rows[i] !== rows[i - 1]! + 1) return null;
  const out: Run[] = [];
  let i = 0;
  while (i < rows.length) {
    const row = rows[i]!;
    const shard = Math.floor(row / sr);
    const local = row - shard * sr;
    const n = Math.min(rows.length - i, sr - local);
    out.push({ shard, local, i0: i, n });
    i += n;
  }
  return out;
}

/**
 * Copies `n` bits from bit `srcBit` of `src` to bit `dstBit` of the bitmap at byte `dstBase` of `dst`;
 * byte-wise when both bit offsets are byte aligned. (Base and bit stay apart: base·8 + bit would pass
 * 2^31 for bitmaps above 256 MiB and break `>>`.)
 */
function copyBits(src: Uint8Array, srcBit: number, dst: Uint8Array, dstBase: number, dstBit: number, n: number): void {
  if ((srcBit & 7) === 0 && (dstBit & 7) === 0) {
    const whole = n >> 3;
    dst.set(src.subarray(srcBit >> 3, (srcBit >> 3) + whole), dstBase + (dstBit >> 3));
    for (let k = whole * 8; k < n; k++) setBit(dst, dstBase, dstBit + k, (src[(srcBit + k) >> 3]! & (1 << ((srcBit + k) & 7))) !== 0);
    return;
  }
  for (let k = 0; k < n; k++) setBit(dst, dstBase, dstBit + k, (src[(srcBit + k) >> 3]! & (1 << ((srcBit + k) & 7))) !== 0);
}

/** Writes a run's validity bits: from the Arrow null bitmap, or all valid. */
function copyValidity(data: arrow.Data, run: Run, u8: Uint8Array, validity: number): void {
  const nb = data.nullBitmap;
  if (!nb || nb.length === 0 || data.nullCount === 0) setBitRange(u8, validity, run.local, run.n);
  else copyBits(nb, data.offset + run.i0, u8, validity, run.local, run.n);
}

function writeColumn(tx: Transaction, p: ColumnPlan, data: arrow.Data, br: BatchRows): void {
  let meta = tx.tags.get(p.name)!;
  switch (meta.form === "i32" || meta.form === "i64" ? (meta.type === "time" ? "time" : "int") : meta.form) {
    case "bool":
      return writeBool(tx, meta, data, br);
    case "int":
      return writeInt(tx, meta, data, br);
    case "time":
      return writeTime(tx, meta, p.kind, data, br);
    case "f32":
    case "f64":
      if (meta.form === "f32" && p.kind.form === "f64") meta = widenFloat(tx, meta);
      return writeFloat(tx, meta, data, br);
    case "codes":
      return writeCodes(tx, meta, data, br);
    case "list":
      return writeList(tx, meta, data, br);
  }
}

function writeBool(tx: Transaction, meta: TagMeta, data: arrow.Data, br: BatchRows): void {
  const rows = br.rows;
  const ts = targets(tx, meta, br);
  const sr = tx.shardRows;
  const vals = data.values as Uint8Array;
  const runs = br.runs;
  if (runs) {
    for (const run of runs) {
      const t = ts[run.shard]!;
      copyValidity(data, run, t.u8, t.chunk.validity);
      copyBits(vals, data.offset + run.i0, t.u8, t.chunk.values, run.local, run.n);
      // a null's value bit must read false: values &= validity over the run (just written), bytewise
      // where whole bytes are covered
      if (data.nullCount > 0) {
        const u8 = t.u8;
        const vb = t.chunk.values;
        const lb = t.chunk.validity;
        const end = run.local + run.n;
        let r = run.local;
        for (; r < end && (r & 7) !== 0; r++) if ((u8[lb + (r >> 3)]! & (1 << (r & 7))) === 0) u8[vb + (r >> 3)]! &= ~(1 << (r & 7));
        for (; r + 8 <= end; r += 8) u8[vb + (r >> 3)]! &= u8[lb + (r >> 3)]!;
        for (; r < end; r++) if ((u8[lb + (r >> 3)]! & (1 << (r & 7))) === 0) u8[vb + (r >> 3)]! &= ~(1 << (r & 7));
      }
    }
    return;
  }
  for (let i = 0; i < rows.length; i++) {
    const s = Math.floor(rows[i]! / sr);
    const local = rows[i]! - s * sr;
    const t = ts[s]!;
    const valid = isValid(data, i);
    setBit(t.u8, t.chunk.validity, local, valid);
    const bit = data.offset + i;
    setBit(t.u8, t.chunk.values, local, valid && (vals[bit >> 3]! & (1 << (bit & 7))) !== 0);
  }
}

function writeInt(tx: Transaction, meta: TagMeta, data: arrow.Data, br: BatchRows): void {
  const rows = br.rows;
  const t = data.type as arrow.Int;
  const n = rows.length;
  const off = data.offset;
  const unsigned64 = t.bitWidth === 64 && !t.isSigned;
  const unsigned32 = t.bitWidth === 32 && !t.isSigned;
  const nb = nullBits(data);
  // 64-bit values as (lo, hi) words, without BigInt
  const words = t.bitWidth === 64 ? new Int32Array(data.values.buffer, data.values.byteOffset, data.values.length * 2) : null;
  // Range checks first, so a re-encoding happens before any write of this batch. Narrow signed
  // sources (≤ 32 bits) always fit i32: only 64-bit and UInt32 values are looked at.
  let fitsI32 = true;
  let aboveI64 = false; // a UInt64 value ≥ 2^63
  let negative = false;
  if (words) {
    for (let i = 0; i < n; i++) {
      const j = off + i;
      if (nb !== null && (nb[j >> 3]! & (1 << (j & 7))) === 0) continue;
      const lo = words[j * 2]!;
      const hi = words[j * 2 + 1]!;
      if (hi < 0) {
        if (unsigned64) aboveI64 = true;
        else negative = true;
      }
      if (hi !== (lo < 0 ? -1 : 0)) fitsI32 = false;
    }
  } else if (unsigned32) {
    // UInt32 above 2^31 − 1 does not fit i32 (it is positive)
    const v = data.values as Uint32Array;
    for (let i = 0; i < n && fitsI32; i++) {
      const j = off + i;
      if (v[j]! > 0x7fffffff && (nb === null || (nb[j >> 3]! & (1 << (j & 7))) !== 0)) fitsI32 = false;
    }
  } else if (meta.unsigned === true) {
    const v = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array;
    for (let i = 0; i < n && !negative; i++) {
      const j = off + i;
      if (v[j]! < 0 && (nb === null || (nb[j >> 3]! & (1 << (j & 7))) !== 0)) negative = true;
    }
  }
  if (aboveI64 && negative) throw spans(meta);
  if (meta.form === "i32" && (!fitsI32 || aboveI64)) meta = widenInt(tx, meta);
  if (aboveI64 && !meta.unsigned) meta = toUnsigned(tx, meta);
  if (meta.unsigned && negative) throw spans(meta);
  const ts = targets(tx, meta, br);
  const sr = tx.shardRows;
  const runs = br.runs;
  // the unsigned encoding flips the sign bit of the high word
  const flip = meta.unsigned ? 0x80000000 | 0 : 0;
  if (runs) {
    for (const run of runs) {
      const tg = ts[run.shard]!;
      copyValidity(data, run, tg.u8, tg.chunk.validity);
      const i0 = off + run.i0;
      if (meta.form === "i32" && words) {
        // 64-bit values that all fit i32: their low words
        const dst = tg.i32;
        const at0 = (tg.chunk.values >> 2) + run.local;
        for (let k = 0; k < run.n; k++) dst[at0 + k] = words[(i0 + k) * 2]!;
      } else if (meta.form === "i32") {
        // every source reaching here fits: a native converting copy (nulls' slots copy whatever they hold,
        // as before: validity masks them)
        tg.i32.set((data.values as Int32Array).subarray(i0, i0 + run.n), (tg.chunk.values >> 2) + run.local);
      } else if (words && flip === 0) {
        tg.i32.set(words.subarray(i0 * 2, (i0 + run.n) * 2), (tg.chunk.values >> 2) + run.local * 2);
      } else {
        const dst = tg.i32;
        const at0 = (tg.chunk.values >> 2) + run.local * 2;
        if (words) {
          for (let k = 0; k < run.n; k++) {
            const j = i0 + k;
            if (nb !== null && (nb[j >> 3]! & (1 << (j & 7))) === 0) continue;
            dst[at0 + k * 2] = words[j * 2]!;
            dst[at0 + k * 2 + 1] = words[j * 2 + 1]! ^ flip;
          }
        } else {
          const v = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
          for (let k = 0; k < run.n; k++) {
            const j = i0 + k;
            if (nb !== null && (nb[j >> 3]! & (1 << (j & 7))) === 0) continue;
            const x = v[j]!;
            dst[at0 + k * 2] = x | 0;
            dst[at0 + k * 2 + 1] = (x < 0 ? -1 : 0) ^ flip;
          }
        }
      }
    }
    return;
  }
  const vals = words ? null : (data.values as IntValues);
  for (let i = 0; i < n; i++) {
    const s = Math.floor(rows[i]! / sr);
    const local = rows[i]! - s * sr;
    const tg = ts[s]!;
    const valid = isValid(data, i);
    setBit(tg.u8, tg.chunk.validity, local, valid);
    if (!valid) continue;
    const j = off + i;
    const lo = loWord(words, vals, j);
    const hi = hiWord(words, vals, j);
    if (meta.form === "i32") tg.i32[(tg.chunk.values >> 2) + local] = lo;
    else {
      const at = (tg.chunk.values >> 2) + local * 2;
      tg.i32[at] = lo;
      tg.i32[at + 1] = hi ^ flip;
    }
  }
}

function spans(meta: TagMeta): LassoError {
  return new LassoError(
    "schema_conflict",
    `column '${meta.name}': int values would span below 0 and above 2^63 − 1, more than 64 bits hold`,
  );
}

/** Re-encodes an i64 int tag for UInt64 values (stored = value − 2^63); refused if it has negatives. */
function toUnsigned(tx: Transaction, meta: TagMeta): TagMeta {
  const next: TagMeta = { ...meta, form: "i64", unsigned: true };
  tx.reform(next, (s, from, _m, to) => {
    const buf = tx.store.memory(s).memory.buffer;
    const src = new Int32Array(buf, from.values, from.capacity * 2);
    const dst = new Int32Array(buf, to.values, from.capacity * 2);
    const valid = new Uint8Array(buf, from.validity, from.capacity / 8);
    for (let r = 0; r < from.capacity; r++) {
      const hi = src[r * 2 + 1]!;
      if (hi < 0 && (valid[r >> 3]! & (1 << (r & 7))) !== 0) throw spans(meta);
      dst[r * 2] = src[r * 2]!;
      dst[r * 2 + 1] = hi ^ (0x80000000 | 0);
    }
  });
  return next;
}

function widenInt(tx: Transaction, meta: TagMeta): TagMeta {
  const next: TagMeta = { ...meta, form: "i64" };
  tx.reform(next, (s, from, _m, to) => {
    const buf = tx.store.memory(s).memory.buffer;
    const src = new Int32Array(buf, from.values, from.capacity);
    const dst = new Int32Array(buf, to.values, from.capacity * 2);
    for (let r = 0; r < from.capacity; r++) {
      dst[r * 2] = src[r]!;
      dst[r * 2 + 1] = src[r]! < 0 ? -1 : 0;
    }
  });
  return next;
}

function widenFloat(tx: Transaction, meta: TagMeta): TagMeta {
  const next: TagMeta = { ...meta, form: "f64" };
  tx.reform(next, (s, from, _m, to) => {
    const buf = tx.store.memory(s).memory.buffer;
    const src = new Float32Array(buf, from.values, from.capacity);
    new Float64Array(buf, to.values, from.capacity).set(src);
  });
  return next;
}

function floatAt(data: arrow.Data): (i: number) => number {
  const t = data.type as arrow.DataType;
  const off = data.offset;
  if (arrow.DataType.isDecimal(t)) {
    const words = new Uint32Array(data.values.buffer, data.values.byteOffset, data.values.byteLength / 4);
    const per = t.bitWidth / 32;
    const scale = 10 ** t.scale;
    return (i) => {
      const at = (off + i) * per;
      if (per >= 2) {
        // below 2^53 in magnitude (the usual case) the value is exact as a double: no BigInt needed, and
        // the quotient is the same double. The words above the second must be its sign extension.
        const hi = words[at + 1]! | 0;
        const ext = hi < 0 ? 0xffffffff : 0;
        let fits = hi >= -0x200000 && hi < 0x200000;
        for (let k = 2; k < per && fits; k++) fits = words[at + k] === ext;
        if (fits) return (hi * 4294967296 + words[at]!) / scale;
      }
      let v = 0n;
      for (let k = per - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[at + k]!);
      v = BigInt.asIntN(t.bitWidth, v);
      return Number(v) / scale;
    };
  }
  if (arrow.DataType.isFloat(t) && t.precision === arrow.Precision.HALF) {
    const v = data.values as Uint16Array;
    return (i) => halfToFloat(v[off + i]!);
  }
  const v = data.values as Float32Array | Float64Array;
  return (i) => v[off + i]!;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function writeFloat(tx: Transaction, meta: TagMeta, data: arrow.Data, br: BatchRows): void {
  const rows = br.rows;
  const get = floatAt(data);
  const ts = targets(tx, meta, br);
  const sr = tx.shardRows;
  const runs = br.runs;
  const t = data.type as arrow.DataType;
  if (runs && arrow.DataType.isFloat(t) && t.precision !== arrow.Precision.HALF) {
    for (const run of runs) {
      const tg = ts[run.shard]!;
      copyValidity(data, run, tg.u8, tg.chunk.validity);
      const src = (data.values as Float64Array).subarray(data.offset + run.i0, data.offset + run.i0 + run.n);
      if (meta.form === "f32") tg.f32.set(src, (tg.chunk.values >> 2) + run.local);
      else tg.f64.set(src, (tg.chunk.values >> 3) + run.local);
    }
    return;
  }
  for (let i = 0; i < rows.length; i++) {
    const s = Math.floor(rows[i]! / sr);
    const local = rows[i]! - s * sr;
    const tg = ts[s]!;
    const valid = isValid(data, i);
    setBit(tg.u8, tg.chunk.validity, local, valid);
    if (!valid) continue;
    if (meta.form === "f32") tg.f32[(tg.chunk.values >> 2) + local] = get(i);
    else tg.f64[(tg.chunk.values >> 3) + local] = get(i);
  }
}

/** Time values of a column in its own unit, as bigint (only used when units differ or for ranges). */
function timeSource(data: arrow.Data, kind: ColumnKind): { unit: TimeUnit; at: (i: number) => bigint } {
  const off = data.offset;
  if (kind.unit === "day") {
    const v = data.values as Int32Array;
    return { unit: "day", at: (i) => BigInt(v[off + i]!) };
  }
  const v = data.values as BigInt64Array;
  return { unit: kind.unit!, at: (i) => v[off + i]! };
}

function writeTime(tx: Transaction, meta: TagMeta, kind: ColumnKind, data: arrow.Data, br: BatchRows): void {
  const rows = br.rows;
  const src = timeSource(data, kind);
  const target = finerUnit(meta.unit!, src.unit);
  if (target !== meta.unit) meta = reunitTime(tx, meta, target);
  const factor = UNIT_NS[src.unit] / UNIT_NS[meta.unit!];
  const ts = targets(tx, meta, br);
  const sr = tx.shardRows;
  const runs = factor === 1n ? br.runs : null;
  if (runs) {
    for (const run of runs) {
      const tg = ts[run.shard]!;
      copyValidity(data, run, tg.u8, tg.chunk.validity);
      const src = (data.values as Int32Array).subarray(data.offset + run.i0, data.offset + run.i0 + run.n);
      if (meta.form === "i32") tg.i32.set(src, (tg.chunk.values >> 2) + run.local);
      else tg.i64.set(src as unknown as BigInt64Array, (tg.chunk.values >> 3) + run.local);
    }
    return;
  }
  const min = meta.form === "i32" ? -(2n ** 31n) : -(2n ** 63n);
  const max = meta.form === "i32" ? 2n ** 31n - 1n : 2n ** 63n - 1n;
  for (let i = 0; i < rows.length; i++) {
    const s = Math.floor(rows[i]! / sr);
    const local = rows[i]! - s * sr;
    const tg = ts[s]!;
    const valid = isValid(data, i);
    setBit(tg.u8, tg.chunk.validity, local, valid);
    if (!valid) continue;
    const v = src.at(i) * factor;
    if (v < min || v > max) throw new LassoError("schema_conflict", `column '${meta.name}': time value out of range in ${meta.unit}`);
    if (meta.form === "i32") tg.i32[(tg.chunk.values >> 2) + local] = Number(v);
    else tg.i64[(tg.chunk.values >> 3) + local] = v;
  }
}

/** Re-encodes a time tag in a finer unit (e.g. ms → µs, days → ms) so finer incoming values stay exact. */
function reunitTime(tx: Transaction, meta: TagMeta, unit: TimeUnit): TagMeta {
  const next: TagMeta = { ...meta, form: "i64", unit };
  const factor = UNIT_NS[meta.unit!] / UNIT_NS[unit];
  tx.reform(next, (s, from, fromMeta, to) => {
    const buf = tx.store.memory(s).memory.buffer;
    const dst = new BigInt64Array(buf, to.values, from.capacity);
    if (fromMeta.form === "i32") {
      const src = new Int32Array(buf, from.values, from.capacity);
      for (let r = 0; r < from.capacity; r++) dst[r] = BigInt(src[r]!) * factor;
    } else {
      const src = new BigInt64Array(buf, from.values, from.capacity);
      for (let r = 0; r < from.capacity; r++) {
        const v = src[r]! * factor;
        if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) {
          throw new LassoError("schema_conflict", `tag '${meta.name}': values do not fit 64 bits in ${unit}`);
        }
        dst[r] = v;
      }
    }
  });
  return next;
}

/**
 * Dictionary codes of an enum column (Utf8 or Dictionary<Utf8>), -1 for null. Plain Utf8 values are
 * interned by their bytes first (a per-column hash of byte strings to codes), so a value repeated a
 * million times is decoded to a JS string once, not a million times.
 */
function encodeStrings(dict: Dictionary, data: arrow.Data, where: string): Int32Array {
  const n = data.length;
  const out = columnCodes.take(n);
  if (arrow.DataType.isDictionary(data.type)) {
    mapDictionaryIndices(dictionaryCodes(dict, data.dictionary!), data, out, where);
    return out;
  }
  const raw = data.valueOffsets as Int32Array | BigInt64Array;
  let offs: Int32Array;
  let first = data.offset;
  if (raw instanceof BigInt64Array) {
    // LargeUtf8: its offsets as Int32 once, so the loop below reads one array type (a loop reading both
    // kinds was a third of its time). Offsets only grow (batch-check): the last one bounds them all.
    if (n > 0 && raw[first + n]! > 0x7fffffffn) {
      throw new LassoError("bad_request", `${where}: a batch holds more than 2 GiB of text; send smaller batches`);
    }
    offs = textOffsets.take(n + 1);
    for (let i = 0; i <= n; i++) offs[i] = Number(raw[first + i]!);
    first = 0;
  } else offs = raw;
  const nb = nullBits(data);
  internUtf8(dict, offs, first, data.offset, n, data.values as Uint8Array, nb, out);
  return out;
}

/**
 * Codes of n Utf8 values (value i spans bytes [offs[first + i], offs[first + i + 1]); its validity is bit
 * nullFirst + i of nb) into out, -1 for null. Distinct byte strings are interned per call (a batch's
 * column): each is decoded to a JS string once, and repeats are found by their bytes.
 */
function internUtf8(dict: Dictionary, offs: Int32Array, first: number, nullFirst: number, n: number, bytes: Uint8Array, nb: Uint8Array | null, out: Int32Array): void {
  // Open addressing over the distinct byte strings seen: slot → entry + 1; entry e is the byte range
  // [ea[e], eb[e]) with hash eh[e] and dictionary code ec[e]. Typed arrays, not a Map of buckets: this
  // runs once per value of every plain Utf8 enum and multi column.
  let mask = 1023;
  let slots = new Int32Array(mask + 1);
  let ea = new Int32Array(256);
  let eb = new Int32Array(256);
  let eh = new Int32Array(256);
  let ec = new Int32Array(256);
  let entries = 0;
  // the entry of the last value seen with each (length, first, middle and last byte): most values of a
  // low-cardinality column are found here with a byte compare and no hash
  const recent = recentEntries;
  recent.fill(0);
  for (let i = 0; i < n; i++) {
    if (nb !== null && (nb[(nullFirst + i) >> 3]! & (1 << ((nullFirst + i) & 7))) === 0) {
      out[i] = -1;
      continue;
    }
    const a = offs[first + i]!;
    const b = offs[first + i + 1]!;
    const len = b - a;
    const quick = len === 0 ? 0 : Math.imul(len ^ (bytes[a]! << 8) ^ (bytes[b - 1]! << 16) ^ (bytes[a + (len >> 1)]! << 24), 0x9e3779b1) >>> RECENT_SHIFT;
    const r = recent[quick]!;
    if (r !== 0) {
      const e = r - 1;
      const ae = ea[e]!;
      if (eb[e]! - ae === len) {
        let k = 0;
        while (k < len && bytes[ae + k] === bytes[a + k]) k++;
        if (k === len) {
          out[i] = ec[e]!;
          continue;
        }
      }
    }
    let h = 0x811c9dc5 ^ len;
    for (let k = a; k < b; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
    let at = h & mask;
    let code = -1;
    let found = -1;
    for (;;) {
      const s = slots[at]!;
      if (s === 0) break;
      const e = s - 1;
      if (eh[e] === h && eb[e]! - ea[e]! === len) {
        const ae = ea[e]!;
        let k = 0;
        while (k < len && bytes[ae + k] === bytes[a + k]) k++;
        if (k === len) {
          code = ec[e]!;
          found = e;
          break;
        }
      }
      at = (at + 1) & mask;
    }
    if (found < 0) {
      code = dict.encode(utf8.decode(bytes.subarray(a, b)));
      if (entries === ea.length) {
        ea = grown(ea);
        eb = grown(eb);
        eh = grown(eh);
        ec = grown(ec);
      }
      found = entries;
      ea[entries] = a;
      eb[entries] = b;
      eh[entries] = h;
      ec[entries] = code;
      slots[at] = ++entries;
      if (entries * 2 > mask) {
        mask = mask * 2 + 1;
        slots = new Int32Array(mask + 1);
        for (let e = 0; e < entries; e++) {
          let p = eh[e]! & mask;
          while (slots[p] !== 0) p = (p + 1) & mask;
          slots[p] = e + 1;
        }
      }
    }
    recent[quick] = found + 1;
    out[i] = code;
  }
}

/** The quick lookup has 2^10 slots, indexed by the top bits of a multiplicative hash. */
const RECENT_SHIFT = 22;
const recentEntries = new Int32Array(1 << (32 - RECENT_SHIFT));


/**
 * A batch dictionary's entries as codes of `dict` (-1 for a null entry), made once per Arrow dictionary:
 * the reader hands every batch the same dictionary vector until the stream replaces it, so each
 * dictionary string is decoded once per load, not once per batch.
 */
function dictionaryCodes(dict: Dictionary, vector: arrow.Vector): DictionaryTable {
  let known = dictionaryTables.get(vector);
  const hit = known?.find((e) => e.dict === dict && e.size <= dict.size && e.generation === dict.generation);
  if (hit) return hit;
  const table = new Int32Array(vector.length);
  let base = 0;
  for (const d of vector.data) {
    for (let k = 0; k < d.length; k++) table[base + k] = isValid(d, k) ? dict.encode(utf8At(d, k)) : -1;
    base += d.length;
  }
  if (!known) dictionaryTables.set(vector, (known = []));
  const entry: DictionaryTable = { dict, size: dict.size, generation: dict.generation, table, byIndex: new Map() };
  known.push(entry);
  return entry;
}

interface DictionaryTable {
  dict: Dictionary;
  size: number;
  generation: number;
  /** Arrow dictionary index → code of `dict` (-1: a null entry). */
  table: Int32Array;
  /**
   * The table spread over every value an 8 or 16-bit index can hold (key: bits, negative for signed), an
   * out-of-range index mapping to OUT_OF_RANGE: the per-value loop then needs no bounds check.
   */
  byIndex: Map<number, Int32Array>;
}

/** The code an out-of-range dictionary index maps to (checked after nulls are masked). */
const OUT_OF_RANGE = -2;

function spreadTable(t: DictionaryTable, bits: 8 | 16, signed: boolean): Int32Array {
  const key = signed ? -bits : bits;
  let spread = t.byIndex.get(key);
  if (spread) return spread;
  const span = 1 << bits;
  spread = new Int32Array(span).fill(OUT_OF_RANGE);
  const size = t.table.length;
  // index value v lands at v & (span − 1); negative (signed) values land in the upper half and stay out of range
  spread.set(t.table.subarray(0, Math.min(size, signed ? span >> 1 : span)));
  t.byIndex.set(key, spread);
  return spread;
}

/**
 * Writes the codes of a dictionary column's rows to `out` (-1 for null). A valid row whose index is outside
 * the dictionary is `bad_arrow`; a null row's index slot may hold anything. Replaces a separate check pass:
 * the load is one transaction, so failing midway leaves nothing behind.
 */
function mapDictionaryIndices(t: DictionaryTable, data: arrow.Data, out: Int32Array, where: string): void {
  const n = data.length;
  const off = data.offset;
  const idx = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;
  let bad = false;
  if (idx instanceof Int8Array || idx instanceof Uint8Array || idx instanceof Int16Array || idx instanceof Uint16Array) {
    const bits = idx.BYTES_PER_ELEMENT === 1 ? 8 : 16;
    const spread = spreadTable(t, bits, idx instanceof Int8Array || idx instanceof Int16Array);
    // one loop per index type, each reading one array type (a shared loop would be megamorphic)
    if (idx instanceof Int8Array) {
      for (let i = 0; i < n; i++) {
        const c = spread[idx[off + i]! & 0xff]!;
        out[i] = c;
        if (c === OUT_OF_RANGE) bad = true;
      }
    } else if (idx instanceof Uint8Array) {
      for (let i = 0; i < n; i++) {
        const c = spread[idx[off + i]!]!;
        out[i] = c;
        if (c === OUT_OF_RANGE) bad = true;
      }
    } else if (idx instanceof Int16Array) {
      for (let i = 0; i < n; i++) {
        const c = spread[idx[off + i]! & 0xffff]!;
        out[i] = c;
        if (c === OUT_OF_RANGE) bad = true;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const c = spread[idx[off + i]!]!;
        out[i] = c;
        if (c === OUT_OF_RANGE) bad = true;
      }
    }
  } else {
    const table = t.table;
    const size = table.length;
    if (idx instanceof BigInt64Array || idx instanceof BigUint64Array) {
      const big = BigInt(size);
      for (let i = 0; i < n; i++) {
        const k = idx[off + i]!;
        const c = k >= 0n && k < big ? table[Number(k)]! : OUT_OF_RANGE;
        out[i] = c;
        if (c === OUT_OF_RANGE) bad = true;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const k = idx[off + i]!;
        const c = k >= 0 && k < size ? table[k]! : OUT_OF_RANGE;
        out[i] = c;
        if (c === OUT_OF_RANGE) bad = true;
      }
    }
  }
  const nb = nullBits(data);
  if (nb !== null) clearNulls(nb, off, n, out);
  if (!bad) return;
  for (let i = 0; i < n; i++) {
    if (out[i] !== OUT_OF_RANGE) continue;
    throw new LassoError(
      "bad_arrow",
      `unreadable Arrow IPC data: ${where} dictionary index ${idx[off + i]} at row ${i} outside a dictionary of ${t.table.length} values`,
    );
  }
}

/** Sets out[i] = -1 for every row i whose bit (off + i) in the validity bitmap is clear. */
function clearNulls(nb: Uint8Array, off: number, n: number, out: Int32Array): void {
  let i = 0;
  // bit by bit up to a byte boundary, then whole bytes: all-valid bytes are skipped with one compare
  for (; i < n && ((off + i) & 7) !== 0; i++) if ((nb[(off + i) >> 3]! & (1 << ((off + i) & 7))) === 0) out[i] = -1;
  for (; i + 8 <= n; i += 8) {
    const byte = nb[(off + i) >> 3]!;
    if (byte === 0xff) continue;
    for (let b = 0; b < 8; b++) if ((byte & (1 << b)) === 0) out[i + b] = -1;
  }
  for (; i < n; i++) if ((nb[(off + i) >> 3]! & (1 << ((off + i) & 7))) === 0) out[i] = -1;
}

/**
 * Translation tables by Arrow dictionary vector (which belongs to one load's reader). `size` and
 * `generation` are the target dictionary's when the table was made: a dictionary truncated by a rollback
 * since (its generation moved on) may have given the same codes to other strings, and the table is not
 * trusted.
 */
const dictionaryTables = new WeakMap<arrow.Vector, DictionaryTable[]>();

/**
 * A reusable Int32 buffer, grown and never shrunk. Writers use one synchronously and are done with it
 * before the next column (no await in between), so concurrent loads cannot see each other's values.
 */
class Int32Scratch {
  private buf: Int32Array;
  constructor(initial: number) {
    this.buf = new Int32Array(initial);
  }
  take(n: number): Int32Array {
    if (this.buf.length < n) this.buf = new Int32Array(Math.max(n, this.buf.length * 2));
    return this.buf.subarray(0, n);
  }
}

/** A column's codes (encodeStrings), LargeUtf8 offsets as Int32, a run's list codes (appendListRun). */
const columnCodes = new Int32Scratch(65_536);
const textOffsets = new Int32Scratch(1024);
const listCodes = new Int32Scratch(65_536);

function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const next = new Int32Array(a.length * 2);
  next.set(a);
  return next;
}

function writeCodes(tx: Transaction, meta: TagMeta, data: arrow.Data, br: BatchRows): void {
  const rows = br.rows;
  const codes = encodeStrings(meta.dict!, data, `column '${meta.name}'`);
  const need = codeBytesFor(meta.dict!.size);
  if (need > meta.codeBytes!) meta = widenCodes(tx, meta, need);
  const ts = targets(tx, meta, br);
  const sr = tx.shardRows;
  const cb = meta.codeBytes!;
  const runs = br.runs;
  // a valid index to a null dictionary entry is a null too, which the column's null bitmap does not say
  const nullEntries = arrow.DataType.isDictionary(data.type) && data.dictionary!.nullCount > 0;
  if (runs) {
    for (const run of runs) {
      const tg = ts[run.shard]!;
      copyValidity(data, run, tg.u8, tg.chunk.validity);
      const src = codes.subarray(run.i0, run.i0 + run.n);
      // nulls carry code -1, which lands as the all-ones code: masked out by validity
      if (cb === 1) tg.u8.set(src, tg.chunk.values + run.local);
      else if (cb === 2) tg.u16.set(src, (tg.chunk.values >> 1) + run.local);
      else tg.u32.set(src, (tg.chunk.values >> 2) + run.local);
      if (nullEntries) for (let k = 0; k < run.n; k++) if (src[k]! < 0) setBit(tg.u8, tg.chunk.validity, run.local + k, false);
    }
    return;
  }
  for (let i = 0; i < rows.length; i++) {
    const s = Math.floor(rows[i]! / sr);
    const local = rows[i]! - s * sr;
    const tg = ts[s]!;
    const c = codes[i]!;
    setBit(tg.u8, tg.chunk.validity, local, c >= 0);
    if (c < 0) continue;
    if (cb === 1) tg.u8[tg.chunk.values + local] = c;
    else if (cb === 2) tg.u16[(tg.chunk.values >> 1) + local] = c;
    else tg.u32[(tg.chunk.values >> 2) + local] = c;
  }
}

function widenCodes(tx: Transaction, meta: TagMeta, bytes: 1 | 2 | 4): TagMeta {
  const next: TagMeta = { ...meta, codeBytes: bytes };
  tx.reform(next, (s, from, fromMeta, to) => {
    const buf = tx.store.memory(s).memory.buffer;
    if (fromMeta.form === "list") {
      throw new LassoError("internal", "list codes are widened by writeList");
    }
    codeView(buf, to.values, from.capacity, bytes).set(codeView(buf, from.values, from.capacity, fromMeta.codeBytes!));
  });
  return next;
}

interface ListTarget {
  c: Chunk;
  stage: ListStage;
  o: Int32Array;
  codes: Uint8Array | Uint16Array | Uint32Array;
  u8: Uint8Array;
}

function writeList(tx: Transaction, meta: TagMeta, data: arrow.Data, br: BatchRows): void {
  const rows = br.rows;
  const child = data.children[0]!;
  const childCodes = encodeStrings(meta.dict!, child, `column '${meta.name}' (list items)`);
  const need = codeBytesFor(meta.dict!.size, 2);
  if (need > meta.codeBytes!) meta = widenListCodes(tx, meta, need);
  const offs = data.valueOffsets as Int32Array;
  const off = data.offset;
  const sr = tx.shardRows;
  const cb = meta.codeBytes!;
  // Room for every code of this batch in each touched shard up front, so views stay valid below.
  const perShard: number[] = [];
  if (br.runs) for (const run of br.runs) perShard[run.shard] = (perShard[run.shard] ?? 0) + offs[off + run.i0 + run.n]! - offs[off + run.i0]!;
  else {
    for (const s of br.shards) perShard[s] = 0;
    for (let i = 0; i < rows.length; i++) {
      const s = Math.floor(rows[i]! / sr);
      perShard[s]! += offs[off + i + 1]! - offs[off + i]!;
    }
  }
  const views: ListTarget[] = [];
  for (const s of br.shards) reserveCodes(tx.store.memory(s), meta, tx.chunk(s, meta), perShard[s]!);
  for (const s of br.shards) {
    const c = tx.chunk(s, meta);
    const buf = tx.store.memory(s).memory.buffer;
    views[s] = { c, stage: tx.listStage(c), o: new Int32Array(buf, c.offsets, c.capacity + 1), codes: codeView(buf, c.codes, c.codesCapacity, cb), u8: new Uint8Array(buf) };
  }
  if (br.runs) {
    for (const run of br.runs) {
      const v = views[run.shard]!;
      if (run.local >= v.stage.rows && !v.stage.updating) appendListRun(data, childCodes, run, v);
      else for (let k = 0; k < run.n; k++) updateListRow(data, childCodes, run.i0 + k, run.local + k, v);
    }
    return;
  }
  for (let i = 0; i < rows.length; i++) {
    const s = Math.floor(rows[i]! / sr);
    const local = rows[i]! - s * sr;
    const v = views[s]!;
    if (local >= v.stage.rows && !v.stage.updating) appendListRun(data, childCodes, { shard: s, local, i0: i, n: 1 }, v);
    else updateListRow(data, childCodes, i, local, v);
  }
}

/** Appends a run of rows in row order after the chunk's last written row: the common case of new entities. */
function appendListRun(data: arrow.Data, childCodes: Int32Array, run: Run, v: ListTarget): void {
  const { c, stage, o, codes } = v;
  const offs = data.valueOffsets as Int32Array;
  const off = data.offset;
  const nb = nullBits(data);
  const base = c.codesUsed;
  for (let r = stage.rows; r < run.local; r++) o[r] = base;
  // the run's codes go to an Int32 scratch first and then to the chunk in one converting copy: the chunk's
  // codes are u16 or u32, and one loop over both kinds of array was megamorphic
  const tmp = listCodes.take(offs[off + run.i0 + run.n]! - offs[off + run.i0]!);
  let at = 0;
  for (let k = 0; k < run.n; k++) {
    const i = off + run.i0 + k;
    const start = at;
    o[run.local + k] = base + start;
    if (nb !== null && (nb[i >> 3]! & (1 << (i & 7))) === 0) continue;
    const b = offs[i + 1]!;
    for (let j = offs[i]!; j < b; j++) {
      const code = childCodes[j]!;
      if (code < 0) continue;
      // a value listed twice in one row counts once: HAS is set membership (lists are short)
      let q = start;
      while (q < at && tmp[q] !== code) q++;
      if (q === at) tmp[at++] = code;
    }
  }
  codes.set(tmp.subarray(0, at), base);
  c.codesUsed = base + at;
  o[run.local + run.n] = base + at;
  copyValidity(data, run, v.u8, c.validity);
  stage.rows = run.local + run.n;
}


/** An out-of-order row (an update of an existing entity): staged, applied when the chunk is finished. */
function updateListRow(data: arrow.Data, childCodes: Int32Array, i: number, local: number, v: ListTarget): void {
  const offs = data.valueOffsets as Int32Array;
  const valid = isValid(data, i);
  let vals: number[] | null = null;
  if (valid) {
    vals = [];
    const b = offs[data.offset + i + 1]!;
    for (let j = offs[data.offset + i]!; j < b; j++) {
      const code = childCodes[j]!;
      if (code >= 0 && !vals.includes(code)) vals.push(code);
    }
  }
  v.stage.update(local, vals);
  setBit(v.u8, v.c.validity, local, valid);
}

function widenListCodes(tx: Transaction, meta: TagMeta, bytes: 1 | 2 | 4): TagMeta {
  const next: TagMeta = { ...meta, codeBytes: bytes };
  tx.reform(next, (s, from, fromMeta, to) => {
    const mem = tx.store.memory(s);
    reserveCodes(mem, next, to, from.codesUsed);
    const buf = mem.memory.buffer;
    codeView(buf, to.codes, from.codesUsed, bytes).set(codeView(buf, from.codes, from.codesUsed, fromMeta.codeBytes!));
    to.codesUsed = from.codesUsed;
    new Uint8Array(buf).copyWithin(to.offsets, from.offsets, from.offsets + (from.capacity + 1) * 4);
  });
  return next;
}
