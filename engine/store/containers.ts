/**
 * Compressed row sets for sparse tags: Roaring-style containers, one per 65,536-row morsel, read in
 * place by the `containerToBitmap` kernel (assembly/bitmap/container.ts has the payload layouts).
 *
 * Most tags in a real tag platform are sparse (a flag 0.1% of users have). A dense bool chunk costs
 * 2 bits per row (values + validity) whatever its density; in container form a 0.1%-dense flag over
 * 10M rows is ~20 KB instead of 2.5 MB. A bool chunk is stored in container form when that is at least
 * SPARSE_GAIN times smaller.
 *
 * Directory layout (one per row set, in shard memory):   morsel m → u32 kind, u32 card, u32 payload ptr
 */
import { MORSEL_BYTES, MORSEL_ROWS } from "./layout.js";
import { popcount32 } from "./popcount.js";
import type { ShardMemory } from "./shard-memory.js";
import type { Chunk } from "./tags.js";

export const KIND_EMPTY = 0;
export const KIND_ARRAY = 1;
export const KIND_BITMAP = 2;
export const KIND_RUNS = 3;
/** Arrays up to this cardinality (Roaring's threshold: 4,096 × 2 bytes = one 8 KiB bitmap). */
const ARRAY_MAX = 4096;
const DIR_ENTRY_BYTES = 12;
const SPARSE_GAIN = 4;

interface Container {
  kind: number;
  card: number;
  payload: Uint8Array | null;
}

/** Set bits and runs of set bits in one morsel of a dense bitmap (`words` = 2,048 u32). */
function measure(words: Uint32Array): { card: number; runs: number } {
  let card = 0;
  let runs = 0;
  let prev = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    card += popcount32(w);
    // a run starts at each 1 whose predecessor bit is 0
    runs += popcount32((w & ~((w << 1) | prev)) >>> 0);
    prev = w >>> 31;
  }
  return { card, runs };
}

/** The container kind for a morsel with `card` set bits in `runs` runs: the smallest form. */
function kindOf(card: number, runs: number): number {
  if (card === 0) return KIND_EMPTY;
  if (runs * 4 <= card * 2 && runs * 4 < MORSEL_BYTES) return KIND_RUNS;
  return card <= ARRAY_MAX ? KIND_ARRAY : KIND_BITMAP;
}

/** Bytes the container of a morsel with these counts takes: its directory entry and payload block. */
function containerBytes(card: number, runs: number): number {
  const kind = kindOf(card, runs);
  if (kind === KIND_EMPTY) return DIR_ENTRY_BYTES;
  const payload = kind === KIND_RUNS ? runs * 4 : kind === KIND_ARRAY ? card * 2 : MORSEL_BYTES;
  return DIR_ENTRY_BYTES + payload + 8;
}

/** The container for one morsel of a dense bitmap (`words` = 2,048 u32) with these counts (`measure`). */
function containerOf(words: Uint32Array, card: number, runs: number): Container {
  const kind = kindOf(card, runs);
  if (kind === KIND_EMPTY) return { kind, card: 0, payload: null };
  if (kind === KIND_RUNS) {
    const out = new Uint16Array(runs * 2);
    let k = 0;
    let start = -1;
    for (let r = 0; r <= MORSEL_ROWS; r++) {
      const on = r < MORSEL_ROWS && (words[r >>> 5]! & (1 << (r & 31))) !== 0;
      if (on && start < 0) start = r;
      else if (!on && start >= 0) {
        out[k++] = start;
        out[k++] = r - 1 - start;
        start = -1;
      }
    }
    return { kind, card: runs, payload: new Uint8Array(out.buffer) };
  }
  if (kind === KIND_ARRAY) {
    const out = new Uint16Array(card);
    let k = 0;
    for (let i = 0; i < words.length; i++) {
      let w = words[i]!;
      while (w !== 0) {
        const t = w & -w;
        out[k++] = i * 32 + (31 - Math.clz32(t));
        w ^= t;
      }
    }
    return { kind, card, payload: new Uint8Array(out.buffer) };
  }
  return { kind, card, payload: new Uint8Array(words.buffer, words.byteOffset, MORSEL_BYTES).slice() };
}

/** Writes containers and their directory; returns the directory pointer and the blocks used. */
function writeContainers(mem: ShardMemory, cs: Container[], blocks: number[]): number {
  const dir = mem.alloc(cs.length * DIR_ENTRY_BYTES, 8);
  blocks.push(dir);
  const entries: number[] = [];
  for (const c of cs) {
    let ptr = 0;
    if (c.payload) {
      ptr = mem.allocCopy(c.payload, 8);
      blocks.push(ptr);
    }
    entries.push(c.kind, c.card, ptr);
  }
  new Uint32Array(mem.memory.buffer, dir, entries.length).set(entries);
  return dir;
}

/**
 * Turns a dense bool chunk into container form in place when that saves enough; frees the dense blocks.
 * Returns whether it did.
 */
export function sparsify(mem: ShardMemory, c: Chunk): boolean {
  const morsels = c.capacity / MORSEL_ROWS;
  const dense = (c.capacity / 8) * 2;
  // Counting first, building containers only when they win: most bool tags are dense and stay so, and
  // for them the count stops as soon as the containers would already be too big.
  // The counts are kept for the build (each morsel is measured once).
  let bytes = 0;
  const counted = [c.values, c.validity].map((bitmap) => {
    const counts: { words: Uint32Array; card: number; runs: number }[] = [];
    for (let m = 0; m < morsels && bytes * SPARSE_GAIN <= dense; m++) {
      const words = new Uint32Array(mem.memory.buffer, bitmap + m * MORSEL_BYTES, MORSEL_BYTES / 4);
      const { card, runs } = measure(words);
      bytes += containerBytes(card, runs);
      counts.push({ words, card, runs });
    }
    return counts;
  });
  if (bytes * SPARSE_GAIN > dense) return false;
  const [values, validity] = counted.map((counts) => counts.map((k) => containerOf(k.words, k.card, k.runs))) as [Container[], Container[]];
  const blocks: number[] = [];
  const vdir = writeContainers(mem, values, blocks);
  const ldir = writeContainers(mem, validity, blocks);
  for (const b of c.blocks) mem.freeBlock(b);
  c.blocks = blocks;
  c.values = 0;
  c.validity = 0;
  c.sparse = { values: vdir, validity: ldir };
  return true;
}

/** Expands one container set (directory) into a dense bitmap of `morsels` morsels at `dst` (zeroed). */
export function expandInto(mem: ShardMemory, dir: number, morsels: number, dst: number): void {
  const buf = mem.memory.buffer;
  const d = new Uint32Array(buf, dir, morsels * 3);
  const u8 = new Uint8Array(buf);
  for (let m = 0; m < morsels; m++) {
    const kind = d[m * 3]!;
    const card = d[m * 3 + 1]!;
    const ptr = d[m * 3 + 2]!;
    const base = dst + m * MORSEL_BYTES;
    if (kind === KIND_BITMAP) u8.copyWithin(base, ptr, ptr + MORSEL_BYTES);
    else if (kind === KIND_ARRAY) {
      const rows = new Uint16Array(buf, ptr, card);
      for (let i = 0; i < card; i++) u8[base + (rows[i]! >> 3)]! |= 1 << (rows[i]! & 7);
    } else if (kind === KIND_RUNS) {
      const runs = new Uint16Array(buf, ptr, card * 2);
      for (let i = 0; i < card; i++) {
        const first = runs[i * 2]!;
        const last = first + runs[i * 2 + 1]!;
        for (let r = first; r <= last; r++) u8[base + (r >> 3)]! |= 1 << (r & 7);
      }
    }
  }
}
