// Word-wise bitmap algebra over u64 words (row r ↔ word r>>6, bit r&63).
//
// `dst` may be the same pointer as `a` or `b` (each word is read before it is written); partially
// overlapping ranges are not supported. Each kernel returns 1 if any output bit is set, else 0,
// so the engine can skip an all-zero morsel without a popcount.

import { E_ARG, E_BOUNDS, outside } from "../status";

const OP_AND: i32 = 0;
const OP_OR: i32 = 1;
const OP_ANDNOT: i32 = 2;

// `op` is always a literal at the call site; after inlining, the branches fold away.
@inline
function combineV(op: i32, x: v128, y: v128): v128 {
  if (op == OP_AND) return v128.and(x, y);
  if (op == OP_OR) return v128.or(x, y);
  return v128.andnot(x, y);
}

@inline
function combine64(op: i32, x: u64, y: u64): u64 {
  if (op == OP_AND) return x & y;
  if (op == OP_OR) return x | y;
  return x & ~y;
}

@inline
function checkBinary(dst: usize, a: usize, b: usize, words: i32): i32 {
  if (words < 0) return E_ARG;
  const bytes = <u64>words << 3;
  if (outside(dst, bytes) || outside(a, bytes) || outside(b, bytes)) return E_BOUNDS;
  return 0;
}

@inline
function binarySimd(op: i32, dst: usize, a: usize, b: usize, words: i32): i32 {
  const status = checkBinary(dst, a, b, words);
  if (status < 0) return status;
  const vecEnd = (<usize>(words >> 1)) << 4;
  let acc = i64x2.splat(0);
  for (let i: usize = 0; i < vecEnd; i += 16) {
    const v = combineV(op, v128.load(a + i), v128.load(b + i));
    v128.store(dst + i, v);
    acc = v128.or(acc, v);
  }
  let any = v128.any_true(acc) ? 1 : 0;
  if (words & 1) {
    const v = combine64(op, load<u64>(a + vecEnd), load<u64>(b + vecEnd));
    store<u64>(dst + vecEnd, v);
    if (v != 0) any = 1;
  }
  return any;
}

@inline
function binaryScalar(op: i32, dst: usize, a: usize, b: usize, words: i32): i32 {
  const status = checkBinary(dst, a, b, words);
  if (status < 0) return status;
  const end = (<usize>words) << 3;
  let acc: u64 = 0;
  for (let i: usize = 0; i < end; i += 8) {
    const v = combine64(op, load<u64>(a + i), load<u64>(b + i));
    store<u64>(dst + i, v);
    acc |= v;
  }
  return acc != 0 ? 1 : 0;
}

/** dst = a & b over `words` u64 words. */
export function bitmapAnd(dst: usize, a: usize, b: usize, words: i32): i32 {
  return binarySimd(OP_AND, dst, a, b, words);
}
export function bitmapAndScalar(dst: usize, a: usize, b: usize, words: i32): i32 {
  return binaryScalar(OP_AND, dst, a, b, words);
}

/** dst = a | b. */
export function bitmapOr(dst: usize, a: usize, b: usize, words: i32): i32 {
  return binarySimd(OP_OR, dst, a, b, words);
}
export function bitmapOrScalar(dst: usize, a: usize, b: usize, words: i32): i32 {
  return binaryScalar(OP_OR, dst, a, b, words);
}

/** dst = a & ~b. */
export function bitmapAndNot(dst: usize, a: usize, b: usize, words: i32): i32 {
  return binarySimd(OP_ANDNOT, dst, a, b, words);
}
export function bitmapAndNotScalar(dst: usize, a: usize, b: usize, words: i32): i32 {
  return binaryScalar(OP_ANDNOT, dst, a, b, words);
}

/** dst = src. Returns the any flag of what was copied. */
export function bitmapCopy(dst: usize, src: usize, words: i32): i32 {
  // OR with itself is a copy that also accumulates the flag in the same pass.
  return binarySimd(OP_OR, dst, src, src, words);
}
export function bitmapCopyScalar(dst: usize, src: usize, words: i32): i32 {
  return binaryScalar(OP_OR, dst, src, src, words);
}

/**
 * Set every bit of `words` words to 1 (`ones` ≠ 0) or 0. Fills whole words: for an n-row bitmap
 * whose n is not a multiple of 64, follow with bitmapClearTail(dst, n).
 */
export function bitmapFill(dst: usize, words: i32, ones: i32): i32 {
  if (words < 0) return E_ARG;
  const bytes = <u64>words << 3;
  if (outside(dst, bytes)) return E_BOUNDS;
  memory.fill(dst, ones != 0 ? 0xff : 0, <usize>bytes);
  return ones != 0 && words > 0 ? 1 : 0;
}
export function bitmapFillScalar(dst: usize, words: i32, ones: i32): i32 {
  if (words < 0) return E_ARG;
  const bytes = <u64>words << 3;
  if (outside(dst, bytes)) return E_BOUNDS;
  const v: u64 = ones != 0 ? ~(<u64>0) : 0;
  const end = <usize>bytes;
  for (let i: usize = 0; i < end; i += 8) store<u64>(dst + i, v);
  return ones != 0 && words > 0 ? 1 : 0;
}

/**
 * Zero the bits at rows ≥ n in the last word of an n-row bitmap (n ≥ 1), restoring the
 * "tail bits are zero" invariant after a whole-word fill or a NOT. Returns 1 if that word is non-zero.
 */
export function bitmapClearTail(dst: usize, n: i32): i32 {
  if (n < 1) return E_ARG;
  const last = <usize>((n - 1) >> 6) << 3;
  if (outside(dst, <u64>last + 8)) return E_BOUNDS;
  const keep = n & 63;
  let w = load<u64>(dst + last);
  if (keep != 0) {
    w &= (<u64>1 << <u64>keep) - 1;
    store<u64>(dst + last, w);
  }
  return w != 0 ? 1 : 0;
}
