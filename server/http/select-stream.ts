/**
 * Streams a select answer over HTTP in the format the client's Accept asks for, with backpressure:
 * the next chunk is pulled from the engine only after the socket took the previous one, so the server
 * holds about one encoded chunk per response however large the answer.
 *
 * Formats (API.md): application/json `{"count":N,"ids":[…]}` (default), application/x-ndjson (one key a
 * line), text/csv (header `id`, RFC 4180), application/vnd.apache.arrow.stream (one column `id` of the
 * key's native type; an empty answer is a schema-only stream).
 */
import {
  Field,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Uint32,
  Uint64,
  Utf8,
  type DataType,
} from "apache-arrow";
import type { KeyChunk, KeyType, Selection } from "../../engine/api.js";
import { IpcStreamEncoder } from "../arrow-ipc.js";
import type { Exchange } from "./exchange.js";

export type SelectFormat = "json" | "ndjson" | "csv" | "arrow";

export const CONTENT_TYPES: Readonly<Record<SelectFormat, string>> = {
  json: "application/json; charset=utf-8",
  ndjson: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8; header=present",
  arrow: "application/vnd.apache.arrow.stream",
};

/** A Map, not an object: `Accept: constructor` must not find a prototype member. */
const MEDIA: ReadonlyMap<string, SelectFormat> = new Map([
  ["application/json", "json"],
  ["application/x-ndjson", "ndjson"],
  ["application/ndjson", "ndjson"],
  ["application/jsonl", "ndjson"],
  ["text/csv", "csv"],
  ["application/vnd.apache.arrow.stream", "arrow"],
  ["*/*", "json"],
  ["application/*", "json"],
  ["text/*", "csv"],
]);

/**
 * The format for an Accept header: the acceptable type with the highest q (ties: the earlier listed).
 * When nothing listed is supported the answer is JSON (RFC 9110 lets a server ignore Accept rather
 * than refuse).
 */
export function negotiate(accept: string | undefined): SelectFormat {
  if (!accept) return "json";
  let best: SelectFormat | undefined;
  let bestQ = 0;
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";");
    const format = MEDIA.get(type!.trim().toLowerCase());
    if (!format) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  return best ?? "json";
}

/** How one format writes the pieces of an answer. */
interface KeyEncoder {
  head(): string | Uint8Array;
  chunk(keys: KeyChunk, first: boolean): string | Uint8Array;
  tail(): string | Uint8Array;
}

/** The text formats: the engine writes each chunk's bytes (engine/store/key-batch.ts). */
function textEncoder(format: "json" | "ndjson" | "csv", count: number): KeyEncoder {
  return {
    head: () => (format === "json" ? `{"count":${count},"ids":[` : format === "csv" ? "id\r\n" : ""),
    chunk: (keys, first) => keys.text(format, first),
    tail: () => (format === "json" ? "]}" : ""),
  };
}

const ARROW_TYPES: Readonly<Record<KeyType, () => DataType>> = {
  utf8: () => new Utf8(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
};

/** The keys of one chunk as an Arrow column of the entity's native key type. */
export function keyColumn(keys: KeyChunk) {
  const length = keys.length;
  const native = keys.native();
  if (Array.isArray(native)) {
    const valueOffsets = new Int32Array(length + 1);
    let bytes = 0;
    for (let i = 0; i < length; i++) {
      bytes += Buffer.byteLength(native[i]!, "utf8");
      valueOffsets[i + 1] = bytes;
    }
    const data = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = 0; i < length; i++) at += data.write(native[i]!, at, "utf8");
    return makeData({ type: new Utf8(), length, valueOffsets, data });
  }
  // (lo, hi) word pairs are the little-endian 64-bit layout Arrow wants: reinterpreted, not converted
  switch (keys.keyType) {
    case "int32":
      return makeData({ type: new Int32(), length, data: native });
    case "uint32":
      return makeData({ type: new Uint32(), length, data: new Uint32Array(native.buffer, native.byteOffset, length) });
    case "int64":
      return makeData({ type: new Int64(), length, data: new BigInt64Array(native.buffer, native.byteOffset, length) });
    default:
      return makeData({ type: new Uint64(), length, data: new BigUint64Array(native.buffer, native.byteOffset, length) });
  }
}

export function keySchema(keyType: KeyType): Schema {
  return new Schema([new Field("id", ARROW_TYPES[keyType](), false)]);
}

function arrowEncoder(keyType: KeyType): KeyEncoder {
  const schema = keySchema(keyType);
  const ipc = new IpcStreamEncoder(schema);
  return {
    head: () => ipc.start(),
    chunk: (keys) => {
      const column = keyColumn(keys);
      const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: keys.length, children: [column] }));
      return ipc.batch(batch);
    },
    tail: () => ipc.end(),
  };
}

function encoderFor(format: SelectFormat, sel: Selection): KeyEncoder {
  switch (format) {
    case "json":
    case "ndjson":
    case "csv":
      return textEncoder(format, sel.count);
    case "arrow":
      return arrowEncoder(sel.keyType);
  }
}

function isEmpty(piece: string | Uint8Array): boolean {
  return typeof piece === "string" ? piece.length === 0 : piece.byteLength === 0;
}

/**
 * Writes the whole answer. Resolves when the last byte was handed to uWS, or early when the client left;
 * rejects when the engine fails mid-stream (the caller then cuts the connection, since the 200 is out).
 * The selection is always closed.
 */
export async function streamSelection(ex: Exchange, sel: Selection, format: SelectFormat): Promise<void> {
  const iterator = sel.batches();
  try {
    const enc = encoderFor(format, sel);
    ex.begin(200, {
      "Content-Type": CONTENT_TYPES[format],
      "X-Lasso-Count": String(sel.count),
      "X-Lasso-Total": String(sel.total),
      "X-Lasso-Key-Type": sel.keyType,
    });
    let ok = true;
    const head = enc.head();
    if (!isEmpty(head)) ok = ex.write(head);
    let first = true;
    for (;;) {
      if (!ok) await ex.writable();
      if (ex.aborted) return;
      const next = await iterator.next();
      if (next.done || ex.aborted) break;
      if (next.value.length === 0) continue;
      ok = ex.write(enc.chunk(next.value, first));
      first = false;
    }
    if (ex.aborted) return;
    const tail = enc.tail();
    if (!isEmpty(tail)) ex.write(tail);
    ex.end();
  } finally {
    // Releases the store version at once, also when the client left mid-stream.
    try {
      await iterator.return?.();
    } finally {
      sel.close();
    }
  }
}
