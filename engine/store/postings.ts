/**
 * Inverted postings for multi tags: for each value, the rows that have it, as one Roaring-style
 * container per morsel (the same containers sparse bool tags use). `HAS v` then expands one container
 * per morsel instead of walking every row's list (~14 ns a row), which makes HAS ANY/ALL queries cost
 * about as much as a sparse flag.
 *
 * Built lazily, the first time a query needs a chunk's postings, and kept with the chunk (its blocks
 * are freed with it). Chunks are immutable once published, so postings never go stale. Tags with very
 * many distinct values (over MAX_CODES) keep using the list kernel: their directories would cost more
 * than they save.
 *
 * Directory: code c, morsel m → entry (c · morsels + m) of u32 (kind, card, payload ptr).
 */
import { KIND_ARRAY, KIND_BITMAP, KIND_EMPTY } from "./containers.js";
import { MORSEL_BYTES, MORSEL_ROWS } from "./layout.js";
import type { ShardMemory } from "./shard-memory.js";
import { codeView } from "./transaction.js";
import type { Chunk, TagMeta } from "./tags.js";

export const MAX_CODES = 4096;
const ARRAY_MAX = 4096;

export interface Postings {
  /** Directory base; codes ≥ `codes` were added to the dictionary later and do not occur here. */
  readonly dir: number;
  readonly codes: number;
  readonly morsels: number;
}

const built = new WeakMap<Chunk, Postings>();

export function postingsOf(mem: ShardMemory, meta: TagMeta, c: Chunk): Postings | null {
  const have = built.get(c);
  if (have) return have;
  const codes = meta.dict!.size;
  if (codes > MAX_CODES || codes === 0) return null;
  const morsels = c.capacity / MORSEL_ROWS;
  const dir = mem.allocZeroed(codes * morsels * 12, 8);
  c.blocks.push(dir);
  const cb = meta.codeBytes!;
  const counts = new Int32Array(codes);
  const starts = new Int32Array(codes + 1);
  let scratch = new Uint16Array(MORSEL_ROWS);
  for (let m = 0; m < morsels; m++) {
    const buf = mem.memory.buffer;
    const offs = new Int32Array(buf, c.offsets, c.capacity + 1);
    const all = codeView(buf, c.codes, Math.max(c.codesUsed, 1), cb);
    const r0 = m * MORSEL_ROWS;
    const a = offs[r0]!;
    const b = offs[r0 + MORSEL_ROWS]!;
    if (b === a) continue;
    // counting sort of (code, row) pairs by code
    counts.fill(0);
    for (let i = a; i < b; i++) counts[all[i]!]!++;
    starts[0] = 0;
    for (let k = 0; k < codes; k++) starts[k + 1] = starts[k]! + counts[k]!;
    if (scratch.length < b - a) scratch = new Uint16Array(b - a);
    const fill = starts.slice(0, codes);
    for (let r = 0; r < MORSEL_ROWS; r++) {
      for (let i = offs[r0 + r]!; i < offs[r0 + r + 1]!; i++) scratch[fill[all[i]!]!++] = r;
    }
    for (let k = 0; k < codes; k++) {
      const card = counts[k]!;
      if (card === 0) continue;
      const rows = scratch.subarray(starts[k]!, starts[k]! + card);
      let kind: number;
      let ptr: number;
      if (card <= ARRAY_MAX) {
        kind = KIND_ARRAY;
        ptr = mem.allocCopy(rows, 8);
      } else {
        kind = KIND_BITMAP;
        ptr = mem.allocZeroed(MORSEL_BYTES, 8);
        const u8 = mem.u8;
        for (let i = 0; i < card; i++) u8[ptr + (rows[i]! >> 3)]! |= 1 << (rows[i]! & 7);
      }
      c.blocks.push(ptr);
      new Uint32Array(mem.memory.buffer, dir + (k * morsels + m) * 12, 3).set([kind, card, ptr]);
    }
  }
  const p: Postings = { dir, codes, morsels };
  built.set(c, p);
  return p;
}

export { KIND_EMPTY };
