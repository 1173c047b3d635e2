/**
 * Morsel-at-a-time evaluation of a shard program: the whole expression runs over one 65,536-row morsel
 * before the next, so every intermediate bitmap is an 8 KiB register that stays in L1/L2, and counts
 * come from popcount without materialising row numbers. Used as is by the main thread and by workers.
 *
 * Registers: a node evaluated into register `dst` may use registers ≥ `tmp` for its children; depth
 * therefore bounds register use (checked when the plan is built).
 */
import { LassoError } from "../errors.js";
import { MORSEL_BYTES, MORSEL_ROWS, ROWS_OUT_BYTES, registerPtr, rowsOutPtr } from "../store/layout.js";
import type { ExecNode, ShardProgram } from "./program.js";
import type { ContainerKind, Kernels } from "./wasm.js";

export class MorselRunner {
  constructor(
    private readonly k: Kernels,
    private readonly slot: number,
  ) {}

  get kernels(): Kernels {
    return this.k;
  }

  private u32 = new Uint32Array(0);

  /**
   * Expands morsel m of a container set (directory entry: kind, card, payload ptr) into dst; returns its
   * popcount. The u32 view is re-made only after the memory grew.
   */
  private expand(dir: number, m: number, dst: number): number {
    if (this.u32.buffer.byteLength !== this.k.memory.buffer.byteLength) this.u32 = new Uint32Array(this.k.memory.buffer);
    const at = (dir >>> 2) + m * DIR_WORDS;
    const kind = this.u32[at]!;
    if (kind === 0) return 0;
    return this.k.containerToBitmap(kind as ContainerKind, this.u32[at + 2]!, this.u32[at + 1]!, dst);
  }

  /** Evaluates morsel `m` of the program into register 0; returns whether any row matched. */
  run(p: ShardProgram, m: number): boolean {
    const n = Math.min(MORSEL_ROWS, p.rows - m * MORSEL_ROWS);
    if (n <= 0) return false;
    const words = Math.ceil(n / 64);
    const dst = registerPtr(this.slot, 0);
    const exists = p.exists + m * MORSEL_BYTES;
    if (!this.eval(p.root, dst, 1, m, n, words, exists)) return false;
    return this.k.bitmapAnd(dst, dst, exists, words);
  }

  /** Matching rows in morsels [m0, m1). */
  count(p: ShardProgram, m0: number, m1: number, signal?: { readonly aborted: boolean; reason?(): Error }): number {
    let total = 0;
    const dst = registerPtr(this.slot, 0);
    for (let m = m0; m < m1; m++) {
      if (signal?.aborted) throw signal.reason ? signal.reason() : new LassoError("cancelled", "query cancelled");
      if (this.run(p, m)) {
        const n = Math.min(MORSEL_ROWS, p.rows - m * MORSEL_ROWS);
        total += this.k.popcount(dst, Math.ceil(n / 64));
      }
    }
    return total;
  }

  /** Global row numbers matching in morsel m (a view valid until the next call). */
  rows(p: ShardProgram, m: number): Uint32Array {
    if (!this.run(p, m)) return EMPTY;
    const n = Math.min(MORSEL_ROWS, p.rows - m * MORSEL_ROWS);
    const out = rowsOutPtr(this.slot);
    const got = this.k.bitmapToRows(registerPtr(this.slot, 0), Math.ceil(n / 64), p.firstRow + m * MORSEL_ROWS, out);
    return new Uint32Array(this.k.memory.buffer, out, got);
  }

  private eval(node: ExecNode, dst: number, tmp: number, m: number, n: number, words: number, exists: number): boolean {
    const k = this.k;
    const bits = m * MORSEL_BYTES;
    const row0 = m * MORSEL_ROWS;
    switch (node.op) {
      case "all":
        return k.bitmapCopy(dst, exists, words);
      case "none":
        return k.bitmapFill(dst, words, false);
      case "and": {
        let any: boolean;
        if (node.args.length > 0) {
          any = this.eval(node.args[0]!, dst, tmp, m, n, words, exists);
          const r = registerPtr(this.slot, tmp);
          for (let i = 1; i < node.args.length && any; i++) {
            if (!this.eval(node.args[i]!, r, tmp + 1, m, n, words, exists)) return k.bitmapFill(dst, words, false);
            any = k.bitmapAnd(dst, dst, r, words);
          }
        } else any = k.bitmapCopy(dst, exists, words);
        const r = registerPtr(this.slot, tmp);
        for (let i = 0; i < node.negs.length && any; i++) {
          if (this.eval(node.negs[i]!, r, tmp + 1, m, n, words, exists)) any = k.bitmapAndNot(dst, dst, r, words);
        }
        return any;
      }
      case "or": {
        let any = this.eval(node.args[0]!, dst, tmp, m, n, words, exists);
        const r = registerPtr(this.slot, tmp);
        for (let i = 1; i < node.args.length; i++) {
          if (this.eval(node.args[i]!, r, tmp + 1, m, n, words, exists)) any = k.bitmapOr(dst, dst, r, words);
        }
        return any;
      }
      case "not": {
        const r = registerPtr(this.slot, tmp);
        if (!this.eval(node.arg, r, tmp + 1, m, n, words, exists)) return k.bitmapCopy(dst, exists, words);
        return k.bitmapAndNot(dst, exists, r, words);
      }
    }
    if (row0 >= node.cap) return k.bitmapFill(dst, words, false);
    if ((node.op === "i32" || node.op === "i64" || node.op === "f32" || node.op === "f64") && node.skip) {
      const how = node.skip[m];
      if (how === 1) return k.bitmapFill(dst, words, false);
      if (how === 2) return k.bitmapCopy(dst, node.validity + bits, words);
    }
    switch (node.op) {
      case "bits":
        return k.bitmapAnd(dst, node.values + bits, node.validity + bits, words);
      case "valid":
        return k.bitmapCopy(dst, node.validity + bits, words);
      case "cset":
        // an empty container writes nothing: clear dst then
        return this.expand(node.dir, m, dst) > 0 || k.bitmapFill(dst, words, false);
      case "cunion": {
        let any = this.expand(node.dirs[0]!, m, dst) > 0;
        if (!any) k.bitmapFill(dst, words, false);
        const r = registerPtr(this.slot, tmp);
        for (let i = 1; i < node.dirs.length; i++) {
          if (this.expand(node.dirs[i]!, m, r) > 0) any = k.bitmapOr(dst, dst, r, words);
        }
        return any;
      }
      case "i32":
        return k.rangeI32(node.col + row0 * 4, node.validity + bits, n, node.lo, node.hi, dst);
      case "i64":
        return k.rangeI64(node.col + row0 * 8, node.validity + bits, n, node.lo, node.hi, dst);
      case "f32":
        return k.rangeF32(node.col + row0 * 4, node.validity + bits, n, node.lo, node.hi, dst);
      case "f64":
        return k.rangeF64(node.col + row0 * 8, node.validity + bits, n, node.lo, node.hi, dst);
      case "eq8":
        return k.codesEqAnyU8(node.col + row0, node.validity + bits, n, node.values, node.k, dst);
      case "eq16":
        return k.codesEqAnyU16(node.col + row0 * 2, node.validity + bits, n, node.values, node.k, dst);
      case "lut8":
        return k.codesInLutU8(node.col + row0, node.validity + bits, n, node.lut, dst);
      case "lut16":
        return k.codesInLutU16(node.col + row0 * 2, node.validity + bits, n, node.lut, dst);
      case "lut32":
        return k.codesInLutU32(node.col + row0 * 4, node.validity + bits, n, node.lut, node.bits, dst);
      // The list kernels' scratch is the row-number buffer: it is free while a morsel is evaluated
      // (rows() fills it only after run(), and its caller copies the rows out before the next call).
      case "list16":
        return k.listHasAnyU16(node.offsets + row0 * 4, node.codes, node.validity + bits, n, node.lut, dst, rowsOutPtr(this.slot), ROWS_OUT_BYTES);
      case "list32":
        return k.listHasAnyU32(
          node.offsets + row0 * 4, node.codes, node.validity + bits, n, node.lut, node.bits, dst, rowsOutPtr(this.slot), ROWS_OUT_BYTES,
        );
    }
  }
}

const EMPTY = new Uint32Array(0);
const DIR_WORDS = 3;
