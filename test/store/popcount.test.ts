// The JS-side set-bit counts (open's live-entity count, column stats, container sizing) against a bit-by-bit count.
import { describe, expect, it } from "vitest";
import { popcount32, popcountRows } from "../../engine/store/popcount.js";
import { seeded } from "../kernels/harness.js";

function naive(bytes: Uint8Array, rows: number): number {
  let n = 0;
  for (let r = 0; r < rows; r++) if ((bytes[r >> 3]! >> (r & 7)) & 1) n++;
  return n;
}

describe("popcount", () => {
  it("popcount32 counts every bit of signed and unsigned words", () => {
    for (const [x, n] of [[0, 0], [1, 1], [0xffffffff, 32], [-1, 32], [0x80000000, 1], [0x55555555, 16]] as const) {
      expect(popcount32(x)).toBe(n);
    }
  });

  it("popcountRows counts the first `rows` bits at any byte offset", seeded((rng) => {
    const buf = new Uint8Array(300);
    for (let i = 0; i < buf.length; i++) buf[i] = rng.u32() & 0xff;
    for (const offset of [0, 1, 2, 3, 4, 7]) {
      for (const rows of [0, 1, 7, 8, 9, 31, 32, 33, 64, 65, 1000, 8 * 290 + 5]) {
        const view = buf.subarray(offset, offset + Math.ceil(rows / 8));
        expect(popcountRows(view, rows), `offset ${offset}, rows ${rows}`).toBe(naive(view, rows));
      }
    }
  }));
});
