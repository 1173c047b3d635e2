/**
 * Statistics the planner uses, computed lazily per chunk on first use and kept with it (chunks are
 * immutable once published, so a statistic never goes stale; a load's new chunks get theirs when a
 * query first needs them):
 *   - value counts: rows with a value, bool trues, per-code counts of enum tags → selectivity estimates
 *     that order AND/OR operands;
 *   - per-morsel min/max of numeric and time columns → a range leaf skips a morsel that cannot match
 *     and takes the validity bitmap as is where every value is inside.
 * Min/max run over every row of the morsel, nulls included (their slots hold a stale or zero value):
 * wider bounds only make skipping rarer, never wrong, because leaves AND the validity bitmap.
 */
import type { EntityVersion, ShardState } from "./entity.js";
import { MORSEL_ROWS } from "./layout.js";
import { popcountRows } from "./popcount.js";
import { codeView } from "./transaction.js";
import type { Chunk, TagMeta } from "./tags.js";

interface ValueCounts {
  valid: number;
  trues: number;
  codes: Float64Array | null;
}

const counts = new WeakMap<Chunk, ValueCounts>();
const ranges = new WeakMap<Chunk, MorselRanges>();

function chunkCounts(s: ShardState, meta: TagMeta, c: Chunk): ValueCounts {
  let vc = counts.get(c);
  if (vc) return vc;
  const buf = s.mem.memory.buffer;
  const rows = Math.min(s.rows, c.capacity);
  vc = { valid: 0, trues: 0, codes: null };
  if (c.sparse) {
    const dir = (p: number) => {
      const d = new Uint32Array(buf, p, (c.capacity / MORSEL_ROWS) * 3);
      let n = 0;
      for (let m = 0; m < d.length; m += 3) if (d[m] === 1 || d[m] === 2) n += d[m + 1]!;
      // runs (kind 3) count runs, not rows: expand their lengths
      for (let m = 0; m < d.length; m += 3) {
        if (d[m] !== 3) continue;
        const runs = new Uint16Array(buf, d[m + 2]!, d[m + 1]! * 2);
        for (let i = 0; i < runs.length; i += 2) n += runs[i + 1]! + 1;
      }
      return n;
    };
    vc.valid = dir(c.sparse.validity);
    vc.trues = dir(c.sparse.values);
  } else if (rows > 0) {
    const bytes = Math.ceil(rows / 32) * 4;
    vc.valid = popcountRows(new Uint8Array(buf, c.validity, bytes), bytes * 8);
    if (meta.form === "bool") vc.trues = popcountRows(new Uint8Array(buf, c.values, bytes), bytes * 8);
    if (meta.form === "codes") {
      const codes = codeView(buf, c.values, rows, meta.codeBytes!);
      const valid = new Uint8Array(buf, c.validity, bytes);
      const f = new Float64Array(meta.dict!.size);
      for (let r = 0; r < rows; r++) if ((valid[r >> 3]! & (1 << (r & 7))) !== 0) f[codes[r]!]!++;
      vc.codes = f;
    }
  }
  counts.set(c, vc);
  return vc;
}

/** Rows with a value, trues (bool) and per-code counts (enum) of a tag over the whole version. */
export function tagCounts(v: EntityVersion, tag: string): ValueCounts {
  const meta = v.tags.get(tag)!;
  const out: ValueCounts = { valid: 0, trues: 0, codes: meta.form === "codes" ? new Float64Array(meta.dict!.size) : null };
  for (const s of v.shards) {
    const c = s.chunks.get(tag);
    if (!c) continue;
    const vc = chunkCounts(s, meta, c);
    out.valid += vc.valid;
    out.trues += vc.trues;
    if (out.codes && vc.codes) for (let i = 0; i < vc.codes.length; i++) out.codes[i]! += vc.codes[i]!;
  }
  return out;
}

/** Per-morsel min and max of a numeric chunk, in its stored domain (bigint for i64). */
export interface MorselRanges {
  min: (number | bigint)[];
  max: (number | bigint)[];
}

export function morselRanges(s: ShardState, meta: TagMeta, c: Chunk): MorselRanges | null {
  if (meta.form !== "i32" && meta.form !== "i64" && meta.form !== "f32" && meta.form !== "f64") return null;
  let r = ranges.get(c);
  if (r) return r;
  const buf = s.mem.memory.buffer;
  const rows = Math.min(s.rows, c.capacity);
  r = { min: [], max: [] };
  for (let m = 0; m * MORSEL_ROWS < rows; m++) {
    const a = m * MORSEL_ROWS;
    const n = Math.min(MORSEL_ROWS, rows - a);
    if (meta.form === "i64") {
      // (hi, lo) word pairs compared without BigInt; one BigInt per morsel at the end
      const w = new Int32Array(buf, c.values + a * 8, n * 2);
      let minHi = w[1]!, minLo = w[0]! >>> 0, maxHi = minHi, maxLo = minLo;
      for (let i = 1; i < n; i++) {
        const hi = w[i * 2 + 1]!;
        const lo = w[i * 2]! >>> 0;
        if (hi < minHi || (hi === minHi && lo < minLo)) (minHi = hi), (minLo = lo);
        if (hi > maxHi || (hi === maxHi && lo > maxLo)) (maxHi = hi), (maxLo = lo);
      }
      r.min.push((BigInt(minHi) << 32n) | BigInt(minLo));
      r.max.push((BigInt(maxHi) << 32n) | BigInt(maxLo));
    } else {
      const view =
        meta.form === "i32" ? new Int32Array(buf, c.values + a * 4, n) : meta.form === "f32" ? new Float32Array(buf, c.values + a * 4, n) : new Float64Array(buf, c.values + a * 8, n);
      let min = Infinity;
      let max = -Infinity;
      let nan = false;
      for (let i = 0; i < n; i++) {
        const x = view[i]!;
        if (x < min) min = x;
        if (x > max) max = x;
        if (x !== x) nan = true;
      }
      // a NaN never matches, but it is not "inside" either: keep such morsels evaluated
      r.min.push(nan ? -Infinity : min);
      r.max.push(nan ? Infinity : max);
      if (nan) r.min[r.min.length - 1] = Number.NaN;
    }
  }
  ranges.set(c, r);
  return r;
}

/**
 * Per-morsel plan for a range leaf: 0 = evaluate, 1 = no value can match (skip), 2 = every value
 * matches (the validity bitmap is the answer).
 */
export function rangeSkips(r: MorselRanges, lo: number | bigint, hi: number | bigint): Uint8Array {
  const out = new Uint8Array(r.min.length);
  for (let m = 0; m < out.length; m++) {
    const min = r.min[m]!;
    const max = r.max[m]!;
    if (typeof min === "number" && Number.isNaN(min)) continue;
    if (max < lo || min > hi) out[m] = 1;
    else if (min >= lo && max <= hi) out[m] = 2;
  }
  return out;
}
