/**
 * The Wasm boundary: the only file that calls into the AssemblyScript kernels (assembly/).
 *
 * Kernels are pure functions over byte offsets into one shared `WebAssembly.Memory` per shard.
 * They never allocate and never trap on bad input: each checks its pointer ranges once at entry and
 * returns a negative status, which this file turns into `LassoError('kernel_fault')`.
 *
 * Memory contract:
 * - The first `KERNEL_RESERVED_BYTES` (64 KiB) of every memory belong to the module (its static data)
 *   and to the null pointer; kernels refuse pointers below it. Place shard data above it.
 * - A bitmap is u64 words, LSB-first (row r ↔ word r>>6, bit r&63), 8-byte aligned. A morsel is
 *   `MORSEL_ROWS` rows = `MORSEL_WORDS` words. Per-morsel kernels take 1 ≤ n ≤ MORSEL_ROWS rows and
 *   write ceil(n/64) words with the bits past n zero.
 * - `validity` is a bitmap pointer, or 0 for "all rows valid".
 *
 * @example
 *   const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
 *   const k = new Kernels(memory);
 *   if (k.rangeI32(colPtr, 0, MORSEL_ROWS, 18, 65, dstPtr)) total += k.popcount(dstPtr, MORSEL_WORDS);
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LassoError } from "../errors.js";
import { MORSEL_ROWS, MORSEL_WORDS, RESERVED_BYTES as KERNEL_RESERVED_BYTES } from "../store/layout.js";

// The morsel geometry and the reserved first 64 KiB are defined once, in the store's memory layout
// (assembly/status.ts mirrors them on the Wasm side).
export { MORSEL_ROWS, MORSEL_WORDS, MORSEL_BYTES, RESERVED_BYTES as KERNEL_RESERVED_BYTES } from "../store/layout.js";
/** Most values `codesEqAny*` compares against; use a LUT form for larger sets. */
export const MAX_EQ_VALUES = 16;
/** Least scratch the listHasAny kernels accept (assembly/predicate/list-has.ts). */
export const MIN_LIST_SCRATCH_BYTES = 64;
/** LUT sizes: a bitset over every u8 code (256 bits) and every u16 code (65,536 bits). */
export const LUT_U8_BYTES = 32;
export const LUT_U16_BYTES = 8192;

/** Container kinds read by `containerToBitmap` (assembly/bitmap/container.ts has the layouts). */
export const ContainerKind = { empty: 0, array: 1, bitmap: 2, runs: 3 } as const;
export type ContainerKind = (typeof ContainerKind)[keyof typeof ContainerKind];

/** Negative kernel statuses (assembly/status.ts). */
export const KernelStatus = { bounds: -1, arg: -2, data: -3 } as const;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  [KernelStatus.bounds]: "pointer range outside memory or inside the reserved first 64 KiB",
  [KernelStatus.arg]: "argument out of range",
  [KernelStatus.data]: "inconsistent input structure",
};

export type KernelVariant = "release" | "debug";

const WASM_FILE: Readonly<Record<KernelVariant, string>> = {
  release: "lasso.wasm",
  debug: "lasso.debug.wasm",
};

// The repository root is the nearest ancestor holding asconfig.json: that works from engine/exec/*.ts
// (vitest runs sources) and from dist/engine/exec/*.js alike.
function buildDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "asconfig.json"))) return join(dir, "build");
    const up = dirname(dir);
    if (up === dir) {
      throw new LassoError("internal", `kernels: no asconfig.json above ${fileURLToPath(import.meta.url)}`);
    }
    dir = up;
  }
}

const compiled = new Map<KernelVariant, WebAssembly.Module>();

/** The compiled kernel module, compiled once per thread and cached. */
export function kernelModule(variant: KernelVariant = "release"): WebAssembly.Module {
  let mod = compiled.get(variant);
  if (!mod) {
    const file = join(buildDir(), WASM_FILE[variant]);
    if (!existsSync(file)) {
      throw new LassoError("internal", `kernels: ${file} is missing; run \`npm run build:wasm\``);
    }
    mod = new WebAssembly.Module(readFileSync(file));
    compiled.set(variant, mod);
  }
  return mod;
}

/** Signatures as the module exports them (raw bindings: i32 ↔ number, i64 ↔ bigint). */
interface RawKernels {
  bitmapAnd(dst: number, a: number, b: number, words: number): number;
  bitmapOr(dst: number, a: number, b: number, words: number): number;
  bitmapAndNot(dst: number, a: number, b: number, words: number): number;
  bitmapCopy(dst: number, src: number, words: number): number;
  bitmapFill(dst: number, words: number, ones: number): number;
  bitmapClearTail(dst: number, n: number): number;
  popcount(ptr: number, words: number): number;
  andPopcount(a: number, b: number, words: number): number;
  bitmapToRows(bitmap: number, words: number, base: number, out: number): number;
  containerToBitmap(kind: number, ptr: number, card: number, dst: number): number;
  rangeI32(col: number, validity: number, n: number, lo: number, hi: number, dst: number): number;
  rangeI64(col: number, validity: number, n: number, lo: bigint, hi: bigint, dst: number): number;
  rangeF32(col: number, validity: number, n: number, lo: number, hi: number, dst: number): number;
  rangeF64(col: number, validity: number, n: number, lo: number, hi: number, dst: number): number;
  codesEqAnyU8(col: number, validity: number, n: number, values: number, k: number, dst: number): number;
  codesEqAnyU16(col: number, validity: number, n: number, values: number, k: number, dst: number): number;
  codesInLutU8(col: number, validity: number, n: number, lut: number, dst: number): number;
  codesInLutU16(col: number, validity: number, n: number, lut: number, dst: number): number;
  codesInLutU32(col: number, validity: number, n: number, lut: number, lutBits: number, dst: number): number;
  listHasAnyU16(
    offsets: number, codes: number, validity: number, n: number, lut: number, dst: number, scratch: number, scratchBytes: number,
  ): number;
  listHasAnyU32(
    offsets: number, codes: number, validity: number, n: number, lut: number, lutBits: number, dst: number,
    scratch: number, scratchBytes: number,
  ): number;
  keysToDecimal(src: number, n: number, dst: number, flags: number): number;
}

const KERNEL_NAMES = [
  "bitmapAnd", "bitmapOr", "bitmapAndNot", "bitmapCopy", "bitmapFill", "bitmapClearTail",
  "popcount", "andPopcount", "bitmapToRows", "containerToBitmap",
  "rangeI32", "rangeI64", "rangeF32", "rangeF64",
  "codesEqAnyU8", "codesEqAnyU16", "codesInLutU8", "codesInLutU16", "codesInLutU32",
  "listHasAnyU16", "listHasAnyU32", "keysToDecimal",
] as const satisfies readonly (keyof RawKernels)[];

/** Kernels with no scalar twin (trivial ones); the scalar set uses the same export. */
const NO_TWIN: ReadonlySet<string> = new Set(["bitmapClearTail", "keysToDecimal"]);

function pickKernels(exports: WebAssembly.Exports, suffix: string): RawKernels {
  const out: Record<string, unknown> = {};
  for (const name of KERNEL_NAMES) {
    const exported = NO_TWIN.has(name) ? exports[name] : exports[name + suffix];
    if (typeof exported !== "function") {
      throw new LassoError("internal", `kernels: the module has no export ${name}${suffix}; rebuild with \`npm run build:wasm\``);
    }
    out[name] = exported;
  }
  return out as unknown as RawKernels;
}

function fault(kernel: string, status: number): LassoError {
  const what = STATUS_TEXT[status] ?? "unknown failure";
  return new LassoError("kernel_fault", `${kernel}: ${what} (status ${status})`, { kernel, status });
}

function flag(kernel: string, status: number): boolean {
  if (status < 0) throw fault(kernel, status);
  return status !== 0;
}

function count(kernel: string, status: number): number {
  if (status < 0) throw fault(kernel, status);
  return status;
}

function i64(kernel: string, v: bigint): bigint {
  // The JS→i64 conversion wraps silently; an out-of-range bound would select the wrong rows.
  if (BigInt.asIntN(64, v) !== v) {
    throw new LassoError("kernel_fault", `${kernel}: bound ${v} is outside the signed 64-bit range`, { kernel });
  }
  return v;
}

/**
 * Typed calls for one set of kernels (SIMD or scalar). Pointers are byte offsets into the memory;
 * predicate and bitmap-op kernels return whether any output bit is set.
 */
export class KernelCalls {
  readonly #raw: RawKernels;

  protected constructor(raw: RawKernels) {
    this.#raw = raw;
  }

  /** dst = a & b over `words` u64 words (dst may be a or b). */
  bitmapAnd(dst: number, a: number, b: number, words: number): boolean {
    return flag("bitmapAnd", this.#raw.bitmapAnd(dst, a, b, words));
  }
  /** dst = a | b. */
  bitmapOr(dst: number, a: number, b: number, words: number): boolean {
    return flag("bitmapOr", this.#raw.bitmapOr(dst, a, b, words));
  }
  /** dst = a & ~b. */
  bitmapAndNot(dst: number, a: number, b: number, words: number): boolean {
    return flag("bitmapAndNot", this.#raw.bitmapAndNot(dst, a, b, words));
  }
  bitmapCopy(dst: number, src: number, words: number): boolean {
    return flag("bitmapCopy", this.#raw.bitmapCopy(dst, src, words));
  }
  /** Fills whole words; for an n-row bitmap follow with bitmapClearTail(dst, n). */
  bitmapFill(dst: number, words: number, ones: boolean): boolean {
    return flag("bitmapFill", this.#raw.bitmapFill(dst, words, ones ? 1 : 0));
  }
  /** Zeroes bits ≥ n in the last word of an n-row bitmap; returns whether that word is non-zero. */
  bitmapClearTail(dst: number, n: number): boolean {
    return flag("bitmapClearTail", this.#raw.bitmapClearTail(dst, n));
  }
  popcount(ptr: number, words: number): number {
    return count("popcount", this.#raw.popcount(ptr, words));
  }
  /** popcount(a & b) without writing it. */
  andPopcount(a: number, b: number, words: number): number {
    return count("andPopcount", this.#raw.andPopcount(a, b, words));
  }
  /**
   * Writes u32 `base + bit` for each set bit, ascending, to `out`; returns how many. `out` must
   * have room for 64 × words entries (256 KiB per morsel), the worst case the kernel checks for.
   */
  bitmapToRows(bitmap: number, words: number, base: number, out: number): number {
    return count("bitmapToRows", this.#raw.bitmapToRows(bitmap, words, base, out));
  }
  /** Expands a container into a full morsel bitmap (MORSEL_WORDS words); returns its popcount. */
  containerToBitmap(kind: ContainerKind, ptr: number, card: number, dst: number): number {
    return count("containerToBitmap", this.#raw.containerToBitmap(kind, ptr, card, dst));
  }
  /** bit = valid && lo ≤ v ≤ hi over n i32 values at col. */
  rangeI32(col: number, validity: number, n: number, lo: number, hi: number, dst: number): boolean {
    return flag("rangeI32", this.#raw.rangeI32(col, validity, n, lo, hi, dst));
  }
  rangeI64(col: number, validity: number, n: number, lo: bigint, hi: bigint, dst: number): boolean {
    return flag("rangeI64", this.#raw.rangeI64(col, validity, n, i64("rangeI64", lo), i64("rangeI64", hi), dst));
  }
  /**
   * lo and hi are rounded to f32 by the call: turn strict bounds into inclusive ones in f32 space
   * (Math.fround and the next f32) before calling, or the rounding can add or drop edge rows. NaN matches nothing.
   */
  rangeF32(col: number, validity: number, n: number, lo: number, hi: number, dst: number): boolean {
    return flag("rangeF32", this.#raw.rangeF32(col, validity, n, lo, hi, dst));
  }
  rangeF64(col: number, validity: number, n: number, lo: number, hi: number, dst: number): boolean {
    return flag("rangeF64", this.#raw.rangeF64(col, validity, n, lo, hi, dst));
  }
  /** bit = valid && code ∈ the k (≤ MAX_EQ_VALUES) u8 values at `values`. */
  codesEqAnyU8(col: number, validity: number, n: number, values: number, k: number, dst: number): boolean {
    return flag("codesEqAnyU8", this.#raw.codesEqAnyU8(col, validity, n, values, k, dst));
  }
  /** As codesEqAnyU8 with u16 codes and u16 values. */
  codesEqAnyU16(col: number, validity: number, n: number, values: number, k: number, dst: number): boolean {
    return flag("codesEqAnyU16", this.#raw.codesEqAnyU16(col, validity, n, values, k, dst));
  }
  /** bit = valid && LUT bit `code` set; the LUT is LUT_U8_BYTES bytes. */
  codesInLutU8(col: number, validity: number, n: number, lut: number, dst: number): boolean {
    return flag("codesInLutU8", this.#raw.codesInLutU8(col, validity, n, lut, dst));
  }
  /** As codesInLutU8 with u16 codes; the LUT is LUT_U16_BYTES bytes. */
  codesInLutU16(col: number, validity: number, n: number, lut: number, dst: number): boolean {
    return flag("codesInLutU16", this.#raw.codesInLutU16(col, validity, n, lut, dst));
  }
  /** u32 codes against a LUT of `lutBits` bits (ceil(lutBits/8) bytes); codes ≥ lutBits never match. */
  codesInLutU32(col: number, validity: number, n: number, lut: number, lutBits: number, dst: number): boolean {
    return flag("codesInLutU32", this.#raw.codesInLutU32(col, validity, n, lut, lutBits, dst));
  }
  /**
   * Lists of u16 codes: bit = valid && some code of row i (codes[offsets[i]..offsets[i+1]), offsets
   * being n+1 absolute, non-decreasing i32 indices) has its bit set in the LUT_U16_BYTES LUT.
   * `scratch` is `scratchBytes` (≥ MIN_LIST_SCRATCH_BYTES) of working memory the kernel overwrites;
   * it holds a u32 count per code of 64 rows, and 64 rows with more than scratchBytes/4 − 1 codes take a
   * slower path. The engine passes its row-number buffer (ROWS_OUT_BYTES).
   */
  listHasAnyU16(
    offsets: number, codes: number, validity: number, n: number, lut: number, dst: number, scratch: number, scratchBytes: number,
  ): boolean {
    return flag("listHasAnyU16", this.#raw.listHasAnyU16(offsets, codes, validity, n, lut, dst, scratch, scratchBytes));
  }
  /** Lists of u32 codes against a LUT of `lutBits` bits. */
  listHasAnyU32(
    offsets: number, codes: number, validity: number, n: number, lut: number, lutBits: number, dst: number,
    scratch: number, scratchBytes: number,
  ): boolean {
    return flag("listHasAnyU32", this.#raw.listHasAnyU32(offsets, codes, validity, n, lut, lutBits, dst, scratch, scratchBytes));
  }

  /**
   * Decimal text of n (≤ MORSEL_ROWS) little-endian u64 keys at src into dst, dressed by `flags`
   * (KeyTextFlags); returns the bytes written. dst needs n × KEY_TEXT_MAX_BYTES bytes.
   */
  keysToDecimal(src: number, n: number, dst: number, flags: number): number {
    return count("keysToDecimal", this.#raw.keysToDecimal(src, n, dst, flags));
  }
}

/** Flags of keysToDecimal (assembly/keys/decimal.ts). */
export const KeyTextFlags = { signed: 1, quote: 2, fixstr: 4, comma: 8, lf: 16, crlf: 32 } as const;
/** Most bytes keysToDecimal writes for one key, whatever the flags (assembly/keys/decimal.ts). */
export const KEY_TEXT_MAX_BYTES = 26;

/**
 * Every TypeScript mirror of a kernel constant, by the name the module exports it under: checked when a
 * module is instantiated, so a constant changed on one side only fails at start-up, not in a query.
 */
const MIRRORS: readonly (readonly [string, number])[] = [
  ["E_BOUNDS", KernelStatus.bounds], ["E_ARG", KernelStatus.arg], ["E_DATA", KernelStatus.data],
  ["MORSEL_ROWS", MORSEL_ROWS], ["MORSEL_WORDS", MORSEL_WORDS], ["RESERVED_BYTES", KERNEL_RESERVED_BYTES],
  ["MAX_EQ_VALUES", MAX_EQ_VALUES], ["LUT_U8_BYTES", LUT_U8_BYTES], ["LUT_U16_BYTES", LUT_U16_BYTES],
  ["MIN_LIST_SCRATCH_BYTES", MIN_LIST_SCRATCH_BYTES],
  ["KIND_EMPTY", ContainerKind.empty], ["KIND_ARRAY", ContainerKind.array], ["KIND_BITMAP", ContainerKind.bitmap],
  ["KIND_RUNS", ContainerKind.runs],
  ["KEYS_SIGNED", KeyTextFlags.signed], ["KEYS_QUOTE", KeyTextFlags.quote], ["KEYS_FIXSTR", KeyTextFlags.fixstr],
  ["KEYS_COMMA", KeyTextFlags.comma], ["KEYS_LF", KeyTextFlags.lf], ["KEYS_CRLF", KeyTextFlags.crlf],
  ["KEY_TEXT_MAX_BYTES", KEY_TEXT_MAX_BYTES],
];

export function checkMirrors(exports: WebAssembly.Exports): void {
  for (const [name, mirror] of MIRRORS) {
    const g = exports[name];
    const value = g instanceof WebAssembly.Global ? Number(g.value) : undefined;
    if (value !== mirror) throw new LassoError("internal", `kernels: ${name} is ${value} in the module but ${mirror} in engine/exec/wasm.ts`);
  }
}

class ScalarKernels extends KernelCalls {
  constructor(raw: RawKernels) {
    super(raw);
  }
}

interface Baseline {
  scanBytes(ptr: number, bytes: number): number;
  copyBytes(dst: number, src: number, bytes: number): number;
  streamBytes(dst: number, dstBytes: number, a: number, aBytes: number, b: number, bBytes: number): number;
  dataEnd(): number;
}

/**
 * The kernels bound to one shard memory; one instance per (thread, memory). Methods are the SIMD
 * forms; `scalar` holds the scalar twins (same results, for tests and for comparison).
 */
export class Kernels extends KernelCalls {
  readonly memory: WebAssembly.Memory;
  readonly scalar: KernelCalls;
  readonly #baseline: Baseline;

  constructor(memory: WebAssembly.Memory, module: WebAssembly.Module = kernelModule()) {
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, { env: { memory, abort: (msg: number, file: number, line: number, column: number) => {
        throw new LassoError(
          "kernel_fault",
          `kernel assertion failed: ${readAsString(memory, msg)} at ${readAsString(memory, file)}:${line}:${column}`,
        );
      } } });
    } catch (e) {
      throw new LassoError("internal", `kernels: cannot instantiate over this memory (it must be shared, max ≤ 65536 pages): ${String(e)}`);
    }
    super(pickKernels(instance.exports, ""));
    checkMirrors(instance.exports);
    this.memory = memory;
    this.scalar = new ScalarKernels(pickKernels(instance.exports, "Scalar"));
    this.#baseline = instance.exports as unknown as Baseline;
    const dataEnd = this.#baseline.dataEnd();
    if (dataEnd > KERNEL_RESERVED_BYTES) {
      throw new LassoError("internal", `kernels: static data ends at ${dataEnd}, past the reserved ${KERNEL_RESERVED_BYTES} bytes`);
    }
  }

  /** Benchmark baseline: reads `bytes` (multiple of 64, < 4 GiB) with v128 loads. */
  scanBytes(ptr: number, bytes: number): number {
    return count("scanBytes", this.#baseline.scanBytes(ptr, bytes));
  }
  /** Benchmark baseline: memory.copy. */
  copyBytes(dst: number, src: number, bytes: number): void {
    count("copyBytes", this.#baseline.copyBytes(dst, src, bytes));
  }
  /** Benchmark baseline: a kernel's memory traffic without its work (assembly/baseline.ts streamBytes). */
  streamBytes(dst: number, dstBytes: number, a: number, aBytes: number, b: number, bBytes: number): number {
    return count("streamBytes", this.#baseline.streamBytes(dst, dstBytes, a, aBytes, b, bBytes));
  }
}

// AssemblyScript strings (only the debug build's assertion messages): UTF-16LE, byte length in the
// u32 just before the pointer.
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr < 4 || ptr >= KERNEL_RESERVED_BYTES) return `<string at ${ptr}>`;
  const view = new DataView(memory.buffer);
  const bytes = view.getUint32(ptr - 4, true);
  if (bytes > 4096 || ptr + bytes > KERNEL_RESERVED_BYTES) return `<string at ${ptr}>`;
  let s = "";
  for (let i = 0; i < bytes; i += 2) s += String.fromCharCode(view.getUint16(ptr + i, true));
  return s;
}
