// rangeI32/I64/F32/F64: plain-TS reference vs Wasm scalar vs Wasm SIMD on seeded random columns,
// ragged n, unaligned columns, every validity shape, and the boundary values of each type.
import { describe, it } from "vitest";
import type { KernelCalls } from "../../engine/exec/wasm.js";
import { checkBothForms } from "./check.js";
import { Arena, type Rng, VALIDITY_MODES, VARIANTS, bitsOf, makeValidity, rowCounts, seeded } from "./harness.js";

interface RangeType<V> {
  name: string;
  bytes: number;
  column(rng: Rng, n: number): ArrayBufferView & { readonly [i: number]: V };
  bound(rng: Rng, column: ArrayBufferView & { readonly [i: number]: V }): V;
  call(set: KernelCalls, col: number, validity: number, n: number, lo: V, hi: V, dst: number): boolean;
}

const I32_EDGES = [-(2 ** 31), 2 ** 31 - 1, 0, -1, 1, -(2 ** 31) + 1, 2 ** 31 - 2];
const I64_EDGES = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 1n, 2n ** 32n, -(2n ** 32n), 2n ** 31n];
const F32_MAX = 3.4028234663852886e38;
const F32_EDGES = [NaN, 0, -0, Infinity, -Infinity, 1.401298464324817e-45, -1.401298464324817e-45, F32_MAX, -F32_MAX, 1, -1];
const F64_EDGES = [NaN, 0, -0, Infinity, -Infinity, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 1, -1];

function i32Value(rng: Rng): number {
  const r = rng.float();
  if (r < 0.2) return rng.pick(I32_EDGES);
  if (r < 0.7) return rng.int(201) - 100;
  return rng.u32() | 0;
}
function i64Value(rng: Rng): bigint {
  const r = rng.float();
  if (r < 0.2) return rng.pick(I64_EDGES);
  if (r < 0.7) return BigInt(rng.int(201) - 100);
  return BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
}
function floatValue(rng: Rng, edges: readonly number[]): number {
  const r = rng.float();
  if (r < 0.2) return rng.pick(edges);
  if (r < 0.8) return (rng.int(20001) - 10000) / 100;
  return (rng.float() - 0.5) * 2 ** (rng.int(200) - 100);
}

// Bounds: mostly taken from the column itself (so ends are hit exactly), sometimes edge values.
const i32Type: RangeType<number> = {
  name: "rangeI32",
  bytes: 4,
  column: (rng, n) => Int32Array.from({ length: n }, () => i32Value(rng)),
  bound: (rng, col) => (rng.bool(0.6) ? col[rng.int(col.byteLength / 4)]! : i32Value(rng)),
  call: (s, c, v, n, lo, hi, d) => s.rangeI32(c, v, n, lo, hi, d),
};
const i64Type: RangeType<bigint> = {
  name: "rangeI64",
  bytes: 8,
  column: (rng, n) => BigInt64Array.from({ length: n }, () => i64Value(rng)),
  bound: (rng, col) => (rng.bool(0.6) ? col[rng.int(col.byteLength / 8)]! : i64Value(rng)),
  call: (s, c, v, n, lo, hi, d) => s.rangeI64(c, v, n, lo, hi, d),
};
const f32Type: RangeType<number> = {
  name: "rangeF32",
  bytes: 4,
  column: (rng, n) => Float32Array.from({ length: n }, () => floatValue(rng, F32_EDGES)),
  // Bounds are f32 values already: the call rounds to f32, and the reference must compare the same numbers.
  bound: (rng, col) => (rng.bool(0.6) ? col[rng.int(col.byteLength / 4)]! : Math.fround(floatValue(rng, F32_EDGES))),
  call: (s, c, v, n, lo, hi, d) => s.rangeF32(c, v, n, lo, hi, d),
};
const f64Type: RangeType<number> = {
  name: "rangeF64",
  bytes: 8,
  column: (rng, n) => Float64Array.from({ length: n }, () => floatValue(rng, F64_EDGES)),
  bound: (rng, col) => (rng.bool(0.6) ? col[rng.int(col.byteLength / 8)]! : floatValue(rng, F64_EDGES)),
  call: (s, c, v, n, lo, hi, d) => s.rangeF64(c, v, n, lo, hi, d),
};

function rangeCases<V extends number | bigint>(variant: (typeof VARIANTS)[number], t: RangeType<V>, fixed: ReadonlyArray<[V, V]>) {
  return seeded((rng) => {
    const a = new Arena(variant);
    let caseNo = 0;
    for (const n of rowCounts(rng)) {
      a.reset();
      const values = t.column(rng, n);
      // Element-aligned but not vector-aligned, and byte-misaligned (Wasm loads allow any alignment).
      const misalign = [0, t.bytes, 1, 3][caseNo % 4]!;
      const col = a.store(values, misalign);
      const pairs: Array<[V, V]> = [...fixed];
      for (let i = 0; i < 3; i++) {
        const x = t.bound(rng, values), y = t.bound(rng, values);
        pairs.push(rng.bool(0.8) ? (x <= y ? [x, y] : [y, x]) : [x, y]);
      }
      for (const [lo, hi] of pairs) {
        const mode = VALIDITY_MODES[caseNo++ % VALIDITY_MODES.length]!;
        const validity = makeValidity(a, rng, n, mode);
        // Reference: valid && lo <= v <= hi; JS comparisons treat -0 == 0 and NaN as unordered, as IEEE does.
        const expected = bitsOf(n, (i) => validity.valid(i) && lo <= values[i]! && values[i]! <= hi);
        checkBothForms(a, n, expected, `${t.name}(${lo}, ${hi}) validity=${mode} misalign=${misalign}`,
          (set, dst) => t.call(set, col, validity.ptr, n, lo, hi, dst));
      }
    }
  });
}

describe.each(VARIANTS)("range predicates (%s build)", (variant) => {
  it("rangeI32 matches the reference", rangeCases(variant, i32Type, [
    [-(2 ** 31), 2 ** 31 - 1], [0, 0], [5, -5], [2 ** 31 - 1, 2 ** 31 - 1], [-(2 ** 31), -(2 ** 31)], [-100, 100],
  ]));
  it("rangeI64 matches the reference", rangeCases(variant, i64Type, [
    [-(2n ** 63n), 2n ** 63n - 1n], [0n, 0n], [5n, -5n], [2n ** 63n - 1n, 2n ** 63n - 1n], [-(2n ** 63n), -(2n ** 63n)], [-100n, 100n],
  ]));
  // One-sided pairs (an infinite bound) take the one-compare SIMD loops.
  const oneSided: Array<[number, number]> = [[1, Infinity], [-Infinity, 1], [0, Infinity], [-0, Infinity], [-Infinity, -0], [-Infinity, -Infinity]];
  it("rangeF32 matches the reference", rangeCases(variant, f32Type, [
    [-Infinity, Infinity], [0, 0], [-0, -0], [NaN, Infinity], [-Infinity, NaN], [1, -1], [-F32_MAX, F32_MAX], [Infinity, Infinity],
    ...oneSided,
  ]));
  it("rangeF64 matches the reference", rangeCases(variant, f64Type, [
    [-Infinity, Infinity], [0, 0], [-0, -0], [NaN, Infinity], [-Infinity, NaN], [1, -1], [-Number.MAX_VALUE, Number.MAX_VALUE], [5e-324, 5e-324],
    ...oneSided,
  ]));
});
