// Enum and list predicates: codesEqAny (u8/u16), codesInLut (u8/u16/u32), listHasAny (u16/u32),
// each against a plain-TS reference in both Wasm forms.
import { describe, expect, it } from "vitest";
import { LUT_U16_BYTES, LUT_U8_BYTES, MAX_EQ_VALUES, MIN_LIST_SCRATCH_BYTES } from "../../engine/exec/wasm.js";
import { isLassoError } from "../../engine/errors.js";
import { checkBothForms } from "./check.js";
import {
  Arena, type Rng, VALIDITY_MODES, VARIANTS, bitAt, bitsOf, makeValidity, randomBits, rowCounts, seeded,
} from "./harness.js";

type Variant = (typeof VARIANTS)[number];

/** Codes drawn from an alphabet of `size` (small alphabets make matches common), plus the extremes. */
function codes(rng: Rng, n: number, size: number, max: number): number[] {
  return Array.from({ length: n }, () => (rng.bool(0.05) ? rng.pick([0, max]) : rng.int(size)));
}

function randomLut(rng: Rng, bits: number): Uint32Array {
  const density = rng.pick([0, 0.01, 0.3, 0.5, 1]);
  return randomBits(rng, Math.ceil(bits / 64), density);
}

describe.each(VARIANTS)("enum predicates (%s build)", (variant: Variant) => {
  for (const width of [8, 16] as const) {
    const name = width === 8 ? "codesEqAnyU8" : "codesEqAnyU16";
    const max = width === 8 ? 0xff : 0xffff;
    it(`${name} matches the reference`, seeded((rng) => {
      const a = new Arena(variant);
      let caseNo = 0;
      for (const n of rowCounts(rng)) {
        a.reset();
        const alphabet = rng.pick([2, 5, 20, max + 1]);
        const col = codes(rng, n, alphabet, max);
        const misalign = [0, width / 8, 1, 5][caseNo % 4]!;
        const colPtr = a.store(width === 8 ? Uint8Array.from(col) : Uint16Array.from(col), misalign);
        // Every k the kernels special-case (1–4 compare, 5+ the u8 nibble LUT / the u16 value loop).
        for (const k of [0, 1, 2, 3, 4, 5, MAX_EQ_VALUES, 1 + rng.int(MAX_EQ_VALUES)]) {
          const edges = [0, max, 0x7f, 0x80, 0x8f, 0xf0, 0x8000 & max, 0x7fff & max];
          // A third of the u8 sets lie on one side of 128 (the nibble LUT then scans with one table).
          const side = width === 8 ? rng.pick(["any", "below128", "from128"] as const) : "any";
          const values = Array.from({ length: k }, () => {
            const v = rng.bool(0.2) ? rng.pick(edges) : rng.int(alphabet);
            return side === "below128" ? v & 0x7f : side === "from128" ? v | 0x80 : v;
          });
          const valuesPtr = a.store(width === 8 ? Uint8Array.from(values) : Uint16Array.from(values), caseNo % 3);
          const mode = VALIDITY_MODES[caseNo++ % VALIDITY_MODES.length]!;
          const validity = makeValidity(a, rng, n, mode);
          const set = new Set(values);
          const expected = bitsOf(n, (i) => validity.valid(i) && set.has(col[i]!));
          checkBothForms(a, n, expected, `${name} k=${k} ${side} validity=${mode}`, (s, dst) =>
            width === 8
              ? s.codesEqAnyU8(colPtr, validity.ptr, n, valuesPtr, k, dst)
              : s.codesEqAnyU16(colPtr, validity.ptr, n, valuesPtr, k, dst));
        }
      }
    }));
  }

  it("codesInLutU8 / U16 / U32 match the reference", seeded((rng) => {
    const a = new Arena(variant);
    let caseNo = 0;
    for (const n of rowCounts(rng)) {
      a.reset();
      const mode = VALIDITY_MODES[caseNo++ % VALIDITY_MODES.length]!;
      const validity = makeValidity(a, rng, n, mode);

      const c8 = codes(rng, n, 256, 0xff);
      const lut8 = randomLut(rng, LUT_U8_BYTES * 8);
      // Sets of codes below 128 only, or of 128 and above only, scan with one nibble table.
      const half = rng.pick(["both", "below128", "from128"] as const);
      if (half !== "both") lut8.fill(0, half === "below128" ? 4 : 0, half === "below128" ? 8 : 4);
      const p8 = a.store(Uint8Array.from(c8), caseNo % 7);
      const l8 = a.store(lut8, caseNo % 2); // the u8 LUT is read with v128 loads: try it unaligned too
      checkBothForms(a, n, bitsOf(n, (i) => validity.valid(i) && bitAt(lut8, c8[i]!)), `codesInLutU8 ${half} validity=${mode}`,
        (s, dst) => s.codesInLutU8(p8, validity.ptr, n, l8, dst));

      const c16 = codes(rng, n, rng.pick([300, 65536]), 0xffff);
      const lut16 = randomLut(rng, LUT_U16_BYTES * 8);
      const p16 = a.store(Uint16Array.from(c16), 2 * (caseNo % 3));
      const l16 = a.store(lut16);
      checkBothForms(a, n, bitsOf(n, (i) => validity.valid(i) && bitAt(lut16, c16[i]!)), `codesInLutU16 validity=${mode}`,
        (s, dst) => s.codesInLutU16(p16, validity.ptr, n, l16, dst));

      const lutBits = rng.pick([0, 1, 7, 8, 9, 64, 1000, 1 + rng.int(100_000)]);
      const c32 = Array.from({ length: n }, () =>
        rng.bool(0.1) ? rng.pick([0, lutBits, lutBits + 1, 0xffffffff, 0x80000000]) : rng.int(lutBits + 10));
      const lut32 = randomLut(rng, Math.max(lutBits, 1));
      // Only ceil(lutBits/8) bytes belong to the LUT: put it at the very end of its allocation.
      const lutBytes = Math.ceil(lutBits / 8);
      const l32 = a.store(new Uint8Array(lut32.buffer, 0, lutBytes));
      const p32 = a.store(Uint32Array.from(c32), 4 * (caseNo % 2));
      checkBothForms(a, n,
        bitsOf(n, (i) => validity.valid(i) && c32[i]! < lutBits && bitAt(lut32, c32[i]!)),
        `codesInLutU32 lutBits=${lutBits} validity=${mode}`,
        (s, dst) => s.codesInLutU32(p32, validity.ptr, n, l32, lutBits, dst));
    }
  }));

  for (const width of [16, 32] as const) {
    const name = width === 16 ? "listHasAnyU16" : "listHasAnyU32";
    it(`${name} matches the reference`, seeded((rng) => {
      const a = new Arena(variant);
      let caseNo = 0;
      for (const n of rowCounts(rng)) {
        a.reset();
        const mode = VALIDITY_MODES[caseNo++ % VALIDITY_MODES.length]!;
        const validity = makeValidity(a, rng, n, mode);
        // Offsets are absolute into the shard's code array: start the morsel's lists at a random base.
        const base = rng.int(1000);
        const offsets = new Int32Array(n + 1);
        const flat: number[] = Array.from({ length: base }, () => rng.u32() & (width === 16 ? 0xffff : 0xffffffff));
        const alphabet = rng.pick([10, 1000, width === 16 ? 65536 : 5000]);
        offsets[0] = base;
        // Mostly short lists; some long ones (past the 8 codes one window load covers).
        const longLists = rng.pick([0, 0.02, 0.3]);
        for (let i = 0; i < n; i++) {
          const len = rng.bool(longLists) ? 9 + rng.int(40) : rng.bool(0.3) ? 0 : rng.int(6);
          for (let j = 0; j < len; j++) flat.push(rng.int(alphabet));
          offsets[i + 1] = flat.length;
        }
        const lutBits = width === 16 ? LUT_U16_BYTES * 8 : rng.pick([0, 100, 999, alphabet]);
        const lut = randomLut(rng, Math.max(lutBits, 64));
        const offPtr = a.store(offsets);
        const codesPtr = a.store(width === 16 ? Uint16Array.from(flat) : Uint32Array.from(flat));
        const lutPtr = a.store(lut);
        // The engine's scratch is 256 KiB; a small one sends 64-row groups with many codes the plain way.
        const scratchBytes = rng.pick([MIN_LIST_SCRATCH_BYTES, 200, 65536]);
        const scratch = a.alloc(scratchBytes, 0, 0x5a);
        const expected = bitsOf(n, (i) => {
          if (!validity.valid(i)) return false;
          for (let j = offsets[i]!; j < offsets[i + 1]!; j++) if (flat[j]! < lutBits && bitAt(lut, flat[j]!)) return true;
          return false;
        });
        checkBothForms(a, n, expected, `${name} validity=${mode}`, (s, dst) =>
          width === 16
            ? s.listHasAnyU16(offPtr, codesPtr, validity.ptr, n, lutPtr, dst, scratch, scratchBytes)
            : s.listHasAnyU32(offPtr, codesPtr, validity.ptr, n, lutPtr, lutBits, dst, scratch, scratchBytes));
      }
    }));
  }

  it("listHasAny reports out-of-order offsets as kernel_fault without reading outside the checked range", () => {
    const a = new Arena(variant);
    const lut = a.store(new Uint32Array(LUT_U16_BYTES / 4).fill(0xffffffff));
    const flat = a.store(new Uint16Array(16).fill(1));
    const dst = a.alloc(8);
    const scratch = a.alloc(MIN_LIST_SCRATCH_BYTES);
    for (const offsets of [[0, 4, 2, 8], [0, 1_000_000, 1, 8], [0, -5, 3, 8], [3, 5, 6, 2], [-1, 0, 0, 0]]) {
      const off = a.store(Int32Array.from(offsets));
      for (const s of [a.k, a.k.scalar]) {
        let err: unknown;
        try {
          s.listHasAnyU16(off, flat, 0, 3, lut, dst, scratch, MIN_LIST_SCRATCH_BYTES);
        } catch (e) {
          err = e;
        }
        expect(isLassoError(err) && err.code === "kernel_fault", `offsets ${offsets}: ${String(err)}`).toBe(true);
      }
    }
  });

  it("listHasAny finds a decreasing offset anywhere (the check runs four pairs at a time)", seeded((rng) => {
    const a = new Arena(variant);
    const lut = a.store(new Uint32Array(LUT_U16_BYTES / 4).fill(0xffffffff));
    const flat = a.store(new Uint16Array(4096).fill(1));
    const dst = a.alloc(MIN_LIST_SCRATCH_BYTES * 8);
    const scratch = a.alloc(65536);
    for (let t = 0; t < 40; t++) {
      const n = 1 + rng.int(200);
      const offsets = Int32Array.from({ length: n + 1 }, (_, i) => i * 3);
      const at = 1 + rng.int(n); // offsets[at] < offsets[at - 1]
      offsets[at] = offsets[at - 1]! - 1 - rng.int(2);
      const off = a.store(offsets);
      for (const s of [a.k, a.k.scalar]) {
        let err: unknown;
        try {
          s.listHasAnyU16(off, flat, 0, n, lut, dst, scratch, 65536);
        } catch (e) {
          err = e;
        }
        expect(isLassoError(err) && err.code === "kernel_fault", `n=${n}, decrease at ${at}: ${String(err)}`).toBe(true);
      }
    }
  }));

  it("listHasAny refuses a scratch smaller than MIN_LIST_SCRATCH_BYTES", () => {
    const a = new Arena(variant);
    const lut = a.store(new Uint32Array(LUT_U16_BYTES / 4).fill(0xffffffff));
    const flat = a.store(new Uint16Array(16).fill(1));
    const off = a.store(Int32Array.from([0, 4, 8, 8]));
    const dst = a.alloc(8);
    const scratch = a.alloc(MIN_LIST_SCRATCH_BYTES);
    for (const s of [a.k, a.k.scalar]) {
      expect(s.listHasAnyU16(off, flat, 0, 3, lut, dst, scratch, MIN_LIST_SCRATCH_BYTES)).toBe(true);
      let err: unknown;
      try {
        s.listHasAnyU16(off, flat, 0, 3, lut, dst, scratch, MIN_LIST_SCRATCH_BYTES - 1);
      } catch (e) {
        err = e;
      }
      expect(isLassoError(err) && err.code === "kernel_fault", String(err)).toBe(true);
    }
  });
});
