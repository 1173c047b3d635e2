/**
 * Store data as Arrow IPC files: every file the data directory holds (column chunks, existence bitmaps,
 * key runs, dictionary runs) is one Arrow IPC *file* with one column and one record batch, so any Arrow
 * tool (pyarrow, DuckDB, arrow2csv) can read it. The body holds the shard-memory bytes verbatim, so
 * writing is one `write` per buffer and opening reads each buffer straight back into shard memory.
 *
 * File layout (all offsets from the start of the file):
 *
 *   0      "ARROW1\0\0"
 *   8      schema message        0xFFFFFFFF, int32 length, flatbuffer, zero padding to 8
 *   m      record batch message  0xFFFFFFFF, int32 length, flatbuffer, zero padding so the body starts
 *                                at a multiple of BODY_ALIGN (`body` in the manifest)
 *   body   buffers in IPC order, each starting at a multiple of BODY_ALIGN (zero padding between)
 *   …      end-of-stream marker 0xFFFFFFFF 0x00000000, footer flatbuffer, int32 footer length, "ARROW1"
 *
 * Buffer offsets are a pure function of the buffer lengths (`bodyOffsets`), and buffer lengths a pure
 * function of what the manifest records (form, capacity, codesUsed, rows, bytes): opening needs no
 * flatbuffer parsing, only the manifest's `body` offset and a size check.
 */
import * as arrow from "apache-arrow";
// Arrow JS keeps its IPC metadata encoders out of the top-level export; the package's "./*" export map
// exposes them. They are the same module instances the top-level build uses.
import { BufferRegion, FieldNode, Message, RecordBatch as BatchHeader } from "apache-arrow/ipc/metadata/message";
import { FileBlock, Footer } from "apache-arrow/ipc/metadata/file";
import type { KeyType } from "../api.js";
import { LassoError } from "../errors.js";
import type { TagMeta, TimeUnit } from "./tags.js";
import { valueBytes } from "./tags.js";
import { popcountRows } from "./popcount.js";

/** Body and buffer alignment: a cache line, and what Arrow recommends for SIMD readers. */
export const BODY_ALIGN = 64;
const MAGIC = new Uint8Array([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]); // "ARROW1"
const CONTINUATION = -1;

/** One column of one record batch, ready to be written. */
export interface ColumnFile {
  field: arrow.Field;
  /** Rows of the column. */
  length: number;
  /** Field nodes in IPC order (the column, then its child for lists). */
  nodes: { length: number; nullCount: number }[];
  /** Buffers in IPC order; an empty buffer is an absent one (e.g. no validity). */
  buffers: Uint8Array[];
  /** Schema metadata: what the file is, for a human with an Arrow tool. */
  metadata: Map<string, string>;
}

/** The encoded parts of a file around its body buffers. */
export interface EncodedFile {
  head: Uint8Array;
  trailer: Uint8Array;
  /** Offset of the body = head.length. */
  body: number;
  /** Total file size. */
  size: number;
  /** Absolute file offset of each buffer. */
  offsets: number[];
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Offsets of buffers within the body (relative to its start), and the body length. */
export function bodyOffsets(lengths: readonly number[]): { offsets: number[]; length: number } {
  const offsets: number[] = [];
  let at = 0;
  for (const len of lengths) {
    offsets.push(at);
    at += align(len, BODY_ALIGN);
  }
  return { offsets, length: at };
}

export function encodeFile(file: ColumnFile): EncodedFile {
  const schema = new arrow.Schema([file.field], file.metadata);
  const lengths = file.buffers.map((b) => b.byteLength);
  const body = bodyOffsets(lengths);
  const header = new BatchHeader(
    file.length,
    file.nodes.map((n) => new FieldNode(n.length, n.nullCount)),
    lengths.map((len, i) => new BufferRegion(body.offsets[i]!, len)),
    null,
  );
  const schemaMsg = frame(Message.encode(Message.from(schema)), 8 + 0, 8);
  const batchStart = 8 + schemaMsg.length;
  const batchFb = Message.encode(Message.from(header, body.length));
  const batchMsg = frame(batchFb, batchStart, BODY_ALIGN);
  const head = new Uint8Array(batchStart + batchMsg.length);
  head.set(MAGIC, 0);
  head.set(schemaMsg, 8);
  head.set(batchMsg, batchStart);
  const bodyStart = head.length;
  const footer = Footer.encode(new Footer(schema, arrow.MetadataVersion.V5, [new FileBlock(batchMsg.length, body.length, batchStart)], []));
  const trailer = new Uint8Array(8 + footer.length + 4 + MAGIC.length);
  const tv = new DataView(trailer.buffer);
  tv.setInt32(0, CONTINUATION, true);
  tv.setInt32(4, 0, true);
  trailer.set(footer, 8);
  tv.setInt32(8 + footer.length, footer.length, true);
  trailer.set(MAGIC, 8 + footer.length + 4);
  return {
    head,
    trailer,
    body: bodyStart,
    size: bodyStart + body.length + trailer.length,
    offsets: body.offsets.map((o) => bodyStart + o),
  };
}

/** An IPC message frame: continuation marker, length, flatbuffer, zero padding so `start + frame` is aligned. */
function frame(fb: Uint8Array, start: number, alignment: number): Uint8Array {
  const total = align(start + 8 + fb.length, alignment) - start;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setInt32(0, CONTINUATION, true);
  v.setInt32(4, total - 8, true);
  out.set(fb, 8);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// What each kind of file holds. Every function here is used both to write (with buffers) and to open
// (lengths only), so the two sides cannot drift apart.

/** Buffer lengths of a column chunk of `meta`'s form, in IPC order. */
export function chunkBufferLengths(meta: Pick<TagMeta, "form" | "codeBytes">, capacity: number, codesUsed: number): number[] {
  const bits = capacity / 8;
  switch (meta.form) {
    case "bool":
      return [bits, bits];
    case "list":
      return [bits, (capacity + 1) * 4, 0, codesUsed * meta.codeBytes!];
    default:
      return [bits, capacity * valueBytes(meta.form, meta.codeBytes)];
  }
}

/** The Arrow type of a chunk column: the tag's SEL type where Arrow has it, raw codes for enum and multi. */
export function chunkArrowType(meta: TagMeta): arrow.DataType {
  switch (meta.form) {
    case "bool":
      return new arrow.Bool();
    case "i32":
      return meta.type === "time" && meta.unit === "day" ? new arrow.DateDay() : new arrow.Int32();
    case "i64":
      return meta.type === "time" && meta.unit && meta.unit !== "day" ? new arrow.Timestamp(ARROW_UNIT[meta.unit], "UTC") : new arrow.Int64();
    case "f32":
      return new arrow.Float32();
    case "f64":
      return new arrow.Float64();
    case "codes":
      return codeType(meta.codeBytes!);
    case "list":
      return new arrow.List(new arrow.Field("item", codeType(meta.codeBytes!), false));
  }
}

const ARROW_UNIT: Record<Exclude<TimeUnit, "day">, arrow.TimeUnit> = {
  s: arrow.TimeUnit.SECOND,
  ms: arrow.TimeUnit.MILLISECOND,
  us: arrow.TimeUnit.MICROSECOND,
  ns: arrow.TimeUnit.NANOSECOND,
};

function codeType(bytes: number): arrow.DataType {
  return bytes === 1 ? new arrow.Uint8() : bytes === 2 ? new arrow.Uint16() : new arrow.Uint32();
}

export function chunkFile(meta: TagMeta, capacity: number, codesUsed: number, buffers: Uint8Array[], nulls: number, about: Map<string, string>): ColumnFile {
  const nodes = [{ length: capacity, nullCount: nulls }];
  if (meta.form === "list") nodes.push({ length: codesUsed, nullCount: 0 });
  const fieldMeta = new Map<string, string>();
  if (meta.form === "codes" || meta.form === "list") fieldMeta.set("lasso.codes", "indexes into the tag's dictionary files (see MANIFEST)");
  return { field: new arrow.Field(meta.name, chunkArrowType(meta), true, fieldMeta), length: capacity, nodes, buffers, metadata: about };
}

/** Existence bitmap of a shard: a Bool column without nulls over the shard's whole row range. */
export function existsBufferLengths(shardRows: number): number[] {
  return [0, shardRows / 8];
}

export function existsFile(shardRows: number, bits: Uint8Array, about: Map<string, string>): ColumnFile {
  return {
    field: new arrow.Field("exists", new arrow.Bool(), false),
    length: shardRows,
    nodes: [{ length: shardRows, nullCount: 0 }],
    buffers: [new Uint8Array(0), bits],
    metadata: about,
  };
}

/** Bytes per key in an integer key file (the key column's own width). */
export function keyWidth(type: Exclude<KeyType, "utf8">): 4 | 8 {
  return type === "int32" || type === "uint32" ? 4 : 8;
}

export function intKeyBufferLengths(type: Exclude<KeyType, "utf8">, rows: number): number[] {
  return [0, rows * keyWidth(type)];
}

export function intKeyFile(type: Exclude<KeyType, "utf8">, rows: number, values: Uint8Array, about: Map<string, string>): ColumnFile {
  const t = type === "int32" ? new arrow.Int32() : type === "uint32" ? new arrow.Uint32() : type === "int64" ? new arrow.Int64() : new arrow.Uint64();
  return {
    field: new arrow.Field("key", t, false),
    length: rows,
    nodes: [{ length: rows, nullCount: 0 }],
    buffers: [new Uint8Array(0), values],
    metadata: about,
  };
}

/** A run of strings (utf8 keys, dictionary values): Utf8 without nulls. */
export function stringBufferLengths(count: number, bytes: number): number[] {
  return [0, (count + 1) * 4, bytes];
}

export function stringFile(name: string, run: StringRun, about: Map<string, string>): ColumnFile {
  return {
    field: new arrow.Field(name, new arrow.Utf8(), false),
    length: run.count,
    nodes: [{ length: run.count, nullCount: 0 }],
    buffers: [new Uint8Array(0), new Uint8Array(run.offsets.buffer, run.offsets.byteOffset, run.offsets.byteLength), run.data],
    metadata: about,
  };
}

/** Strings [from, from + count) of a list, UTF-8 encoded as an Arrow Utf8 column's buffers. */
export interface StringRun {
  from: number;
  count: number;
  offsets: Int32Array;
  data: Uint8Array;
}

/** Most UTF-8 bytes in one string file: Utf8 offsets are int32, and smaller files write and read in steadier steps. */
export const STRING_FILE_BYTES = 1 << 30;
/** Most rows in one key file. */
export const KEY_FILE_ROWS = 1 << 22;

/** Splits strings[from, to) into runs of at most KEY_FILE_ROWS strings and STRING_FILE_BYTES bytes. */
export function stringRuns(strings: readonly string[], from: number, to: number, maxRows = KEY_FILE_ROWS): StringRun[] {
  const runs: StringRun[] = [];
  let i = from;
  while (i < to) {
    const start = i;
    let bytes = 0;
    while (i < to && i - start < maxRows) {
      const b = Buffer.byteLength(strings[i]!, "utf8");
      if (b > STRING_FILE_BYTES) throw new LassoError("bad_request", `a string of ${b} bytes is too long to store`);
      if (bytes + b > STRING_FILE_BYTES && i > start) break;
      bytes += b;
      i++;
    }
    const offsets = new Int32Array(i - start + 1);
    const data = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let k = start; k < i; k++) {
      offsets[k - start] = at;
      at += data.write(strings[k]!, at, "utf8");
    }
    offsets[i - start] = at;
    runs.push({ from: start, count: i - start, offsets, data });
  }
  return runs;
}

/** Decodes a Utf8 run read back from a file. */
export function decodeStrings(offsets: Int32Array, data: Buffer, count: number, where: string): string[] {
  const out = new Array<string>(count);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    if (a !== prev || b < a || b > data.length) throw new LassoError("io_error", `${where}: string offsets are inconsistent at ${i}`);
    out[i] = data.toString("utf8", a, b);
    prev = b;
  }
  return out;
}

/** Null count from a validity bitmap (Arrow readers rely on it being exact). */
export function countNulls(validity: Uint8Array, rows: number): number {
  return rows - popcountRows(validity, rows);
}
