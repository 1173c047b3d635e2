/**
 * What a tag is inside the store: its SEL type, the storage form its column chunks take, and (for enum and
 * multi tags) its dictionary. A tag's meta is immutable per store version; a load that must change the form
 * (Int64 values into an `i32` int tag, µs into a ms time tag, Float64 into `f32`) re-encodes the tag's chunks
 * into the new form in the new version.
 *
 * Column chunk forms (one chunk per tag per shard, pointers into the shard's memory):
 *   bool   values: bitmap            validity: bitmap
 *   i32    values: int32 per row     validity        (int, time in days)
 *   i64    values: int64 per row     validity        (int, time in s/ms/µs/ns)
 *   f32    values: float32 per row   validity
 *   f64    values: float64 per row   validity
 *   codes  values: u8/u16/u32 dictionary codes per row, validity      (enum)
 *   list   offsets: int32 per row + 1, codes: u16/u32 array, validity (multi)
 * Validity is always materialised (one bit per row, 1/64 of an int64 column) so rows appended later read as
 * null without rewriting chunks, and kernels never branch on "has nulls".
 */
import type { TagType } from "../expr/ast.js";

export type ValueForm = "bool" | "i32" | "i64" | "f32" | "f64" | "codes" | "list";
export type TimeUnit = "day" | "s" | "ms" | "us" | "ns";

/** Nanoseconds per time unit (exact). */
export const UNIT_NS: Readonly<Record<TimeUnit, bigint>> = {
  day: 86_400_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  ns: 1n,
};

export interface TagMeta {
  readonly name: string;
  readonly type: TagType;
  readonly form: ValueForm;
  /** Bytes per code for `codes` (1, 2, 4) and `list` (2, 4). */
  readonly codeBytes?: 1 | 2 | 4;
  readonly unit?: TimeUnit;
  /**
   * int tags holding UInt64 values above 2^63 − 1: stored in the i64 form with the sign bit flipped
   * (stored = value − 2^63), which keeps the order, so the same range kernel answers. Such a tag has
   * no negative values.
   */
  readonly unsigned?: boolean;
  readonly dict?: Dictionary;
}

/** Offset of the unsigned int encoding: stored = value − U64_BIAS. */
export const U64_BIAS = 2n ** 63n;

/** Append-only: a code's meaning never changes, so every store version can share one dictionary. */
export class Dictionary {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.values.length;
  }
  code(value: string): number {
    return this.index.get(value) ?? -1;
  }
  encode(value: string): number {
    let c = this.index.get(value);
    if (c === undefined) {
      c = this.values.length;
      this.values.push(value);
      this.index.set(value, c);
    }
    return c;
  }
  /**
   * Bumped by every truncate that removes values: codes handed out before may since mean other strings,
   * so caches of string → code (ingest.ts) made under another generation are dropped.
   */
  generation = 0;
  /** Undo of a failed load's additions. */
  truncate(size: number): void {
    if (size >= this.values.length) return;
    for (let i = size; i < this.values.length; i++) this.index.delete(this.values[i]!);
    this.values.length = size;
    this.generation++;
  }
}

export function codeBytesFor(dictSize: number, min: 1 | 2 = 1): 1 | 2 | 4 {
  if (dictSize <= 256 && min === 1) return 1;
  if (dictSize <= 65_536) return 2;
  return 4;
}

export function valueBytes(form: ValueForm, codeBytes?: number): number {
  switch (form) {
    case "i32":
    case "f32":
      return 4;
    case "i64":
    case "f64":
      return 8;
    case "codes":
      return codeBytes ?? 1;
    default:
      return 0;
  }
}

/** One tag's data within one shard. Shared by the versions that did not change it (`refs`). */
export interface Chunk {
  /** Rows this chunk covers (a multiple of MORSEL_ROWS); rows past it read as null. */
  capacity: number;
  values: number;
  validity: number;
  /** list form: offsets (capacity + 1 int32) and codes array */
  offsets: number;
  codes: number;
  /** list form: codes allocated (entries). */
  codesCapacity: number;
  /** list form: codes used. */
  codesUsed: number;
  /**
   * bool chunks in container form (engine/store/containers.ts): directories of the true set and the
   * valid set; `values` and `validity` are then 0.
   */
  sparse?: { values: number; validity: number };
  /** Blocks to free when the last version holding the chunk goes. */
  blocks: number[];
  refs: number;
}

/** UTF-8 byte order of two strings (SEL: enum `<`/`>` compare UTF-8 bytes, i.e. code point order). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (astral code points) sort above U+E000..U+FFFF in code point order
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
