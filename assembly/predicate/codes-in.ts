// Enum predicates over dictionary codes: bit = valid && code ∈ set.
//
// Two forms. `codesEqAny*` compares against k ≤ MAX_EQ_VALUES listed codes (cheap for small sets: one
// SIMD compare per value per 16 rows). `codesInLut*` looks each code up in a bitset over codes
// (bit c set ⇔ code c matches, LSB-first like every bitmap here), for large sets: constant cost per
// row whatever the set size. The planner picks the form. For u8 codes both forms end in the same
// SIMD loops: codesEqAnyU8 with more than EQ_U8_COMPARES values builds the nibble LUT from them, and
// codesInLutU8 transposes its LUT into one. u16/u32 LUT probes are scalar (no gather in Wasm SIMD).

import {
  E_ARG, E_BOUNDS, badRows, bitmapBytes, clearRows, outside, validWord, validityOutside,
} from "../status";

/** Most values an `EqAny` kernel compares against; larger sets use the LUT form. */
export const MAX_EQ_VALUES: i32 = 16;
/** LUT bytes for u8 codes (256 bits) and u16 codes (65,536 bits). */
export const LUT_U8_BYTES: u64 = 32;
export const LUT_U16_BYTES: u64 = 8192;

@inline
function checkCodes(col: usize, codeBytes: u64, validity: usize, n: i32, dst: usize): i32 {
  if (badRows(n)) return E_ARG;
  if (outside(col, <u64>n * codeBytes) || validityOutside(validity, n) || outside(dst, bitmapBytes(n))) {
    return E_BOUNDS;
  }
  return 0;
}

@inline
function checkEqAny(col: usize, codeBytes: u64, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const status = checkCodes(col, codeBytes, validity, n, dst);
  if (status < 0) return status;
  if (k < 0 || k > MAX_EQ_VALUES) return E_ARG;
  if (outside(values, <u64>k * codeBytes)) return E_BOUNDS;
  return 0;
}

/** Is `code` one of the k values at `values`? Values are `T` (u8 or u16). */
@inline
function eqAnyRow<T>(code: T, values: usize, k: i32): u64 {
  let hit: u64 = 0;
  for (let j = 0; j < k; j++) hit |= <u64>(load<T>(values + (<usize>j * sizeof<T>())) == code);
  return hit;
}

// ---- codesEqAnyU8 -----------------------------------------------------------------------------

// Up to EQ_U8_COMPARES values: one i8x16.eq + or per value per 16 rows, the values splatted once.
// More values: the nibble LUT below, whose cost does not grow with k (about four compares' worth:
// 0.083 vs 0.060 ns/row over cached codes, against 0.23 for the 16-value compare loop it replaces).
const EQ_U8_COMPARES: i32 = 4;

@inline
function eqAnyU8Mask16(p: usize, values: usize, k: i32): u64 {
  const c = v128.load(p);
  let m = i64x2.splat(0);
  for (let j = 0; j < k; j++) m = v128.or(m, i8x16.eq(c, i8x16.splat(load<u8>(values + j))));
  return <u64><u32>i8x16.bitmask(m);
}

// The number of splats K is a type, not an argument, so the compiler drops the unused compares from
// each instance (with K a constant argument, Binaryen merged the instances' loops into one that
// tested K inside: 12% slower at k = 1). Exact counts matter: padding 3 values to 4 cost 30%.
type OneValue = u8;
type TwoValues = u16;
type ThreeValues = i32;
type FourValues = u32;

// Likewise whether an instance reads a validity bitmap: the AllValid instance (validity = 0, the
// common case) has no per-word validity select in its loop (0–10% faster over cached codes).
export type AllValid = u8;
export type WithValidity = u16;

/** Validity word w: all ones for AllValid (no load, no select), else validWord. */
@inline
export function validWordOf<V>(validity: usize, w: i32): u64 {
  return sizeof<V>() == sizeof<AllValid>() ? ~(<u64>0) : validWord(validity, w);
}

/** Lanes of c (T lanes: u8 or u16) equal to one of the first K (OneValue … FourValues) splats. */
@inline
function eqLanes<T, K>(c: v128, s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const eq0 = sizeof<T>() == 1 ? i8x16.eq(c, s0) : i16x8.eq(c, s0);
  if (sizeof<K>() == sizeof<OneValue>()) return eq0;
  const eq1 = sizeof<T>() == 1 ? i8x16.eq(c, s1) : i16x8.eq(c, s1);
  if (sizeof<K>() == sizeof<TwoValues>()) return v128.or(eq0, eq1);
  const eq2 = sizeof<T>() == 1 ? i8x16.eq(c, s2) : i16x8.eq(c, s2);
  if (isSigned<K>()) return v128.or(v128.or(eq0, eq1), eq2); // ThreeValues
  const eq3 = sizeof<T>() == 1 ? i8x16.eq(c, s3) : i16x8.eq(c, s3);
  return v128.or(v128.or(eq0, eq1), v128.or(eq2, eq3));
}

/** Value j of k, or the last one when j ≥ k (splats past k are never compared; this keeps their loads in range). */
@inline
function valueAt<T>(values: usize, k: i32, j: i32): T {
  return load<T>(values + (<usize>min(j, k - 1) * sizeof<T>()));
}

/** The instance of eqFixedU8Loop for this validity pointer. */
@inline
function eqFixedU8<K>(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  return validity == 0
    ? eqFixedU8Loop<K, AllValid>(col, validity, n, values, k, dst)
    : eqFixedU8Loop<K, WithValidity>(col, validity, n, values, k, dst);
}

@inline
function eqFixedU8Loop<K, V>(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const s0 = i8x16.splat(valueAt<u8>(values, k, 0)), s1 = i8x16.splat(valueAt<u8>(values, k, 1));
  const s2 = i8x16.splat(valueAt<u8>(values, k, 2)), s3 = i8x16.splat(valueAt<u8>(values, k, 3));
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    let bits = <u64><u32>i8x16.bitmask(eqLanes<u8, K>(v128.load(p), s0, s1, s2, s3));
    bits |= <u64><u32>i8x16.bitmask(eqLanes<u8, K>(v128.load(p, 16), s0, s1, s2, s3)) << 16;
    bits |= <u64><u32>i8x16.bitmask(eqLanes<u8, K>(v128.load(p, 32), s0, s1, s2, s3)) << 32;
    bits |= <u64><u32>i8x16.bitmask(eqLanes<u8, K>(v128.load(p, 48), s0, s1, s2, s3)) << 48;
    bits &= validWordOf<V>(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
    p += 64;
  }
  return eqAnyTail<u8>(p, validity, n, values, k, dst, any);
}

/** n u8 codes at `col` → bitmap: valid && code is one of the k (≤ 16) u8 values at `values`. */
export function codesEqAnyU8(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const status = checkEqAny(col, 1, validity, n, values, k, dst);
  if (status < 0) return status;
  if (k == 0) {
    clearRows(dst, n);
    return 0;
  }
  if (k == 1) return eqFixedU8<OneValue>(col, validity, n, values, k, dst);
  if (k == 2) return eqFixedU8<TwoValues>(col, validity, n, values, k, dst);
  if (k == 3) return eqFixedU8<ThreeValues>(col, validity, n, values, k, dst);
  if (k <= EQ_U8_COMPARES) return eqFixedU8<FourValues>(col, validity, n, values, k, dst);
  // The k values as a 256-bit set in nibble form (see the nibble LUT below).
  let a0: u64 = 0, a1: u64 = 0, b0: u64 = 0, b1: u64 = 0;
  for (let j = 0; j < k; j++) {
    const c = <u32>load<u8>(values + j);
    const bit = <u64>1 << <u64>(((c & 7) << 3) | ((c >> 4) & 7)); // byte (c & 15) of its table, bit (c >> 4) & 7
    const inB = (c & 0x80) != 0, hiHalf = (c & 8) != 0;
    if (!inB && !hiHalf) a0 |= bit;
    if (!inB && hiHalf) a1 |= bit;
    if (inB && !hiHalf) b0 |= bit;
    if (inB && hiHalf) b1 |= bit;
  }
  return nibbleLut(col, validity, n, a0, a1, b0, b1, dst);
}

// ---- the nibble LUT: u8 set membership with three swizzles --------------------------------------
//
// A 256-bit set as two 16-byte tables indexed by a code's low nibble: byte l of `a` has bit h set when
// code (h << 4 | l) is in the set for h < 8, byte l of `b` the same for h ≥ 8 (bit h - 8). An index
// with bit 7 set makes i8x16.swizzle return 0, so indexing `a` by (c & 0x8f) and `b` by that ^ 0x80
// lets exactly one table answer; a third swizzle turns (c >> 4) & 7 into the bit to test.
// (Wojciech Muła, "SIMD-ized check which bytes are in a set", 2018.)

// A set with members on one side of 128 only (most u8 dictionaries have under 128 codes) needs one
// table: the other one is all zeros and would answer 0 for every code. The table count is a type, so
// each instance has only its own swizzles (two fewer vector operations of about fourteen per 16 rows).
type BothTables = u8;
type TableA = u16;
type TableB = u32;

@inline
function nibbleMask16<N>(c: v128, a: v128, b: v128, pow2: v128, m8f: v128, m80: v128, m07: v128, m7f: v128): u64 {
  const idx = v128.and(c, m8f);
  const row = sizeof<N>() == sizeof<TableA>()
    ? i8x16.swizzle(a, idx)
    : sizeof<N>() == sizeof<TableB>()
      ? i8x16.swizzle(b, v128.xor(idx, m80))
      : v128.or(i8x16.swizzle(a, idx), i8x16.swizzle(b, v128.xor(idx, m80)));
  const bit = i8x16.swizzle(pow2, v128.and(i16x8.shr_u(c, 4), m07));
  // A non-zero byte + 0x7f (saturating) has its top bit set: members, straight into the bitmask.
  return <u64><u32>i8x16.bitmask(i8x16.add_sat_u(v128.and(row, bit), m7f));
}

/**
 * The nibble tables (a0, a1 | b0, b1 as u64 halves) → the scan instance for them and the validity. Not
 * inlined: its six scan loops are built once and shared by codesEqAnyU8 and codesInLutU8.
 */
function nibbleLut(col: usize, validity: usize, n: i32, a0: u64, a1: u64, b0: u64, b1: u64, dst: usize): i32 {
  const a = i64x2(<i64>a0, <i64>a1), b = i64x2(<i64>b0, <i64>b1);
  if ((b0 | b1) == 0) {
    return validity == 0
      ? nibbleLutScan<AllValid, TableA>(col, validity, n, a, b, dst)
      : nibbleLutScan<WithValidity, TableA>(col, validity, n, a, b, dst);
  }
  if ((a0 | a1) == 0) {
    return validity == 0
      ? nibbleLutScan<AllValid, TableB>(col, validity, n, a, b, dst)
      : nibbleLutScan<WithValidity, TableB>(col, validity, n, a, b, dst);
  }
  return validity == 0
    ? nibbleLutScan<AllValid, BothTables>(col, validity, n, a, b, dst)
    : nibbleLutScan<WithValidity, BothTables>(col, validity, n, a, b, dst);
}

@inline
function nibbleLutScan<V, N>(col: usize, validity: usize, n: i32, a: v128, b: v128, dst: usize): i32 {
  const pow2 = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const m8f = i8x16.splat(<i8>0x8f), m80 = i8x16.splat(<i8>0x80), m07 = i8x16.splat(7), m7f = i8x16.splat(0x7f);
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    let bits = nibbleMask16<N>(v128.load(p), a, b, pow2, m8f, m80, m07, m7f);
    bits |= nibbleMask16<N>(v128.load(p, 16), a, b, pow2, m8f, m80, m07, m7f) << 16;
    bits |= nibbleMask16<N>(v128.load(p, 32), a, b, pow2, m8f, m80, m07, m7f) << 32;
    bits |= nibbleMask16<N>(v128.load(p, 48), a, b, pow2, m8f, m80, m07, m7f) << 48;
    bits &= validWordOf<V>(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
    p += 64;
  }
  const rem = n & 63;
  if (rem != 0) {
    let bits: u64 = 0;
    let r = 0;
    for (; r + 16 <= rem; r += 16) {
      bits |= nibbleMask16<N>(v128.load(p), a, b, pow2, m8f, m80, m07, m7f) << <u64>r;
      p += 16;
    }
    for (; r < rem; r++) {
      // One row: the same lookup on a vector whose lanes all hold the code.
      bits |= (nibbleMask16<N>(i8x16.splat(load<u8>(p)), a, b, pow2, m8f, m80, m07, m7f) & 1) << <u64>r;
      p += 1;
    }
    bits &= validWord(validity, full);
    store<u64>(dst + (<usize>full << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

@inline
function eqAnyScalar<T>(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const status = checkEqAny(col, sizeof<T>(), validity, n, values, k, dst);
  if (status < 0) return status;
  const words = (n + 63) >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < words; w++) {
    const rows = min(64, n - (w << 6));
    let bits: u64 = 0;
    for (let r = 0; r < rows; r++) {
      bits |= eqAnyRow<T>(load<T>(p), values, k) << <u64>r;
      p += sizeof<T>();
    }
    bits &= validWord(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

export function codesEqAnyU8Scalar(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  return eqAnyScalar<u8>(col, validity, n, values, k, dst);
}

// ---- codesEqAnyU16 ----------------------------------------------------------------------------

@inline
function eqAnyU16Mask16(p: usize, values: usize, k: i32): u64 {
  const c0 = v128.load(p), c1 = v128.load(p, 16);
  let m0 = i64x2.splat(0), m1 = m0;
  for (let j = 0; j < k; j++) {
    const s = v128.load16_splat(values + (<usize>j << 1));
    m0 = v128.or(m0, i16x8.eq(c0, s));
    m1 = v128.or(m1, i16x8.eq(c1, s));
  }
  return <u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m0, m1));
}

@inline
function eqAnyU16Mask32(p: usize, values: usize, k: i32): u64 {
  const c0 = v128.load(p), c1 = v128.load(p, 16), c2 = v128.load(p, 32), c3 = v128.load(p, 48);
  let m0 = i64x2.splat(0), m1 = m0, m2 = m0, m3 = m0;
  for (let j = 0; j < k; j++) {
    const s = v128.load16_splat(values + (<usize>j << 1));
    m0 = v128.or(m0, i16x8.eq(c0, s));
    m1 = v128.or(m1, i16x8.eq(c1, s));
    m2 = v128.or(m2, i16x8.eq(c2, s));
    m3 = v128.or(m3, i16x8.eq(c3, s));
  }
  return <u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m0, m1))
    | (<u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m2, m3)) << 16);
}

/** 32 u16 rows at p against K splats: 32 bits. */
@inline
function eqFixedU16Mask32<K>(p: usize, s0: v128, s1: v128, s2: v128, s3: v128): u64 {
  const c0 = v128.load(p), c1 = v128.load(p, 16), c2 = v128.load(p, 32), c3 = v128.load(p, 48);
  return <u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(eqLanes<u16, K>(c0, s0, s1, s2, s3), eqLanes<u16, K>(c1, s0, s1, s2, s3)))
    | (<u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(eqLanes<u16, K>(c2, s0, s1, s2, s3), eqLanes<u16, K>(c3, s0, s1, s2, s3))) << 16);
}

/**
 * k ≤ 4 values splatted once. More take the value loop (eqAnyU16Mask32), which re-splats each value
 * from memory (v128.load16_splat: one broadcast load): eight splats held across the loop measured
 * 1.5× slower, as V8 then spills.
 */
/** The instance of eqFixedU16Loop for this validity pointer. */
@inline
function eqFixedU16<K>(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  return validity == 0
    ? eqFixedU16Loop<K, AllValid>(col, validity, n, values, k, dst)
    : eqFixedU16Loop<K, WithValidity>(col, validity, n, values, k, dst);
}

@inline
function eqFixedU16Loop<K, V>(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const s0 = i16x8.splat(valueAt<u16>(values, k, 0)), s1 = i16x8.splat(valueAt<u16>(values, k, 1));
  const s2 = i16x8.splat(valueAt<u16>(values, k, 2)), s3 = i16x8.splat(valueAt<u16>(values, k, 3));
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    let bits = eqFixedU16Mask32<K>(p, s0, s1, s2, s3);
    bits |= eqFixedU16Mask32<K>(p + 64, s0, s1, s2, s3) << 32;
    bits &= validWordOf<V>(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
    p += 128;
  }
  return eqAnyTail<u16>(p, validity, n, values, k, dst, any);
}

/** The last partial word (n & 63 rows from p) of codesEqAnyU8/U16; returns the any flag. */
@inline
function eqAnyTail<T>(p: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize, any: u64): i32 {
  const full = n >> 6;
  const rem = n & 63;
  if (rem != 0) {
    let bits: u64 = 0;
    let r = 0;
    for (; r + 16 <= rem; r += 16) {
      bits |= (sizeof<T>() == 1 ? eqAnyU8Mask16(p, values, k) : eqAnyU16Mask16(p, values, k)) << <u64>r;
      p += 16 * sizeof<T>();
    }
    for (; r < rem; r++) {
      bits |= eqAnyRow<T>(load<T>(p), values, k) << <u64>r;
      p += sizeof<T>();
    }
    bits &= validWord(validity, full);
    store<u64>(dst + (<usize>full << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

/** n u16 codes → bitmap: valid && code is one of the k (≤ 16) u16 values at `values`. */
export function codesEqAnyU16(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const status = checkEqAny(col, 2, validity, n, values, k, dst);
  if (status < 0) return status;
  if (k == 0) {
    clearRows(dst, n);
    return 0;
  }
  if (k == 1) return eqFixedU16<OneValue>(col, validity, n, values, k, dst);
  if (k == 2) return eqFixedU16<TwoValues>(col, validity, n, values, k, dst);
  if (k == 3) return eqFixedU16<ThreeValues>(col, validity, n, values, k, dst);
  if (k <= 4) return eqFixedU16<FourValues>(col, validity, n, values, k, dst);
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    // 32 rows per value pass (4 vectors of 8 codes): 64 would need 8 code + 8 mask registers and spill.
    let bits = eqAnyU16Mask32(p, values, k) | (eqAnyU16Mask32(p + 64, values, k) << 32);
    bits &= validWord(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
    p += 128;
  }
  return eqAnyTail<u16>(p, validity, n, values, k, dst, any);
}
export function codesEqAnyU16Scalar(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  return eqAnyScalar<u16>(col, validity, n, values, k, dst);
}

// ---- LUT forms --------------------------------------------------------------------------------

/**
 * n u8 codes → bitmap: valid && bit `code` of the 32-byte LUT at `lut` is set. The LUT (bit c at
 * byte c >> 3) is first transposed into the nibble tables: 256 bit moves per call, about 1% of a
 * morsel's work.
 */
export function codesInLutU8(col: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  const status = checkCodes(col, 1, validity, n, dst);
  if (status < 0) return status;
  if (outside(lut, LUT_U8_BYTES)) return E_BOUNDS;
  let a0: u64 = 0, a1: u64 = 0, b0: u64 = 0, b1: u64 = 0;
  // Code h·16 + l is bit l of the u16 at byte 2h; it goes to byte l, bit h & 7 of table a (h < 8) or b.
  for (let h = 0; h < 8; h++) {
    const lo = <u64>load<u16>(lut + (<usize>h << 1)), hi = <u64>load<u16>(lut + 16 + (<usize>h << 1));
    for (let l = 0; l < 8; l++) {
      const at = <u64>((l << 3) | h);
      a0 |= ((lo >> <u64>l) & 1) << at;
      a1 |= ((lo >> <u64>(l + 8)) & 1) << at;
      b0 |= ((hi >> <u64>l) & 1) << at;
      b1 |= ((hi >> <u64>(l + 8)) & 1) << at;
    }
  }
  return nibbleLut(col, validity, n, a0, a1, b0, b1, dst);
}

// A LUT probe per row is a dependent load and SIMD has no gather, so the u16/u32 kernels are scalar in
// both forms (kept as twins so callers and tests treat every kernel alike). The loop is shaped for
// that: eight rows per step with constant shifts (a per-row loop spent as much on its counter and a
// variable shift as on the probe), and u16 codes probe the LUT as u32 words, where the row's bit is
// `word >> code` (Wasm shifts take the count mod 32, so code & 31 comes free).

/** Bit `code` of an 8 KiB LUT read as u32 words (0 or 1). */
@inline
function lutBit16(lut: usize, code: u32): u32 {
  return (load<u32>(lut + (<usize>(code >> 5) << 2)) >> code) & 1;
}

/** Bit `code` of a LUT of `lutBits` bits, or 0 when code ≥ lutBits (the probe then reads byte 0). */
@inline
function lutBit32(lut: usize, lutBits: u64, code: u32): u32 {
  const inLut = <u64>code < lutBits;
  const probe = inLut ? code : 0;
  return (<u32>load<u8>(lut + <usize>(probe >> 3)) >> (probe & 7)) & <u32>inLut;
}

@inline
function lutProbe<T>(lut: usize, lutBits: u64, p: usize): u32 {
  if (sizeof<T>() == 4) return lutBit32(lut, lutBits, <u32>load<T>(p));
  return lutBit16(lut, <u32>load<T>(p));
}

/** Eight rows from p → 8 bits. */
@inline
function lutByte<T>(lut: usize, lutBits: u64, p: usize): u32 {
  const z = sizeof<T>();
  return lutProbe<T>(lut, lutBits, p)
    | (lutProbe<T>(lut, lutBits, p + z) << 1)
    | (lutProbe<T>(lut, lutBits, p + 2 * z) << 2)
    | (lutProbe<T>(lut, lutBits, p + 3 * z) << 3)
    | (lutProbe<T>(lut, lutBits, p + 4 * z) << 4)
    | (lutProbe<T>(lut, lutBits, p + 5 * z) << 5)
    | (lutProbe<T>(lut, lutBits, p + 6 * z) << 6)
    | (lutProbe<T>(lut, lutBits, p + 7 * z) << 7);
}

@inline
function lutScalar<T>(col: usize, validity: usize, n: i32, lut: usize, lutBits: u64, dst: usize): i32 {
  const status = checkCodes(col, sizeof<T>(), validity, n, dst);
  if (status < 0) return status;
  if (lutBits == 0) {
    clearRows(dst, n);
    return 0;
  }
  if (outside(lut, (lutBits + 7) >> 3)) return E_BOUNDS;
  // u8 codes reach only the first 32 bytes: probe them as u16 codes would, against a LUT whose
  // bits past 255 are never read.
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    let lo: u32 = 0, hi: u32 = 0;
    for (let b = 0; b < 32; b += 8) {
      lo |= lutByte<T>(lut, lutBits, p) << b;
      hi |= lutByte<T>(lut, lutBits, p + 32 * sizeof<T>()) << b;
      p += 8 * sizeof<T>();
    }
    p += 32 * sizeof<T>();
    const bits = (<u64>lo | (<u64>hi << 32)) & validWord(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
  }
  const rem = n & 63;
  if (rem != 0) {
    let bits: u64 = 0;
    for (let r = 0; r < rem; r++) {
      bits |= <u64>lutProbe<T>(lut, lutBits, p) << <u64>r;
      p += sizeof<T>();
    }
    bits &= validWord(validity, full);
    store<u64>(dst + (<usize>full << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

export function codesInLutU8Scalar(col: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  return lutScalar<u8>(col, validity, n, lut, LUT_U8_BYTES << 3, dst);
}

/** n u16 codes → bitmap: valid && bit `code` of the 8 KiB LUT at `lut` is set. */
export function codesInLutU16(col: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  return lutScalar<u16>(col, validity, n, lut, LUT_U16_BYTES << 3, dst);
}
export function codesInLutU16Scalar(col: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  return lutScalar<u16>(col, validity, n, lut, LUT_U16_BYTES << 3, dst);
}

/**
 * n u32 codes → bitmap: valid && code < lutBits && bit `code` of the LUT is set. A u32 LUT cannot
 * have a fixed size (2^32 bits is 512 MiB), so its bit count is an argument: ceil(lutBits/8) bytes.
 */
export function codesInLutU32(col: usize, validity: usize, n: i32, lut: usize, lutBits: u32, dst: usize): i32 {
  return lutScalar<u32>(col, validity, n, lut, <u64>lutBits, dst);
}
export function codesInLutU32Scalar(col: usize, validity: usize, n: i32, lut: usize, lutBits: u32, dst: usize): i32 {
  return lutScalar<u32>(col, validity, n, lut, <u64>lutBits, dst);
}
