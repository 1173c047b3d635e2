/**
 * Logical plan → per-shard physical programs: orders AND/OR children by estimated selectivity, picks a
 * kernel per leaf (SIMD equality for small code sets, a LUT for large ones), resolves chunk pointers and
 * writes query constants (LUTs, value lists) into each shard's memory. `free()` returns those constants.
 */
import { LassoError } from "../errors.js";
import type { EntityVersion, ShardState } from "../store/entity.js";
import { REGISTERS } from "../store/layout.js";
import type { TagMeta } from "../store/tags.js";
import { postingsOf } from "../store/postings.js";
import { morselRanges, rangeSkips, tagCounts } from "../store/stats.js";
import { depthOf, type ExecNode, type ShardProgram } from "../exec/program.js";
import { LUT_U16_BYTES, LUT_U8_BYTES, MAX_EQ_VALUES } from "../exec/wasm.js";
import type { LNode } from "./logical.js";


export interface PhysicalPlan {
  readonly programs: readonly ShardProgram[];
  /** Estimated fraction of rows each leaf keeps, in evaluation order (for explain). */
  readonly root: LNode;
  free(): void;
}

let nextMemoryId = 1;
const memoryIds = new WeakMap<object, number>();
export function memoryIdOf(mem: object): number {
  let id = memoryIds.get(mem);
  if (id === undefined) memoryIds.set(mem, (id = nextMemoryId++));
  return id;
}

/** Orders children so the most selective AND operand runs first (it empties morsels early). */
export function order(n: LNode, v: EntityVersion): LNode {
  if (n.k !== "and" && n.k !== "or") return n;
  const args = n.args.map((a) => order(a, v));
  const est = new Map(args.map((a) => [a, estimate(a, v)]));
  args.sort((a, b) => (n.k === "and" ? est.get(a)! - est.get(b)! : est.get(b)! - est.get(a)!));
  return { k: n.k, args };
}

/** A rough selectivity in [0, 1]: cheap to compute, good enough to order operands. */
export function estimate(n: LNode, v: EntityVersion): number {
  switch (n.k) {
    case "all":
      return 1;
    case "none":
      return 0;
    case "not":
      return 1 - estimate(n.arg, v);
    case "and":
      return n.args.reduce((p, a) => p * estimate(a, v), 1);
    case "or":
      return 1 - n.args.reduce((p, a) => p * (1 - estimate(a, v)), 1);
    case "valid":
      return tagCounts(v, n.tag).valid / total(v);
    case "true":
      return tagCounts(v, n.tag).trues / total(v);
    case "irange":
    case "frange": {
      // from per-morsel min/max, assuming values spread evenly between them
      const meta = v.tags.get(n.tag)!;
      const step = n.k === "irange" ? 1 : 0;
      const lo = Number(n.lo);
      const hi = Number(n.hi);
      let inside = 0;
      let morsels = 0;
      for (const s of v.shards) {
        const c = s.chunks.get(n.tag);
        const r = c && morselRanges(s, meta, c);
        if (!r) continue;
        for (let m = 0; m < r.min.length; m++) {
          const min = Number(r.min[m]!);
          const max = Number(r.max[m]!);
          const width = max - min + step;
          const overlap = Math.min(hi, max) - Math.max(lo, min) + step;
          inside += Number.isNaN(min) ? 0.5 : width <= 0 ? (lo <= min && min <= hi ? 1 : 0) : Math.max(0, Math.min(1, overlap / width));
        }
        morsels += r.min.length;
      }
      return morsels === 0 ? 0 : (inside / morsels) * (tagCounts(v, n.tag).valid / total(v));
    }
    case "codes": {
      const counts = tagCounts(v, n.tag).codes;
      if (!counts) return 0.1;
      let sum = 0;
      for (const c of n.codes) sum += counts[c] ?? 0;
      return sum / total(v);
    }
    case "has": {
      const size = v.tags.get(n.tag)?.dict?.size ?? 1;
      return Math.min(1, n.codes.length / Math.max(1, size)) * (tagCounts(v, n.tag).valid / total(v));
    }
  }
}

function total(v: EntityVersion): number {
  return Math.max(1, v.total);
}

export function compile(root: LNode, v: EntityVersion): PhysicalPlan {
  const allocations: { shard: ShardState; ptr: number }[] = [];
  const programs: ShardProgram[] = [];
  try {
    for (const shard of v.shards) {
      if (shard.rows === 0) continue;
      const exec = toExec(root, v, shard, allocations);
      if (depthOf(exec) + 2 > REGISTERS) {
        throw new LassoError("too_deep", `expression nests ${depthOf(exec)} levels after planning; at most ${REGISTERS - 2} are supported`);
      }
      programs.push({
        memoryId: memoryIdOf(shard.mem),
        root: exec,
        exists: shard.exists.ptr,
        rows: shard.rows,
        firstRow: shard.index * v.shardRows,
      });
    }
  } catch (e) {
    for (const a of allocations) a.shard.mem.freeBlock(a.ptr);
    throw e;
  }
  let freed = false;
  return {
    programs,
    root,
    free() {
      if (freed) return;
      freed = true;
      for (const a of allocations) a.shard.mem.freeBlock(a.ptr);
    },
  };
}

function toExec(n: LNode, v: EntityVersion, s: ShardState, allocs: { shard: ShardState; ptr: number }[]): ExecNode {
  switch (n.k) {
    case "all":
      return { op: "all" };
    case "none":
      return { op: "none" };
    case "not":
      return { op: "not", arg: toExec(n.arg, v, s, allocs) };
    case "or":
      return { op: "or", args: n.args.map((a) => toExec(a, v, s, allocs)) };
    case "and": {
      const args: ExecNode[] = [];
      const negs: ExecNode[] = [];
      for (const a of n.args) {
        if (a.k === "not") negs.push(toExec(a.arg, v, s, allocs));
        else args.push(toExec(a, v, s, allocs));
      }
      return { op: "and", args, negs };
    }
  }
  const meta = v.tags.get(n.tag)!;
  const c = s.chunks.get(n.tag);
  if (!c) return { op: "none" };
  const cap = c.capacity;
  const validity = c.validity;
  const constant = (bytes: Uint8Array): number => {
    const ptr = s.mem.allocCopy(bytes, 64);
    allocs.push({ shard: s, ptr });
    return ptr;
  };
  switch (n.k) {
    case "valid":
      return c.sparse ? { op: "cset", dir: c.sparse.validity, cap } : { op: "valid", validity, cap };
    case "true":
      return c.sparse ? { op: "cset", dir: c.sparse.values, cap } : { op: "bits", values: c.values, validity, cap };
    case "irange":
    case "frange": {
      const r = morselRanges(s, meta, c);
      const skip = r ? rangeSkips(r, n.lo, n.hi) : undefined;
      if (n.k === "irange") {
        if (meta.form === "i32") return { op: "i32", col: c.values, validity, cap, lo: Number(n.lo), hi: Number(n.hi), skip };
        return { op: "i64", col: c.values, validity, cap, lo: n.lo, hi: n.hi, skip };
      }
      return { op: meta.form === "f32" ? "f32" : "f64", col: c.values, validity, cap, lo: n.lo, hi: n.hi, skip };
    }
    case "codes":
      return codesLeaf(meta, n.codes, c.values, validity, cap, constant);
    case "has": {
      const post = postingsOf(s.mem, meta, c);
      if (post) {
        // one directory per code present in this chunk; later codes cannot occur in it
        const dirs = n.codes.filter((code) => code < post.codes).map((code) => post.dir + code * post.morsels * 12);
        if (dirs.length === 0) return { op: "none" };
        return dirs.length === 1 ? { op: "cset", dir: dirs[0]!, cap } : { op: "cunion", dirs, cap };
      }
      const bitsN = meta.dict!.size;
      if (meta.codeBytes === 2) {
        return { op: "list16", offsets: c.offsets, codes: c.codes, validity, cap, lut: constant(lut(n.codes, LUT_U16_BYTES * 8)), bits: LUT_U16_BYTES * 8 };
      }
      return { op: "list32", offsets: c.offsets, codes: c.codes, validity, cap, lut: constant(lut(n.codes, bitsN)), bits: bitsN };
    }
  }
}

function codesLeaf(meta: TagMeta, codes: readonly number[], col: number, validity: number, cap: number, constant: (b: Uint8Array) => number): ExecNode {
  if (meta.codeBytes === 1) {
    if (codes.length <= MAX_EQ_VALUES) return { op: "eq8", col, validity, cap, values: constant(Uint8Array.from(codes)), k: codes.length };
    return { op: "lut8", col, validity, cap, lut: constant(lut(codes, LUT_U8_BYTES * 8)), bits: LUT_U8_BYTES * 8 };
  }
  if (meta.codeBytes === 2) {
    if (codes.length <= MAX_EQ_VALUES) {
      const vals = Uint16Array.from(codes);
      return { op: "eq16", col, validity, cap, values: constant(new Uint8Array(vals.buffer)), k: codes.length };
    }
    return { op: "lut16", col, validity, cap, lut: constant(lut(codes, LUT_U16_BYTES * 8)), bits: LUT_U16_BYTES * 8 };
  }
  const bits = meta.dict!.size;
  return { op: "lut32", col, validity, cap, lut: constant(lut(codes, bits)), bits };
}

/** A bitset over codes, padded to whole u64 words. */
function lut(codes: readonly number[], bits: number): Uint8Array {
  const out = new Uint8Array(Math.max(8, Math.ceil(bits / 64) * 8));
  for (const c of codes) if (c < bits) out[c >> 3]! |= 1 << (c & 7);
  return out;
}
