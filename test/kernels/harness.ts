// Shared pieces of the kernel tests: a seeded PRNG that reports its seed, a shared memory with a
// bump allocator above the reserved page, bitmap helpers and the plain-TS reference for bit output.
import { KERNEL_RESERVED_BYTES, Kernels, kernelModule, type KernelVariant } from "../../engine/exec/wasm.js";

export const VARIANTS: readonly KernelVariant[] = ["release", "debug"];

/** Row counts every per-morsel kernel is tried at (ragged tails included), plus random ones per seed. */
export const FIXED_ROWS = [1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 4095, 65535, 65536] as const;

/** mulberry32: small, fast, good enough for test data. */
export class Rng {
  #s: number;
  constructor(readonly seed: number) {
    this.#s = seed >>> 0;
  }
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }
  float(): number {
    return this.u32() / 2 ** 32;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bool(p = 0.5): boolean {
    return this.float() < p;
  }
}

/** The seed for this run: KERNEL_SEED if set, else random. Failures print it so they can be replayed. */
export function runSeed(): number {
  const env = process.env["KERNEL_SEED"];
  return env ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** Runs `body` with a fresh Rng; a failure's message gets the seed to replay it (KERNEL_SEED=...). */
export function seeded(body: (rng: Rng) => void): () => void {
  return () => {
    const seed = runSeed();
    try {
      body(new Rng(seed));
    } catch (e) {
      if (e instanceof Error) e.message = `[KERNEL_SEED=${seed}] ${e.message}`;
      throw e;
    }
  };
}

export const PAGE = 65536;

/** A shared memory with kernels bound to it and a bump allocator starting above the reserved page. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly k: Kernels;
  #top = KERNEL_RESERVED_BYTES;

  constructor(variant: KernelVariant, pages = 128) {
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
    this.k = new Kernels(this.memory, kernelModule(variant));
  }
  get bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  get size(): number {
    return this.memory.buffer.byteLength;
  }
  reset(): void {
    this.#top = KERNEL_RESERVED_BYTES;
  }
  /** `size` bytes at a 64-byte aligned offset plus `misalign`, filled with garbage so unwritten bytes show. */
  alloc(size: number, misalign = 0, fill = 0xa5): number {
    const at = ((this.#top + 63) & ~63) + misalign;
    this.#top = at + size + 64; // leave a gap so overruns land in garbage the checks can see
    if (this.#top > this.size) throw new Error(`test arena exhausted (${this.#top} > ${this.size})`);
    this.bytes.fill(fill, at, at + size + 64);
    return at;
  }
  /** Copies raw bytes (of any typed array) to `at`, which need not be aligned for the element type. */
  put(at: number, data: ArrayBufferView): void {
    this.bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
  }
  /** Allocates and writes `data`; returns its offset. */
  store(data: ArrayBufferView, misalign = 0): number {
    const at = this.alloc(data.byteLength, misalign);
    this.put(at, data);
    return at;
  }
  /** Copy of `words` bitmap words at `at` as 32-bit halves (little-endian: [lo0, hi0, lo1, hi1, ...]). */
  words32(at: number, words: number): Uint32Array {
    return new Uint32Array(this.bytes.slice(at, at + words * 8).buffer);
  }
}

export function wordsFor(rows: number): number {
  return Math.ceil(rows / 64);
}

/** Bitmap (as u32 halves) with bit i = f(i) for i < rows; bits past rows are zero. */
export function bitsOf(rows: number, f: (i: number) => boolean): Uint32Array {
  const out = new Uint32Array(wordsFor(rows) * 2);
  for (let i = 0; i < rows; i++) if (f(i)) out[i >>> 5]! |= 1 << (i & 31);
  return out;
}

export function bitAt(bits: Uint32Array, i: number): boolean {
  return ((bits[i >>> 5]! >>> (i & 31)) & 1) === 1;
}

export function anySet(bits: Uint32Array): boolean {
  return bits.some((w) => w !== 0);
}

export function popcountOf(bits: Uint32Array): number {
  let c = 0;
  for (let w of bits) {
    w = w - ((w >>> 1) & 0x55555555);
    w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
    c += (Math.imul((w + (w >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
  }
  return c;
}

/** Random bitmap of `words` words with the given density; `rows` (if given) zeroes the tail. */
export function randomBits(rng: Rng, words: number, density: number): Uint32Array {
  const out = new Uint32Array(words * 2);
  if (density >= 1) return out.fill(0xffffffff);
  if (density <= 0) return out;
  if (density === 0.5) {
    for (let i = 0; i < out.length; i++) out[i] = rng.u32();
    return out;
  }
  for (let i = 0; i < words * 64; i++) if (rng.float() < density) out[i >>> 5]! |= 1 << (i & 31);
  return out;
}

export type ValidityMode = "none" | "all-null" | "all-valid-dirty-tail" | "random" | "sparse";
export const VALIDITY_MODES: readonly ValidityMode[] = ["none", "all-null", "all-valid-dirty-tail", "random", "sparse"];

/**
 * A validity bitmap for `rows` rows, written to the arena (0 for "none"). "dirty tail" sets the bits
 * past `rows` in the last word too: the kernels must still leave output bits past n zero.
 */
export function makeValidity(a: Arena, rng: Rng, rows: number, mode: ValidityMode): { ptr: number; valid: (i: number) => boolean } {
  if (mode === "none") return { ptr: 0, valid: () => true };
  const words = wordsFor(rows);
  const bits = mode === "all-null" ? randomBits(rng, words, 0)
    : mode === "all-valid-dirty-tail" ? randomBits(rng, words, 1)
    : mode === "random" ? randomBits(rng, words, 0.5)
    : randomBits(rng, words, 0.05);
  const ptr = a.store(bits);
  return { ptr, valid: (i) => bitAt(bits, i) };
}

/** Row count list for one seed: the fixed ragged sizes plus a few random ones. */
export function rowCounts(rng: Rng, extra = 3): number[] {
  const out: number[] = [...FIXED_ROWS];
  for (let i = 0; i < extra; i++) out.push(1 + rng.int(65536));
  return out;
}

/** Fails with the first differing row when two n-row bitmaps differ (or a tail bit is set). */
export function expectBits(actual: Uint32Array, expected: Uint32Array, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} vs ${expected.length} halves`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      const diff = (actual[i]! ^ expected[i]!) >>> 0;
      const bit = 31 - Math.clz32(diff & -diff);
      const row = i * 32 + bit;
      throw new Error(`${what}: row ${row} is ${(actual[i]! >>> bit) & 1}, expected ${(expected[i]! >>> bit) & 1}`);
    }
  }
}

/** The 64 bytes after a bitmap of `words` words must still be the arena's garbage fill. */
export function expectNoOverrun(a: Arena, at: number, bytes: number, what: string): void {
  const after = a.bytes.subarray(at + bytes, at + bytes + 64);
  const bad = after.findIndex((b) => b !== 0xa5);
  if (bad >= 0) throw new Error(`${what}: wrote past its output at +${bytes + bad}`);
}
