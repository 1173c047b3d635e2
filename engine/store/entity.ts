/**
 * An entity's tag store: its key index, its shard memories and its immutable versions.
 *
 * A version is a consistent snapshot: per shard, the existence bitmap and one chunk per tag. A query
 * `acquire`s the current version and `release`s it when done, so it sees the store wholly before or wholly
 * after any load. Loads build the next version beside the current one (copy-on-write per shard and tag)
 * and publish it with one pointer swap; chunks shared between versions are reference counted and freed
 * when the last version holding them retires (no longer current and no query holds it).
 */
import type { KeyType } from "../api.js";
import { ShardMemory } from "./shard-memory.js";
import type { Chunk, TagMeta } from "./tags.js";
import { KeyIndex } from "./keys.js";

export interface Block {
  readonly ptr: number;
  refs: number;
}

export interface ShardState {
  readonly index: number;
  readonly mem: ShardMemory;
  /** Existence bitmap over the shard's whole row range (shardRows bits). */
  readonly exists: Block;
  /** Rows of this shard in use (existing or deleted). */
  readonly rows: number;
  readonly chunks: ReadonlyMap<string, Chunk>;
}

export class EntityVersion {
  holders = 0;
  current = true;
  constructor(
    readonly store: EntityStore,
    readonly number: number,
    /** Row high-water mark: rows [0, rows) have been assigned. */
    readonly rows: number,
    /** Existing entities. */
    readonly total: number,
    readonly tags: ReadonlyMap<string, TagMeta>,
    readonly shards: readonly ShardState[],
  ) {}

  get entity(): string {
    return this.store.name;
  }
  get keyType(): KeyType {
    return this.store.keys.type;
  }
  get shardRows(): number {
    return this.store.shardRows;
  }
}

export class EntityStore {
  readonly memories: ShardMemory[] = [];
  current: EntityVersion;
  /** Serialises writers (loads, deletes): one at a time per entity. */
  private writer: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly keys: KeyIndex,
    readonly shardRows: number,
    /** Scratch slots per shard memory: main thread + workers. */
    readonly slots: number,
  ) {
    this.current = new EntityVersion(this, 0, 0, 0, new Map(), []);
  }

  memory(shard: number): ShardMemory {
    while (this.memories.length <= shard) this.memories.push(new ShardMemory(this.slots));
    return this.memories[shard]!;
  }

  acquire(): EntityVersion {
    const v = this.current;
    v.holders++;
    return v;
  }

  release(v: EntityVersion): void {
    v.holders--;
    if (v.holders === 0 && !v.current) retire(v);
  }

  /** Makes `next` current; the previous version retires once no query holds it. */
  publish(next: EntityVersion): void {
    const prev = this.current;
    for (const s of next.shards) {
      s.exists.refs++;
      for (const c of s.chunks.values()) c.refs++;
    }
    this.current = next;
    prev.current = false;
    if (prev.holders === 0) retire(prev);
  }

  /** Runs `fn` when every earlier writer has finished (loads and deletes never interleave). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writer.then(fn, fn);
    this.writer = run.catch(() => undefined);
    return run;
  }

  get bytes(): number {
    let n = 0;
    for (const m of this.memories) n += m.bytesInUse;
    return n;
  }
}

function retire(v: EntityVersion): void {
  for (const s of v.shards) {
    if (--s.exists.refs === 0) s.mem.freeBlock(s.exists.ptr);
    for (const c of s.chunks.values()) {
      if (--c.refs === 0) for (const b of c.blocks) s.mem.freeBlock(b);
    }
  }
}
