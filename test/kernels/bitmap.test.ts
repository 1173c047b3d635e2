// Bitmap algebra, counts, bitmap → rows, and container expansion: plain-TS reference vs both Wasm forms.
// Includes the algebra's laws (roaring-rs style) checked through the kernels themselves.
import { describe, expect, it } from "vitest";
import { ContainerKind, type KernelCalls, MORSEL_BYTES, MORSEL_ROWS, MORSEL_WORDS } from "../../engine/exec/wasm.js";
import { isLassoError } from "../../engine/errors.js";
import { Arena, type Rng, VARIANTS, anySet, bitAt, bitsOf, expectBits, expectNoOverrun, popcountOf, randomBits, seeded } from "./harness.js";

type Variant = (typeof VARIANTS)[number];
const FORMS = (a: Arena) => [["simd", a.k], ["scalar", a.k.scalar]] as const;
const DENSITIES = [0, 0.001, 0.1, 0.5, 0.9, 1];

function wordCounts(rng: Rng): number[] {
  return [0, 1, 2, 3, 31, 32, 33, MORSEL_WORDS - 1, MORSEL_WORDS, MORSEL_WORDS + 1, 1 + rng.int(4 * MORSEL_WORDS)];
}

function expectFault(f: () => unknown, what: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isLassoError(err) && err.code === "kernel_fault", `${what}: expected kernel_fault, got ${String(err)}`).toBe(true);
}

describe.each(VARIANTS)("bitmap kernels (%s build)", (variant: Variant) => {
  it("and / or / andNot / copy match the reference, in place too", seeded((rng) => {
    const a = new Arena(variant);
    for (const words of wordCounts(rng)) {
      a.reset();
      const x = randomBits(rng, words, rng.pick(DENSITIES));
      const y = randomBits(rng, words, rng.pick(DENSITIES));
      const ops: Array<[string, (p: number, q: number) => number, (s: KernelCalls, d: number, p: number, q: number) => boolean]> = [
        ["bitmapAnd", (p, q) => p & q, (s, d, p, q) => s.bitmapAnd(d, p, q, words)],
        ["bitmapOr", (p, q) => p | q, (s, d, p, q) => s.bitmapOr(d, p, q, words)],
        ["bitmapAndNot", (p, q) => p & ~q, (s, d, p, q) => s.bitmapAndNot(d, p, q, words)],
        ["bitmapCopy", (p) => p, (s, d, p) => s.bitmapCopy(d, p, words)],
      ];
      for (const [name, ref, call] of ops) {
        const expected = x.map((w, i) => ref(w, y[i]!) >>> 0);
        for (const [form, s] of FORMS(a)) {
          for (const alias of ["none", "dst=a", "dst=b"] as const) {
            const pa = a.store(x), pb = a.store(y);
            const dst = alias === "dst=a" ? pa : alias === "dst=b" ? pb : a.alloc(words * 8);
            const label = `${name} words=${words} ${form} ${alias}`;
            const flag = call(s, dst, pa, pb);
            expectBits(a.words32(dst, words), expected, label);
            expectNoOverrun(a, dst, words * 8, label);
            expect(flag, `${label}: any flag`).toBe(anySet(expected));
          }
        }
      }
    }
  }));

  it("fill and clearTail keep the tail invariant", seeded((rng) => {
    const a = new Arena(variant);
    for (const words of wordCounts(rng)) {
      for (const [form, s] of FORMS(a)) {
        for (const ones of [true, false]) {
          a.reset();
          const dst = a.alloc(words * 8);
          const flag = s.bitmapFill(dst, words, ones);
          const label = `bitmapFill(${ones}) words=${words} ${form}`;
          expectBits(a.words32(dst, words), new Uint32Array(words * 2).fill(ones ? 0xffffffff : 0), label);
          expectNoOverrun(a, dst, words * 8, label);
          expect(flag, label).toBe(ones && words > 0);
          if (words === 0) continue;
          const rows = (words - 1) * 64 + 1 + rng.int(64);
          const tailFlag = s.bitmapClearTail(dst, rows);
          expectBits(a.words32(dst, words), bitsOf(words * 64, (i) => ones && i < rows), `bitmapClearTail(${rows}) ${form}`);
          expect(tailFlag).toBe(ones);
        }
      }
    }
  }));

  it("popcount / andPopcount match the reference", seeded((rng) => {
    const a = new Arena(variant);
    for (const words of wordCounts(rng)) {
      a.reset();
      const x = randomBits(rng, words, rng.pick(DENSITIES));
      const y = randomBits(rng, words, rng.pick(DENSITIES));
      const px = a.store(x, 8 * rng.int(2)), py = a.store(y);
      const both = x.map((w, i) => (w & y[i]!) >>> 0);
      for (const [form, s] of FORMS(a)) {
        expect(s.popcount(px, words), `popcount words=${words} ${form}`).toBe(popcountOf(x));
        expect(s.andPopcount(px, py, words), `andPopcount words=${words} ${form}`).toBe(popcountOf(both));
      }
    }
  }));

  it("algebra laws hold through the kernels", seeded((rng) => {
    const a = new Arena(variant);
    const words = MORSEL_WORDS;
    const tmp = () => a.alloc(words * 8);
    for (let round = 0; round < 5; round++) {
      a.reset();
      const px = a.store(randomBits(rng, words, rng.pick(DENSITIES)));
      const py = a.store(randomBits(rng, words, rng.pick(DENSITIES)));
      const k = a.k;
      const same = (p: number, q: number, law: string) => expectBits(a.words32(p, words), a.words32(q, words), law);
      const xy = tmp(), yx = tmp();
      k.bitmapAnd(xy, px, py, words); k.bitmapAnd(yx, py, px, words); same(xy, yx, "and commutes");
      k.bitmapOr(xy, px, py, words); k.bitmapOr(yx, py, px, words); same(xy, yx, "or commutes");
      // |x| + |y| = |x ∪ y| + |x ∩ y|
      const union = tmp(); k.bitmapOr(union, px, py, words);
      expect(k.popcount(px, words) + k.popcount(py, words)).toBe(k.popcount(union, words) + k.andPopcount(px, py, words));
      // x \ y = x ∩ ¬y, with ¬y = ones \ y
      const ones = tmp(), noty = tmp(), viaNot = tmp(), diff = tmp();
      k.bitmapFill(ones, words, true); k.bitmapAndNot(noty, ones, py, words); k.bitmapAnd(viaNot, px, noty, words);
      k.bitmapAndNot(diff, px, py, words); same(diff, viaNot, "andNot = and with complement");
      // De Morgan: ¬(x ∪ y) = ¬x ∩ ¬y
      const notUnion = tmp(), notx = tmp(), meet = tmp();
      k.bitmapAndNot(notUnion, ones, union, words); k.bitmapAndNot(notx, ones, px, words); k.bitmapAnd(meet, notx, noty, words);
      same(notUnion, meet, "De Morgan");
    }
  }));

  it("bitmapToRows lists set bits ascending from base", seeded((rng) => {
    const a = new Arena(variant);
    for (const words of wordCounts(rng)) {
      a.reset();
      const bits = randomBits(rng, words, rng.pick(DENSITIES));
      const ptr = a.store(bits);
      const base = rng.pick([0, MORSEL_ROWS * rng.int(100), 2 ** 32 - words * 64]);
      const expected: number[] = [];
      for (let i = 0; i < words * 64; i++) if (bitAt(bits, i)) expected.push(base + i);
      for (const [form, s] of FORMS(a)) {
        const out = a.alloc(words * 64 * 4);
        const count = s.bitmapToRows(ptr, words, base, out);
        expect(count, `bitmapToRows words=${words} ${form}: count`).toBe(expected.length);
        const got = Array.from(new Uint32Array(a.bytes.slice(out, out + count * 4).buffer));
        expect(got, `bitmapToRows words=${words} base=${base} ${form}`).toEqual(expected);
      }
    }
  }));

  it("containerToBitmap expands every container kind", seeded((rng) => {
    const a = new Arena(variant);
    for (let round = 0; round < 12; round++) {
      a.reset();
      const cases: Array<[string, ContainerKind, number, number, (i: number) => boolean]> = [];
      cases.push(["empty", ContainerKind.empty, 0, 0, () => false]);

      // array: sorted row offsets, sometimes with duplicates (the count is of distinct rows)
      const card = rng.pick([0, 1, 4096, rng.int(5000), MORSEL_ROWS]);
      const rows = Array.from({ length: card }, () => rng.int(MORSEL_ROWS)).sort((p, q) => p - q);
      if (rng.bool(0.3) && card > 0 && card < MORSEL_ROWS) rows.push(rows[rows.length - 1]!);
      const rowSet = new Set(rows);
      cases.push(["array", ContainerKind.array, a.store(Uint16Array.from(rows), 2 * rng.int(3)), rows.length, (i) => rowSet.has(i)]);

      const dense = randomBits(rng, MORSEL_WORDS, rng.pick(DENSITIES));
      cases.push(["bitmap", ContainerKind.bitmap, a.store(dense, 8 * rng.int(2)), 0, (i) => bitAt(dense, i)]);

      // runs: (start, lengthMinus1) pairs, possibly overlapping, always inside the morsel
      const nRuns = rng.pick([0, 1, 10, 2000]);
      const runs = new Uint16Array(nRuns * 2);
      const inRun = new Uint8Array(MORSEL_ROWS);
      for (let r = 0; r < nRuns; r++) {
        const start = rng.int(MORSEL_ROWS);
        const len1 = rng.int(Math.min(rng.pick([1, 64, 300, MORSEL_ROWS]), MORSEL_ROWS - start));
        runs[2 * r] = start;
        runs[2 * r + 1] = len1;
        inRun.fill(1, start, start + len1 + 1);
      }
      cases.push(["runs", ContainerKind.runs, a.store(runs), nRuns, (i) => inRun[i] === 1]);

      for (const [name, kind, ptr, n, has] of cases) {
        const expected = bitsOf(MORSEL_ROWS, has);
        for (const [form, s] of FORMS(a)) {
          const dst = a.alloc(MORSEL_BYTES);
          const count = s.containerToBitmap(kind, ptr, n, dst);
          const label = `containerToBitmap ${name} card=${n} ${form}`;
          expectBits(a.words32(dst, MORSEL_WORDS), expected, label);
          expectNoOverrun(a, dst, MORSEL_BYTES, label);
          expect(count, `${label}: count`).toBe(popcountOf(expected));
        }
      }
    }
  }));

  it("containerToBitmap rejects bad containers with kernel_fault", () => {
    const a = new Arena(variant);
    const dst = a.alloc(MORSEL_BYTES);
    const pastEnd = a.store(Uint16Array.from([65000, 600]));
    const ok = a.store(Uint16Array.from([1, 2]));
    for (const [form, s] of FORMS(a)) {
      expectFault(() => s.containerToBitmap(ContainerKind.runs, pastEnd, 1, dst), `run past the morsel end (${form})`);
      expectFault(() => s.containerToBitmap(7 as ContainerKind, ok, 1, dst), `unknown kind (${form})`);
      expectFault(() => s.containerToBitmap(ContainerKind.array, ok, MORSEL_ROWS + 1, dst), `card too large (${form})`);
      expectFault(() => s.containerToBitmap(ContainerKind.array, ok, -1, dst), `negative card (${form})`);
    }
  });
});
