/**
 * Fixed sizes shared by the store, the planner and the executor. Named once here (CONVENTIONS.md).
 *
 * A shard memory (one shared WebAssembly.Memory, ≤ 4 GiB) is laid out as:
 *
 *   0                 RESERVED_BYTES          scratch slots                          heap (allocator)
 *   ├─ null guard ───┼─ slot 0 (main thread) ─┼─ slot 1 … slot N (workers) ─────────┼─ columns, exists bitmaps, query constants …
 *                     each slot: REGISTERS × MORSEL_BYTES bitmaps, then ROWS_OUT_BYTES of u32 row numbers
 *
 * Pointer 0 means "none" everywhere (e.g. validity 0 = all rows valid), so nothing is ever allocated there.
 */
export const CONTAINER_BITS = 16;
export const MORSEL_ROWS = 1 << CONTAINER_BITS; // 65,536 rows: one 8 KiB bitmap, one Roaring container
export const MORSEL_WORDS = MORSEL_ROWS / 64;
export const MORSEL_BYTES = MORSEL_ROWS / 8;

export const WASM_PAGE = 65_536;
export const MAX_PAGES = 65_536; // 4 GiB per WebAssembly.Memory

/** The kernels own the first 64 KiB (their static data, and pointer 0 = "none"): engine/exec/wasm.ts KERNEL_RESERVED_BYTES. */
export const RESERVED_BYTES = 65_536;
/** Bitmap registers per scratch slot; bounds the depth of a plan (each nesting level needs one). */
export const REGISTERS = 160;
export const ROWS_OUT_BYTES = MORSEL_ROWS * 4;
export const SLOT_BYTES = REGISTERS * MORSEL_BYTES + ROWS_OUT_BYTES;

/** Default rows per shard: 4 Mi rows keep ~100 8-byte tags inside one 4 GiB memory. */
export const DEFAULT_SHARD_ROWS = 1 << 22;

export function slotBase(slot: number): number {
  return RESERVED_BYTES + slot * SLOT_BYTES;
}
export function registerPtr(slot: number, reg: number): number {
  return slotBase(slot) + reg * MORSEL_BYTES;
}
export function rowsOutPtr(slot: number): number {
  return slotBase(slot) + REGISTERS * MORSEL_BYTES;
}
export function heapBase(slots: number): number {
  return align(slotBase(slots), 64);
}
export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
