// Runs one kernel call in both forms (SIMD methods and the scalar twins) and checks each against the
// reference bitmap: every bit, the zero tail, nothing written past the output, and the any flag.
import { expect } from "vitest";
import type { KernelCalls } from "../../engine/exec/wasm.js";
import { type Arena, anySet, expectBits, expectNoOverrun, wordsFor } from "./harness.js";

export function checkBothForms(
  a: Arena,
  rows: number,
  expected: Uint32Array,
  what: string,
  call: (set: KernelCalls, dst: number) => boolean,
): void {
  const words = wordsFor(rows);
  for (const [form, set] of [["simd", a.k], ["scalar", a.k.scalar]] as const) {
    const dst = a.alloc(words * 8);
    const flag = call(set, dst);
    const label = `${what} [${form}, n=${rows}]`;
    expectBits(a.words32(dst, words), expected, label);
    expectNoOverrun(a, dst, words * 8, label);
    expect(flag, `${label}: any flag`).toBe(anySet(expected));
  }
}
