/**
 * A write transaction on one entity: stages a new version beside the current one and either publishes it
 * whole or leaves no trace (API.md: all-or-nothing loads, isolated from running queries).
 *
 * Staging is copy-on-write per (shard, tag): the first write to a chunk copies it into a private chunk in
 * the same shard memory; running queries keep reading the old chunk. Rollback frees every private block
 * and undoes key and dictionary appends; commit builds the next EntityVersion.
 */
import { LassoError } from "../errors.js";
import { EntityStore, EntityVersion, type Block, type ShardState } from "./entity.js";
import { MORSEL_ROWS, align } from "./layout.js";
import { expandInto, sparsify } from "./containers.js";
import { Dictionary, valueBytes, type Chunk, type TagMeta } from "./tags.js";

/**
 * List-form chunk state while staging: rows with offsets written so far, and out-of-order updates kept
 * flat (row, start, length into `codes`; length -1 = null) so a million updates allocate nothing per row.
 */
export class ListStage {
  rows: number;
  readonly upd: { rows: number[]; start: number[]; len: number[]; codes: number[] } = { rows: [], start: [], len: [], codes: [] };
  constructor(rows: number) {
    this.rows = rows;
  }
  get updating(): boolean {
    return this.upd.rows.length > 0;
  }
  update(row: number, codes: ArrayLike<number> | null): void {
    this.upd.rows.push(row);
    this.upd.start.push(this.upd.codes.length);
    if (codes === null) this.upd.len.push(-1);
    else {
      this.upd.len.push(codes.length);
      for (let i = 0; i < codes.length; i++) this.upd.codes.push(codes[i]!);
    }
  }
}

export class Transaction {
  readonly base: EntityVersion;
  readonly tags: Map<string, TagMeta>;
  inserted = 0;
  updated = 0;
  deleted = 0;
  readonly newTags: string[] = [];

  private readonly priv: Map<string, Chunk>[] = [];
  private readonly lists = new Map<Chunk, ListStage>();
  private readonly existsPriv: (number | undefined)[] = [];
  private readonly shardRowsUsed: number[];
  private readonly startRows: number;
  private readonly dictMarks = new Map<Dictionary, number>();
  private readonly removedRows: number[] = [];
  private done = false;
  private rolledBack = false;

  constructor(readonly store: EntityStore) {
    this.base = store.current;
    this.tags = new Map(this.base.tags);
    this.startRows = store.keys.rows;
    this.shardRowsUsed = this.base.shards.map((s) => s.rows);
    for (const t of this.tags.values()) if (t.dict) this.dictMarks.set(t.dict, t.dict.size);
  }

  get shardRows(): number {
    return this.store.shardRows;
  }

  /** Records that dictionary `d` may grow in this transaction (for rollback). */
  trackDict(d: Dictionary): void {
    if (!this.dictMarks.has(d)) this.dictMarks.set(d, d.size);
  }

  addTag(meta: TagMeta): void {
    this.tags.set(meta.name, meta);
    this.newTags.push(meta.name);
    if (meta.dict) this.trackDict(meta.dict);
  }

  /** First row appended by this transaction: rows from here on are new entities. */
  get firstNewRow(): number {
    return this.startRows;
  }

  /** Rows [from, to) were just appended to the key index: they exist from this version on. */
  newRows(from: number, to: number): void {
    const sr = this.shardRows;
    for (let row = from; row < to; ) {
      const shard = Math.floor(row / sr);
      const local = row - shard * sr;
      const end = Math.min(to, (shard + 1) * sr);
      while (this.shardRowsUsed.length <= shard) this.shardRowsUsed.push(0);
      this.shardRowsUsed[shard] = Math.max(this.shardRowsUsed[shard]!, end - shard * sr);
      const exists = this.existsPtr(shard); // may grow the memory: take the view after it
      setBitRange(this.store.memory(shard).u8, exists, local, end - row);
      row = end;
    }
    this.inserted += to - from;
  }

  /** Deletes an existing row (its key is removed from the index). */
  deleteRow(row: number): void {
    const shard = Math.floor(row / this.shardRows);
    const local = row - shard * this.shardRows;
    const ptr = this.existsPtr(shard);
    const u8 = this.store.memory(shard).u8;
    u8[ptr + (local >> 3)]! &= ~(1 << (local & 7));
    this.store.keys.remove(row);
    this.removedRows.push(row);
    this.deleted++;
  }

  /** Rows in use in a shard in the staged version. */
  rowsIn(shard: number): number {
    return this.shardRowsUsed[shard] ?? 0;
  }

  existsPtr(shard: number): number {
    let p = this.existsPriv[shard];
    if (p !== undefined) return p;
    const mem = this.store.memory(shard);
    const bytes = this.shardRows / 8;
    const baseShard = this.base.shards[shard];
    p = mem.allocZeroed(bytes);
    if (baseShard) mem.u8.copyWithin(p, baseShard.exists.ptr, baseShard.exists.ptr + bytes);
    this.existsPriv[shard] = p;
    return p;
  }

  /**
   * The private (writable) chunk of `tag` in `shard`, covering at least the shard's rows in use.
   * `meta` is the tag's staged meta (its form decides the layout).
   */
  chunk(shard: number, meta: TagMeta): Chunk {
    while (this.priv.length <= shard) this.priv.push(new Map());
    const need = Math.max(this.rowsIn(shard), 1);
    const mine = this.priv[shard]!.get(meta.name);
    if (mine) {
      if (mine.capacity < need) this.grow(shard, meta, mine, need);
      return mine;
    }
    const from = this.baseChunk(shard, meta.name);
    // an update within the rows the base chunk holds copies it as it is; only new rows make it grow
    const cap = from && from.capacity >= need ? from.capacity : capacityFor(need, this.shardRows, from?.capacity ?? 0);
    const c = allocChunk(this.store.memory(shard), meta, cap, from);
    if (meta.form === "list") this.lists.set(c, new ListStage(from ? listRowsOf(from) : 0));
    this.priv[shard]!.set(meta.name, c);
    return c;
  }

  /** Replaces a tag's meta by one of another form, re-encoding every chunk's values with `convert`. */
  reform(next: TagMeta, convert: (shard: number, from: Chunk, fromMeta: TagMeta, to: Chunk) => void): void {
    const prev = this.tags.get(next.name)!;
    this.tags.set(next.name, next);
    const shards = Math.max(this.priv.length, this.base.shards.length);
    for (let s = 0; s < shards; s++) {
      const mine = this.priv[s]?.get(next.name);
      const from = mine ?? this.baseChunk(s, next.name);
      if (!from) continue;
      const mem = this.store.memory(s);
      const to = allocChunk(mem, next, from.capacity, undefined);
      // validity is the same in every form; converters re-encode only the values
      mem.u8.copyWithin(to.validity, from.validity, from.validity + from.capacity / 8);
      convert(s, from, prev, to);
      if (next.form === "list") {
        const stage = mine ? this.lists.get(mine) : undefined;
        this.lists.set(to, stage ?? new ListStage(from.capacity));
      }
      while (this.priv.length <= s) this.priv.push(new Map());
      this.priv[s]!.set(next.name, to);
      if (mine) for (const b of mine.blocks) mem.freeBlock(b);
    }
  }

  listStage(c: Chunk): ListStage {
    return this.lists.get(c)!;
  }

  /** Every staged chunk (for checksums and persistence). */
  privateChunks(): { shard: number; tag: string; chunk: Chunk }[] {
    const out: { shard: number; tag: string; chunk: Chunk }[] = [];
    this.priv.forEach((m, shard) => m.forEach((chunk, tag) => out.push({ shard, tag, chunk })));
    return out;
  }

  commit(): EntityVersion {
    if (this.done) throw new LassoError("internal", "transaction already finished");
    this.done = true;
    const shards: ShardState[] = [];
    const count = Math.max(this.shardRowsUsed.length, this.base.shards.length);
    for (let s = 0; s < count; s++) {
      const mem = this.store.memory(s);
      const baseShard = this.base.shards[s];
      const chunks = new Map<string, Chunk>();
      if (baseShard) for (const [name, c] of baseShard.chunks) if (this.tags.has(name)) chunks.set(name, c);
      const mine = this.priv[s];
      if (mine) {
        for (const [name, c] of mine) {
          this.trim(s, this.tags.get(name)!, c);
          const form = this.tags.get(name)?.form;
          if (form === "list") this.finishList(s, this.tags.get(name)!, c);
          else if (form === "bool") sparsify(mem, c);
          chunks.set(name, c);
        }
      }
      const existsPtr = this.existsPriv[s];
      const exists: Block = existsPtr !== undefined ? { ptr: existsPtr, refs: 0 } : baseShard!.exists;
      shards.push({ index: s, mem, exists, rows: this.rowsIn(s), chunks });
    }
    const total = this.base.total + this.inserted - this.deleted;
    return new EntityVersion(this.store, this.base.number + 1, this.store.keys.rows, total, new Map(this.tags), shards);
  }

  /**
   * Undoes the transaction. Also valid after `commit()` as long as the committed version was never
   * published: the engine commits, then persists, and rolls back when persisting fails.
   */
  rollback(): void {
    if (this.rolledBack) return;
    this.rolledBack = true;
    this.done = true;
    this.priv.forEach((m, s) => {
      const mem = this.store.memory(s);
      for (const c of m.values()) for (const b of c.blocks) mem.freeBlock(b);
    });
    this.existsPriv.forEach((p, s) => {
      if (p !== undefined) this.store.memory(s).freeBlock(p);
    });
    this.store.keys.truncate(this.startRows);
    for (const r of this.removedRows) this.store.keys.restore(r);
    for (const [d, size] of this.dictMarks) d.truncate(size);
  }

  private baseChunk(shard: number, tag: string): Chunk | undefined {
    return this.base.shards[shard]?.chunks.get(tag);
  }

  /**
   * Cuts a private chunk's capacity down to the shard's rows in use (in whole morsels) before it is
   * published: chunks grow 4× at a time while loading (few copies), and the slack must not stay in
   * memory nor reach the data directory.
   */
  private trim(shard: number, meta: TagMeta, c: Chunk): void {
    const cap = align(Math.max(this.rowsIn(shard), 1), MORSEL_ROWS);
    if (cap >= c.capacity || c.sparse) return;
    const mem = this.store.memory(shard);
    mem.shrink(c.validity, cap / 8);
    if (meta.form === "list") mem.shrink(c.offsets, (cap + 1) * 4);
    else mem.shrink(c.values, meta.form === "bool" ? cap / 8 : cap * valueBytes(meta.form, meta.codeBytes));
    c.capacity = cap;
  }

  private grow(shard: number, meta: TagMeta, c: Chunk, need: number): void {
    const mem = this.store.memory(shard);
    const cap = capacityFor(need, this.shardRows, c.capacity);
    const next = allocChunk(mem, meta, cap, c);
    for (const b of c.blocks) mem.freeBlock(b);
    const stage = this.lists.get(c);
    Object.assign(c, next);
    if (stage) this.lists.set(c, stage);
  }

  /** Applies out-of-order list updates by rebuilding the codes array, and fills offsets to capacity. */
  private finishList(shard: number, meta: TagMeta, c: Chunk): void {
    const mem = this.store.memory(shard);
    const stage = this.lists.get(c)!;
    const cb = meta.codeBytes!;
    if (!stage.updating) {
      const offs = new Int32Array(mem.memory.buffer, c.offsets, c.capacity + 1);
      for (let r = stage.rows; r <= c.capacity; r++) offs[r] = c.codesUsed;
      return;
    }
    const upd = stage.upd;
    // which update (if any) replaces each row; the last one wins (a load has unique keys anyway)
    let rows = stage.rows;
    for (const r of upd.rows) if (r + 1 > rows) rows = r + 1;
    const which = new Int32Array(rows).fill(-1);
    upd.rows.forEach((r, i) => (which[r] = i));
    const oldOffs = new Int32Array(mem.memory.buffer, c.offsets, c.capacity + 1).slice();
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const w = which[r]!;
      if (w >= 0) total += Math.max(0, upd.len[w]!);
      else if (r < stage.rows) total += oldOffs[r + 1]! - oldOffs[r]!;
    }
    const newCodesCap = Math.max(total, 16);
    const codes = mem.alloc(newCodesCap * cb);
    const buf = mem.memory.buffer;
    const u8 = new Uint8Array(buf);
    const newOffs = new Int32Array(buf, c.offsets, c.capacity + 1);
    const view = codeView(buf, codes, newCodesCap, cb);
    const oldView = codeView(buf, c.codes, c.codesCapacity, cb);
    const validity = c.validity;
    let at = 0;
    for (let r = 0; r < rows; r++) {
      newOffs[r] = at;
      const w = which[r]!;
      if (w < 0) {
        if (r < stage.rows) {
          const a = oldOffs[r]!;
          const b = oldOffs[r + 1]!;
          for (let j = a; j < b; j++) view[at++] = oldView[j]!;
        }
      } else if (upd.len[w]! < 0) {
        u8[validity + (r >> 3)]! &= ~(1 << (r & 7));
      } else {
        const st = upd.start[w]!;
        for (let j = 0; j < upd.len[w]!; j++) view[at++] = upd.codes[st + j]!;
        u8[validity + (r >> 3)]! |= 1 << (r & 7);
      }
    }
    for (let r = rows; r <= c.capacity; r++) newOffs[r] = at;
    const oldCodesBlock = c.codes;
    c.blocks[c.blocks.indexOf(oldCodesBlock)] = codes;
    mem.freeBlock(oldCodesBlock);
    c.codes = codes;
    c.codesCapacity = newCodesCap;
    c.codesUsed = at;
    stage.rows = rows;
    upd.rows.length = upd.start.length = upd.len.length = upd.codes.length = 0;
  }
}


function listRowsOf(c: Chunk): number {
  // a published list chunk has offsets defined for its whole capacity
  return c.capacity;
}

export function codeView(buffer: ArrayBufferLike, ptr: number, n: number, bytes: number): Uint8Array | Uint16Array | Uint32Array {
  if (bytes === 1) return new Uint8Array(buffer, ptr, n);
  if (bytes === 2) return new Uint16Array(buffer, ptr, n);
  return new Uint32Array(buffer, ptr, n);
}

function capacityFor(need: number, shardRows: number, current: number): number {
  // growing 4× keeps the copies of a long streaming load to about a third of a chunk's size in total;
  // commit trims the slack (Transaction.trim)
  const grown = Math.max(need, current * 4);
  return Math.min(shardRows, align(grown, MORSEL_ROWS));
}

/** Allocates a chunk of `meta`'s form with `capacity` rows, copying `from` (same form) when given. */
function allocChunk(mem: import("./shard-memory.js").ShardMemory, meta: TagMeta, capacity: number, from: Chunk | undefined): Chunk {
  const bitBytes = capacity / 8;
  // a dense `from` is copied over the front of the new blocks below: only the rest needs clearing (a
  // chunk grows 4× at a time in a load, and reused memory must be cleared before use)
  const dense = from !== undefined && !from.sparse;
  const fromBits = dense ? from.capacity / 8 : 0;
  const fromOffsets = dense ? (from.capacity + 1) * 4 : 0;
  const fromValues = !dense ? 0 : meta.form === "bool" ? fromBits : from.capacity * valueBytes(meta.form, meta.codeBytes);
  const validity = mem.allocZeroedAfter(bitBytes, fromBits);
  const blocks = [validity];
  let values = 0;
  let offsets = 0;
  let codes = 0;
  let codesCapacity = 0;
  let codesUsed = 0;
  if (meta.form === "list") {
    offsets = mem.allocZeroedAfter((capacity + 1) * 4, fromOffsets);
    codesCapacity = Math.max(from?.codesCapacity ?? 0, 1024);
    codes = mem.alloc(codesCapacity * meta.codeBytes!);
    blocks.push(offsets, codes);
  } else {
    const vb = meta.form === "bool" ? bitBytes : capacity * valueBytes(meta.form, meta.codeBytes);
    values = mem.allocZeroedAfter(vb, fromValues);
    blocks.push(values);
  }
  const c: Chunk = { capacity, values, validity, offsets, codes, codesCapacity, codesUsed, blocks, refs: 0 };
  if (from?.sparse) {
    const morsels = from.capacity / MORSEL_ROWS;
    expandInto(mem, from.sparse.validity, morsels, validity);
    expandInto(mem, from.sparse.values, morsels, values);
  } else if (from) {
    const u8 = mem.u8;
    u8.copyWithin(validity, from.validity, from.validity + fromBits);
    if (meta.form === "list") {
      u8.copyWithin(offsets, from.offsets, from.offsets + fromOffsets);
      u8.copyWithin(codes, from.codes, from.codes + from.codesUsed * meta.codeBytes!);
      c.codesUsed = from.codesUsed;
    } else {
      u8.copyWithin(values, from.values, from.values + fromValues);
    }
  }
  return c;
}

/** Makes room for `extra` more codes in a private list chunk. */
export function reserveCodes(mem: import("./shard-memory.js").ShardMemory, meta: TagMeta, c: Chunk, extra: number): void {
  if (c.codesUsed + extra <= c.codesCapacity) return;
  const cap = Math.max(c.codesUsed + extra, Math.ceil(c.codesCapacity * 1.5));
  const cb = meta.codeBytes!;
  const codes = mem.alloc(cap * cb);
  mem.u8.copyWithin(codes, c.codes, c.codes + c.codesUsed * cb);
  const i = c.blocks.indexOf(c.codes);
  mem.freeBlock(c.codes);
  c.blocks[i] = codes;
  c.codes = codes;
  c.codesCapacity = cap;
}

/** Sets `count` bits from bit `first` of the bitmap at `ptr`. */
export function setBitRange(u8: Uint8Array, ptr: number, first: number, count: number): void {
  let b = first;
  const end = first + count;
  while (b < end && (b & 7) !== 0) {
    u8[ptr + (b >> 3)]! |= 1 << (b & 7);
    b++;
  }
  const fullBytes = (end - b) >> 3;
  if (fullBytes > 0) {
    u8.fill(0xff, ptr + (b >> 3), ptr + (b >> 3) + fullBytes);
    b += fullBytes * 8;
  }
  while (b < end) {
    u8[ptr + (b >> 3)]! |= 1 << (b & 7);
    b++;
  }
}
