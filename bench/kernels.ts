/**
 * Kernel throughput: every kernel (SIMD and scalar form) over `rows` rows, morsel by morsel, beside a
 * memory-bandwidth baseline measured in the same run: a v128 loop reading the same number of input
 * bytes (`scanBytes`). Machines here are noisy, so read the ratio ("% of scan"), not the absolute figure.
 *
 *   node dist/bench/kernels.js [--rows 100000000] [--json FILE] [--seed N]
 *
 * "GB/s" counts the bytes a kernel reads (columns, validity, input bitmaps, containers), not what it
 * writes: predicate outputs go to one 8 KiB scratch bitmap that stays in cache, as in the fused plan.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { Bench } from "tinybench";
import {
  ContainerKind, KERNEL_RESERVED_BYTES, type KernelCalls, Kernels, LUT_U16_BYTES, LUT_U8_BYTES, MORSEL_BYTES,
  MORSEL_ROWS, MORSEL_WORDS,
} from "../engine/exec/wasm.js";
import { Rng } from "../fixtures/prng.js";

export interface KernelBenchResult {
  /** Kernel and the data it ran on, e.g. "rangeI32" or "bitmapToRows 1%". */
  kernel: string;
  form: "simd" | "scalar" | "baseline";
  rows: number;
  /** Bytes read per run. */
  bytes: number;
  /** Mean wall time per run over all rows, ms. */
  ms: number;
  /** bytes / time. */
  gbps: number;
  /** The scan baseline over the same byte count, same run. */
  scanGbps: number;
  /** gbps / scanGbps: 1.0 means the kernel reads its input as fast as memory allows. */
  ratio: number;
  /** For scalar rows: scalar ms / SIMD ms. */
  simdSpeedup?: number;
}
export type Result = KernelBenchResult;

export interface KernelBenchOptions {
  rows: number;
  seed?: number;
  /**
   * Target time per task, ms (tinybench `time`); every task also runs at least `iterations` times,
   * after two warm-up runs (V8 starts Wasm on its baseline compiler and tiers hot functions up).
   */
  timeMs?: number;
  iterations?: number;
  log?: (line: string) => void;
}

const GB = 1e9;
const SCAN_CHUNK = 2 ** 30;

/** A bump layout over one shared memory sized for `rows`, above the kernels' reserved page. */
class Layout {
  top = KERNEL_RESERVED_BYTES;
  take(bytes: number): number {
    const at = Math.ceil(this.top / 64) * 64;
    this.top = at + bytes;
    return at;
  }
}

interface Case {
  kernel: string;
  bytes: number;
  /** Prepare the memory for this case (runs before its tasks; not timed). */
  setup: () => void;
  run: (k: KernelCalls) => void;
  /** No scalar twin worth timing (e.g. memory.fill, identical twin). */
  simdOnly?: boolean;
}

export async function runKernelBench(opts: KernelBenchOptions): Promise<KernelBenchResult[]> {
  const rows = opts.rows;
  if (!Number.isInteger(rows) || rows < MORSEL_ROWS) throw new Error(`--rows must be an integer ≥ ${MORSEL_ROWS}`);
  const log = opts.log ?? (() => {});
  const morsels = Math.ceil(rows / MORSEL_ROWS);
  const bitmapBytes = morsels * MORSEL_BYTES;
  const rowsIn = (m: number) => Math.min(MORSEL_ROWS, rows - m * MORSEL_ROWS);
  const wordsIn = (m: number) => Math.ceil(rowsIn(m) / 64);

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
  const values = L.take(64);
  const lut = L.take(1 << 17); // up to 2^20 bits for the u32 LUT
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

  log(`kernels bench: ${rows.toLocaleString()} rows, ${morsels} morsels, memory ${(pages / 16384).toFixed(2)} GiB`);
  fillRandom(validity, bitmapBytes);
  fillRandom(bmA, bitmapBytes);
  fillRandom(bmB, bitmapBytes);
  fillDensity(sparse, bitmapBytes, 0.01);
  // Output bitmaps of the per-morsel predicates land in `scratch`; their tails past n are cleared by the kernels.

  const perMorsel = (f: (m: number, n: number, words: number) => void) => () => {
    for (let m = 0; m < morsels; m++) f(m, rowsIn(m), wordsIn(m));
  };
  const at = (base: number, m: number, bytesPerRow: number) => base + m * MORSEL_ROWS * bytesPerRow;
  const bm = (base: number, m: number) => base + m * MORSEL_BYTES;
  const none = () => {};

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
  const bitmapOp = (name: string, f: (s: KernelCalls, d: number, a: number, b: number, w: number) => boolean, inputs: number) =>
    cases.push({
      kernel: name, bytes: inputs * bitmapBytes, setup: none,
      run: (s) => perMorsel((m, _n, w) => { f(s, bm(bmDst, m), bm(bmA, m), bm(bmB, m), w); })(),
    });
  bitmapOp("bitmapAnd", (s, d, a, b, w) => s.bitmapAnd(d, a, b, w), 2);
  bitmapOp("bitmapOr", (s, d, a, b, w) => s.bitmapOr(d, a, b, w), 2);
  bitmapOp("bitmapAndNot", (s, d, a, b, w) => s.bitmapAndNot(d, a, b, w), 2);
  bitmapOp("bitmapCopy", (s, d, a, _b, w) => s.bitmapCopy(d, a, w), 1);
  cases.push({
    kernel: "bitmapFill (bytes written)", bytes: bitmapBytes, setup: none,
    run: (s) => perMorsel((m, _n, w) => { s.bitmapFill(bm(bmDst, m), w, true); })(),
  });
  cases.push({
    kernel: "popcount", bytes: bitmapBytes, setup: none,
    run: (s) => perMorsel((m, _n, w) => { s.popcount(bm(bmA, m), w); })(),
  });
  cases.push({
    kernel: "andPopcount", bytes: 2 * bitmapBytes, setup: none,
    run: (s) => perMorsel((m, _n, w) => { s.andPopcount(bm(bmA, m), bm(bmB, m), w); })(),
  });
  for (const [label, src] of [["1%", sparse], ["50%", bmA]] as const) {
    cases.push({
      kernel: `bitmapToRows ${label}`, bytes: bitmapBytes, setup: none,
      run: (s) => perMorsel((m, _n, w) => { s.bitmapToRows(bm(src, m), w, m * MORSEL_ROWS, rowsOut); })(),
    });
  }

  // Containers: per morsel an array of 4,096 rows (6%), 64 runs of 100 rows, or a dense bitmap.
  const ARRAY_CARD = 4096, RUNS = 64;
  cases.push({
    kernel: "containerToBitmap array", bytes: morsels * ARRAY_CARD * 2,
    setup: structured(() => {
      const v = new Uint16Array(memory.buffer, col, morsels * ARRAY_CARD);
      for (let i = 0; i < v.length; i++) v[i] = (i % ARRAY_CARD) * 16 + (rng.u32() & 15);
    }),
    run: (s) => perMorsel((m) => { s.containerToBitmap(ContainerKind.array, col + m * ARRAY_CARD * 2, ARRAY_CARD, scratch); })(),
  });
  cases.push({
    kernel: "containerToBitmap runs", bytes: morsels * RUNS * 4,
    setup: structured(() => {
      const v = new Uint16Array(memory.buffer, col, morsels * RUNS * 2);
      for (let i = 0; i < v.length; i += 2) {
        v[i] = ((i / 2) % RUNS) * 1024 + (rng.u32() & 511);
        v[i + 1] = 99;
      }
    }),
    run: (s) => perMorsel((m) => { s.containerToBitmap(ContainerKind.runs, col + m * RUNS * 4, RUNS, scratch); })(),
  });
  cases.push({
    kernel: "containerToBitmap bitmap", bytes: bitmapBytes, setup: none,
    run: (s) => perMorsel((m) => { s.containerToBitmap(ContainerKind.bitmap, bm(bmA, m), 0, scratch); })(),
  });

  cases.push({
    kernel: "rangeI32", bytes: rows * 4, setup: randomColumn,
    run: (s) => perMorsel((m, n) => { s.rangeI32(at(col, m, 4), 0, n, -(2 ** 30), 2 ** 30, scratch); })(),
  });
  cases.push({
    kernel: "rangeI32 + validity", bytes: rows * 4 + bitmapBytes, setup: randomColumn,
    run: (s) => perMorsel((m, n) => { s.rangeI32(at(col, m, 4), bm(validity, m), n, -(2 ** 30), 2 ** 30, scratch); })(),
  });
  cases.push({
    kernel: "rangeI64", bytes: rows * 8, setup: randomColumn,
    run: (s) => perMorsel((m, n) => { s.rangeI64(at(col, m, 8), 0, n, -(2n ** 62n), 2n ** 62n, scratch); })(),
  });
  cases.push({
    kernel: "rangeF32", bytes: rows * 4, setup: randomColumn,
    run: (s) => perMorsel((m, n) => { s.rangeF32(at(col, m, 4), 0, n, 0, Infinity, scratch); })(),
  });
  cases.push({
    kernel: "rangeF64", bytes: rows * 8, setup: randomColumn,
    run: (s) => perMorsel((m, n) => { s.rangeF64(at(col, m, 8), 0, n, 0, Infinity, scratch); })(),
  });

  // Enum codes.
  const setValues = (width: 8 | 16, list: number[]) => {
    const v = width === 8 ? new Uint8Array(memory.buffer, values, list.length) : new Uint16Array(memory.buffer, values, list.length);
    v.set(list);
  };
  cases.push({
    kernel: "codesEqAnyU8 k=3", bytes: rows, setup: () => { randomColumn(); setValues(8, [3, 77, 200]); },
    run: (s) => perMorsel((m, n) => { s.codesEqAnyU8(at(col, m, 1), 0, n, values, 3, scratch); })(),
  });
  cases.push({
    kernel: "codesEqAnyU8 k=16", bytes: rows, setup: () => { randomColumn(); setValues(8, Array.from({ length: 16 }, (_, i) => i * 13)); },
    run: (s) => perMorsel((m, n) => { s.codesEqAnyU8(at(col, m, 1), 0, n, values, 16, scratch); })(),
  });
  cases.push({
    kernel: "codesEqAnyU16 k=3", bytes: rows * 2, setup: () => { randomColumn(); setValues(16, [3, 7000, 60000]); },
    run: (s) => perMorsel((m, n) => { s.codesEqAnyU16(at(col, m, 2), 0, n, values, 3, scratch); })(),
  });
  cases.push({
    kernel: "codesInLutU8", bytes: rows, setup: () => { randomColumn(); fillRandom(lut, LUT_U8_BYTES); },
    run: (s) => perMorsel((m, n) => { s.codesInLutU8(at(col, m, 1), 0, n, lut, scratch); })(),
  });
  cases.push({
    kernel: "codesInLutU16", bytes: rows * 2, setup: () => { randomColumn(); fillRandom(lut, LUT_U16_BYTES); },
    run: (s) => perMorsel((m, n) => { s.codesInLutU16(at(col, m, 2), 0, n, lut, scratch); })(),
    simdOnly: true,
  });
  const LUT32_BITS = 1 << 20;
  cases.push({
    kernel: "codesInLutU32 (2^20 codes)", bytes: rows * 4,
    setup: structured(() => { fillRandom(col, rows * 4, LUT32_BITS - 1); fillRandom(lut, LUT32_BITS / 8); }),
    run: (s) => perMorsel((m, n) => { s.codesInLutU32(at(col, m, 4), 0, n, lut, LUT32_BITS, scratch); })(),
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
    kernel: "listHasAnyU16", get bytes() { return rows * 4 + listCodes * 2; }, setup: setupLists(2, 0xffff),
    run: (s) => perMorsel((m, n) => { s.listHasAnyU16(at(offsets, m, 4), col, 0, n, lut, scratch); })(),
    simdOnly: true,
  });
  cases.push({
    kernel: "listHasAnyU32", get bytes() { return rows * 4 + listCodes * 4; }, setup: setupLists(4, 0xffff),
    run: (s) => perMorsel((m, n) => { s.listHasAnyU32(at(offsets, m, 4), col, 0, n, lut, 1 << 16, scratch); })(),
    simdOnly: true,
  });

  const bench = (timeMs: number) =>
    new Bench({ time: timeMs, iterations: opts.iterations ?? 3, warmupIterations: 2, warmupTime: 0 });
  const meanMs = (b: Bench, name: string): number => {
    const t = b.tasks.find((x) => x.name === name);
    const r = t?.result;
    if (!r || (r.state !== "completed" && r.state !== "aborted-with-statistics")) {
      throw new Error(`bench task ${name} did not complete: ${r && "error" in r ? String(r.error) : r?.state}`);
    }
    return r.latency.mean;
  };

  const results: KernelBenchResult[] = [];
  // memory.copy for the record: each byte read once and written once (the column region into the offsets region).
  {
    const bytes = Math.min(rows * 4, SCAN_CHUNK);
    const b = bench(opts.timeMs ?? 300);
    b.add("scan", () => k.scanBytes(col, bytes));
    b.add("copy", () => k.copyBytes(offsets, col, bytes));
    await b.run();
    const scanGbps = bytes / (meanMs(b, "scan") / 1e3) / GB;
    const ms = meanMs(b, "copy");
    const gbps = bytes / (ms / 1e3) / GB;
    results.push({ kernel: "memory.copy (bytes copied)", form: "baseline", rows, bytes, ms, gbps, scanGbps, ratio: gbps / scanGbps });
    log(`  memory.copy: ${gbps.toFixed(2)} GB/s; scan ${scanGbps.toFixed(2)} GB/s`);
  }

  for (const c of cases) {
    c.setup();
    const bytes = c.bytes;
    const b = bench(opts.timeMs ?? 300);
    // The baseline reads the same number of bytes, from the column region onwards (the layout is
    // contiguous and larger than any case's input), in ≤ 1 GiB calls since the length is a u32.
    b.add("scan", () => {
      for (let done = 0; done < bytes; done += SCAN_CHUNK) k.scanBytes(col + done, Math.min(SCAN_CHUNK, bytes - done) & ~63);
    });
    b.add("simd", () => c.run(k));
    if (!c.simdOnly) b.add("scalar", () => c.run(k.scalar));
    await b.run();
    const scanMs = meanMs(b, "scan");
    const scanGbps = bytes / (scanMs / 1e3) / GB;
    const simdMs = meanMs(b, "simd");
    for (const form of c.simdOnly ? (["simd"] as const) : (["simd", "scalar"] as const)) {
      const ms = form === "simd" ? simdMs : meanMs(b, "scalar");
      const gbps = bytes / (ms / 1e3) / GB;
      const r: KernelBenchResult = { kernel: c.kernel, form, rows, bytes, ms, gbps, scanGbps, ratio: gbps / scanGbps };
      if (form === "scalar") r.simdSpeedup = ms / simdMs;
      results.push(r);
    }
    log(`  ${c.kernel}: ${simdMs.toFixed(2)} ms`);
  }
  return results;
}

export function formatKernelTable(results: readonly KernelBenchResult[]): string {
  const head = ["kernel", "form", "ms", "GB/s", "scan GB/s", "% of scan", "Mrows/s", "SIMD ×"];
  const body = results.map((r) => [
    r.kernel, r.form, r.ms.toFixed(2), r.gbps.toFixed(2), r.scanGbps.toFixed(2), `${(r.ratio * 100).toFixed(0)}%`,
    (r.rows / (r.ms / 1e3) / 1e6).toFixed(0), r.simdSpeedup ? r.simdSpeedup.toFixed(1) : "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (i < 2 ? "-" : "") + "-".repeat(w + 1) + (i < 2 ? "" : ":")).join("|")}|`, ...body.map(line)].join("\n");
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = Number(arg("--rows") ?? 100_000_000);
  const seed = Number(arg("--seed") ?? 42);
  const json = arg("--json");
  const results = await runKernelBench({ rows, seed, log: (l) => console.error(l) });
  console.log(formatKernelTable(results));
  if (json) {
    const machine = { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length };
    writeFileSync(json, JSON.stringify({ bench: "kernels", date: new Date().toISOString(), machine, rows, seed, results }, null, 2));
    console.error(`wrote ${json}`);
  }
}
