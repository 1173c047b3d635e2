// Multi-valued tags (lists of codes): bit = valid && some code of the row's list is in the LUT.
// HAS ALL is an AND of one HAS per value, done by the engine with bitmapAnd.
//
// Layout (Arrow List<u16|u32> as the store keeps it):
//   offsets: n+1 i32, absolute indices into `codes` for this shard; row i owns codes[offsets[i] .. offsets[i+1])
//   codes:   the shard's whole code array (u16 or u32)
// The entry checks only codes[offsets[0] .. offsets[n]). Inner offsets are clamped to that range
// while scanning, so out-of-order offsets can never read outside it; they are reported as E_DATA.

import { E_ARG, E_BOUNDS, E_DATA, badRows, bitmapBytes, outside, validWord, validityOutside } from "../status";
import { LUT_U16_BYTES } from "./codes-in";

/** Bit `code` of the LUT (0 or 1), in i32 arithmetic: this is the innermost operation. */
@inline
function lutHas<T>(lut: usize, lutBits: u64, code: u32): u32 {
  // u16 codes always fit the 8 KiB LUT. A u32 code past the LUT's end never matches; its probe is
  // redirected to bit 0 so the load stays inside the checked LUT.
  if (sizeof<T>() == 2) return (<u32>load<u8>(lut + <usize>(code >> 3)) >> (code & 7)) & 1;
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

// Both exported forms share this loop: a branch-free variant that probed the first 4 codes of every
// row unconditionally measured no faster (≈7 ns/row either way, lists of 0–3 codes), since each
// probe costs about what the mispredicted loop exit it replaces does.
@inline
function listHas<T>(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u64, dst: usize,
): i32 {
  const status = checkLists<T>(offsets, codes, validity, n, lut, lutBits, dst);
  if (status < 0) return status;
  const first = load<i32>(offsets);
  const last = load<i32>(offsets + (<usize>n << 2));
  let any: u64 = 0;
  let disorder = false;
  const words = (n + 63) >> 6;
  let start = first;
  for (let w = 0; w < words; w++) {
    const rows = min(64, n - (w << 6));
    const valid = validWord(validity, w);
    let bits: u64 = 0;
    for (let r = 0; r < rows; r++) {
      const rawEnd = load<i32>(offsets + ((<usize>((w << 6) + r) + 1) << 2));
      const end = min(max(rawEnd, first), last);
      disorder = disorder | (rawEnd < start) | (rawEnd > last);
      if ((valid >> <u64>r) & 1) {
        for (let j = start; j < end; j++) {
          if (lutHas<T>(lut, lutBits, <u32>load<T>(codes + <usize>j * sizeof<T>()))) {
            bits |= <u64>1 << <u64>r;
            break;
          }
        }
      }
      start = end;
    }
    bits &= valid;
    store<u64>(dst + (<usize>w << 3), bits);
    any |= bits;
  }
  if (disorder) return E_DATA;
  return any != 0 ? 1 : 0;
}

/** Lists of u16 codes: bit = valid && some code's bit is set in the 8 KiB LUT at `lut`. */
export function listHasAnyU16(offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  return listHas<u16>(offsets, codes, validity, n, lut, LUT_U16_BYTES << 3, dst);
}
export function listHasAnyU16Scalar(offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, dst: usize): i32 {
  return listHas<u16>(offsets, codes, validity, n, lut, LUT_U16_BYTES << 3, dst);
}

/** Lists of u32 codes against a LUT of `lutBits` bits (see codesInLutU32). */
export function listHasAnyU32(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u32, dst: usize,
): i32 {
  return listHas<u32>(offsets, codes, validity, n, lut, <u64>lutBits, dst);
}
export function listHasAnyU32Scalar(
  offsets: usize, codes: usize, validity: usize, n: i32, lut: usize, lutBits: u32, dst: usize,
): i32 {
  return listHas<u32>(offsets, codes, validity, n, lut, <u64>lutBits, dst);
}
