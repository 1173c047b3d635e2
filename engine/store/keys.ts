/**
 * External entity keys ↔ dense row numbers.
 *
 * Rows are append-only: a row's key never changes, so an older store version can keep mapping its rows to
 * keys while a load appends. Deleting an entity removes its key from the hash (the row stays dead forever);
 * loading that key again appends a new row with no old tag values.
 *
 * Integer keys are kept as (lo, hi) int32 pairs in typed arrays and hashed without BigInt (BigInt
 * arithmetic costs ~50× a Math.imul); string keys as a JS string array. The hash is open addressing with
 * linear probing over an Int32Array of `row + 1` (0 = empty, -1 = tombstone), so 100M keys are a few
 * hundred MB and not 100M Map entries (V8 Maps stop at 2^24).
 *
 * Opening a data directory restores the rows (row → key: all a query's select needs) at once and the hash
 * (key → row: what loads and deletes need) later: `restoreInt`/`restoreStr` append rows unhashed,
 * `buildHash` hashes them in steps (in the background), and any use of the hash finishes it first.
 */
import type { JsonKey, KeyType } from "../api.js";
import { LassoError } from "../errors.js";

const EMPTY = 0;
const TOMBSTONE = -1;
const TWO32 = 4294967296;
/** Int32 entries per 4 KiB memory page. */
const PAGE_ENTRIES = 1024;
/** Table entries a `buildHash` step touches per row it would insert (about as long as inserting). */
const FAULT_ENTRIES_PER_ROW = 16;

export class KeyIndex {
  readonly type: KeyType;
  private rowCount = 0;
  private words: Int32Array; // int keys: lo, hi per row
  private strs: string[] = []; // utf8 keys
  private table: Int32Array;
  private live = 0;
  private tombstones = 0;
  /** Restored rows [hashed, rowCount) not yet in the hash; `isLive` says which rows are existing entities. */
  private hashed = 0;
  /** Entries of a fresh table touched so far by `buildHash` steps (see there). */
  private faulted = 0;
  private isLive: ((row: number) => boolean) | null = null;

  constructor(type: KeyType, capacity = 1024) {
    this.type = type;
    this.words = new Int32Array(type === "utf8" ? 0 : Math.max(capacity, 16) * 2);
    this.table = new Int32Array(tableSizeFor(capacity));
  }

  get rows(): number {
    return this.rowCount;
  }
  get size(): number {
    return this.live;
  }

  /** Row of an integer key given as two's complement (lo, hi) words, or -1. */
  findInt(lo: number, hi: number): number {
    if (this.isLive) this.buildHash();
    const mask = this.table.length - 1;
    let i = hashInt(lo, hi) & mask;
    for (;;) {
      const s = this.table[i]!;
      if (s === EMPTY) return -1;
      if (s !== TOMBSTONE) {
        const r = s - 1;
        if (this.words[r * 2] === lo && this.words[r * 2 + 1] === hi) return r;
      }
      i = (i + 1) & mask;
    }
  }

  findStr(key: string): number {
    if (this.isLive) this.buildHash();
    const mask = this.table.length - 1;
    let i = hashStr(key) & mask;
    for (;;) {
      const s = this.table[i]!;
      if (s === EMPTY) return -1;
      if (s !== TOMBSTONE && this.strs[s - 1] === key) return s - 1;
      i = (i + 1) & mask;
    }
  }

  /** Makes room for `extra` more keys (a load's batch) without rehashing one doubling at a time. */
  reserveRows(extra: number): void {
    if (this.isLive) this.buildHash();
    const need = this.live + this.tombstones + extra;
    if (need * 2 > this.table.length) this.rehash(need);
    if (this.type !== "utf8" && (this.rowCount + extra) * 2 > this.words.length) {
      const next = new Int32Array(Math.max((this.rowCount + extra) * 2, this.words.length * 2));
      next.set(this.words);
      this.words = next;
    }
  }

  /** Appends a new row for a key known to be absent; returns its row. */
  appendInt(lo: number, hi: number): number {
    if (this.isLive) this.buildHash();
    const row = this.rowCount++;
    if (row * 2 + 2 > this.words.length) {
      const next = new Int32Array(Math.max(this.words.length * 2, 32));
      next.set(this.words);
      this.words = next;
    }
    this.words[row * 2] = lo;
    this.words[row * 2 + 1] = hi;
    this.insert(row, hashInt(lo, hi));
    return row;
  }

  appendStr(key: string): number {
    if (this.isLive) this.buildHash();
    const row = this.rowCount++;
    this.strs.push(key);
    this.insert(row, hashStr(key));
    return row;
  }

  /** Removes a row's key from the hash (the entity is deleted). */
  remove(row: number): void {
    if (this.isLive) this.buildHash();
    const mask = this.table.length - 1;
    let i = (this.type === "utf8" ? hashStr(this.strs[row]!) : hashInt(this.words[row * 2]!, this.words[row * 2 + 1]!)) & mask;
    for (;;) {
      const s = this.table[i]!;
      if (s === EMPTY) return;
      if (s === row + 1) {
        this.table[i] = TOMBSTONE;
        this.live--;
        this.tombstones++;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /** Undoes appends back to `rows` (a failed load); rows removed meanwhile must be re-added by the caller. */
  truncate(rows: number): void {
    if (rows === 0 && this.isLive === null) {
      // back to no rows at all: a fresh table, not one tombstone per removed key (a failed first load
      // leaves the index as new; its rows may not even be in the hash yet, see ingest's FreshKeys)
      this.table = new Int32Array(tableSizeFor(1024));
      this.live = 0;
      this.tombstones = 0;
      this.rowCount = 0;
      this.strs.length = 0;
      return;
    }
    if (this.isLive) this.buildHash();
    for (let r = this.rowCount - 1; r >= rows; r--) this.remove(r);
    this.rowCount = rows;
    if (this.type === "utf8") this.strs.length = rows;
  }

  /** Re-inserts a row previously removed (undo of a delete). */
  restore(row: number): void {
    if (this.isLive) this.buildHash();
    this.insert(row, this.type === "utf8" ? hashStr(this.strs[row]!) : hashInt(this.words[row * 2]!, this.words[row * 2 + 1]!));
  }

  /** The key of a row in the JSON encoding of API.md (64-bit keys as decimal strings). */
  jsonKey(row: number): JsonKey {
    switch (this.type) {
      case "utf8":
        return this.strs[row]!;
      case "int32":
        return this.words[row * 2]!;
      case "uint32":
        return this.words[row * 2]! >>> 0;
      case "int64": {
        const lo = this.words[row * 2]! >>> 0;
        const hi = this.words[row * 2 + 1]!;
        // exact as a double below 2^53: the common case avoids BigInt
        if (hi >= -0x200000 && hi < 0x200000) return String(hi * TWO32 + lo);
        if (hi >= 0) return u64Decimal(hi, lo);
        // negative: two's complement magnitude
        const nlo = (~lo + 1) >>> 0;
        const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
        return `-${u64Decimal(nhi, nlo)}`;
      }
      case "uint64": {
        const lo = this.words[row * 2]! >>> 0;
        const hi = this.words[row * 2 + 1]! >>> 0;
        if (hi < 0x200000) return String(hi * TWO32 + lo);
        return u64Decimal(hi, lo);
      }
    }
  }

  /** (lo, hi) words of an integer row, for persistence. */
  intWords(): Int32Array {
    return this.words.subarray(0, this.rowCount * 2);
  }
  strings(): readonly string[] {
    return this.strs;
  }

  /**
   * Appends `rows` persisted integer rows (opening a data directory) and returns their (lo, hi) words for
   * the caller to fill in place (read from a file straight into them). They enter the hash later
   * (`hashRestored`, `buildHash`).
   */
  restoreInt(rows: number): Int32Array {
    const first = this.rowCount;
    if ((first + rows) * 2 > this.words.length) {
      const next = new Int32Array(Math.max((first + rows) * 2, 32));
      next.set(this.words.subarray(0, first * 2));
      this.words = next;
    }
    this.rowCount = first + rows;
    return this.words.subarray(first * 2, (first + rows) * 2);
  }

  /** Makes room for `rows` rows in all before `restoreInt` calls (one allocation, no copies). */
  reserveRestored(rows: number): void {
    if (this.type !== "utf8" && rows * 2 > this.words.length) {
      const next = new Int32Array(rows * 2);
      next.set(this.words.subarray(0, this.rowCount * 2));
      this.words = next;
    }
  }

  /** As `restoreInt`, for utf8 keys. */
  restoreStr(keys: readonly string[]): void {
    for (let i = 0; i < keys.length; i++) this.strs.push(keys[i]!);
    this.rowCount += keys.length;
  }

  /**
   * Declares the restored rows' existing entities (`live` of them, those where `isLive(row)`): `size` is
   * right at once, and the rows enter the hash in `buildHash` steps or at the first use of the hash.
   */
  hashRestored(live: number, isLive: (row: number) => boolean): void {
    if (this.live !== 0 || this.tombstones !== 0) throw new LassoError("internal", "restored keys must come before any other key");
    this.reserveTable(live);
    this.live = live;
    this.hashed = 0;
    this.faulted = 0;
    this.isLive = isLive;
  }

  /** Whether restored rows are still waiting for the hash. */
  get hashPending(): boolean {
    return this.isLive !== null;
  }

  /**
   * Hashes up to `maxRows` more restored rows; returns true when the hash is complete. Every use of the
   * hash calls it without a limit first, so a caller never sees a partial hash.
   */
  buildHash(maxRows = Number.POSITIVE_INFINITY): boolean {
    const isLive = this.isLive;
    if (!isLive) return true;
    const table = this.table;
    if (maxRows !== Number.POSITIVE_INFINITY && this.faulted < table.length) {
      // A fresh table's pages are mapped on first touch (~0.4 s for 10M keys' 128 MB on a VM), and random
      // inserts touch them all in the first step: touch them a step's worth at a time first instead.
      const end = Math.min(table.length, this.faulted + maxRows * FAULT_ENTRIES_PER_ROW);
      for (let i = this.faulted; i < end; i += PAGE_ENTRIES) table[i] = EMPTY;
      this.faulted = end;
      return false;
    }
    const end = Math.min(this.rowCount, this.hashed + maxRows);
    // insert() inlined: hashing 10M restored keys is the bulk of this (one cache miss per key)
    const mask = table.length - 1;
    if (this.type === "utf8") {
      const strs = this.strs;
      for (let r = this.hashed; r < end; r++) {
        if (!isLive(r)) continue;
        let j = hashStr(strs[r]!) & mask;
        while (table[j] !== EMPTY) j = (j + 1) & mask;
        table[j] = r + 1;
      }
    } else if (end - this.hashed >= PARTITIONED_MIN_ROWS && table.length >= PARTITIONS * PAGE_ENTRIES) {
      insertPartitioned(table, this.words, this.hashed, end, isLive);
    } else {
      const words = this.words;
      for (let r = this.hashed; r < end; r++) {
        if (!isLive(r)) continue;
        let j = hashInt(words[r * 2]!, words[r * 2 + 1]!) & mask;
        while (table[j] !== EMPTY) j = (j + 1) & mask;
        table[j] = r + 1;
      }
    }
    this.hashed = end;
    if (end < this.rowCount) return false;
    this.isLive = null;
    return true;
  }

  /** Sizes the hash for `more` live keys at once, so bulk appends that follow rehash at most once. */
  reserve(more: number): void {
    if (this.isLive) this.buildHash();
    if ((this.live + this.tombstones + more + 1) * 2 <= this.table.length) return;
    const old = this.table;
    this.table = new Int32Array(tableSizeFor(this.live + more));
    const live = this.live;
    this.live = 0;
    this.tombstones = 0;
    for (let j = 0; j < old.length; j++) {
      const s = old[j]!;
      if (s === EMPTY || s === TOMBSTONE) continue;
      const r = s - 1;
      this.insert(r, this.type === "utf8" ? hashStr(this.strs[r]!) : hashInt(this.words[r * 2]!, this.words[r * 2 + 1]!));
    }
    if (this.live !== live) throw new LassoError("internal", "key index lost keys while resizing");
  }

  /** An empty table sized for `n` keys (restoring: nothing is in the hash yet). */
  private reserveTable(n: number): void {
    if ((n + 1) * 2 > this.table.length) this.table = new Int32Array(tableSizeFor(n + 1));
  }

  private insert(row: number, hash: number): void {
    if ((this.live + this.tombstones + 1) * 2 > this.table.length) this.rehash();
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i] !== EMPTY && this.table[i] !== TOMBSTONE) i = (i + 1) & mask;
    if (this.table[i] === TOMBSTONE) this.tombstones--;
    this.table[i] = row + 1;
    this.live++;
  }

  private rehash(atLeast = 0): void {
    const old = this.table;
    const size = tableSizeFor(Math.max(this.live * 2, atLeast, 1024));
    this.table = new Int32Array(size);
    this.tombstones = 0;
    const mask = size - 1;
    if (this.live === this.rowCount && this.type !== "utf8") {
      // every row is in the hash (no deletes): re-insert in row order, reading the keys sequentially
      // instead of at random (one cache miss per key instead of two; loads grow the table 3–4 times)
      const words = this.words;
      const table = this.table;
      for (let r = 0; r < this.rowCount; r++) {
        let i = hashInt(words[r * 2]!, words[r * 2 + 1]!) & mask;
        while (table[i] !== EMPTY) i = (i + 1) & mask;
        table[i] = r + 1;
      }
      return;
    }
    for (let j = 0; j < old.length; j++) {
      const s = old[j]!;
      if (s === EMPTY || s === TOMBSTONE) continue;
      const r = s - 1;
      let i = (this.type === "utf8" ? hashStr(this.strs[r]!) : hashInt(this.words[r * 2]!, this.words[r * 2 + 1]!)) & mask;
      while (this.table[i] !== EMPTY) i = (i + 1) & mask;
      this.table[i] = s;
    }
  }
}

/**
 * Decimal text of the unsigned 64-bit value hi·2^32 + lo without BigInt (which costs ~10× more per key):
 * long division by 10^8 over four 16-bit limbs keeps every intermediate below 2^53.
 */
function u64Decimal(hi: number, lo: number): string {
  let a = hi >>> 16;
  let b = hi & 0xffff;
  let c = lo >>> 16;
  let d = lo & 0xffff;
  let out = "";
  for (;;) {
    let r = a;
    a = Math.floor(r / 1e8);
    r = (r - a * 1e8) * 65536 + b;
    b = Math.floor(r / 1e8);
    r = (r - b * 1e8) * 65536 + c;
    c = Math.floor(r / 1e8);
    r = (r - c * 1e8) * 65536 + d;
    d = Math.floor(r / 1e8);
    r -= d * 1e8;
    if (a === 0 && b === 0 && c === 0 && d === 0) return String(r) + out;
    out = String(r).padStart(8, "0") + out;
  }
}

function tableSizeFor(n: number): number {
  let size = 1024;
  while (size < n * 2) size *= 2;
  return size;
}

/** Past this many rows at once, integer keys enter the hash partition by partition (`insertPartitioned`). */
const PARTITIONED_MIN_ROWS = 1 << 20;
const PARTITIONS = 256;

/**
 * Inserts rows [from, to) (those `isLive`) into an open-addressing table whose slots they are not in yet,
 * grouped by the table region their slot falls in: inserting 10M keys in row order misses the cache (and
 * the TLB) once per key over a 128 MB table; grouped, each region is a few hundred KiB that stays in
 * cache while its keys go in. The slots taken are the same a row-order insert would find up to the order
 * of collisions, which linear probing does not depend on for correctness.
 */
function insertPartitioned(table: Int32Array, words: Int32Array, from: number, to: number, isLive: (row: number) => boolean): void {
  const mask = table.length - 1;
  const shift = Math.log2(table.length / PARTITIONS);
  const n = to - from;
  const slotOf = new Int32Array(n);
  const counts = new Int32Array(PARTITIONS + 1);
  for (let r = from; r < to; r++) {
    if (!isLive(r)) {
      slotOf[r - from] = -1;
      continue;
    }
    const j = hashInt(words[r * 2]!, words[r * 2 + 1]!) & mask;
    slotOf[r - from] = j;
    counts[(j >>> shift) + 1]!++;
  }
  for (let p = 1; p <= PARTITIONS; p++) counts[p]! += counts[p - 1]!;
  const live = counts[PARTITIONS]!;
  const rows = new Int32Array(live);
  const slots = new Int32Array(live);
  for (let i = 0; i < n; i++) {
    const j = slotOf[i]!;
    if (j < 0) continue;
    const at = counts[j >>> shift]!++;
    rows[at] = from + i + 1;
    slots[at] = j;
  }
  for (let k = 0; k < live; k++) {
    let j = slots[k]!;
    while (table[j] !== EMPTY) j = (j + 1) & mask;
    table[j] = rows[k]!;
  }
}

function hashInt(lo: number, hi: number): number {
  // murmur3 fmix32 over both words
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashStr(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) >>> 0;
}

/** Parses a JSON-encoded key (delete requests) into the words of an integer key type. */
export function parseIntKey(type: KeyType, key: JsonKey): { lo: number; hi: number } {
  let v: bigint;
  try {
    if (typeof key === "number") {
      if (!Number.isInteger(key)) throw new Error();
      v = BigInt(key);
    } else if (/^-?\d+$/.test(key)) v = BigInt(key);
    else throw new Error();
  } catch {
    throw new LassoError("bad_request", `key ${JSON.stringify(key)} is not an integer (entity keys are ${type})`);
  }
  const [min, max] = KEY_RANGE[type as Exclude<KeyType, "utf8">];
  if (v < min || v > max) throw new LassoError("bad_request", `key ${v} is out of range for ${type} keys`);
  const u = BigInt.asUintN(64, v);
  return { lo: Number(u & 0xffffffffn) | 0, hi: Number(u >> 32n) | 0 };
}

const KEY_RANGE: Record<Exclude<KeyType, "utf8">, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};
