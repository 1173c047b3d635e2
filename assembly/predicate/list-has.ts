// Multi-valued tags (lists of codes): bit = valid && some code of the row's list is in the LUT.
// HAS ALL is an AND of one HAS per value, done by the engine with bitmapAnd.
//
// Layout (Arrow List<u16|u32> as the store keeps it):
//   offsets: n+1 i32, absolute indices into `codes` for this shard; row i owns codes[offsets[i] .. offsets[i+1])
//   codes:   the shard's whole code array (u16 or u32)
// The entry checks only codes[offsets[0] .. offsets[n]) and that offsets never decrease (E_DATA
// otherwise, before any code is read), so every row's list lies inside the checked range.

import { E_ARG, E_BOUNDS, E_DATA, badRows, bitmapBytes, outside, validWord, validityOutside } from "../status";
import { LUT_U16_BYTES } from "./codes-in";

/** Bit `code` of the LUT (0 or 1), in i32 arithmetic: this is the innermost operation. */
@inline
function lutHas<T>(lut: usize, lutBits: u64, code: u32): u32 {
  // u16 codes always fit the 8 KiB LUT, read as u32 words (a Wasm shift takes its count mod 32, so
  // `word >> code` needs no code & 31). A u32 code past the LUT's end never matches; its probe is
  // redirected to bit 0 (byte loads: that LUT is ceil(lutBits/8) bytes) so the load stays inside it.
  if (sizeof<T>() == 2) return (load<u32>(lut + (<usize>(code >> 5) << 2)) >> code) & 1;
  const inLut = <u64>code < lutBits;
  const probe = inLut ? code : 0;
  return (<u32>load<u8>(lut + <usize>(probe >> 3)) >> (probe & 7)) & <u32>inLut;
}

/** The entry checks; returns a negative status, or 1 to go on. */
@inline
function checkLists<T>(offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u64, dst: usize): i32 {
  if (badRows(n)) return E_ARG;
  if (outside(offsets, (<u64>n + 1) << 2) || validityOutside(validity, n) || outside(dst, bitmapBytes(n))) {
    return E_BOUNDS;
  }
  if (outside(lut, (lutBits + 7) >> 3)) return E_BOUNDS;
  const first = load<i32>(offsets);
  const last = load<i32>(offsets + (<usize>n << 2));
  if (first < 0 || last < first) return E_DATA;
  if (outside(codes + <usize>first * sizeof<T>(), <u64>(last - first) * sizeof<T>())) return E_BOUNDS;
  return 1;
}

/**
 * `rows` rows from row r0 (their lists starting at code `start`), the plain way: walk each valid
 * row's list, stop at its first match. The scalar twin, and the SIMD form's path for 64 rows whose
 * codes do not fit its scratch. Returns the row bits.
 */
@inline
function listWordPlain<T>(
  offsets: usize, codes: usize, lut: usize, lutBits: u64, valid: u64, r0: i32, rows: i32, start: i32, first: i32, last: i32,
): u64 {
  let bits: u64 = 0;
  for (let r = 0; r < rows; r++) {
    const end = min(max(load<i32>(offsets + ((<usize>(r0 + r) + 1) << 2)), first), last);
    if ((valid >> <u64>r) & 1) {
      for (let j = start; j < end; j++) {
        if (lutHas<T>(lut, lutBits, <u32>load<T>(codes + <usize>j * sizeof<T>()))) {
          bits |= <u64>1 << <u64>r;
          break;
        }
      }
    }
    start = max(start, end);
  }
  return bits;
}

/** Offsets must not decrease: checks the raw offsets of rows [0, n], four pairs per compare. */
@inline
function disordered(offsets: usize, n: i32): bool {
  let bad = i64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = offsets + (<usize>i << 2);
    bad = v128.or(bad, i32x4.gt_s(v128.load(at), v128.load(at, 4)));
  }
  let tail = false;
  for (; i < n; i++) {
    const at = offsets + (<usize>i << 2);
    tail = tail | (load<i32>(at) > load<i32>(at, 4));
  }
  return tail || v128.any_true(bad);
}

/** The scalar twin's check: one pair at a time. */
@inline
function disorderedScalar(offsets: usize, n: i32): bool {
  let bad = false;
  for (let i = 0; i < n; i++) {
    const at = offsets + (<usize>i << 2);
    bad = bad | (load<i32>(at) > load<i32>(at, 4));
  }
  return bad;
}

@inline
function listHasScalar<T>(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u64, dst: usize,
  scratch: usize, scratchBytes: i32,
): i32 {
  const status = checkLists<T>(offsets, codes, validity, n, lut, lutBits, dst);
  if (status < 0) return status;
  // Unused here, but checked as the SIMD form checks it, so both forms fail alike.
  if (scratchBytes < MIN_LIST_SCRATCH_BYTES || outside(scratch, <u64>scratchBytes)) return E_BOUNDS;
  if (disorderedScalar(offsets, n)) return E_DATA;
  const first = load<i32>(offsets);
  const last = load<i32>(offsets + (<usize>n << 2));
  let any: u64 = 0;
  const words = (n + 63) >> 6;
  for (let w = 0; w < words; w++) {
    const rows = min(64, n - (w << 6));
    const valid = validWord(validity, w);
    const start = load<i32>(offsets + (<usize>(w << 6) << 2));
    const bits = listWordPlain<T>(offsets, codes, lut, lutBits, valid, w << 6, rows, start, first, last) & valid;
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

/**
 * Two passes per 64 rows, neither with a data-dependent branch (a row loop that stops at its first
 * match mispredicts about once per row: ≈ 12 ns a row with lists of 0–3 codes):
 *   1. the codes of the 64 rows' lists, in order → a running count of LUT members, as u32 at
 *      scratch[j + 1] for code j (scratch[0] = 0);
 *   2. each row → one load of the count at its list's end: it has a member iff that count differs
 *      from the one at its start (the previous row's end).
 * The offsets are checked for order up front, so every count pass 2 reads was written by pass 1.
 * Measured ≈ 2 ns a row (lists of 0–3 codes, 100M rows), against ≈ 12 for the walk.
 */
@inline
function listHasTwoPass<T>(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u64, dst: usize,
  scratch: usize, scratchBytes: i32,
): i32 {
  const status = checkLists<T>(offsets, codes, validity, n, lut, lutBits, dst);
  if (status < 0) return status;
  if (scratchBytes < MIN_LIST_SCRATCH_BYTES || outside(scratch, <u64>scratchBytes)) return E_BOUNDS;
  if (disordered(offsets, n)) return E_DATA;
  const first = load<i32>(offsets);
  const last = load<i32>(offsets + (<usize>n << 2));
  const room = (scratchBytes >> 2) - 1; // counts for this many codes, after scratch[0]
  let any: u64 = 0;
  const words = (n + 63) >> 6;
  store<u32>(scratch, 0);
  for (let w = 0; w < words; w++) {
    const r0 = w << 6;
    const rows = min(64, n - r0);
    const valid = validWord(validity, w);
    const o = offsets + (<usize>r0 << 2);
    const s = load<i32>(o);
    const e = load<i32>(o + (<usize>rows << 2));
    let bits: u64;
    if (e - s > room) {
      bits = listWordPlain<T>(offsets, codes, lut, lutBits, valid, r0, rows, s, first, last);
    } else {
      // Pass 1. The count's base moves with s, so pass 2 reads scratch[end - s].
      let c = codes + <usize>s * sizeof<T>();
      const cEnd = codes + <usize>e * sizeof<T>();
      let m = scratch + 4;
      let count: u32 = 0;
      for (; c + 4 * sizeof<T>() <= cEnd; c += 4 * sizeof<T>()) {
        count += lutHas<T>(lut, lutBits, <u32>load<T>(c));
        store<u32>(m, count);
        count += lutHas<T>(lut, lutBits, <u32>load<T>(c, sizeof<T>()));
        store<u32>(m, count, 4);
        count += lutHas<T>(lut, lutBits, <u32>load<T>(c, 2 * sizeof<T>()));
        store<u32>(m, count, 8);
        count += lutHas<T>(lut, lutBits, <u32>load<T>(c, 3 * sizeof<T>()));
        store<u32>(m, count, 12);
        m += 16;
      }
      for (; c < cEnd; c += sizeof<T>()) {
        count += lutHas<T>(lut, lutBits, <u32>load<T>(c));
        store<u32>(m, count);
        m += 4;
      }
      // Pass 2.
      const base = scratch - (<usize>s << 2);
      let prev: u32 = 0;
      if (rows == 64) {
        let lo: u32 = 0, hi: u32 = 0;
        for (let r = 0; r < 32; r += 4) {
          lo |= rowsHit4(o + (<usize>r << 2), base, prev) << r;
          prev = load<u32>(base + (<usize>load<i32>(o + (<usize>(r + 4) << 2)) << 2));
        }
        for (let r = 32; r < 64; r += 4) {
          hi |= rowsHit4(o + (<usize>r << 2), base, prev) << (r - 32);
          prev = load<u32>(base + (<usize>load<i32>(o + (<usize>(r + 4) << 2)) << 2));
        }
        bits = <u64>lo | (<u64>hi << 32);
      } else {
        bits = 0;
        for (let r = 0; r < rows; r++) {
          const next = load<u32>(base + (<usize>load<i32>(o + (<usize>(r + 1) << 2)) << 2));
          bits |= <u64>(next != prev) << <u64>r;
          prev = next;
        }
      }
    }
    bits &= valid;
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
  }
  return any != 0 ? 1 : 0;
}

/** Rows o[0..3] (offsets at o; counts at base + 4 × offset; `prev` the count at o[0]) → 4 bits. */
@inline
function rowsHit4(o: usize, base: usize, prev: u32): u32 {
  const c1 = load<u32>(base + (<usize>load<i32>(o, 4) << 2));
  const c2 = load<u32>(base + (<usize>load<i32>(o, 8) << 2));
  const c3 = load<u32>(base + (<usize>load<i32>(o, 12) << 2));
  const c4 = load<u32>(base + (<usize>load<i32>(o, 16) << 2));
  return <u32>(c1 != prev) | (<u32>(c2 != c1) << 1) | (<u32>(c3 != c2) << 2) | (<u32>(c4 != c3) << 3);
}

/**
 * Least scratch a listHasAny kernel accepts. It holds a u32 count per code of 64 rows, plus one: 64
 * rows with more than scratchBytes/4 − 1 codes take the plain walk.
 */
export const MIN_LIST_SCRATCH_BYTES: i32 = 64;

/**
 * Lists of u16 codes: bit = valid && some code's bit is set in the 8 KiB LUT at `lut`. `scratch` is
 * `scratchBytes` (≥ MIN_LIST_SCRATCH_BYTES) of working memory the kernel overwrites.
 */
export function listHasAnyU16(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, dst: usize, scratch: usize, scratchBytes: i32,
): i32 {
  return listHasTwoPass<u16>(offsets, codes, validity, n, lut, LUT_U16_BYTES << 3, dst, scratch, scratchBytes);
}
export function listHasAnyU16Scalar(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, dst: usize, scratch: usize, scratchBytes: i32,
): i32 {
  return listHasScalar<u16>(offsets, codes, validity, n, lut, LUT_U16_BYTES << 3, dst, scratch, scratchBytes);
}

/** Lists of u32 codes against a LUT of `lutBits` bits (see codesInLutU32). */
export function listHasAnyU32(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u32, dst: usize, scratch: usize, scratchBytes: i32,
): i32 {
  return listHasTwoPass<u32>(offsets, codes, validity, n, lut, <u64>lutBits, dst, scratch, scratchBytes);
}
export function listHasAnyU32Scalar(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u32, dst: usize, scratch: usize, scratchBytes: i32,
): i32 {
  return listHasScalar<u32>(offsets, codes, validity, n, lut, <u64>lutBits, dst, scratch, scratchBytes);
}
