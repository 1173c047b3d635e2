/**
 * The physical plan of one query over one shard: a tree of kernel calls with every pointer resolved.
 * Plain data (numbers, bigints, arrays) so it crosses to worker threads by structured clone; the
 * memory it points into is shared, never copied.
 *
 * Pointers address the morsel-0 start of a column; the executor adds the morsel offset. `cap` is the
 * chunk's row capacity: morsels past it read as "no value" (rows added after the tag's last load).
 */
export type ExecNode =
  | { readonly op: "all" }
  | { readonly op: "none" }
  /** ∧ args, then ∧¬ each of negs (args empty: start from the existing rows). */
  | { readonly op: "and"; readonly args: readonly ExecNode[]; readonly negs: readonly ExecNode[] }
  | { readonly op: "or"; readonly args: readonly ExecNode[] }
  /** existing ∧ ¬arg */
  | { readonly op: "not"; readonly arg: ExecNode }
  /** values ∧ validity (bool tag true) */
  | { readonly op: "bits"; readonly values: number; readonly validity: number; readonly cap: number }
  | { readonly op: "valid"; readonly validity: number; readonly cap: number }
  /** a row set in container form: directory of (kind, card, payload) per morsel */
  | { readonly op: "cset"; readonly dir: number; readonly cap: number }
  /** the union of several container sets (multi tag HAS ANY through its postings) */
  | { readonly op: "cunion"; readonly dirs: readonly number[]; readonly cap: number }
  /** `skip` (per morsel, from min/max statistics): 0 evaluate, 1 nothing matches, 2 every value matches */
  | { readonly op: "i32"; readonly col: number; readonly validity: number; readonly cap: number; readonly lo: number; readonly hi: number; readonly skip?: Uint8Array }
  | { readonly op: "i64"; readonly col: number; readonly validity: number; readonly cap: number; readonly lo: bigint; readonly hi: bigint; readonly skip?: Uint8Array }
  | { readonly op: "f32" | "f64"; readonly col: number; readonly validity: number; readonly cap: number; readonly lo: number; readonly hi: number; readonly skip?: Uint8Array }
  /** codes equal to one of k values stored at `values` (u8 / u16) */
  | { readonly op: "eq8" | "eq16"; readonly col: number; readonly validity: number; readonly cap: number; readonly values: number; readonly k: number }
  /** codes whose bit is set in the LUT bitset (`bits` bits for u32) */
  | { readonly op: "lut8" | "lut16" | "lut32"; readonly col: number; readonly validity: number; readonly cap: number; readonly lut: number; readonly bits: number }
  | { readonly op: "list16" | "list32"; readonly offsets: number; readonly codes: number; readonly validity: number; readonly cap: number; readonly lut: number; readonly bits: number };

/** Everything a thread needs to evaluate one shard's morsels. */
export interface ShardProgram {
  /** Identifies the shard memory (threads cache one kernel instance per memory). */
  readonly memoryId: number;
  readonly root: ExecNode;
  /** Existence bitmap of the shard. */
  readonly exists: number;
  /** Rows of the shard in use (the last morsel may be partial). */
  readonly rows: number;
  /** Global row number of the shard's first row. */
  readonly firstRow: number;
}

export function depthOf(n: ExecNode): number {
  switch (n.op) {
    case "and":
      return 1 + Math.max(0, ...n.args.map(depthOf), ...n.negs.map(depthOf));
    case "or":
      return 1 + Math.max(0, ...n.args.map(depthOf));
    case "not":
      return 1 + depthOf(n.arg);
    default:
      return 0;
  }
}
