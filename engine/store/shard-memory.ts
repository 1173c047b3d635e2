/**
 * One shard's shared WebAssembly.Memory and the allocator over its heap.
 *
 * The allocator runs on the main thread only (workers never allocate): first-fit over an address-ordered
 * free list with coalescing. Column chunks are large and long-lived, query constants small and short-lived;
 * first-fit keeps both simple and fragmentation low enough for that mix.
 */
import { LassoError } from "../errors.js";
import { MAX_PAGES, WASM_PAGE, align, heapBase } from "./layout.js";

interface FreeBlock {
  start: number;
  size: number;
}

export class ShardMemory {
  readonly memory: WebAssembly.Memory;
  /** Scratch slots laid out at the bottom (slot 0 = main thread, 1.. = workers). */
  readonly slots: number;
  private readonly free: FreeBlock[] = [];
  private readonly sizes = new Map<number, number>();
  private top: number;
  /** Bytes at or above this offset have never been handed out: still the zeros Wasm memory starts with. */
  private pristine: number;
  private usedBytes = 0;

  constructor(slots: number, initialBytes = 0) {
    this.slots = slots;
    const base = heapBase(slots);
    const pages = Math.ceil((base + initialBytes) / WASM_PAGE) + 1;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    this.top = base;
    this.pristine = base;
  }

  get bytesInUse(): number {
    return this.usedBytes;
  }

  /** Current bytes of the memory (re-read after any grow). */
  get u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  alloc(bytes: number, alignment = 64): number {
    const size = align(Math.max(bytes, 8), alignment);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      const start = align(b.start, alignment);
      const waste = start - b.start;
      if (b.size >= size + waste) {
        if (waste > 0) {
          // keep the alignment gap as its own free block
          this.free.splice(i, 0, { start: b.start, size: waste });
          i++;
        }
        b.start = start + size;
        b.size -= size + waste;
        if (b.size === 0) this.free.splice(i, 1);
        this.sizes.set(start, size);
        this.usedBytes += size;
        return start;
      }
    }
    const start = align(this.top, alignment);
    const end = start + size;
    this.ensure(end);
    if (start > this.top) this.release(this.top, start - this.top);
    this.top = end;
    if (end > this.pristine) this.pristine = end;
    this.sizes.set(start, size);
    this.usedBytes += size;
    return start;
  }

  /** Allocates and copies `bytes` in; returns the pointer. */
  allocCopy(bytes: ArrayBufferView, alignment = 64): number {
    const ptr = this.alloc(bytes.byteLength, alignment);
    this.u8.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ptr);
    return ptr;
  }

  /** Allocates zero-filled bytes (fresh memory is zero already: only reused bytes are cleared). */
  allocZeroed(bytes: number, alignment = 64): number {
    return this.allocZeroedAfter(bytes, 0, alignment);
  }

  /**
   * As `allocZeroed`, for a caller that overwrites the first `keep` bytes itself (a chunk grown by copying
   * the old one in): only the rest is cleared.
   */
  allocZeroedAfter(bytes: number, keep: number, alignment = 64): number {
    const pristine = this.pristine;
    const ptr = this.alloc(bytes, alignment);
    const end = ptr + align(Math.max(bytes, 8), alignment);
    const from = ptr + Math.min(keep, bytes);
    if (from < pristine) this.u8.fill(0, from, Math.min(end, pristine));
    return ptr;
  }

  /** Gives back a block's bytes beyond its first `bytes` (a chunk trimmed to the rows it holds). */
  shrink(ptr: number, bytes: number, alignment = 64): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new LassoError("internal", `shrink of unknown block ${ptr}`);
    const keep = align(Math.max(bytes, 8), alignment);
    if (keep >= size) return;
    this.sizes.set(ptr, keep);
    this.usedBytes -= size - keep;
    this.release(ptr + keep, size - keep);
  }

  freeBlock(ptr: number): void {
    if (ptr === 0) return;
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new LassoError("internal", `free of unknown block ${ptr}`);
    this.sizes.delete(ptr);
    this.usedBytes -= size;
    this.release(ptr, size);
  }

  private release(start: number, size: number): void {
    // address-ordered insert, then coalesce with neighbours
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    this.free.splice(lo, 0, { start, size });
    const next = this.free[lo + 1];
    const cur = this.free[lo]!;
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(lo, 1);
    }
    // a free block that reaches the top gives its bytes back to the bump region
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / WASM_PAGE);
    const current = have / WASM_PAGE;
    // grow geometrically so many small allocations do not grow page by page
    const want = Math.min(MAX_PAGES - current, Math.max(pages, Math.ceil(current / 4)));
    if (want < pages) {
      throw new LassoError("internal", `shard memory would exceed 4 GiB (${end} bytes); use smaller shards (shardRows)`);
    }
    this.memory.grow(want);
  }
}
