/**
 * Kernel throughput: every kernel (SIMD and scalar form) over `rows` rows, morsel by morsel, beside a
 * memory-bandwidth baseline measured in the same run over the SAME bytes: `streamBytes`
 * (assembly/baseline.ts) reads the buffers the kernel reads and writes the buffers it writes, 64 bytes
 * a step with v128 loads and stores, interleaved as the kernel interleaves them, with no work between.
 * So a bitmap AND (reads two bitmaps, writes one) is compared with a loop that reads the same two
 * bitmaps and writes the same third one, and the ratio says how close the kernel comes to the memory.
 *
 *   node dist/bench/kernels.js [--rows 100000000] [--json FILE] [--seed N] [--only bitmapAnd,rangeI32]
 *
 * Uncached against uncached: before every timed run (kernel or baseline) an untimed read of a separate
 * buffer four times the last-level cache evicts whatever the previous run left there, so neither side
 * starts with its inputs cached (at 100M rows a bitmap is 12.5 MB, less than the 32 MiB L3 here).
 * Runs of the baseline, the SIMD and the scalar form alternate (order rotated each round), so load from
 * other processes falls on all of them; the figures are medians, and "× (best runs)" is the same ratio
 * from each side's fastest run (on a shared machine, the least disturbed one).
 *
 * Bytes counted: everything read from memory (columns, validity, input bitmaps, containers, list
 * offsets and codes) plus every bitmap written to memory (bitmap ops). Predicate kernels write their
 * output into one 8 KiB scratch morsel bitmap that stays in L1/L2, as in the fused plan: not counted,
 * and the baseline does not write it either. LUTs and value lists (≤ 128 KiB, cache-resident) are
 * not counted, nor the list kernels' scratch (a u32 count per code of 64 rows: stays in L1).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import {
  ContainerKind, KERNEL_RESERVED_BYTES, type KernelCalls, Kernels, LUT_U16_BYTES, LUT_U8_BYTES, MORSEL_BYTES,
  MORSEL_ROWS,
} from "../engine/exec/wasm.js";
import { Rng } from "../fixtures/prng.js";
import { median } from "./stats.js";

/** Bitmap ops must reach 0.8× of the baseline, predicate scans 0.6× (issue 3); the rest have no target. */
export type KernelKind = "bitmap" | "predicate" | "other";
export const KERNEL_TARGETS: Readonly<Record<KernelKind, number | undefined>> = { bitmap: 0.8, predicate: 0.6, other: undefined };

export interface KernelBenchResult {
  /** Kernel and the data it ran on, e.g. "rangeI32" or "bitmapToRows 1%". */
  kernel: string;
  form: "simd" | "scalar" | "baseline";
  rows: number;
  /** Bytes moved per run: read + written (see the header for what counts). */
  bytes: number;
  readBytes?: number;
  writtenBytes?: number;
  /** Median wall time per run over all rows, ms. */
  ms: number;
  /** bytes / time. */
  gbps: number;
  /** The baseline (streamBytes over the same buffers, same run, also uncached), GB/s. */
  scanGbps: number;
  /** gbps / scanGbps: 1.0 means the kernel moves its bytes as fast as a loop doing nothing else. */
  ratio: number;
  /** For scalar rows: scalar ms / SIMD ms. */
  simdSpeedup?: number;
  /** The fastest run of each side: kernel ms and baseline ms, and their ratio (less disturbed by other load). */
  bestMs?: number;
  baselineBestMs?: number;
  ratioBest?: number;
  kind?: KernelKind;
  /** The ratio the issue asks for (SIMD form of bitmap ops and predicate scans). */
  target?: number;
  /** Timed runs of this form (each after a cache eviction). */
  samples?: number;
  /** What the baseline did, e.g. "read 2 × 12.5 MB, write 12.5 MB". */
  baseline?: string;
}
export type Result = KernelBenchResult;

export interface KernelBenchOptions {
  rows: number;
  seed?: number;
  /** Time budget per case, ms (default 2500): rounds continue until both it and `iterations` rounds are reached. */
  timeMs?: number;
  /** Least timed rounds per case (default 7); at most 4× that many. */
  iterations?: number;
  /** Only the kernels whose name contains one of these (the baselines' own rows always run). */
  only?: readonly string[];
  log?: (line: string) => void;
}

const GB = 1e9;
const MB = 1e6;

/** A bump layout over one shared memory sized for `rows`, above the kernels' reserved page. */
class Layout {
  top = KERNEL_RESERVED_BYTES;
  take(bytes: number): number {
    const at = Math.ceil(this.top / 64) * 64;
    this.top = at + bytes;
    return at;
  }
}

interface Stream {
  at: number;
  bytes: number;
}

interface Case {
  kernel: string;
  kind: KernelKind;
  /** Buffers read from memory (at most two) and written to memory (at most one); after setup(). */
  io: () => { reads: Stream[]; writes: Stream[] };
  /** Prepare the memory for this case (runs before its runs; not timed). */
  setup: () => void;
  run: (k: KernelCalls) => void;
  /** No scalar twin worth timing (e.g. memory.fill, identical twin). */
  simdOnly?: boolean;
}

/** The last-level cache in bytes (Linux sysfs), or 32 MiB when it cannot be read. */
export function lastLevelCacheBytes(): number {
  let best = 0;
  for (let i = 0; i < 8; i++) {
    try {
      const s = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${i}/size`, "utf8").trim();
      const m = /^(\d+)([KMG]?)$/.exec(s);
      if (m) best = Math.max(best, Number(m[1]) * ({ "": 1, K: 1024, M: 1 << 20, G: 1 << 30 } as const)[m[2] as "" | "K" | "M" | "G"]);
    } catch {
      break;
    }
  }
  return best > 0 ? best : 32 << 20;
}

const mb = (n: number) => `${(n / MB).toFixed(n < 10 * MB ? 2 : 0)} MB`;
function describeIo(reads: readonly Stream[], writes: readonly Stream[]): string {
  const side = (xs: readonly Stream[]) => (xs.length === 2 && xs[0]!.bytes === xs[1]!.bytes ? `2 × ${mb(xs[0]!.bytes)}` : xs.map((x) => mb(x.bytes)).join(" + "));
  const parts: string[] = [];
  if (reads.length) parts.push(`read ${side(reads)}`);
  if (writes.length) parts.push(`write ${side(writes)}`);
  return parts.join(", ");
}

export async function runKernelBench(opts: KernelBenchOptions): Promise<KernelBenchResult[]> {
  const rows = opts.rows;
  if (!Number.isInteger(rows) || rows < MORSEL_ROWS) throw new Error(`--rows must be an integer ≥ ${MORSEL_ROWS}`);
  const log = opts.log ?? (() => {});
  const minRounds = opts.iterations ?? 7;
  const maxRounds = 4 * minRounds;
  const budgetMs = opts.timeMs ?? 2500;
  const morsels = Math.ceil(rows / MORSEL_ROWS);
  const bitmapBytes = morsels * MORSEL_BYTES;
  const rowsIn = (m: number) => Math.min(MORSEL_ROWS, rows - m * MORSEL_ROWS);
  const wordsIn = (m: number) => Math.ceil(rowsIn(m) / 64);
  const llc = lastLevelCacheBytes();
  const evictBytes = Math.ceil((4 * llc) / 64) * 64;

  const L = new Layout();
  const col = L.take(rows * 8); // the column region: reused (and refilled) by every case
  const offsets = L.take((rows + 1) * 4);
  const validity = L.take(bitmapBytes);
  const bmA = L.take(bitmapBytes);
  const bmB = L.take(bitmapBytes);
  const bmDst = L.take(bitmapBytes);
  const sparse = L.take(bitmapBytes);
  const scratch = L.take(MORSEL_BYTES);
  const rowsOut = L.take(MORSEL_ROWS * 4);
  const LIST_SCRATCH = MORSEL_ROWS * 4; // what the engine gives the list kernels (its row-number buffer)
  const listScratch = L.take(LIST_SCRATCH);
  const values = L.take(64);
  const lut = L.take(1 << 17); // up to 2^20 bits for the u32 LUT
  const evict = L.take(evictBytes);
  const pages = Math.ceil(L.top / 65536);
  if (pages > 65536) throw new Error(`${rows} rows need ${pages} pages: more than one 4 GiB memory`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  const k = new Kernels(memory);
  const rng = new Rng(opts.seed ?? 42, "bench/kernels");
  const u32 = (at: number, n: number) => new Uint32Array(memory.buffer, at, n);
  const fillRandom = (at: number, bytes: number, mask = 0xffffffff) => {
    const v = u32(at, Math.ceil(bytes / 4));
    for (let i = 0; i < v.length; i++) v[i] = rng.u32() & mask;
  };
  const fillDensity = (at: number, bytes: number, density: number) => {
    const v = u32(at, bytes / 4).fill(0);
    const bits = bytes * 8;
    for (let n = Math.round(bits * density); n > 0; n--) {
      const b = rng.below(bits);
      v[b >>> 5]! |= 1 << (b & 31);
    }
  };

  log(`kernels bench: ${rows.toLocaleString()} rows, ${morsels} morsels, memory ${(pages / 16384).toFixed(2)} GiB, `
    + `last-level cache ${(llc / 2 ** 20).toFixed(0)} MiB (evicted before every timed run by reading ${(evictBytes / 2 ** 20).toFixed(0)} MiB)`);
  fillRandom(validity, bitmapBytes);
  fillRandom(bmA, bitmapBytes);
  fillRandom(bmB, bitmapBytes);
  fillDensity(sparse, bitmapBytes, 0.01);
  fillRandom(evict, evictBytes);

  const perMorsel = (f: (m: number, n: number, words: number) => void) => () => {
    for (let m = 0; m < morsels; m++) f(m, rowsIn(m), wordsIn(m));
  };
  const at = (b: number, m: number, bytesPerRow: number) => b + m * MORSEL_ROWS * bytesPerRow;
  const bm = (b: number, m: number) => b + m * MORSEL_BYTES;
  const none = () => {};
  const s = (at: number, bytes: number): Stream => ({ at, bytes });
  const io = (reads: Stream[], writes: Stream[] = []) => () => ({ reads, writes });

  // Range and code predicates read random bits of their width from the column region (filled once,
  // refilled only after a case that writes structured data there); bounds select about half the rows.
  let columnRandom = false;
  const randomColumn = () => {
    if (!columnRandom) fillRandom(col, rows * 8);
    columnRandom = true;
  };
  const structured = (fill: () => void) => () => {
    columnRandom = false;
    fill();
  };

  const cases: Case[] = [];
  const A = s(bmA, bitmapBytes), B = s(bmB, bitmapBytes), D = s(bmDst, bitmapBytes);
  const bitmapOp = (name: string, f: (k: KernelCalls, d: number, a: number, b: number, w: number) => boolean) =>
    cases.push({
      kernel: name, kind: "bitmap", io: io([A, B], [D]), setup: none,
      run: (k) => perMorsel((m, _n, w) => { f(k, bm(bmDst, m), bm(bmA, m), bm(bmB, m), w); })(),
    });
  bitmapOp("bitmapAnd", (k, d, a, b, w) => k.bitmapAnd(d, a, b, w));
  bitmapOp("bitmapOr", (k, d, a, b, w) => k.bitmapOr(d, a, b, w));
  bitmapOp("bitmapAndNot", (k, d, a, b, w) => k.bitmapAndNot(d, a, b, w));
  cases.push({
    kernel: "bitmapCopy", kind: "bitmap", io: io([A], [D]), setup: none,
    run: (k) => perMorsel((m, _n, w) => { k.bitmapCopy(bm(bmDst, m), bm(bmA, m), w); })(),
  });
  cases.push({
    kernel: "bitmapFill", kind: "bitmap", io: io([], [D]), setup: none,
    run: (k) => perMorsel((m, _n, w) => { k.bitmapFill(bm(bmDst, m), w, true); })(),
  });
  cases.push({
    kernel: "popcount", kind: "bitmap", io: io([A]), setup: none,
    run: (k) => perMorsel((m, _n, w) => { k.popcount(bm(bmA, m), w); })(),
  });
  cases.push({
    kernel: "andPopcount", kind: "bitmap", io: io([A, B]), setup: none,
    run: (k) => perMorsel((m, _n, w) => { k.andPopcount(bm(bmA, m), bm(bmB, m), w); })(),
  });
  for (const [label, src] of [["1%", sparse], ["50%", bmA]] as const) {
    cases.push({
      kernel: `bitmapToRows ${label}`, kind: "other", io: io([s(src, bitmapBytes)]), setup: none,
      run: (k) => perMorsel((m, _n, w) => { k.bitmapToRows(bm(src, m), w, m * MORSEL_ROWS, rowsOut); })(),
    });
  }

  // Containers: per morsel an array of 4,096 rows (6%), 64 runs of 100 rows, or a dense bitmap; each
  // expands into the scratch morsel bitmap.
  const ARRAY_CARD = 4096, RUNS = 64;
  cases.push({
    kernel: "containerToBitmap array", kind: "other", io: io([s(col, morsels * ARRAY_CARD * 2)]),
    setup: structured(() => {
      const v = new Uint16Array(memory.buffer, col, morsels * ARRAY_CARD);
      for (let i = 0; i < v.length; i++) v[i] = (i % ARRAY_CARD) * 16 + (rng.u32() & 15);
    }),
    run: (k) => perMorsel((m) => { k.containerToBitmap(ContainerKind.array, col + m * ARRAY_CARD * 2, ARRAY_CARD, scratch); })(),
  });
  cases.push({
    kernel: "containerToBitmap runs", kind: "other", io: io([s(col, morsels * RUNS * 4)]),
    setup: structured(() => {
      const v = new Uint16Array(memory.buffer, col, morsels * RUNS * 2);
      for (let i = 0; i < v.length; i += 2) {
        v[i] = ((i / 2) % RUNS) * 1024 + (rng.u32() & 511);
        v[i + 1] = 99;
      }
    }),
    run: (k) => perMorsel((m) => { k.containerToBitmap(ContainerKind.runs, col + m * RUNS * 4, RUNS, scratch); })(),
  });
  cases.push({
    kernel: "containerToBitmap bitmap", kind: "other", io: io([A]), setup: none,
    run: (k) => perMorsel((m) => { k.containerToBitmap(ContainerKind.bitmap, bm(bmA, m), 0, scratch); })(),
  });

  const C = (bytesPerRow: number) => s(col, rows * bytesPerRow);
  cases.push({
    kernel: "rangeI32", kind: "predicate", io: io([C(4)]), setup: randomColumn,
    run: (k) => perMorsel((m, n) => { k.rangeI32(at(col, m, 4), 0, n, -(2 ** 30), 2 ** 30, scratch); })(),
  });
  cases.push({
    kernel: "rangeI32 + validity", kind: "predicate", io: io([C(4), s(validity, bitmapBytes)]), setup: randomColumn,
    run: (k) => perMorsel((m, n) => { k.rangeI32(at(col, m, 4), bm(validity, m), n, -(2 ** 30), 2 ** 30, scratch); })(),
  });
  cases.push({
    kernel: "rangeI64", kind: "predicate", io: io([C(8)]), setup: randomColumn,
    run: (k) => perMorsel((m, n) => { k.rangeI64(at(col, m, 8), 0, n, -(2n ** 62n), 2n ** 62n, scratch); })(),
  });
  cases.push({
    kernel: "rangeF32", kind: "predicate", io: io([C(4)]), setup: randomColumn,
    run: (k) => perMorsel((m, n) => { k.rangeF32(at(col, m, 4), 0, n, 0, Infinity, scratch); })(),
  });
  cases.push({
    kernel: "rangeF64", kind: "predicate", io: io([C(8)]), setup: randomColumn,
    run: (k) => perMorsel((m, n) => { k.rangeF64(at(col, m, 8), 0, n, 0, Infinity, scratch); })(),
  });
  // Both bounds finite: two compares per row (a bound of ±Infinity needs none, as above).
  cases.push({
    kernel: "rangeF64 two-sided", kind: "predicate", io: io([C(8)]), setup: randomColumn,
    run: (k) => perMorsel((m, n) => { k.rangeF64(at(col, m, 8), 0, n, 0, Number.MAX_VALUE, scratch); })(),
  });

  // Enum codes.
  const setValues = (width: 8 | 16, list: number[]) => {
    const v = width === 8 ? new Uint8Array(memory.buffer, values, list.length) : new Uint16Array(memory.buffer, values, list.length);
    v.set(list);
  };
  cases.push({
    kernel: "codesEqAnyU8 k=3", kind: "predicate", io: io([C(1)]), setup: () => { randomColumn(); setValues(8, [3, 77, 200]); },
    run: (k) => perMorsel((m, n) => { k.codesEqAnyU8(at(col, m, 1), 0, n, values, 3, scratch); })(),
  });
  cases.push({
    kernel: "codesEqAnyU8 k=16", kind: "predicate", io: io([C(1)]),
    setup: () => { randomColumn(); setValues(8, Array.from({ length: 16 }, (_, i) => i * 13)); },
    run: (k) => perMorsel((m, n) => { k.codesEqAnyU8(at(col, m, 1), 0, n, values, 16, scratch); })(),
  });
  cases.push({
    kernel: "codesEqAnyU16 k=3", kind: "predicate", io: io([C(2)]), setup: () => { randomColumn(); setValues(16, [3, 7000, 60000]); },
    run: (k) => perMorsel((m, n) => { k.codesEqAnyU16(at(col, m, 2), 0, n, values, 3, scratch); })(),
  });
  cases.push({
    kernel: "codesInLutU8", kind: "predicate", io: io([C(1)]), setup: () => { randomColumn(); fillRandom(lut, LUT_U8_BYTES); },
    run: (k) => perMorsel((m, n) => { k.codesInLutU8(at(col, m, 1), 0, n, lut, scratch); })(),
  });
  // A dictionary of at most 128 values (most enum tags): codes and set below 128, one nibble table.
  const lowCodes = structured(() => fillRandom(col, rows, 0x7f7f7f7f));
  cases.push({
    kernel: "codesEqAnyU8 k=16 (codes < 128)", kind: "predicate", io: io([C(1)]),
    setup: () => { lowCodes(); setValues(8, Array.from({ length: 16 }, (_, i) => i * 7)); },
    run: (k) => perMorsel((m, n) => { k.codesEqAnyU8(at(col, m, 1), 0, n, values, 16, scratch); })(),
  });
  cases.push({
    kernel: "codesInLutU8 (codes < 128)", kind: "predicate", io: io([C(1)]),
    setup: () => { lowCodes(); fillRandom(lut, LUT_U8_BYTES / 2); u32(lut + LUT_U8_BYTES / 2, LUT_U8_BYTES / 8).fill(0); },
    run: (k) => perMorsel((m, n) => { k.codesInLutU8(at(col, m, 1), 0, n, lut, scratch); })(),
  });
  cases.push({
    kernel: "codesInLutU16", kind: "predicate", io: io([C(2)]), setup: () => { randomColumn(); fillRandom(lut, LUT_U16_BYTES); },
    run: (k) => perMorsel((m, n) => { k.codesInLutU16(at(col, m, 2), 0, n, lut, scratch); })(),
    simdOnly: true,
  });
  const LUT32_BITS = 1 << 20;
  cases.push({
    kernel: "codesInLutU32 (2^20 codes)", kind: "predicate", io: io([C(4)]),
    setup: structured(() => { fillRandom(col, rows * 4, LUT32_BITS - 1); fillRandom(lut, LUT32_BITS / 8); }),
    run: (k) => perMorsel((m, n) => { k.codesInLutU32(at(col, m, 4), 0, n, lut, LUT32_BITS, scratch); })(),
    simdOnly: true,
  });

  // Lists: 0–3 codes per row (1.5 on average), LUT with 1% of codes set so most lists are read whole.
  let listCodes = 0;
  const setupLists = (codeBytes: number, codeMask: number) => structured(() => {
    const off = new Int32Array(memory.buffer, offsets, rows + 1);
    let total = 0;
    for (let i = 0; i < rows; i++) {
      off[i] = total;
      total += rng.u32() & 3;
    }
    off[rows] = total;
    listCodes = total;
    if (codeBytes === 2) {
      const c = new Uint16Array(memory.buffer, col, total);
      for (let i = 0; i < total; i++) c[i] = rng.u32() & codeMask;
    } else {
      fillRandom(col, total * 4, codeMask);
    }
    fillDensity(lut, LUT_U16_BYTES, 0.01);
  });
  cases.push({
    kernel: "listHasAnyU16", kind: "predicate", io: () => ({ reads: [s(offsets, (rows + 1) * 4), s(col, listCodes * 2)], writes: [] }),
    setup: setupLists(2, 0xffff),
    run: (k) => perMorsel((m, n) => { k.listHasAnyU16(at(offsets, m, 4), col, 0, n, lut, scratch, listScratch, LIST_SCRATCH); })(),
  });
  cases.push({
    kernel: "listHasAnyU32", kind: "predicate", io: () => ({ reads: [s(offsets, (rows + 1) * 4), s(col, listCodes * 4)], writes: [] }),
    setup: setupLists(4, 0xffff),
    run: (k) => perMorsel((m, n) => { k.listHasAnyU32(at(offsets, m, 4), col, 0, n, lut, 1 << 16, scratch, listScratch, LIST_SCRATCH); })(),
  });

  const evictCaches = () => { k.scanBytes(evict, evictBytes); };
  const stream = (reads: readonly Stream[], writes: readonly Stream[]) => {
    if (reads.length > 2 || writes.length > 1) throw new Error("streamBytes takes two read streams and one write stream");
    const r0 = reads[0] ?? s(0, 0), r1 = reads[1] ?? s(0, 0), w0 = writes[0] ?? s(0, 0);
    k.streamBytes(w0.at, w0.bytes, r0.at, r0.bytes, r1.at, r1.bytes);
  };

  /**
   * Times each function in `forms` uncached (an eviction before every run), in rounds with the order
   * rotated, until the case's budget and the least number of rounds are both reached. Median ms each.
   */
  const measure = (forms: readonly (() => void)[]): { ms: number[]; best: number[]; rounds: number } => {
    for (const f of forms) for (let w = 0; w < 2; w++) { evictCaches(); f(); } // V8 tiers Wasm up on hot functions
    const times = forms.map(() => [] as number[]);
    const t0 = performance.now();
    let rounds = 0;
    while (rounds < minRounds || (rounds < maxRounds && performance.now() - t0 < budgetMs)) {
      for (let j = 0; j < forms.length; j++) {
        const i = (j + rounds) % forms.length;
        evictCaches();
        const t = performance.now();
        forms[i]!();
        times[i]!.push(performance.now() - t);
      }
      rounds++;
    }
    return { ms: times.map(median), best: times.map((x) => Math.min(...x)), rounds };
  };

  const results: KernelBenchResult[] = [];
  // The baselines themselves, for the record: memory.copy against streamBytes copying the same bytes
  // (is the v128 loop a fair stand-in for the machine's best?), and scanBytes against a read-only stream.
  {
    // Written first: untouched Wasm pages all map to one zero page, which reads at cache speed.
    randomColumn();
    fillRandom(offsets, (rows + 1) * 4);
    const n = Math.floor((rows * 4) / 64) * 64;
    const reads = [s(col, n)], writes = [s(offsets, n)];
    const m = measure([() => k.copyBytes(offsets, col, n), () => stream(reads, writes)]);
    const [copyMs, streamMs] = m.ms as [number, number];
    const bytes = 2 * n;
    results.push({
      kernel: "memory.copy", form: "baseline", rows, bytes, readBytes: n, writtenBytes: n, ms: copyMs, gbps: bytes / (copyMs / 1e3) / GB,
      scanGbps: bytes / (streamMs / 1e3) / GB, ratio: streamMs / copyMs, samples: m.rounds, kind: "other", baseline: describeIo(reads, writes),
      bestMs: m.best[0]!, baselineBestMs: m.best[1]!, ratioBest: m.best[1]! / m.best[0]!,
    });
    const r = [s(col, Math.floor((rows * 8) / 64) * 64)];
    const m2 = measure([() => k.scanBytes(col, r[0]!.bytes), () => stream(r, [])]);
    const [scanMs, readMs] = m2.ms as [number, number];
    results.push({
      kernel: "scanBytes (read only)", form: "baseline", rows, bytes: r[0]!.bytes, readBytes: r[0]!.bytes, writtenBytes: 0, ms: scanMs,
      gbps: r[0]!.bytes / (scanMs / 1e3) / GB, scanGbps: r[0]!.bytes / (readMs / 1e3) / GB, ratio: readMs / scanMs, samples: m2.rounds,
      kind: "other", baseline: describeIo(r, []), bestMs: m2.best[0]!, baselineBestMs: m2.best[1]!, ratioBest: m2.best[1]! / m2.best[0]!,
    });
    log(`  memory.copy ${results[0]!.gbps.toFixed(2)} GB/s vs streamBytes copy ${results[0]!.scanGbps.toFixed(2)} GB/s; `
      + `scanBytes ${results[1]!.gbps.toFixed(2)} GB/s vs streamBytes read ${results[1]!.scanGbps.toFixed(2)} GB/s`);
  }

  for (const c of cases) {
    if (opts.only && !opts.only.some((x) => c.kernel.includes(x))) continue;
    c.setup();
    const { reads, writes } = c.io();
    const readBytes = reads.reduce((a, x) => a + x.bytes, 0);
    const writtenBytes = writes.reduce((a, x) => a + x.bytes, 0);
    const bytes = readBytes + writtenBytes;
    const forms = [() => stream(reads, writes), () => c.run(k), ...(c.simdOnly ? [] : [() => c.run(k.scalar)])];
    const m = measure(forms);
    const [baseMs, simdMs, scalarMs] = m.ms as [number, number, number | undefined];
    const scanGbps = bytes / (baseMs / 1e3) / GB;
    const target = KERNEL_TARGETS[c.kind];
    for (const form of c.simdOnly ? (["simd"] as const) : (["simd", "scalar"] as const)) {
      const ms = form === "simd" ? simdMs : scalarMs!;
      const gbps = bytes / (ms / 1e3) / GB;
      const best = m.best[form === "simd" ? 1 : 2]!;
      const r: KernelBenchResult = {
        kernel: c.kernel, form, rows, bytes, readBytes, writtenBytes, ms, gbps, scanGbps, ratio: gbps / scanGbps,
        bestMs: best, baselineBestMs: m.best[0]!, ratioBest: m.best[0]! / best,
        kind: c.kind, samples: m.rounds, baseline: describeIo(reads, writes),
      };
      if (form === "simd" && target !== undefined) r.target = target;
      if (form === "scalar") r.simdSpeedup = ms / simdMs;
      results.push(r);
    }
    log(`  ${c.kernel}: ${simdMs.toFixed(2)} ms, baseline ${baseMs.toFixed(2)} ms (${(baseMs / simdMs).toFixed(2)}×), ${m.rounds} rounds`);
  }
  return results;
}

export function formatKernelTable(results: readonly KernelBenchResult[]): string {
  const head = ["kernel", "form", "MB read", "MB written", "ms", "GB/s", "baseline GB/s", "× baseline", "target", "× (best runs)", "SIMD ×"];
  const body = results.map((r) => [
    r.kernel, r.form,
    r.readBytes !== undefined ? (r.readBytes / MB).toFixed(1) : (r.bytes / MB).toFixed(1),
    r.writtenBytes !== undefined ? (r.writtenBytes / MB).toFixed(1) : "",
    r.ms.toFixed(2), r.gbps.toFixed(2), r.scanGbps.toFixed(2), r.ratio.toFixed(2),
    r.target !== undefined ? `≥ ${r.target} ${r.ratio >= r.target ? "✓" : "✗"}` : "",
    r.ratioBest !== undefined ? r.ratioBest.toFixed(2) : "",
    r.simdSpeedup ? r.simdSpeedup.toFixed(1) : "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const left = (i: number) => i < 2 || i === 8;
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (left(i) ? "-" : "") + "-".repeat(w + 1) + (left(i) ? "" : ":")).join("|")}|`, ...body.map(line)].join("\n");
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = Number(arg("--rows") ?? 100_000_000);
  const seed = Number(arg("--seed") ?? 42);
  const json = arg("--json");
  const { loadavg } = await import("node:os");
  const loadBefore = loadavg();
  const only = arg("--only")?.split(",").filter(Boolean);
  const results = await runKernelBench({ rows, seed, log: (l) => console.error(l), ...(only ? { only } : {}) });
  const loadAfter = loadavg();
  console.log(formatKernelTable(results));
  console.log(`\nload average (1/5/15 min): before ${loadBefore.map((x) => x.toFixed(2)).join(" ")}, after ${loadAfter.map((x) => x.toFixed(2)).join(" ")}`);
  if (json) {
    const machine = { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, llcBytes: lastLevelCacheBytes() };
    writeFileSync(json, JSON.stringify({ bench: "kernels", date: new Date().toISOString(), machine, rows, seed, loadavg: { before: loadBefore, after: loadAfter }, results }, null, 2));
    console.error(`wrote ${json}`);
  }
}
