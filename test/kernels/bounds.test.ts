// The boundary's contract: bad pointers and arguments come back as LassoError('kernel_fault') with the
// kernel's status (never a Wasm trap), memory growth is seen, and the module loads from build/.
import { describe, expect, it } from "vitest";
import {
  ContainerKind, KERNEL_RESERVED_BYTES, KernelStatus, type KernelCalls, Kernels, LUT_U16_BYTES, MIN_LIST_SCRATCH_BYTES,
  MORSEL_BYTES, MORSEL_ROWS, MORSEL_WORDS, kernelModule,
} from "../../engine/exec/wasm.js";
import { isLassoError } from "../../engine/errors.js";
import { Arena, PAGE, VARIANTS } from "./harness.js";

type Variant = (typeof VARIANTS)[number];
type Case = [name: string, status: number, call: (s: KernelCalls) => unknown];

function faultOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.each(VARIANTS)("kernel boundary (%s build)", (variant: Variant) => {
  it("every kernel turns bad input into kernel_fault with its status, never a trap", () => {
    const a = new Arena(variant, 64);
    const end = a.size; // first byte past memory
    const low = KERNEL_RESERVED_BYTES - 8; // inside the reserved page
    const ok = a.alloc(4 * MORSEL_ROWS * 4); // room for any column, bitmap or row list below
    const lut = a.alloc(LUT_U16_BYTES);
    const offsets = a.store(new Int32Array(MORSEL_ROWS + 1));
    const scratch = a.alloc(MIN_LIST_SCRATCH_BYTES), SB = MIN_LIST_SCRATCH_BYTES;
    const B = KernelStatus.bounds, A = KernelStatus.arg, D = KernelStatus.data;
    const cases: Case[] = [
      ["bitmapAnd dst past end", B, (s) => s.bitmapAnd(end - 8, ok, ok, 2)],
      ["bitmapOr b in reserved page", B, (s) => s.bitmapOr(ok, ok, low, 2)],
      ["bitmapAndNot negative words", A, (s) => s.bitmapAndNot(ok, ok, ok, -1)],
      ["bitmapCopy src straddles end", B, (s) => s.bitmapCopy(ok, end - 8, 2)],
      ["bitmapFill dst past end", B, (s) => s.bitmapFill(end, 1, true)],
      ["bitmapClearTail n = 0", A, (s) => s.bitmapClearTail(ok, 0)],
      ["bitmapClearTail past end", B, (s) => s.bitmapClearTail(end - 8, 65)],
      ["popcount past end", B, (s) => s.popcount(end - 16, 3)],
      ["popcount too many words", A, (s) => s.popcount(ok, 1 << 25)],
      ["andPopcount in reserved page", B, (s) => s.andPopcount(0, ok, 1)],
      ["bitmapToRows out too small for the worst case", B, (s) => s.bitmapToRows(ok, 1, 0, end - 64)],
      ["bitmapToRows row numbers would pass 2^32", A, (s) => s.bitmapToRows(ok, 2, 2 ** 32 - 64, ok + 1024)],
      ["containerToBitmap dst past end", B, (s) => s.containerToBitmap(ContainerKind.empty, 0, 0, end - MORSEL_BYTES + 8)],
      ["containerToBitmap bitmap src past end", B, (s) => s.containerToBitmap(ContainerKind.bitmap, end - 8, 0, ok)],
      ["rangeI32 n = 0", A, (s) => s.rangeI32(ok, 0, 0, 0, 1, ok)],
      ["rangeI32 n = 65537", A, (s) => s.rangeI32(ok, 0, MORSEL_ROWS + 1, 0, 1, ok)],
      ["rangeI32 column past end", B, (s) => s.rangeI32(end - 4 * 100, 0, 101, 0, 1, ok)],
      ["rangeI64 validity past end", B, (s) => s.rangeI64(ok, end - 8, 65, 0n, 1n, ok)],
      ["rangeF32 dst in reserved page", B, (s) => s.rangeF32(ok, 0, 64, 0, 1, low)],
      ["rangeF64 column past end", B, (s) => s.rangeF64(end - 8, 0, 2, 0, 1, ok)],
      ["codesEqAnyU8 k = 17", A, (s) => s.codesEqAnyU8(ok, 0, 64, ok, 17, ok)],
      ["codesEqAnyU16 values past end", B, (s) => s.codesEqAnyU16(ok, 0, 64, end - 2, 2, ok)],
      ["codesInLutU8 lut past end", B, (s) => s.codesInLutU8(ok, 0, 64, end - 16, ok)],
      ["codesInLutU16 lut past end", B, (s) => s.codesInLutU16(ok, 0, 64, end - 100, ok)],
      ["codesInLutU32 lut past end", B, (s) => s.codesInLutU32(ok, 0, 64, end - 100, 801, ok)],
      ["listHasAnyU16 offsets past end", B, (s) => s.listHasAnyU16(end - 4 * 64, ok, 0, 64, lut, ok, scratch, SB)],
      ["listHasAnyU16 lut past end", B, (s) => s.listHasAnyU16(offsets, ok, 0, 1, end - 100, ok, scratch, SB)],
      ["listHasAnyU16 scratch past end", B, (s) => s.listHasAnyU16(offsets, ok, 0, 1, lut, ok, end - 32, SB)],
      ["listHasAnyU32 scratch too small", B, (s) => s.listHasAnyU32(offsets, ok, 0, 1, lut, 8, ok, scratch, SB - 1)],
    ];
    // A list whose offsets run past memory: offsets[0] = 0, offsets[1] huge.
    const farOffsets = a.store(Int32Array.from([0, 0x3fffffff]));
    cases.push(["listHasAnyU32 list range past end", B, (s) => s.listHasAnyU32(farOffsets, ok, 0, 1, lut, 8, ok, scratch, SB)]);
    const fourCodes = a.store(Int32Array.from([0, 4]));
    cases.push(["listHasAnyU32 codes past end", B, (s) => s.listHasAnyU32(fourCodes, end - 8, 0, 1, lut, 8, ok, scratch, SB)]);
    // An empty list range checks nothing: its codes pointer may be anything.
    const backwards = a.store(Int32Array.from([10, 5]));
    cases.push(["listHasAnyU16 offsets[n] < offsets[0]", D, (s) => s.listHasAnyU16(backwards, ok, 0, 1, lut, ok, scratch, SB)]);

    for (const [form, s] of [["simd", a.k], ["scalar", a.k.scalar]] as const) {
      for (const [name, status, call] of cases) {
        const err = faultOf(() => call(s));
        const label = `${name} (${form})`;
        expect(isLassoError(err), `${label}: expected a LassoError, got ${String(err)}`).toBe(true);
        if (!isLassoError(err)) continue;
        expect(err.code, label).toBe("kernel_fault");
        expect(err.details["status"], label).toBe(status);
        expect(err.message, label).toMatch(new RegExp(`^${name.split(" ")[0]}: .*\\(status ${status}\\)$`));
      }
    }
  });

  it("the last bytes of memory are usable, and growth is seen without rebinding", () => {
    const a = new Arena(variant, 4);
    const end = a.size;
    const col = end - 4 * 64;
    a.put(col, Int32Array.from({ length: 64 }, (_, i) => i));
    const dst = KERNEL_RESERVED_BYTES;
    expect(a.k.rangeI32(col, 0, 64, 10, 20, dst)).toBe(true);
    expect(a.k.popcount(dst, 1)).toBe(11);
    const beyond = end + PAGE;
    expect(faultOf(() => a.k.popcount(beyond, 1))).toMatchObject({ code: "kernel_fault" });
    a.memory.grow(2);
    a.bytes.fill(0xff, beyond, beyond + 8);
    expect(a.k.popcount(beyond, 1)).toBe(64);
    expect(a.k.scalar.popcount(beyond, 1)).toBe(64);
  });

  it("a full morsel round trip: range → and → popcount → rows", () => {
    const a = new Arena(variant);
    const ages = Int32Array.from({ length: MORSEL_ROWS }, (_, i) => i % 100);
    const col = a.store(ages);
    const adults = a.alloc(MORSEL_BYTES), young = a.alloc(MORSEL_BYTES), both = a.alloc(MORSEL_BYTES);
    expect(a.k.rangeI32(col, 0, MORSEL_ROWS, 18, 200, adults)).toBe(true);
    expect(a.k.rangeI32(col, 0, MORSEL_ROWS, -5, 20, young)).toBe(true);
    expect(a.k.bitmapAnd(both, adults, young, MORSEL_WORDS)).toBe(true);
    const expected = ages.filter((v) => v >= 18 && v <= 20).length;
    expect(a.k.popcount(both, MORSEL_WORDS)).toBe(expected);
    const out = a.alloc(MORSEL_ROWS * 4);
    expect(a.k.bitmapToRows(both, MORSEL_WORDS, 7 * MORSEL_ROWS, out)).toBe(expected);
    expect(new Uint32Array(a.memory.buffer, out, 3)).toEqual(Uint32Array.from([18, 19, 20].map((r) => r + 7 * MORSEL_ROWS)));
  });
});

describe("kernel module", () => {
  it("is compiled once per variant and cached", () => {
    expect(kernelModule("release")).toBe(kernelModule("release"));
    expect(kernelModule()).toBe(kernelModule("release"));
    expect(kernelModule("debug")).not.toBe(kernelModule("release"));
  });

  it("imports only env.memory (release) and env.abort (debug), so the engine can always bind it", () => {
    const importsOf = (v: Variant) => WebAssembly.Module.imports(kernelModule(v)).map((i) => `${i.module}.${i.name}`).sort();
    expect(importsOf("release")).toEqual(["env.memory"]);
    expect(importsOf("debug").every((n) => n === "env.memory" || n === "env.abort")).toBe(true);
  });

  it("refuses an unshared memory with a LassoError", () => {
    const err = faultOf(() => new Kernels(new WebAssembly.Memory({ initial: 2 })));
    expect(isLassoError(err) && err.code === "internal").toBe(true);
  });

  it("rejects 64-bit bounds outside the signed range instead of wrapping them", () => {
    const a = new Arena("release");
    const col = a.store(new BigInt64Array(4));
    const err = faultOf(() => a.k.rangeI64(col, 0, 4, 0n, 2n ** 63n, KERNEL_RESERVED_BYTES));
    expect(isLassoError(err) && err.code === "kernel_fault").toBe(true);
  });
});
