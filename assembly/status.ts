// Status codes and the one-time entry checks every exported kernel runs before its loop.
//
// A kernel never traps on bad input: it checks each pointer range once at its entry and returns a
// negative status instead, which engine/exec/wasm.ts turns into LassoError('kernel_fault').
// Non-negative returns are results (an "any bit set" flag, a count).

/** A pointer range falls outside linear memory, or inside the reserved first page. */
export const E_BOUNDS: i32 = -1;
/** A scalar argument is out of its documented range (n, words, k, container kind, ...). */
export const E_ARG: i32 = -2;
/** An input structure is inconsistent (list offsets out of order, a run past the morsel end). */
export const E_DATA: i32 = -3;

/** Rows per morsel; a predicate kernel handles 1..MORSEL_ROWS rows per call. */
export const MORSEL_ROWS: i32 = 65536;
/** u64 words in one morsel bitmap. */
export const MORSEL_WORDS: i32 = 1024;
/** log2 of the bits in a bitmap word. */
export const WORD_SHIFT: i32 = 6;
/** Largest word count a counting kernel accepts: 64 × this still fits a non-negative i32. */
export const MAX_COUNT_WORDS: i32 = (1 << 25) - 1;

/**
 * The first 64 KiB page belongs to the module (its static data, if any) and to the null pointer:
 * no kernel reads or writes there. The engine places buffers at or above this offset.
 */
export const RESERVED_BYTES: u64 = 65536;

/** True when [ptr, ptr + bytes) is not entirely inside usable memory. An empty range is always fine. */
@inline
export function outside(ptr: usize, bytes: u64): bool {
  if (bytes == 0) return false;
  return <u64>ptr < RESERVED_BYTES || <u64>ptr + bytes > (<u64>memory.size() << 16);
}

/** Bytes of a bitmap covering `rows` rows (whole u64 words). */
@inline
export function bitmapBytes(rows: i32): u64 {
  return (<u64>(rows + 63) >> WORD_SHIFT) << 3;
}

/** The validity pointer is optional: 0 means "all rows valid". */
@inline
export function validityOutside(validity: usize, rows: i32): bool {
  return validity != 0 && outside(validity, bitmapBytes(rows));
}

/** n must be 1..MORSEL_ROWS for every per-morsel kernel. */
@inline
export function badRows(n: i32): bool {
  return n < 1 || n > MORSEL_ROWS;
}

/** The validity word `w`, or all ones when there is no validity bitmap. */
@inline
export function validWord(validity: usize, w: i32): u64 {
  return validity == 0 ? ~(<u64>0) : load<u64>(validity + (<usize>w << 3));
}

/** Zero the ceil(n/64) words of an n-row bitmap (used by kernels whose predicate is empty). */
@inline
export function clearRows(dst: usize, n: i32): void {
  memory.fill(dst, 0, <usize>bitmapBytes(n));
}
