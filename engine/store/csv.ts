/**
 * CSV (RFC 4180) → Arrow record batches, streamed: a bulk load of CSV goes through the same IPC path as
 * Arrow (`ipcStream(csvBatches(body, opts))` into `engine.load`), so there is one ingest, not two.
 *
 * Rules (docs/api.md "CSV"):
 * - A header row names the columns (names as written: not trimmed; empty or repeated names are errors).
 * - Fields are separated by `,`; a field may be quoted with `"` (then it may hold `,`, line breaks and `""`
 *   for a quote). Records end with LF, CRLF or CR; the last one may lack it. A UTF-8 BOM is skipped.
 *   Blank lines are skipped. Values are not trimmed.
 * - An unquoted empty field is null, for every type. A quoted empty field (`""`) is the empty string in a
 *   string column and the empty list in a multi column; in other columns it is null too.
 * - Types come from the first `sampleRows` data rows unless `types` names them: bool (true/false, any
 *   case), int (64-bit), float, time (ISO 8601, → Timestamp ms UTC), else string (→ Dictionary<Utf8>, a SEL
 *   enum). `multi` (List<Dictionary<Utf8>>, items split on `listSeparator`) is never inferred. A column with no value
 *   in the sample is a string column. The key column is Int64 when int, else Utf8.
 * - A later value that does not fit its column's type, a ragged row, an unterminated quote, a field over
 *   MAX_FIELD_CHARS: `bad_request` naming the 1-based line of the file.
 *
 * Memory: one batch of rows (at most `batchRows`, or fewer when their text passes BATCH_CHARS) plus the
 * type sample; never the whole body.
 *
 * Example:
 *   await engine.load({ entity: "user", key: "user_id", body: ipcStream(csvBatches(file, { key: "user_id" })) });
 */
import * as arrow from "apache-arrow";
import type { DataProps } from "apache-arrow/data";
import type { Engine, KeyType } from "../api.js";
import type { TagType } from "../expr/ast.js";
import { LassoError } from "../errors.js";
import { daysFromCivil } from "../expr/time.js";

export type CsvType = "bool" | "int" | "float" | "time" | "string" | "multi";
export const CSV_TYPES: readonly CsvType[] = ["bool", "int", "float", "time", "string", "multi"];

export interface CsvOptions {
  /** The entity-id column: Int64 when its values are integers (or `types` says int), else Utf8. */
  key: string;
  /** Column types that replace inference, by column name (every name must be a column of the header). */
  types?: Record<string, CsvType>;
  /**
   * Types of the entity's existing tags: a column that `types` does not name takes its tag's type instead
   * of an inferred one (so an update keeps the tag's type whatever its first rows look like).
   */
  tagTypes?: Record<string, CsvType>;
  /** The existing entity's key type: an integer key column is read as this Arrow type (default Int64). */
  keyType?: KeyType;
  /** Separator of the items of a `multi` field (default `|`). */
  listSeparator?: string;
  /** Rows per record batch (default 65,536). */
  batchRows?: number;
  /** Data rows read before the column types are fixed (default 10,000). */
  sampleRows?: number;
}

export const DEFAULT_BATCH_ROWS = 65_536;
export const DEFAULT_SAMPLE_ROWS = 10_000;
export const DEFAULT_LIST_SEPARATOR = "|";
/** Longest field, in UTF-16 code units (≈ bytes for most text): a longer one is an error, not an OOM. */
export const MAX_FIELD_CHARS = 16 * 1024 * 1024;
/** Longest record (all its fields). */
export const MAX_RECORD_CHARS = 64 * 1024 * 1024;
/** Most columns in a header. */
export const MAX_COLUMNS = 16_384;
/** A batch (and the type sample) ends early once its rows hold this much text. */
const BATCH_CHARS = 32 * 1024 * 1024;
/** How much of an offending value an error message shows. */
const SHOWN_CHARS = 60;

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const TWO_32 = 4_294_967_296;
const DAY_MS = 86_400_000;

/** A field as read: null for an unquoted empty field; a quoted empty field is "". */
type Field = string | null;

function csvError(line: number, message: string): LassoError {
  return new LassoError("bad_request", `CSV line ${line}: ${message}`, { line });
}

function shown(v: string): string {
  return JSON.stringify(v.length > SHOWN_CHARS ? `${v.slice(0, SHOWN_CHARS)}…` : v);
}

/**
 * Parses `col:type,col:type` (the CLI's `--types` and the HTTP `types=` parameter). A name may hold `:`
 * (the type follows the last one) but not `,`.
 */
export function parseCsvTypes(text: string): Record<string, CsvType> {
  const out: Record<string, CsvType> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const at = part.lastIndexOf(":");
    const name = at < 0 ? "" : part.slice(0, at).trim();
    const type = at < 0 ? "" : part.slice(at + 1).trim().toLowerCase();
    if (!name || !(CSV_TYPES as readonly string[]).includes(type)) {
      throw new LassoError(
        "bad_request",
        `bad column type ${JSON.stringify(part)}: expected name:type with type one of ${CSV_TYPES.join(", ")}`,
      );
    }
    if (Object.hasOwn(out, name)) throw new LassoError("bad_request", `column '${name}' is given a type twice`);
    out[name] = type as CsvType;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Tokenizer: characters → fields, resumable at any character (chunks end anywhere). A field that lies
// whole inside one chunk is handed over as a range of the chunk's text, so numbers, booleans and times
// are read without a string being made for them (a string per value was most of the load's time, in GC).

interface FieldSink {
  /** Field `index` of the current record is `s[start, end)`; `quoted` when it was written in quotes. */
  field(index: number, s: string, start: number, end: number, quoted: boolean): void;
  /** The current record ended after `fields` fields holding `chars` characters. */
  record(fields: number, line: number, chars: number): void;
}

class Tokenizer {
  /** The physical line (1-based) at the scan position. */
  line = 1;
  /** The line where the current record began. */
  recordLine = 1;
  /** Most fields a record may have (the header's count, once it is read). */
  maxFields = MAX_COLUMNS;
  private fieldIndex = 0;
  private recordChars = 0;
  /** The current field's text so far, when it spans chunks, is quoted, or holds `""`. */
  private piece = "";
  /** The current field has begun (a character or its opening quote was read). */
  private started = false;
  /** The current field began with a quote. */
  private quoted = false;
  private inQuotes = false;
  /** Inside quotes, the last character was a quote: it closes the field unless another quote follows. */
  private quoteSeen = false;
  /** The last record ended with CR: an LF right after belongs to it. */
  private afterCR = false;
  private quoteLine = 0;

  constructor(private readonly sink: FieldSink) {}

  push(s: string): void {
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (this.afterCR) {
        this.afterCR = false;
        if (s.charCodeAt(i) === LF) {
          i++;
          continue;
        }
      }
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (s.charCodeAt(i) === QUOTE) {
            this.append('"');
            i++;
          } else this.inQuotes = false;
          continue;
        }
        const q = s.indexOf('"', i);
        const end = q < 0 ? n : q;
        for (let k = s.indexOf("\n", i); k >= 0 && k < end; k = s.indexOf("\n", k + 1)) this.line++;
        if (end > i) this.append(s.slice(i, end));
        if (q < 0) return;
        this.quoteSeen = true;
        i = q + 1;
        continue;
      }
      const c = s.charCodeAt(i);
      if (this.quoted) {
        // after a closing quote: a separator or the end of the record, nothing else
        if (c === COMMA) this.emitPiece();
        else if (c === LF || c === CR) {
          this.emitPiece();
          this.endRecord(c === CR);
        } else {
          throw csvError(
            this.line,
            `unexpected ${JSON.stringify(s[i])} after the closing quote of field ${this.fieldIndex + 1} (a quote inside a quoted field is written "")`,
          );
        }
        i++;
        continue;
      }
      if (!this.started && c === QUOTE) {
        this.started = this.quoted = this.inQuotes = true;
        this.quoteLine = this.line;
        i++;
        continue;
      }
      // an unquoted field runs to the next separator or line end (a quote inside it is a plain character)
      let j = i;
      // (digits, letters and most punctuation sort above the comma: one compare for them)
      while (j < n) {
        const d = s.charCodeAt(j);
        if (d <= COMMA && (d === COMMA || d === LF || d === CR)) break;
        j++;
      }
      if (j === n) {
        if (j > i) {
          this.append(s.slice(i, j));
          this.started = true;
        }
        return;
      }
      const d = s.charCodeAt(j);
      if (d !== COMMA && j === i && this.fieldIndex === 0 && !this.started) {
        this.endRecord(d === CR); // a blank line holds no record
      } else {
        if (this.started) {
          if (j > i) this.append(s.slice(i, j));
          this.emitPiece();
        } else this.emit(s, i, j, false);
        if (d !== COMMA) this.endRecord(d === CR);
      }
      i = j + 1;
    }
  }

  /** At the end of the text: the last record may lack its line end; an open quote is an error. */
  finish(): void {
    if (this.inQuotes && !this.quoteSeen) {
      throw csvError(this.quoteLine, `a quoted field starts here and is never closed (the text ends inside it)`);
    }
    this.inQuotes = this.quoteSeen = false;
    if (this.started) this.emitPiece();
    else if (this.fieldIndex > 0) this.emit("", 0, 0, false); // "a,b," ends with an empty field
    this.endRecord(false);
  }

  private append(t: string): void {
    this.piece = this.piece === "" ? t : this.piece + t;
    if (this.piece.length > MAX_FIELD_CHARS) throw this.tooLong();
  }

  private tooLong(): LassoError {
    return csvError(this.recordLine, `field ${this.fieldIndex + 1} is longer than ${MAX_FIELD_CHARS} characters`);
  }

  private emitPiece(): void {
    const p = this.piece;
    this.piece = "";
    this.emit(p, 0, p.length, this.quoted);
  }

  private emit(s: string, start: number, end: number, quoted: boolean): void {
    if (this.fieldIndex >= this.maxFields) {
      throw csvError(
        this.recordLine,
        this.maxFields === MAX_COLUMNS ? `more than ${MAX_COLUMNS} fields` : `more than the header's ${this.maxFields} fields`,
      );
    }
    if (end - start > MAX_FIELD_CHARS) throw this.tooLong();
    this.recordChars += end - start + 1;
    if (this.recordChars > MAX_RECORD_CHARS) throw csvError(this.recordLine, `the record is longer than ${MAX_RECORD_CHARS} characters`);
    this.sink.field(this.fieldIndex++, s, start, end, quoted);
    this.started = this.quoted = false;
  }

  private endRecord(cr: boolean): void {
    if (this.fieldIndex > 0) this.sink.record(this.fieldIndex, this.recordLine, this.recordChars);
    this.fieldIndex = 0;
    this.recordChars = 0;
    this.afterCR = cr;
    this.line++;
    this.recordLine = this.line;
  }
}

// ---------------------------------------------------------------------------------------------------
// Values, read from a range [a, b) of a string (b > a)

/** 1 for true, 0 for false (any letter case), -1 for anything else. */
function parseBool(s: string, a: number, b: number): number {
  const n = b - a;
  // `| 32` lower-cases an ASCII letter and maps nothing else onto one
  if (n === 4) {
    const t = (s.charCodeAt(a) | 32) === 116 && (s.charCodeAt(a + 1) | 32) === 114 && (s.charCodeAt(a + 2) | 32) === 117 &&
      (s.charCodeAt(a + 3) | 32) === 101;
    return t ? 1 : -1;
  }
  if (n === 5) {
    const f = (s.charCodeAt(a) | 32) === 102 && (s.charCodeAt(a + 1) | 32) === 97 && (s.charCodeAt(a + 2) | 32) === 108 &&
      (s.charCodeAt(a + 3) | 32) === 115 && (s.charCodeAt(a + 4) | 32) === 101;
    return f ? 0 : -1;
  }
  return -1;
}

/** Up to 15 digits: exact in a double, no BigInt needed. */
const EXACT_DIGITS = 15;
const INT64_MIN = -(2n ** 63n);
const INT64_END = 2n ** 63n;

/** An integer: optional sign and decimal digits, within Int64. A number when exact, else a bigint. */
function parseInt64(s: string, a: number, b: number): number | bigint | undefined {
  const c0 = s.charCodeAt(a);
  let i = c0 === 45 /* - */ || c0 === 43 /* + */ ? a + 1 : a;
  if (i >= b) return undefined;
  if (b - i <= EXACT_DIGITS) {
    let x = 0;
    for (; i < b; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      x = x * 10 + d;
    }
    return c0 === 45 ? -x : x;
  }
  for (; i < b; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
  }
  const v = BigInt(s.slice(a, b));
  return v >= INT64_MIN && v < INT64_END ? v : undefined;
}

/** An unsigned 64-bit integer (a UInt64 key), as the bits the Word64Column writes. */
function parseUint64(s: string, a: number, b: number): number | bigint | undefined {
  if (s.charCodeAt(a) === 45 /* - */) return undefined;
  const c0 = s.charCodeAt(a);
  const i = c0 === 43 ? a + 1 : a;
  if (b - i <= EXACT_DIGITS) return parseInt64(s, a, b);
  for (let k = i; k < b; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return undefined;
  }
  const v = BigInt(s.slice(a, b));
  return v < UINT64_END ? BigInt.asIntN(64, v) : undefined;
}
const UINT64_END = 2n ** 64n;

const POW10 = Array.from({ length: EXACT_DIGITS + 1 }, (_, k) => 10 ** k);

/** A float: `[+-]digits[.digits][e[+-]digits]` (or `.digits`), finite; no NaN/Infinity text. */
function parseFloat64(s: string, a: number, b: number): number | undefined {
  let i = a;
  const c0 = s.charCodeAt(a);
  if (c0 === 45 || c0 === 43) i++;
  let m = 0;
  let digits = 0;
  let frac = 0;
  for (; i < b; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    m = m * 10 + d;
    digits++;
  }
  if (i < b && s.charCodeAt(i) === 46 /* . */) {
    for (i++; i < b; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      m = m * 10 + d;
      digits++;
      frac++;
    }
  }
  if (digits === 0) return undefined;
  if (i === b && digits <= EXACT_DIGITS) {
    // Clinger's fast path: m and 10^frac are exact doubles, so one division rounds correctly (= Number(text))
    const x = frac === 0 ? m : m / POW10[frac]!;
    return c0 === 45 ? -x : x;
  }
  if (i < b) {
    const e = s.charCodeAt(i);
    if (e !== 101 && e !== 69) return undefined;
    i++;
    if (i < b && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    const e0 = i;
    for (; i < b; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
    }
    if (i === e0) return undefined;
  }
  const x = Number(s.slice(a, b));
  return Number.isFinite(x) ? x : undefined;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two decimal digits at s[i], s[i+1] (the caller checked they lie in the field), or -1. */
function digits2(s: string, i: number): number {
  const x = s.charCodeAt(i) - 48;
  const y = s.charCodeAt(i + 1) - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

/**
 * SEL.md's time forms (as engine/expr/time.ts reads them): `YYYY-MM-DD`, or a date, `T` or a space,
 * `HH:MM[:SS[.fraction]]` and an optional offset `Z`, `±HH:MM`, `±HHMM` or `±HH` (none = UTC). Milliseconds
 * since the epoch; fraction digits past the third are dropped (the instant truncated to its millisecond).
 */
function parseTimeMs(s: string, a: number, b: number): number | undefined {
  if (b - a < 10) return undefined;
  const y1 = digits2(s, a);
  const y2 = digits2(s, a + 2);
  if (y1 < 0 || y2 < 0 || s.charCodeAt(a + 4) !== 45 || s.charCodeAt(a + 7) !== 45) return undefined;
  const year = y1 * 100 + y2;
  const month = digits2(s, a + 5);
  const day = digits2(s, a + 8);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!)) return undefined;
  let ms = daysFromCivil(year, month, day) * DAY_MS;
  let i = a + 10;
  if (i === b) return ms;
  const t = s.charCodeAt(i);
  if ((t !== 84 /* T */ && t !== 116 /* t */ && t !== 32) || b - i < 6 || s.charCodeAt(i + 3) !== 58 /* : */) return undefined;
  const hour = digits2(s, i + 1);
  const minute = digits2(s, i + 4);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  i += 6;
  let second = 0;
  let fraction = 0;
  if (i < b && s.charCodeAt(i) === 58) {
    if (b - i < 3) return undefined;
    second = digits2(s, i + 1);
    if (second < 0 || second > 59) return undefined;
    i += 3;
    if (i < b && s.charCodeAt(i) === 46 /* . */) {
      const f0 = ++i;
      for (; i < b; i++) {
        const d = s.charCodeAt(i) - 48;
        if (d < 0 || d > 9) break;
        if (i - f0 < 3) fraction += d * POW10[2 - (i - f0)]!;
      }
      if (i === f0) return undefined;
    }
  }
  ms += (hour * 3600 + minute * 60 + second) * 1000 + fraction;
  if (i === b) return ms;
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ || z === 122 /* z */) return i + 1 === b ? ms : undefined;
  if ((z !== 43 && z !== 45) || b - i < 3) return undefined;
  const oh = digits2(s, i + 1);
  if (oh < 0 || oh > 23) return undefined;
  i += 3;
  let om = 0;
  if (i < b) {
    if (s.charCodeAt(i) === 58) i++;
    if (b - i !== 2) return undefined;
    om = digits2(s, i);
    if (om < 0 || om > 59) return undefined;
  }
  // local time = UTC + offset, so UTC = local − offset
  const offset = (oh * 3600 + om * 60) * 1000;
  return z === 43 ? ms - offset : ms + offset;
}

/** A whole text as a time (ms since the epoch, UTC unless it has an offset), or undefined: the CSV rule. */
export function parseCsvTime(text: string): number | undefined {
  return text.length === 0 ? undefined : parseTimeMs(text, 0, text.length);
}

/** The first type of bool, int, float, time that every value fits; string otherwise (or with no values). */
function inferType(values: Iterable<Field>): CsvType {
  let bool = true;
  let int = true;
  let float = true;
  let time = true;
  let any = false;
  for (const v of values) {
    if (v === null || v === "") continue;
    any = true;
    const n = v.length;
    if (bool && parseBool(v, 0, n) < 0) bool = false;
    if (int && parseInt64(v, 0, n) === undefined) int = false;
    if (float && parseFloat64(v, 0, n) === undefined) float = false;
    if (time && parseTimeMs(v, 0, n) === undefined) time = false;
    if (!bool && !int && !float && !time) return "string";
  }
  if (!any) return "string";
  return bool ? "bool" : int ? "int" : float ? "float" : time ? "time" : "string";
}

// ---------------------------------------------------------------------------------------------------
// Column builders: one batch of one column, in typed arrays wrapped by makeData (no Arrow Builder: a
// per-value `append` goes through type visitors on every call).

interface ColumnBuilder {
  /**
   * Writes row `row` from `s[start, end)` (empty: null, or for strings and lists the empty value when
   * `quoted`). False when the value does not fit the column's type.
   */
  add(row: number, s: string, start: number, end: number, quoted: boolean): boolean;
  /** The batch's column of `rows` rows; the builder starts a new batch. */
  finish(rows: number): arrow.Data;
}

class Validity {
  bits: Uint8Array;
  nulls = 0;
  constructor(private readonly cap: number) {
    this.bits = new Uint8Array((cap + 7) >> 3);
  }
  valid(row: number): void {
    this.bits[row >> 3]! |= 1 << (row & 7);
  }
  take(rows: number): { nullCount: number; nullBitmap?: Uint8Array } {
    const out = this.nulls > 0 ? { nullCount: this.nulls, nullBitmap: this.bits.subarray(0, (rows + 7) >> 3) } : { nullCount: 0 };
    this.bits = new Uint8Array((this.cap + 7) >> 3);
    this.nulls = 0;
    return out;
  }
}

/** Strings → Utf8 offsets and bytes (a null or missing entry is an empty slot). */
function utf8Parts(strings: readonly Field[], n: number): { valueOffsets: Int32Array; data: Uint8Array } {
  const valueOffsets = new Int32Array(n + 1);
  let chars = 0;
  for (let i = 0; i < n; i++) chars += strings[i]?.length ?? 0;
  // a UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, 2 units, is 4)
  const buf = Buffer.allocUnsafe(chars * 3);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s) at += buf.write(s, at, "utf8");
    valueOffsets[i + 1] = at;
  }
  return { valueOffsets, data: buf.subarray(0, at) };
}

class BoolColumn implements ColumnBuilder {
  private values: Uint8Array;
  private readonly validity: Validity;
  constructor(
    private readonly type: arrow.Bool,
    private readonly cap: number,
  ) {
    this.values = new Uint8Array((cap + 7) >> 3);
    this.validity = new Validity(cap);
  }
  add(row: number, s: string, start: number, end: number): boolean {
    if (start === end) {
      this.validity.nulls++;
      return true;
    }
    const b = parseBool(s, start, end);
    if (b < 0) return false;
    if (b) this.values[row >> 3]! |= 1 << (row & 7);
    this.validity.valid(row);
    return true;
  }
  finish(rows: number): arrow.Data {
    const data = this.values.subarray(0, (rows + 7) >> 3);
    this.values = new Uint8Array((this.cap + 7) >> 3);
    return arrow.makeData({ type: this.type, length: rows, data, ...this.validity.take(rows) });
  }
}

/** Int64, UInt64 and Timestamp(ms) values: two 32-bit words a row (no BigInt for values that fit a double). */
class Word64Column implements ColumnBuilder {
  private words: Int32Array;
  private readonly validity: Validity;
  constructor(
    private readonly type: arrow.Int64 | arrow.Uint64 | arrow.TimestampMillisecond,
    private readonly cap: number,
    private readonly parse: (s: string, start: number, end: number) => number | bigint | undefined,
  ) {
    this.words = new Int32Array(2 * cap);
    this.validity = new Validity(cap);
  }
  add(row: number, s: string, start: number, end: number): boolean {
    if (start === end) {
      this.validity.nulls++;
      return true;
    }
    const x = this.parse(s, start, end);
    if (x === undefined) return false;
    if (typeof x === "number") {
      const hi = Math.floor(x / TWO_32);
      this.words[2 * row] = (x - hi * TWO_32) | 0;
      this.words[2 * row + 1] = hi | 0;
    } else {
      // as two words, like the number case (a BigInt64Array view per value would allocate per row)
      this.words[2 * row] = Number(BigInt.asIntN(32, x));
      this.words[2 * row + 1] = Number(BigInt.asIntN(32, x >> 32n));
    }
    this.validity.valid(row);
    return true;
  }
  finish(rows: number): arrow.Data {
    const unsigned = arrow.DataType.isInt(this.type) && !this.type.isSigned;
    const data = unsigned ? new BigUint64Array(this.words.buffer, 0, rows) : new BigInt64Array(this.words.buffer, 0, rows);
    this.words = new Int32Array(2 * this.cap);
    return arrow.makeData({ type: this.type, length: rows, data, ...this.validity.take(rows) } as DataProps<arrow.Int64>);
  }
}

/**
 * Numbers held as doubles while a batch fills: float columns, and 32-bit integer keys (when the entity's
 * keys are Int32 or UInt32), whose values are range-checked here and converted when the batch ends.
 */
class NumberColumn implements ColumnBuilder {
  private values: Float64Array;
  private readonly validity: Validity;
  constructor(
    private readonly type: arrow.Float64 | arrow.Int32 | arrow.Uint32,
    private readonly cap: number,
    private readonly min = -Infinity,
    private readonly max = Infinity,
  ) {
    this.values = new Float64Array(cap);
    this.validity = new Validity(cap);
    this.parse = arrow.DataType.isFloat(type) ? parseFloat64 : parseInt64;
  }
  private readonly parse: (s: string, start: number, end: number) => number | bigint | undefined;
  add(row: number, s: string, start: number, end: number): boolean {
    if (start === end) {
      this.validity.nulls++;
      return true;
    }
    const x = this.parse(s, start, end);
    if (typeof x !== "number" || x < this.min || x > this.max) return false;
    this.values[row] = x;
    this.validity.valid(row);
    return true;
  }
  finish(rows: number): arrow.Data {
    const values = this.values.subarray(0, rows);
    const t = this.type;
    const data = arrow.DataType.isFloat(t) ? values : t.isSigned ? Int32Array.from(values) : Uint32Array.from(values);
    this.values = new Float64Array(this.cap);
    return arrow.makeData({ type: t, length: rows, data, ...this.validity.take(rows) } as DataProps<arrow.Int32>);
  }
}

/**
 * The distinct strings of one batch of a column, found by a range of the text they were read from: a
 * repeated value (most of them, in tag data) costs a hash of its characters and one compare, no string.
 * Open addressing over codes + 1 (0 = empty slot), at most half full.
 */
class RangeDictionary {
  readonly values: string[] = [];
  private hashes = new Int32Array(64);
  private slots = new Int32Array(128);

  code(s: string, a: number, b: number): number {
    let h = 0x811c9dc5; // FNV-1a over UTF-16 units
    for (let i = a; i < b; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    const mask = this.slots.length - 1;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const c = this.slots[p]! - 1;
      if (c < 0) return this.insert(s.slice(a, b), h, p);
      const v = this.values[c]!;
      if (this.hashes[c] === h && v.length === b - a && s.startsWith(v, a)) return c;
    }
  }

  private insert(v: string, h: number, slot: number): number {
    const c = this.values.length;
    this.values.push(v);
    if (c === this.hashes.length) {
      const grown = new Int32Array(c * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[c] = h;
    this.slots[slot] = c + 1;
    if (2 * this.values.length > this.slots.length) {
      const slots = new Int32Array(this.slots.length * 2);
      const mask = slots.length - 1;
      for (let k = 0; k < this.values.length; k++) {
        let p = this.hashes[k]! & mask;
        while (slots[p] !== 0) p = (p + 1) & mask;
        slots[p] = k + 1;
      }
      this.slots = slots;
    }
    return c;
  }

  /** The dictionary as a Utf8 vector. */
  vector(type: arrow.Utf8): arrow.Vector<arrow.Utf8> {
    const n = this.values.length;
    return arrow.makeVector(arrow.makeData({ type, length: n, nullCount: 0, ...utf8Parts(this.values, n) }));
  }
}

/** Strings as dictionary codes; each batch carries its own dictionary (a replacement in the IPC stream). */
class DictColumn implements ColumnBuilder {
  private codes: Int32Array;
  private dict = new RangeDictionary();
  private readonly validity: Validity;
  constructor(
    private readonly type: arrow.Dictionary<arrow.Utf8, arrow.Int32>,
    private readonly cap: number,
  ) {
    this.codes = new Int32Array(cap);
    this.validity = new Validity(cap);
  }
  add(row: number, s: string, start: number, end: number, quoted: boolean): boolean {
    if (start === end && !quoted) {
      this.validity.nulls++;
      return true;
    }
    this.codes[row] = this.dict.code(s, start, end);
    this.validity.valid(row);
    return true;
  }
  finish(rows: number): arrow.Data {
    const dictionary = this.dict.vector(this.type.dictionary);
    const data = this.codes.subarray(0, rows);
    this.codes = new Int32Array(this.cap);
    this.dict = new RangeDictionary();
    return arrow.makeData({ type: this.type, length: rows, data, dictionary, ...this.validity.take(rows) });
  }
}

/** Plain Utf8 (the key column when it is not an integer). */
class Utf8Column implements ColumnBuilder {
  private values: Field[] = [];
  private readonly validity: Validity;
  constructor(
    private readonly type: arrow.Utf8,
    cap: number,
  ) {
    this.validity = new Validity(cap);
  }
  add(row: number, s: string, start: number, end: number, quoted: boolean): boolean {
    if (start === end && !quoted) {
      this.values[row] = null;
      this.validity.nulls++;
    } else {
      this.values[row] = s.slice(start, end);
      this.validity.valid(row);
    }
    return true;
  }
  finish(rows: number): arrow.Data {
    const parts = utf8Parts(this.values, rows);
    this.values = [];
    return arrow.makeData({ type: this.type, length: rows, ...parts, ...this.validity.take(rows) });
  }
}

/**
 * A multi column: List<Dictionary<Utf8>>, a field's items split on the separator (`""` is the empty
 * list). Dictionary-coded items, like DictColumn's values, are also what the store keeps.
 */
class ListColumn implements ColumnBuilder {
  private offsets: Int32Array;
  private codes = new Int32Array(1024);
  private used = 0;
  private dict = new RangeDictionary();
  private readonly validity: Validity;
  constructor(
    private readonly type: arrow.List<arrow.Dictionary<arrow.Utf8, arrow.Int32>>,
    private readonly cap: number,
    private readonly separator: string,
  ) {
    this.offsets = new Int32Array(cap + 1);
    this.validity = new Validity(cap);
  }
  add(row: number, s: string, start: number, end: number, quoted: boolean): boolean {
    if (start === end) {
      if (quoted) this.validity.valid(row);
      else this.validity.nulls++;
    } else {
      // `s` may be a whole chunk: never search past the field's end (an indexOf would, to the chunk's end)
      let text = s;
      if (this.separator.length > 1 && (start > 0 || end < s.length)) {
        text = s.slice(start, end);
        end -= start;
        start = 0;
      }
      const sep = this.separator;
      const sep0 = sep.charCodeAt(0);
      for (let a = start; ; ) {
        let b = a;
        if (sep.length === 1) while (b < end && text.charCodeAt(b) !== sep0) b++;
        else {
          const k = text.indexOf(sep, a);
          b = k < 0 ? end : k;
        }
        if (this.used === this.codes.length) {
          const grown = new Int32Array(this.used * 2);
          grown.set(this.codes);
          this.codes = grown;
        }
        this.codes[this.used++] = this.dict.code(text, a, b);
        if (b === end) break;
        a = b + sep.length;
      }
      this.validity.valid(row);
    }
    this.offsets[row + 1] = this.used;
    return true;
  }
  finish(rows: number): arrow.Data {
    const itemType = this.type.children[0]!.type;
    const data = this.codes.subarray(0, this.used);
    const child = arrow.makeData({ type: itemType, length: this.used, nullCount: 0, data, dictionary: this.dict.vector(itemType.dictionary) });
    const valueOffsets = this.offsets.subarray(0, rows + 1);
    this.offsets = new Int32Array(this.cap + 1);
    this.codes = new Int32Array(1024);
    this.used = 0;
    this.dict = new RangeDictionary();
    return arrow.makeData({ type: this.type, length: rows, valueOffsets, child, ...this.validity.take(rows) });
  }
}

// ---------------------------------------------------------------------------------------------------
// Columns of a file: names, types, builders

/** A column's type as the CSV reader uses it: the CSV types, plus the two forms of a key. */
type ColumnType = CsvType | "key-int64" | "key-int32" | "key-uint32" | "key-uint64" | "key-string";

function keyIntType(t: KeyType | undefined): ColumnType {
  return t === "int32" ? "key-int32" : t === "uint32" ? "key-uint32" : t === "uint64" ? "key-uint64" : "key-int64";
}

interface Column {
  name: string;
  type: ColumnType;
  builder: ColumnBuilder;
}

function makeColumn(name: string, type: ColumnType, cap: number, index: number, separator: string): { field: arrow.Field; column: Column } {
  let dataType: arrow.DataType;
  let builder: ColumnBuilder;
  switch (type) {
    case "bool": {
      const t = new arrow.Bool();
      dataType = t;
      builder = new BoolColumn(t, cap);
      break;
    }
    case "int":
    case "key-int64": {
      const t = new arrow.Int64();
      dataType = t;
      builder = new Word64Column(t, cap, parseInt64);
      break;
    }
    case "key-uint64": {
      const t = new arrow.Uint64();
      dataType = t;
      builder = new Word64Column(t, cap, parseUint64);
      break;
    }
    case "key-int32": {
      const t = new arrow.Int32();
      dataType = t;
      builder = new NumberColumn(t, cap, -(2 ** 31), 2 ** 31 - 1);
      break;
    }
    case "key-uint32": {
      const t = new arrow.Uint32();
      dataType = t;
      builder = new NumberColumn(t, cap, 0, 2 ** 32 - 1);
      break;
    }
    case "float": {
      const t = new arrow.Float64();
      dataType = t;
      builder = new NumberColumn(t, cap);
      break;
    }
    case "time": {
      const t = new arrow.TimestampMillisecond("UTC");
      dataType = t;
      builder = new Word64Column(t, cap, parseTimeMs);
      break;
    }
    case "string": {
      // the same type object (and dictionary id) in every batch: the IPC writer starts a new stream on a
      // schema that differs from its first one
      const t = new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32(), index);
      dataType = t;
      builder = new DictColumn(t, cap);
      break;
    }
    case "key-string": {
      const t = new arrow.Utf8();
      dataType = t;
      builder = new Utf8Column(t, cap);
      break;
    }
    case "multi": {
      const item = new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32(), MAX_COLUMNS + index); // ids apart from the columns' own
      const t = new arrow.List(new arrow.Field("item", item, false));
      dataType = t;
      builder = new ListColumn(t, cap, separator);
      break;
    }
  }
  return { field: new arrow.Field(name, dataType, true), column: { name, type, builder } };
}

type TypeSource = "given" | "existing" | "inferred";

const SOURCE_TEXT: Record<TypeSource, string> = {
  given: "as given",
  existing: "that of the existing tag or key",
  inferred: "inferred from the first rows",
};

/** Why a value did not fit, and the type that would take it. */
function misfit(col: Column, v: string, line: number, source: TypeSource): LassoError {
  const type = col.type.startsWith("key-") ? "int" : col.type;
  const wider = type === "int" && parseFloat64(v, 0, v.length) !== undefined ? "float" : "string";
  const fix =
    source === "existing"
      ? "fix the value, or load the column under another name"
      : `to load the column as ${wider}, give its type: ${col.name}:${wider} (CLI --types, HTTP types=)`;
  const what = `${type === "int" ? "an" : "a"} ${type}`;
  return csvError(line, `column '${col.name}' has ${shown(v)}, which is not ${what} (the column's type is ${SOURCE_TEXT[source]}); ${fix}`);
}

function checkHeader(fields: Field[], line: number, opts: CsvOptions): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (f === null || f === "") throw csvError(line, `column ${i + 1} of the header has no name`);
    if (seen.has(f)) throw csvError(line, `the header names column '${f}' twice`);
    seen.add(f);
    names.push(f);
  });
  if (!seen.has(opts.key)) {
    throw csvError(line, `the header has no key column '${opts.key}' (columns: ${names.map((n) => `'${n}'`).join(", ")})`);
  }
  for (const [name, type] of Object.entries(opts.types ?? {})) {
    if (!seen.has(name)) {
      throw new LassoError("bad_request", `a type is given for column '${name}', which the CSV header does not have (columns: ${names.join(", ")})`);
    }
    if (name === opts.key && type !== "int" && type !== "string") {
      throw new LassoError("bad_request", `the key column '${name}' can be int or string, not ${type}`);
    }
  }
  return names;
}

function checkOptions(opts: CsvOptions): { batchRows: number; sampleRows: number; separator: string } {
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const sampleRows = opts.sampleRows ?? DEFAULT_SAMPLE_ROWS;
  const separator = opts.listSeparator ?? DEFAULT_LIST_SEPARATOR;
  if (typeof opts.key !== "string" || opts.key === "") throw new LassoError("bad_request", "key (the entity-id column) is required");
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new LassoError("bad_request", `batchRows must be a whole number ≥ 1, got ${batchRows}`);
  }
  if (!Number.isSafeInteger(sampleRows) || sampleRows < 0) {
    throw new LassoError("bad_request", `sampleRows must be a whole number ≥ 0, got ${sampleRows}`);
  }
  if (separator === "" || /[",\r\n]/.test(separator)) {
    throw new LassoError(
      "bad_request",
      `the list separator must be non-empty and hold no comma, quote or line break, got ${JSON.stringify(separator)}`,
    );
  }
  for (const [name, type] of [...Object.entries(opts.types ?? {}), ...Object.entries(opts.tagTypes ?? {})]) {
    if (!(CSV_TYPES as readonly string[]).includes(type)) {
      throw new LassoError("bad_request", `column '${name}': unknown type ${JSON.stringify(type)} (one of ${CSV_TYPES.join(", ")})`);
    }
  }
  return { batchRows, sampleRows, separator };
}

/**
 * CSV bytes → record batches of at most `batchRows` rows (the last may be shorter; a file with a header
 * and no rows gives one empty batch, so the schema still reaches the load).
 */
export async function* csvBatches(body: AsyncIterable<Uint8Array>, opts: CsvOptions): AsyncGenerator<arrow.RecordBatch> {
  const { batchRows, sampleRows, separator } = checkOptions(opts);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let names: string[] | null = null;
  let sample: { fields: Field[]; line: number }[] | null = [];
  let sampleChars = 0;
  let schema: arrow.Schema | null = null;
  let struct: arrow.Struct | null = null;
  let columns: Column[] = [];
  let rows = 0;
  let batchChars = 0;
  let emitted = 0;
  const ready: arrow.RecordBatch[] = [];

  const flush = (): void => {
    const children = columns.map((c) => c.builder.finish(rows));
    ready.push(new arrow.RecordBatch(schema!, arrow.makeData({ type: struct!, length: rows, nullCount: 0, children })));
    rows = 0;
    batchChars = 0;
  };

  const typeSource = (name: string): TypeSource =>
    opts.types?.[name] !== undefined
      ? "given"
      : name === opts.key && opts.keyType
        ? "existing"
        : name !== opts.key && opts.tagTypes?.[name] !== undefined
          ? "existing"
          : "inferred";

  const misfitAt = (c: number, v: string, line: number): LassoError => misfit(columns[c]!, v, line, typeSource(columns[c]!.name));

  const endRow = (chars: number): void => {
    rows++;
    batchChars += chars;
    if (rows >= batchRows || batchChars >= BATCH_CHARS) flush();
  };

  const fixTypes = (): void => {
    const fields: arrow.Field[] = [];
    columns = names!.map((name, i) => {
      const source = typeSource(name);
      let type: ColumnType =
        source === "inferred"
          ? inferType(sample!.map((r) => r.fields[i]!))
          : source === "given"
            ? opts.types![name]!
            : name === opts.key
              ? opts.keyType === "utf8" ? "string" : "int"
              : opts.tagTypes![name]!;
      if (name === opts.key) type = type === "int" ? keyIntType(opts.keyType) : "key-string";
      const made = makeColumn(name, type, batchRows, i, separator);
      fields.push(made.field);
      return made.column;
    });
    builders = columns.map((c) => c.builder);
    schema = new arrow.Schema(fields);
    struct = new arrow.Struct(fields);
    const held = sample!;
    sample = null;
    for (const r of held) {
      r.fields.forEach((v, c) => {
        if (!builders[c]!.add(rows, v ?? "", 0, v?.length ?? 0, v !== null)) throw misfitAt(c, v!, r.line);
      });
      endRow(0);
    }
  };

  // Before the types are fixed (header, sample) fields are kept as strings; after, they go straight into
  // the column builders.
  let current: Field[] = [];
  let builders: ColumnBuilder[] = [];
  const tokenizer: Tokenizer = new Tokenizer({
    field(index, s, start, end, quoted) {
      if (sample === null) {
        if (!builders[index]!.add(rows, s, start, end, quoted)) throw misfitAt(index, s.slice(start, end), tokenizer.recordLine);
      } else current.push(start === end && !quoted ? null : s.slice(start, end));
    },
    record(count, line, chars) {
      if (!names) {
        names = checkHeader(current, line, opts);
        current = [];
        tokenizer.maxFields = names.length;
        if (sampleRows === 0) fixTypes();
        return;
      }
      if (count !== names.length) {
        throw csvError(line, `the record has ${count} field${count === 1 ? "" : "s"}, the header has ${names.length}`);
      }
      if (sample === null) {
        endRow(chars);
        return;
      }
      sample.push({ fields: current, line });
      current = [];
      sampleChars += chars;
      if (sample.length >= sampleRows || sampleChars >= BATCH_CHARS) fixTypes();
    },
  });

  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      // the line of the first bad byte: lines in the chunk's readable prefix past the text read so far
      const lenient = new TextDecoder("utf-8").decode(chunk ?? new Uint8Array(0));
      const bad = lenient.indexOf("\uFFFD");
      let line = tokenizer.line;
      for (let k = lenient.indexOf("\n"); k >= 0 && (bad < 0 || k < bad); k = lenient.indexOf("\n", k + 1)) line++;
      throw csvError(line, "the bytes here are not valid UTF-8 (CSV loads take UTF-8 text)");
    }
  };

  for await (const chunk of body) {
    tokenizer.push(decode(chunk));
    for (const b of ready.splice(0)) {
      emitted++;
      yield b;
    }
  }
  tokenizer.push(decode());
  tokenizer.finish();
  if (!names) throw new LassoError("bad_request", "the CSV is empty: a header row naming the columns is required");
  if (sample) fixTypes();
  if (rows > 0 || (emitted === 0 && ready.length === 0)) flush();
  for (const b of ready.splice(0)) yield b;
}

const CSV_TYPE_OF: Record<TagType, CsvType> = { bool: "bool", int: "int", float: "float", time: "time", enum: "string", multi: "multi" };

/**
 * The CSV options an entity implies: the types of its catalogued tags (loaded or only declared) and the
 * key type of its store, when it has one. Callers pass them with the user's `types`, which win. Both are
 * in-memory lookups: no column is read.
 */
export function csvTypesOf(engine: Pick<Engine, "entities" | "tagCatalog">, entity: string): Pick<CsvOptions, "tagTypes" | "keyType"> {
  const tagTypes: Record<string, CsvType> = {};
  for (const [name, type] of engine.tagCatalog.tagTypes(entity)) tagTypes[name] = CSV_TYPE_OF[type];
  const info = engine.entities().find((e) => e.name === entity);
  return info ? { tagTypes, keyType: info.keyType } : { tagTypes };
}
