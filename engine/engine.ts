/**
 * The engine: entities, their stores, saved segments and the worker pool, behind the `Engine` API
 * (engine/api.ts) that the server and the CLI use.
 */
import { availableParallelism } from "node:os";
import type {
  CountResult, DeleteResult, Engine, EntityInfo, JsonKey, LoadRequest, LoadResult, OpenOptions, QueryRequest,
  SegmentDef, SelectRequest, Selection, StoreStats, TagSummary,
} from "./api.js";
import { LassoError } from "./errors.js";
import type { Expr } from "./expr/ast.js";
import { check, collectSegments, format, parseExpr } from "./expr/index.js";
import { segmentNameProblem } from "./expr/names.js";
import { MorselRunner } from "./exec/evaluate.js";
import { SPLIT_THRESHOLD, WorkerPool } from "./exec/pool.js";
import { Kernels, kernelModule } from "./exec/wasm.js";
import { explainPlan } from "./plan/explain.js";
import { memoryIdOf } from "./plan/physical.js";
import { catalogOf, prepare, type PreparedQuery } from "./query.js";
import { EntityStore, type EntityVersion } from "./store/entity.js";
import { ingest, keyTypeFromSchema, openIpc } from "./store/ingest.js";
import { KeyBatch } from "./store/key-batch.js";
import { KeyIndex, parseIntKey } from "./store/keys.js";
import { DEFAULT_SHARD_ROWS, MORSEL_ROWS } from "./store/layout.js";
import type { ShardMemory } from "./store/shard-memory.js";
import { Transaction } from "./store/transaction.js";
import { DataDir } from "./store/persist.js";
import { summarizeTags } from "./store/summary.js";
import { columnKind } from "./store/arrow-types.js";
import { TagCatalog, type LoadedTag } from "./catalog/index.js";
import { entityName } from "./catalog/validate.js";

const DEFAULT_CHUNK = 65_536;

interface StoredSegment {
  def: SegmentDef;
  expr: Expr;
}

export class LassoEngine implements Engine {
  private readonly stores = new Map<string, EntityStore>();
  /** Entities whose first load is running (engine.load). */
  private readonly creating = new Map<string, EntityStore>();
  private readonly segments = new Map<string, StoredSegment>();
  private readonly runners = new Map<number, MorselRunner>();
  private readonly pool: WorkerPool | null;
  private readonly threads: number;
  private readonly shardRows: number;
  private readonly module = kernelModule();
  private readonly splitThreshold: number;
  readonly tagCatalog: TagCatalog;
  private readonly coverageCache = new WeakMap<EntityVersion, Map<string, number>>();
  private inFlight = 0;
  private closed = false;

  private constructor(
    opts: OpenOptions,
    private readonly dir: DataDir | null,
  ) {
    this.threads = opts.threads ?? Math.max(1, availableParallelism());
    this.shardRows = opts.shardRows ?? DEFAULT_SHARD_ROWS;
    if (this.shardRows % MORSEL_ROWS !== 0 || this.shardRows <= 0) {
      throw new LassoError("bad_request", `shardRows must be a positive multiple of ${MORSEL_ROWS}`);
    }
    this.pool = this.threads > 0 ? new WorkerPool(this.threads) : null;
    this.splitThreshold = opts.splitThreshold ?? SPLIT_THRESHOLD;
    const coverage = (entity: string, tag: string) => this.coverage(entity, tag);
    this.tagCatalog = opts.dataDir
      ? TagCatalog.open({ dataDir: opts.dataDir, coverage, usageFlushMs: opts.usageFlushMs })
      : TagCatalog.open({ file: ":memory:", coverage, usageFlushMs: opts.usageFlushMs });
  }

  static async open(opts: OpenOptions = {}): Promise<LassoEngine> {
    const dir = opts.dataDir ? await DataDir.open(opts.dataDir, opts.log) : null;
    const engine = new LassoEngine(opts, dir);
    if (dir) {
      const state = await dir.restore((name, keyType, shardRows) => engine.newStore(name, keyType, shardRows));
      for (const s of state.stores) engine.stores.set(s.name, s);
      for (const seg of state.segments) engine.segments.set(seg.name, { def: seg, expr: parseExpr(seg.expr) });
    }
    return engine;
  }

  private get slots(): number {
    return WorkerPool.slotsFor(this.threads);
  }

  /** `shardRows` differs from the engine's for an entity restored from a data directory written with another. */
  private newStore(name: string, keyType: EntityInfo["keyType"], shardRows = this.shardRows): EntityStore {
    return new EntityStore(name, new KeyIndex(keyType), shardRows, this.slots);
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  entities(): EntityInfo[] {
    return [...this.stores.values()].map((s) => {
      const v = s.current;
      return { name: s.name, keyType: s.keys.type, rows: v.total, tags: v.tags.size, version: v.number };
    });
  }

  tags(entity: string, opts: { valuesLimit?: number } = {}): TagSummary[] {
    const store = this.store(entity);
    const v = store.acquire();
    try {
      return summarizeTags(v, (mem) => this.runner(mem), opts.valuesLimit ?? 100);
    } finally {
      store.release(v);
    }
  }

  async count(req: QueryRequest): Promise<CountResult> {
    const started = performance.now();
    const q = this.prepare(req);
    try {
      const count = await this.countPrepared(q, req);
      this.tagCatalog.recordQuery(q.version.entity, q.tags);
      const r: CountResult = { count, total: q.version.total, tookMs: elapsed(started) };
      if (q.warnings.length > 0) r.warnings = [...q.warnings];
      return r;
    } finally {
      q.release();
      this.inFlight--;
    }
  }

  async select(req: SelectRequest): Promise<Selection> {
    const started = performance.now();
    const limit = req.limit ?? Number.POSITIVE_INFINITY;
    const chunk = req.chunk ?? DEFAULT_CHUNK;
    if (!(limit >= 0)) throw new LassoError("bad_request", "limit must be a non-negative integer");
    if (!(chunk >= 1)) throw new LassoError("bad_request", "chunk must be a positive integer");
    const q = this.prepare(req);
    let count: number;
    try {
      count = await this.countPrepared(q, req);
    } catch (e) {
      q.release();
      this.inFlight--;
      throw e;
    }
    this.tagCatalog.recordQuery(q.version.entity, q.tags);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      q.release();
      this.inFlight--;
    };
    const self = this;
    const keys = q.version.store.keys;
    // the timeout bounds the query (up to the count); streaming ids is paced by the reader, and only
    // cancellation stops it
    const signal = abortCheck({ ...req, timeoutMs: undefined });
    async function* batches(): AsyncGenerator<KeyBatch> {
      try {
        let left = Math.min(limit, count);
        if (left <= 0) return;
        let out = new Uint32Array(Math.min(chunk, left));
        let fill = 0;
        for (const p of q.plan.programs) {
          const runner = self.runnerById(p.memoryId, q.version);
          const morsels = Math.ceil(p.rows / MORSEL_ROWS);
          for (let m = 0; m < morsels && left > 0; m++) {
            if (signal.aborted) throw signal.reason();
            const rows = runner.rows(p, m);
            // the view is only valid until the runner's next call: copied out here
            for (let i = 0; i < rows.length && left > 0; ) {
              const take = Math.min(rows.length - i, out.length - fill, left);
              out.set(rows.subarray(i, i + take), fill);
              fill += take;
              i += take;
              left -= take;
              if (fill === out.length) {
                const ready = new KeyBatch(keys, out);
                out = new Uint32Array(Math.min(chunk, Math.max(left, 1)));
                fill = 0;
                yield ready;
                if (closed) return;
              }
            }
          }
          if (left <= 0) break;
        }
        if (fill > 0) yield new KeyBatch(keys, out.subarray(0, fill));
      } finally {
        close();
      }
    }
    async function* chunks(): AsyncGenerator<JsonKey[]> {
      for await (const b of batches()) yield b.keys();
    }
    void started;
    return {
      entity: q.version.entity,
      keyType: q.version.keyType,
      count,
      total: q.version.total,
      ...(q.warnings.length > 0 ? { warnings: [...q.warnings] } : {}),
      chunks,
      batches,
      close,
    };
  }

  async explain(req: QueryRequest): Promise<string> {
    const q = this.prepare(req);
    try {
      const work = this.workOf(q);
      const route = this.pool && work >= this.splitThreshold ? `${this.threads} workers` : "calling thread";
      return explainPlan(q, route);
    } finally {
      q.release();
      this.inFlight--;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  async load(req: LoadRequest): Promise<LoadResult> {
    const started = performance.now();
    entityName(req.entity); // the catalog's rule: 1–128 letters (any script), digits, '_', '-', '.
    if (typeof req.key !== "string" || req.key.length === 0) throw new LassoError("bad_request", "key (the entity-id column) is required");
    const source = await openIpc(req.body);
    let keyType;
    try {
      keyType = keyTypeFromSchema(source.reader.schema, req.key);
    } catch (e) {
      await source.close();
      throw e;
    }
    const columns: LoadedTag[] = [];
    for (const f of source.reader.schema.fields) {
      const kind = f.name === req.key ? null : columnKind(f.type);
      if (kind) columns.push({ name: f.name, type: kind.type });
    }
    try {
      this.tagCatalog.checkLoadedTags(req.entity, columns);
    } catch (e) {
      await source.close();
      throw e;
    }
    // a new entity's store is shared by concurrent loads of it until the first one publishes, so they
    // queue on one writer lock instead of racing to create the entity
    let store = this.stores.get(req.entity) ?? this.creating.get(req.entity);
    if (!store) {
      store = this.newStore(req.entity, keyType);
      this.creating.set(req.entity, store);
    }
    const s = store;
    return s.exclusive(async () => {
      const fresh = !this.stores.has(s.name);
      let tx;
      try {
        tx = await ingest(s, source.reader, { key: req.key, signal: req.signal, onProgress: req.onProgress });
      } catch (e) {
        // a failed first load leaves no entity behind (a later load may bring another key type)
        if (fresh && s.current.number === 0 && this.creating.get(s.name) === s) this.creating.delete(s.name);
        throw e;
      } finally {
        await source.close();
      }
      const result = await this.publish(s, tx, fresh);
      if (tx.newTags.length > 0) {
        const created = new Set(tx.newTags);
        this.tagCatalog.registerLoadedTags(
          s.name,
          columns.filter((c) => created.has(c.name)),
          `load into ${s.name} (version ${result.number})`,
          req.actor,
        );
      }
      return {
        entity: s.name,
        rows: tx.inserted + tx.updated,
        inserted: tx.inserted,
        updated: tx.updated,
        newTags: tx.newTags,
        version: result.number,
        tookMs: elapsed(started),
      };
    });
  }

  async deleteRows(entity: string, keys: JsonKey[]): Promise<DeleteResult> {
    const started = performance.now();
    const store = this.store(entity);
    if (!Array.isArray(keys)) throw new LassoError("bad_request", "keys must be an array");
    return store.exclusive(async () => {
      const tx = new Transaction(store);
      let missing = 0;
      try {
        for (const k of keys) {
          let row: number;
          if (store.keys.type === "utf8") {
            if (typeof k !== "string") throw new LassoError("bad_request", `key ${JSON.stringify(k)} must be a string (entity keys are utf8)`);
            row = store.keys.findStr(k);
          } else {
            const { lo, hi } = parseIntKey(store.keys.type, k);
            row = store.keys.findInt(lo, hi);
          }
          if (row < 0) missing++;
          else tx.deleteRow(row);
        }
      } catch (e) {
        tx.rollback();
        throw e;
      }
      const v = await this.publish(store, tx, false);
      return { entity, deleted: tx.deleted, missing, version: v.number, tookMs: elapsed(started) };
    });
  }

  private async publish(store: EntityStore, tx: Transaction, fresh: boolean): Promise<EntityVersion> {
    let next: EntityVersion;
    try {
      next = tx.commit();
      if (this.dir) await this.dir.persist(store, next, tx);
    } catch (e) {
      tx.rollback();
      throw e;
    }
    store.publish(next);
    if (fresh) {
      this.stores.set(store.name, store);
      this.creating.delete(store.name);
    }
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // Segments

  async putSegment(def: { name: string; entity?: string; expr: unknown; description?: string }): Promise<{ created: boolean; segment: SegmentDef }> {
    const problem = segmentNameProblem(def.name);
    if (problem) throw new LassoError("bad_request", `segment name ${JSON.stringify(def.name)}: ${problem}`);
    if (def.description !== undefined && typeof def.description !== "string") throw new LassoError("bad_request", "description must be a string");
    const store = this.store(this.entityName(def.entity));
    const expr = parseExpr(def.expr as string | object | boolean);
    const v = store.acquire();
    try {
      const override = { name: def.name, entity: store.name, expr };
      check(expr, catalogOf(v, this.segmentSource(), override), { segmentName: def.name });
    } finally {
      store.release(v);
    }
    const prev = this.segments.get(def.name);
    const now = new Date().toISOString();
    const segment: SegmentDef = {
      name: def.name,
      entity: store.name,
      expr: format(expr),
      ...(def.description !== undefined ? { description: def.description } : {}),
      createdAt: prev?.def.createdAt ?? now,
      updatedAt: now,
    };
    const next = new Map(this.segments);
    next.set(def.name, { def: segment, expr });
    if (this.dir) await this.dir.saveSegments([...next.values()].map((s) => s.def));
    this.segments.set(def.name, { def: segment, expr });
    return { created: !prev, segment };
  }

  getSegment(name: string): SegmentDef | undefined {
    return this.segments.get(name)?.def;
  }

  listSegments(): SegmentDef[] {
    return [...this.segments.values()].map((s) => s.def).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteSegment(name: string): Promise<void> {
    if (!this.segments.has(name)) throw new LassoError("unknown_segment", `segment '@${name}' does not exist`);
    const referrers = [...this.segments.values()]
      .filter((s) => s.def.name !== name && collectSegments(s.expr).includes(name))
      .map((s) => s.def.name);
    if (referrers.length > 0) {
      throw new LassoError("segment_in_use", `segment '@${name}' is used by ${referrers.map((r) => `@${r}`).join(", ")}; delete or change those first`, { referrers });
    }
    const next = new Map(this.segments);
    next.delete(name);
    if (this.dir) await this.dir.saveSegments([...next.values()].map((s) => s.def));
    this.segments.delete(name);
  }

  // ---------------------------------------------------------------------------------------------

  stats(): StoreStats {
    let rows = 0;
    let tags = 0;
    let bytes = 0;
    let shards = 0;
    let wasmMemoryBytes = 0;
    for (const s of this.stores.values()) {
      rows += s.current.total;
      tags += s.current.tags.size;
      bytes += s.bytes;
      shards += s.memories.length;
      for (const m of s.memories) wasmMemoryBytes += m.memory.buffer.byteLength;
    }
    return { entities: this.stores.size, rows, tags, bytes, shards, wasmMemoryBytes, queriesInFlight: this.inFlight };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool?.close();
    await this.dir?.close();
    this.tagCatalog.close();
  }

  // ---------------------------------------------------------------------------------------------

  /** Entities with a value for a tag (popcount of validity ∧ exists per shard), cached per version. */
  private coverage(entity: string, tag: string): number | undefined {
    const store = this.stores.get(entity);
    if (!store) return undefined;
    const v = store.current;
    let cache = this.coverageCache.get(v);
    if (!cache) this.coverageCache.set(v, (cache = new Map()));
    let n = cache.get(tag);
    if (n === undefined) {
      if (!v.tags.has(tag)) return undefined;
      const summary = summarizeTags(v, (mem) => this.runner(mem), 0, tag);
      n = summary[0]?.rowsWithValue ?? 0;
      cache.set(tag, n);
    }
    return n;
  }

  private segmentSource() {
    return {
      get: (n: string) => {
        const s = this.segments.get(n);
        return s && { entity: s.def.entity, expr: s.expr };
      },
    };
  }

  private entityName(entity: string | undefined): string {
    if (entity !== undefined) {
      if (typeof entity !== "string") throw new LassoError("bad_request", "entity must be a string");
      return entity;
    }
    if (this.stores.size === 1) return this.stores.keys().next().value!;
    if (this.stores.size === 0) throw new LassoError("unknown_entity", "the store has no entities yet: load data first");
    throw new LassoError("bad_request", `entity is required: the store has ${this.stores.size} entities (${[...this.stores.keys()].join(", ")})`);
  }

  private store(entity: string | undefined): EntityStore {
    const name = this.entityName(entity);
    const s = this.stores.get(name);
    if (!s) {
      const known = [...this.stores.keys()];
      throw new LassoError("unknown_entity", `unknown entity '${name}'${known.length ? ` (entities: ${known.join(", ")})` : ""}`);
    }
    return s;
  }

  private prepare(req: QueryRequest): PreparedQuery {
    if (this.closed) throw new LassoError("overloaded", "the engine is shutting down");
    const q = prepare(this.store(req.entity), req, this.segmentSource(), (entity, tags, includeDrafts) =>
      this.tagCatalog.checkQueryTags(entity, tags, { includeDrafts }),
    );
    this.inFlight++;
    return q;
  }

  private runner(mem: ShardMemory): MorselRunner {
    const id = memoryIdOf(mem);
    let r = this.runners.get(id);
    if (!r) {
      r = new MorselRunner(new Kernels(mem.memory, this.module), 0);
      this.runners.set(id, r);
    }
    return r;
  }

  private runnerById(id: number, v: EntityVersion): MorselRunner {
    const shard = v.shards.find((s) => memoryIdOf(s.mem) === id)!;
    return this.runner(shard.mem);
  }

  /** Rows × kernel calls: what a split across workers would divide. */
  private workOf(q: PreparedQuery): number {
    let leaves = 0;
    const walk = (n: import("./plan/logical.js").LNode): void => {
      if (n.k === "and" || n.k === "or") n.args.forEach(walk);
      else if (n.k === "not") walk(n.arg);
      else leaves++;
    };
    walk(q.logical);
    return q.version.rows * Math.max(1, leaves);
  }

  private async countPrepared(q: PreparedQuery, req: QueryRequest): Promise<number> {
    const root = q.logical;
    if (root.k === "all") return q.version.total;
    if (root.k === "none") return 0;
    const signal = abortCheck(req);
    if (signal.aborted) throw signal.reason();
    if (this.pool && this.workOf(q) >= this.splitThreshold) {
      const memories = new Map<number, WebAssembly.Memory>();
      for (const s of q.version.shards) memories.set(memoryIdOf(s.mem), s.mem.memory);
      // the workers stop on the request's abort or its deadline, whichever comes first (events, not polling:
      // a poll per query in flight costs CPU the queries need)
      const ac = new AbortController();
      const stop = () => ac.abort();
      req.signal?.addEventListener("abort", stop, { once: true });
      const timer = req.timeoutMs !== undefined ? setTimeout(stop, req.timeoutMs) : undefined;
      try {
        return await this.pool.count(q.plan.programs, memories, ac.signal);
      } catch (e) {
        if (signal.aborted || ac.signal.aborted) throw signal.reason();
        throw e;
      } finally {
        clearTimeout(timer);
        req.signal?.removeEventListener("abort", stop);
      }
    }
    let total = 0;
    for (const p of q.plan.programs) {
      const morsels = Math.ceil(p.rows / MORSEL_ROWS);
      total += this.runnerById(p.memoryId, q.version).count(p, 0, morsels, signal);
    }
    if (signal.aborted) throw signal.reason();
    return total;
  }
}

/** An `aborted` flag that also trips on the request's deadline (synchronous loops cannot await timers). */
function abortCheck(req: QueryRequest): { readonly aborted: boolean; reason(): LassoError } {
  const deadline = req.timeoutMs !== undefined ? performance.now() + req.timeoutMs : Number.POSITIVE_INFINITY;
  return {
    get aborted() {
      return req.signal?.aborted === true || performance.now() > deadline;
    },
    reason() {
      return req.signal?.aborted
        ? new LassoError("cancelled", "query cancelled")
        : new LassoError("timeout", `query exceeded its ${req.timeoutMs} ms timeout`);
    },
  };
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000;
}

export async function openEngine(opts: OpenOptions = {}): Promise<Engine> {
  return LassoEngine.open(opts);
}
