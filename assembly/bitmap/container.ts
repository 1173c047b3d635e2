// Sparse morsel containers (Roaring-style, one per 2^16 rows), expanded into a dense morsel bitmap.
// Most tags are sparse: the store keeps them as containers and the plan expands one per morsel.
//
//   kind 0 EMPTY   no payload
//   kind 1 ARRAY   card sorted u16 row offsets within the morsel            (2·card bytes)
//   kind 2 BITMAP  1,024 u64 words, LSB-first                                (8 KiB; card ignored)
//   kind 3 RUNS    card pairs of u16 (start, lengthMinus1), rows start..start+lengthMinus1 (4·card bytes)

import { E_ARG, E_BOUNDS, E_DATA, MORSEL_ROWS, MORSEL_WORDS, outside } from "../status";

export const KIND_EMPTY: i32 = 0;
export const KIND_ARRAY: i32 = 1;
export const KIND_BITMAP: i32 = 2;
export const KIND_RUNS: i32 = 3;

const MORSEL_BYTES: usize = <usize>MORSEL_WORDS << 3;
const ONES: u64 = ~(<u64>0);

@inline
function checkContainer(kind: i32, ptr: usize, card: i32, dst: usize): i32 {
  if (card < 0 || card > MORSEL_ROWS) return E_ARG;
  if (outside(dst, MORSEL_BYTES)) return E_BOUNDS;
  if (kind == KIND_EMPTY) return 0;
  if (kind == KIND_ARRAY) return outside(ptr, <u64>card << 1) ? E_BOUNDS : 0;
  if (kind == KIND_BITMAP) return outside(ptr, MORSEL_BYTES) ? E_BOUNDS : 0;
  if (kind == KIND_RUNS) return outside(ptr, <u64>card << 2) ? E_BOUNDS : 0;
  return E_ARG;
}

/** Sets the array's rows in a zeroed dst; returns how many distinct rows were set. */
@inline
function setArray(ptr: usize, card: i32, dst: usize): i32 {
  let count = 0;
  for (let i = 0; i < card; i++) {
    const row = <u32>load<u16>(ptr + (<usize>i << 1));
    const at = dst + (<usize>(row >> 6) << 3);
    const bit = <u64>1 << <u64>(row & 63);
    const w = load<u64>(at);
    count += <i32>((w & bit) == 0);
    store<u64>(at, w | bit);
  }
  return count;
}

/** Sets rows first..last (inclusive) in dst. */
@inline
function setRange(dst: usize, first: u32, last: u32): void {
  assert(first <= last && last < <u32>MORSEL_ROWS, "setRange: run outside the morsel");
  const w0 = first >> 6, w1 = last >> 6;
  const head = ONES << <u64>(first & 63);
  const tail = ONES >> <u64>(63 - (last & 63));
  if (w0 == w1) {
    const at = dst + (<usize>w0 << 3);
    store<u64>(at, load<u64>(at) | (head & tail));
    return;
  }
  store<u64>(dst + (<usize>w0 << 3), load<u64>(dst + (<usize>w0 << 3)) | head);
  for (let w = w0 + 1; w < w1; w++) store<u64>(dst + (<usize>w << 3), ONES);
  store<u64>(dst + (<usize>w1 << 3), load<u64>(dst + (<usize>w1 << 3)) | tail);
}

/** Sets every run in a zeroed dst; false when a run passes the morsel end (it is clipped). */
@inline
function setRuns(ptr: usize, card: i32, dst: usize): bool {
  let inside = true;
  for (let i = 0; i < card; i++) {
    const first = <u32>load<u16>(ptr + (<usize>i << 2));
    const last = first + <u32>load<u16>(ptr + (<usize>i << 2), 2);
    inside = inside && last < <u32>MORSEL_ROWS;
    setRange(dst, first, min(last, <u32>MORSEL_ROWS - 1));
  }
  return inside;
}

@inline
function morselPopcount(dst: usize): i32 {
  let c0: u64 = 0, c1: u64 = 0;
  for (let i: usize = 0; i < MORSEL_BYTES; i += 16) {
    c0 += popcnt(load<u64>(dst + i));
    c1 += popcnt(load<u64>(dst + i, 8));
  }
  return <i32>(c0 + c1);
}

/**
 * Expand a container into the 1,024-word morsel bitmap at dst; returns its popcount.
 * Runs may overlap (the count is of distinct rows); a run past row 65,535 is E_DATA.
 */
export function containerToBitmap(kind: i32, ptr: usize, card: i32, dst: usize): i32 {
  const status = checkContainer(kind, ptr, card, dst);
  if (status < 0) return status;
  if (kind == KIND_BITMAP) {
    let c0: u64 = 0, c1: u64 = 0;
    for (let i: usize = 0; i < MORSEL_BYTES; i += 16) {
      const v = v128.load(ptr + i);
      v128.store(dst + i, v);
      c0 += popcnt(i64x2.extract_lane(v, 0));
      c1 += popcnt(i64x2.extract_lane(v, 1));
    }
    return <i32>(c0 + c1);
  }
  memory.fill(dst, 0, MORSEL_BYTES);
  if (kind == KIND_ARRAY) return setArray(ptr, card, dst);
  if (kind == KIND_RUNS) return setRuns(ptr, card, dst) ? morselPopcount(dst) : E_DATA;
  return 0;
}

export function containerToBitmapScalar(kind: i32, ptr: usize, card: i32, dst: usize): i32 {
  const status = checkContainer(kind, ptr, card, dst);
  if (status < 0) return status;
  if (kind == KIND_BITMAP) {
    let c: u64 = 0;
    for (let i: usize = 0; i < MORSEL_BYTES; i += 8) {
      const w = load<u64>(ptr + i);
      store<u64>(dst + i, w);
      c += popcnt(w);
    }
    return <i32>c;
  }
  for (let i: usize = 0; i < MORSEL_BYTES; i += 8) store<u64>(dst + i, 0);
  if (kind == KIND_ARRAY) return setArray(ptr, card, dst);
  if (kind == KIND_RUNS) return setRuns(ptr, card, dst) ? morselPopcount(dst) : E_DATA;
  return 0;
}
