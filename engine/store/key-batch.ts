/**
 * One chunk of a select answer — row numbers and the key index that names them — written straight to the
 * bytes a client reads (JSON / NDJSON / CSV text, a msgpack array, Arrow's little-endian words).
 *
 * Why bytes and not JS values: a 64-bit key's JSON form is a decimal string, and making a JS string per key,
 * then having JSON.stringify / msgpackr walk it again, costs ~250 ns a key — a 5M-key answer spent more
 * than a second there. Integer keys are gathered as u64 words into a small private Wasm memory and turned
 * into digits by the keysToDecimal kernel (assembly/keys/decimal.ts), 64K keys a call.
 * Utf8 keys are JS strings already; they keep the generic (string-based) path.
 */
import type { JsonKey, KeyChunk, KeyTextFormat, KeyType } from "../api.js";
import { KEY_TEXT_MAX_BYTES, KeyTextFlags, Kernels, kernelModule } from "../exec/wasm.js";
import type { KeyIndex } from "./keys.js";
import { MORSEL_ROWS, RESERVED_BYTES } from "./layout.js";

const COMMA = 0x2c;
const NO_PREFIX = new Uint8Array(0);
const WASM_PAGE = 65536;

/**
 * The kernel's private memory, one per thread: 64K keys of input (u64) and their text. Keys are copied
 * in because the key index lives in JS memory, and a chunk's rows are scattered over it.
 */
class DecimalScratch {
  static readonly SRC = RESERVED_BYTES;
  static readonly DST = RESERVED_BYTES + MORSEL_ROWS * 8;
  readonly kernels: Kernels;
  readonly words: Int32Array;
  readonly text: Uint8Array;

  constructor() {
    const bytes = DecimalScratch.DST + MORSEL_ROWS * KEY_TEXT_MAX_BYTES;
    const pages = Math.ceil(bytes / WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.kernels = new Kernels(memory, kernelModule());
    this.words = new Int32Array(memory.buffer, DecimalScratch.SRC, MORSEL_ROWS * 2);
    this.text = new Uint8Array(memory.buffer, DecimalScratch.DST, MORSEL_ROWS * KEY_TEXT_MAX_BYTES);
  }
}

let scratch: DecimalScratch | undefined;

const TEXT_FLAGS: Readonly<Record<KeyTextFormat, number>> = {
  json: KeyTextFlags.comma,
  ndjson: KeyTextFlags.lf,
  csv: KeyTextFlags.crlf,
  lines: KeyTextFlags.lf,
};

export class KeyBatch implements KeyChunk {
  constructor(
    private readonly index: KeyIndex,
    /** Global row numbers, ascending; owned by this batch. */
    readonly rows: Uint32Array,
  ) {}

  get length(): number {
    return this.rows.length;
  }

  get keyType(): KeyType {
    return this.index.type;
  }

  keys(): JsonKey[] {
    const type = this.index.type;
    if (type === "int64" || type === "uint64") {
      // the kernel's digits split into strings: ~3× faster than a decimal conversion per key in JS
      const text = this.text("lines", true);
      const parts = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString("latin1").split("\n");
      parts.pop();
      return parts;
    }
    const out = new Array<JsonKey>(this.rows.length);
    for (let i = 0; i < out.length; i++) out[i] = this.index.jsonKey(this.rows[i]!);
    return out;
  }

  text(format: KeyTextFormat, first: boolean): Uint8Array {
    const type = this.index.type;
    if (type === "utf8") return Buffer.from(stringText(this.index.strings(), this.rows, format, first), "utf8");
    const wide = type === "int64" || type === "uint64";
    // 64-bit keys are JSON strings (API.md); in CSV and raw lines they are bare digits
    const quote = wide && (format === "json" || format === "ndjson") ? KeyTextFlags.quote : 0;
    const out = Buffer.allocUnsafe(this.rows.length * (KEY_TEXT_MAX_BYTES + 1) + 1);
    return out.subarray(0, this.decimal(out, 0, TEXT_FLAGS[format] | quote, format === "json" && !first));
  }

  msgpack(prefix: Uint8Array = NO_PREFIX): Uint8Array {
    const rows = this.rows;
    const n = rows.length;
    const type = this.index.type;
    if (type === "utf8") return msgpackStrings(this.index.strings(), rows, prefix);
    const out = Buffer.allocUnsafe(prefix.length + 5 + n * (KEY_TEXT_MAX_BYTES + 1));
    out.set(prefix, 0);
    const p = msgpackArrayHeader(out, prefix.length, n);
    // 64-bit keys: decimal strings of at most 20 bytes, a fixstr each
    if (type === "int64" || type === "uint64") return out.subarray(0, this.decimal(out, p, KeyTextFlags.fixstr, false));
    const words = this.index.intWords();
    let q = p;
    for (let i = 0; i < n; i++) {
      const lo = words[rows[i]! * 2]!;
      q = msgpackInt(out, q, type === "uint32" ? lo >>> 0 : lo);
    }
    return out.subarray(0, q);
  }

  /**
   * Writes every key's decimal text at out[p…] through the kernel, 64K keys a call; `commaFirst` puts a
   * comma before the first key too (a JSON chunk after the first). Returns the end.
   */
  private decimal(out: Buffer, p: number, flags: number, commaFirst: boolean): number {
    const s = (scratch ??= new DecimalScratch());
    const type = this.index.type;
    const words = this.index.intWords();
    const rows = this.rows;
    const signed = type === "int32" || type === "int64" ? KeyTextFlags.signed : 0;
    const w = s.words;
    for (let b = 0; b < rows.length; b += MORSEL_ROWS) {
      const n = Math.min(MORSEL_ROWS, rows.length - b);
      // (lo, hi) → u64 words: 32-bit keys are sign- or zero-extended
      if (type === "int64" || type === "uint64") {
        for (let i = 0; i < n; i++) {
          const r = rows[b + i]! * 2;
          w[i * 2] = words[r]!;
          w[i * 2 + 1] = words[r + 1]!;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const lo = words[rows[b + i]! * 2]!;
          w[i * 2] = lo;
          w[i * 2 + 1] = signed ? lo >> 31 : 0;
        }
      }
      if ((flags & KeyTextFlags.comma) !== 0 && (b > 0 || commaFirst)) out[p++] = COMMA;
      const len = s.kernels.keysToDecimal(DecimalScratch.SRC, n, DecimalScratch.DST, flags | signed);
      out.set(s.text.subarray(0, len), p);
      p += len;
    }
    return p;
  }

  native(): Int32Array | string[] {
    const rows = this.rows;
    if (this.index.type === "utf8") {
      const strs = this.index.strings();
      const out = new Array<string>(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = strs[rows[i]!]!;
      return out;
    }
    const words = this.index.intWords();
    if (this.index.type === "int32" || this.index.type === "uint32") {
      const out = new Int32Array(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = words[rows[i]! * 2]!;
      return out;
    }
    const out = new Int32Array(rows.length * 2);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]! * 2;
      out[i * 2] = words[r]!;
      out[i * 2 + 1] = words[r + 1]!;
    }
    return out;
  }
}

/** The generic path for utf8 keys: JSON strings, RFC 4180 fields or raw lines. */
function stringText(strs: readonly string[], rows: Uint32Array, format: KeyTextFormat, first: boolean): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) parts[i] = strs[rows[i]!]!;
  // a JSON array's elements in one JSON.stringify of the chunk (not one call per key)
  if (format === "json") return (first ? "" : ",") + JSON.stringify(parts).slice(1, -1);
  for (let i = 0; i < parts.length; i++) parts[i] = format === "ndjson" ? JSON.stringify(parts[i]) : format === "csv" ? csvField(parts[i]!) : parts[i]!;
  switch (format) {
    case "csv":
      return parts.join("\r\n") + "\r\n";
    default:
      return parts.join("\n") + "\n";
  }
}

/** RFC 4180: a field with `"`, `,`, CR or LF is quoted with `"` doubled. */
function csvField(key: string): string {
  // the empty key is quoted too: a bare empty line is no record at all to most CSV readers (Python, pandas)
  return key === "" || /[",\r\n]/.test(key) ? `"${key.replace(/"/g, '""')}"` : key;
}

function msgpackStrings(strs: readonly string[], rows: Uint32Array, prefix: Uint8Array): Uint8Array {
  const lengths = new Int32Array(rows.length);
  let bytes = prefix.length + 5;
  for (let i = 0; i < rows.length; i++) {
    lengths[i] = Buffer.byteLength(strs[rows[i]!]!, "utf8");
    bytes += 5 + lengths[i]!;
  }
  const out = Buffer.allocUnsafe(bytes);
  out.set(prefix, 0);
  let p = msgpackArrayHeader(out, prefix.length, rows.length);
  for (let i = 0; i < rows.length; i++) {
    const len = lengths[i]!;
    if (len < 32) out[p++] = 0xa0 | len;
    else if (len < 256) {
      out[p++] = 0xd9;
      out[p++] = len;
    } else if (len < 65536) {
      out[p++] = 0xda;
      out.writeUInt16BE(len, p);
      p += 2;
    } else {
      out[p++] = 0xdb;
      out.writeUInt32BE(len, p);
      p += 4;
    }
    p += out.write(strs[rows[i]!]!, p, "utf8");
  }
  return out.subarray(0, p);
}

/** A msgpack array header for n items at out[p…]; returns the end. */
function msgpackArrayHeader(out: Buffer, p: number, n: number): number {
  if (n < 16) {
    out[p] = 0x90 | n;
    return p + 1;
  }
  if (n < 65536) {
    out[p] = 0xdc;
    out.writeUInt16BE(n, p + 1);
    return p + 3;
  }
  out[p] = 0xdd;
  out.writeUInt32BE(n, p + 1);
  return p + 5;
}

/** The shortest msgpack integer for v (an int32 or a uint32 value). */
function msgpackInt(out: Buffer, p: number, v: number): number {
  if (v >= 0) {
    if (v < 128) {
      out[p] = v;
      return p + 1;
    }
    if (v < 65536) {
      out[p] = v < 256 ? 0xcc : 0xcd;
      if (v < 256) out[p + 1] = v;
      else out.writeUInt16BE(v, p + 1);
      return p + (v < 256 ? 2 : 3);
    }
    out[p] = 0xce;
    out.writeUInt32BE(v, p + 1);
    return p + 5;
  }
  if (v >= -32) {
    out[p] = v & 0xff;
    return p + 1;
  }
  if (v >= -32768) {
    out[p] = v >= -128 ? 0xd0 : 0xd1;
    if (v >= -128) out.writeInt8(v, p + 1);
    else out.writeInt16BE(v, p + 1);
    return p + (v >= -128 ? 2 : 3);
  }
  out[p] = 0xd2;
  out.writeInt32BE(v, p + 1);
  return p + 5;
}
