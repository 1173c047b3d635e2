// Bitmap → ascending row numbers: the step that turns a matched morsel into IDs to stream.

import { E_ARG, E_BOUNDS, MAX_COUNT_WORDS, outside } from "../status";

@inline
function checkToRows(bitmap: usize, words: i32, base: u32, out: usize): i32 {
  if (words < 0 || words > MAX_COUNT_WORDS) return E_ARG;
  const bits = <u64>words << 6;
  // Row numbers are u32: base + the last bit index must not wrap.
  if (<u64>base + bits > 0x1_0000_0000) return E_ARG;
  // `out` is checked for the worst case (every bit set), so the loop needs no checks.
  if (outside(bitmap, <u64>words << 3) || outside(out, bits << 2)) return E_BOUNDS;
  return 0;
}

/**
 * Write `base + i` (u32) to `out` for every set bit i, ascending; returns how many were written.
 * `out` must have room for 64 × words entries (the worst case), e.g. 256 KiB for one morsel.
 */
export function bitmapToRows(bitmap: usize, words: i32, base: u32, out: usize): i32 {
  const status = checkToRows(bitmap, words, base, out);
  if (status < 0) return status;
  let o = out;
  const end = <usize>words << 3;
  // Skip 128-bit stretches with no bits at once: sparse segments are the common case.
  const end2 = end & ~(<usize>15);
  let i: usize = 0;
  for (; i < end2; i += 16) {
    if (!v128.any_true(v128.load(bitmap + i))) continue;
    let x = load<u64>(bitmap + i);
    let rowBase = base + (<u32>i << 3);
    while (x != 0) {
      store<u32>(o, rowBase + <u32>ctz(x));
      o += 4;
      x &= x - 1;
    }
    x = load<u64>(bitmap + i, 8);
    rowBase += 64;
    while (x != 0) {
      store<u32>(o, rowBase + <u32>ctz(x));
      o += 4;
      x &= x - 1;
    }
  }
  if (i < end) {
    let x = load<u64>(bitmap + i);
    const rowBase = base + (<u32>i << 3);
    while (x != 0) {
      store<u32>(o, rowBase + <u32>ctz(x));
      o += 4;
      x &= x - 1;
    }
  }
  return <i32>((o - out) >> 2);
}
export function bitmapToRowsScalar(bitmap: usize, words: i32, base: u32, out: usize): i32 {
  const status = checkToRows(bitmap, words, base, out);
  if (status < 0) return status;
  let o = out;
  const end = <usize>words << 3;
  for (let i: usize = 0; i < end; i += 8) {
    let x = load<u64>(bitmap + i);
    const rowBase = base + (<u32>i << 3);
    while (x != 0) {
      store<u32>(o, rowBase + <u32>ctz(x));
      o += 4;
      x &= x - 1;
    }
  }
  return <i32>((o - out) >> 2);
}
