// Enum predicates over dictionary codes: bit = valid && code ∈ set.
//
// Two forms. `codesEqAny*` compares against k ≤ MAX_EQ_VALUES listed codes (cheap for small sets: one
// SIMD compare per value per 16 rows). `codesInLut*` looks each code up in a bitset over codes
// (bit c set ⇔ code c matches, LSB-first like every bitmap here), for large sets: constant cost per
// row whatever the set size. The planner picks the form.

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

@inline
function eqAnyU8Mask16(p: usize, values: usize, k: i32): u64 {
  const c = v128.load(p);
  let m = i64x2.splat(0);
  for (let j = 0; j < k; j++) m = v128.or(m, i8x16.eq(c, i8x16.splat(load<u8>(values + j))));
  return <u64><u32>i8x16.bitmask(m);
}

/** n u8 codes at `col` → bitmap: valid && code is one of the k (≤ 16) u8 values at `values`. */
export function codesEqAnyU8(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const status = checkEqAny(col, 1, validity, n, values, k, dst);
  if (status < 0) return status;
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    // Value loop outside, 64 rows inside: each splat serves four compares, and 4 codes + 4 masks
    // + 1 splat stay in registers.
    const c0 = v128.load(p), c1 = v128.load(p, 16), c2 = v128.load(p, 32), c3 = v128.load(p, 48);
    let m0 = i64x2.splat(0), m1 = m0, m2 = m0, m3 = m0;
    for (let j = 0; j < k; j++) {
      const s = i8x16.splat(load<u8>(values + j));
      m0 = v128.or(m0, i8x16.eq(c0, s));
      m1 = v128.or(m1, i8x16.eq(c1, s));
      m2 = v128.or(m2, i8x16.eq(c2, s));
      m3 = v128.or(m3, i8x16.eq(c3, s));
    }
    let bits = <u64><u32>i8x16.bitmask(m0);
    bits |= <u64><u32>i8x16.bitmask(m1) << 16;
    bits |= <u64><u32>i8x16.bitmask(m2) << 32;
    bits |= <u64><u32>i8x16.bitmask(m3) << 48;
    bits &= validWord(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
    p += 64;
  }
  const rem = n & 63;
  if (rem != 0) {
    let bits: u64 = 0;
    let r = 0;
    for (; r + 16 <= rem; r += 16) {
      bits |= eqAnyU8Mask16(p, values, k) << <u64>r;
      p += 16;
    }
    for (; r < rem; r++) {
      bits |= eqAnyRow<u8>(load<u8>(p), values, k) << <u64>r;
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
    const s = i16x8.splat(load<u16>(values + (<usize>j << 1)));
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
    const s = i16x8.splat(load<u16>(values + (<usize>j << 1)));
    m0 = v128.or(m0, i16x8.eq(c0, s));
    m1 = v128.or(m1, i16x8.eq(c1, s));
    m2 = v128.or(m2, i16x8.eq(c2, s));
    m3 = v128.or(m3, i16x8.eq(c3, s));
  }
  return <u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m0, m1))
    | (<u64><u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m2, m3)) << 16);
}

/** n u16 codes → bitmap: valid && code is one of the k (≤ 16) u16 values at `values`. */
export function codesEqAnyU16(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  const status = checkEqAny(col, 2, validity, n, values, k, dst);
  if (status < 0) return status;
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
  const rem = n & 63;
  if (rem != 0) {
    let bits: u64 = 0;
    let r = 0;
    for (; r + 16 <= rem; r += 16) {
      bits |= eqAnyU16Mask16(p, values, k) << <u64>r;
      p += 32;
    }
    for (; r < rem; r++) {
      bits |= eqAnyRow<u16>(load<u16>(p), values, k) << <u64>r;
      p += 2;
    }
    bits &= validWord(validity, full);
    store<u64>(dst + (<usize>full << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}
export function codesEqAnyU16Scalar(col: usize, validity: usize, n: i32, values: usize, k: i32, dst: usize): i32 {
  return eqAnyScalar<u16>(col, validity, n, values, k, dst);
}

// ---- LUT forms --------------------------------------------------------------------------------

/** Bit `code` of the LUT at `lut` (0 or 1). The caller guarantees code < the LUT's bit count. */
@inline
function lutBit(lut: usize, code: u32): u64 {
  return <u64>((load<u8>(lut + (<usize>code >> 3)) >> (code & 7)) & 1);
}

@inline
function u8LutMask16(p: usize, lutLo: v128, lutHi: v128, pow2: v128, seven: v128, sixteen: v128): u64 {
  // byte = lut[c >> 3] via two 16-entry swizzles (an index ≥ 16 yields 0, so exactly one of them
  // contributes), bit = 1 << (c & 7) via a third swizzle over a table of powers of two.
  const c = v128.load(p);
  const idx = i8x16.shr_u(c, 3);
  const byte = v128.or(i8x16.swizzle(lutLo, idx), i8x16.swizzle(lutHi, v128.xor(idx, sixteen)));
  const bit = i8x16.swizzle(pow2, v128.and(c, seven));
  return <u64><u32>i8x16.bitmask(i8x16.eq(v128.and(byte, bit), bit));
}

/** n u8 codes → bitmap: valid && bit `code` of the 32-byte LUT at `lut` is set. */
export function codesInLutU8(col: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  const status = checkCodes(col, 1, validity, n, dst);
  if (status < 0) return status;
  if (outside(lut, LUT_U8_BYTES)) return E_BOUNDS;
  const lutLo = v128.load(lut), lutHi = v128.load(lut, 16);
  const pow2 = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const seven = i8x16.splat(7), sixteen = i8x16.splat(16);
  const full = n >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < full; w++) {
    let bits = u8LutMask16(p, lutLo, lutHi, pow2, seven, sixteen);
    bits |= u8LutMask16(p + 16, lutLo, lutHi, pow2, seven, sixteen) << 16;
    bits |= u8LutMask16(p + 32, lutLo, lutHi, pow2, seven, sixteen) << 32;
    bits |= u8LutMask16(p + 48, lutLo, lutHi, pow2, seven, sixteen) << 48;
    bits &= validWord(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
    p += 64;
  }
  const rem = n & 63;
  if (rem != 0) {
    let bits: u64 = 0;
    let r = 0;
    for (; r + 16 <= rem; r += 16) {
      bits |= u8LutMask16(p, lutLo, lutHi, pow2, seven, sixteen) << <u64>r;
      p += 16;
    }
    for (; r < rem; r++) {
      bits |= lutBit(lut, load<u8>(p)) << <u64>r;
      p += 1;
    }
    bits &= validWord(validity, full);
    store<u64>(dst + (<usize>full << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

// A LUT probe per row is a dependent byte load: SIMD has no gather, so the u16/u32 kernels are the
// same loop in both forms (kept as twins so callers and tests treat every kernel alike).
@inline
function lutScalar<T>(col: usize, validity: usize, n: i32, lut: usize, lutBits: u64, dst: usize): i32 {
  const status = checkCodes(col, sizeof<T>(), validity, n, dst);
  if (status < 0) return status;
  if (lutBits == 0) {
    clearRows(dst, n);
    return 0;
  }
  if (outside(lut, (lutBits + 7) >> 3)) return E_BOUNDS;
  const words = (n + 63) >> 6;
  let p = col;
  let any: u64 = 0;
  for (let w = 0; w < words; w++) {
    const rows = min(64, n - (w << 6));
    let bits: u64 = 0;
    for (let r = 0; r < rows; r++) {
      const code = <u32>load<T>(p);
      if (sizeof<T>() == 4) {
        // Codes at or past the LUT's end never match; probe bit 0 instead so the load stays in range.
        const inLut = <u64>code < lutBits;
        bits |= (lutBit(lut, inLut ? code : 0) & <u64>inLut) << <u64>r;
      } else {
        bits |= lutBit(lut, code) << <u64>r;
      }
      p += sizeof<T>();
    }
    bits &= validWord(validity, w);
    store<u64>(dst + (<usize>w << 3), bits);
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
