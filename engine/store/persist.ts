/**
 * The durable data directory: every entity's published store version, saved segments, and crash recovery.
 * Operators' view of the layout: docs/storage.md.
 *
 *   DIR/MANIFEST                     JSON, the single source of truth (persist-manifest.ts)
 *   DIR/segments.json                saved segments
 *   DIR/LOCK                         pid of the process that may write (others open read-only)
 *   DIR/entities/<n>-<entity>/…      immutable Arrow IPC files named `<what>.v<version>.arrow`
 *
 * Publishing a version (`persist`, called before the engine publishes in memory and replies):
 *   1. write only what changed since the last published version — chunks that are new objects, changed
 *      existence bitmaps, appended keys, dictionary additions — each file fdatasync'ed;
 *   2. write MANIFEST.tmp, fsync, rename over MANIFEST, fsync the directory (the commit point);
 *   3. delete the files the previous version used and this one does not.
 * A crash before the rename leaves the previous MANIFEST and some unreferenced files, which `open`
 * removes; after it, the new version is durable. Either way no reader ever sees a mix.
 *
 * Opening reads each buffer straight from its file into the shard's WebAssembly memory (no row is
 * parsed). A writer serves as soon as the manifest, keys, dictionaries and existence bitmaps are in: the
 * column chunks arrive in the background and the key hash is rebuilt meanwhile (persist-open.ts).
 */
import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, readFile, readdir, realpath, rename, rmdir } from "node:fs/promises";
import { join } from "node:path";
import type { KeyType, OpenOptions, SegmentDef } from "../api.js";
import { LassoError } from "../errors.js";
import { EntityVersion, type Block, type EntityStore, type ShardState } from "./entity.js";
import {
  chunkBufferLengths, chunkFile, countNulls, decodeStrings, encodeFile, existsBufferLengths, existsFile,
  intKeyBufferLengths, intKeyFile, keyWidth, stringBufferLengths, stringFile, stringRuns, KEY_FILE_ROWS,
  type ColumnFile, type EncodedFile,
} from "./persist-arrow.js";
import { crashPoint, errnoOf, fsyncDir, ioError, unlinkQuietly, writeEncoded, writeSmall } from "./persist-io.js";
import { ColumnLoader, missing, openHooks, readBuffers, readFileBuffers, wrongSize } from "./persist-open.js";
import {
  ENTITIES, ENTITY_DIR, LOCK, MANIFEST, SEGMENTS, STORE_FILE, damaged, emptyManifest, filesOf, parseManifest,
  type ChunkRecord, type EntityRecord, type FileRecord, type KeyFileRecord, type Manifest,
  type TagRecord,
} from "./persist-manifest.js";
import { expandInto } from "./containers.js";
import { MORSEL_ROWS } from "./layout.js";
import { popcountRows } from "./popcount.js";
import { ShardMemory } from "./shard-memory.js";
import { Dictionary, type Chunk, type TagMeta } from "./tags.js";
import type { Transaction } from "./transaction.js";

/** Creates an empty store for an entity being opened (the engine's factory). */
export type StoreFactory = (name: string, keyType: KeyType, shardRows: number) => EntityStore;
type Log = NonNullable<OpenOptions["log"]>;

/** Files written at once: enough to overlap fdatasync waits, few enough not to thrash a disk. */
const WRITE_CONCURRENCY = 4;
/** Past this many key files, a load rewrites the keys as few large files (opening reads fewer files). */
const MAX_KEY_FILES = 64;
/** Past this many dictionary files of one tag, a load rewrites them as one. */
const MAX_DICT_FILES = 16;
/** A read-only opener retries this often when the writer replaces files while it reads. */
const READ_RETRIES = 5;

/** Real paths of data directories this process has open for writing. */
const openForWriting = new Set<string>();

/** Restored rows hashed per step of the background key hash build (~10 ms: queries wait at most that). */
const HASH_STEP_ROWS = 1 << 17;

/** Where opening spends its time (logged). */
interface OpenStats {
  /** Bytes of column files (read in the background). */
  bytes: number;
  /** Until the manifest, keys, dictionaries and existence bitmaps were in: the store answers from then. */
  servingMs: number;
  /** Until every column chunk was in. */
  columnsMs: number;
  /** Until the key hash was complete. */
  keysMs: number;
}

/** A shard-memory block holding a dense copy of a sparse chunk while it is written. */
interface Scratch {
  mem: ShardMemory;
  ptr: number;
}

interface WriteJob {
  file: string;
  enc: EncodedFile;
  buffers: Uint8Array[];
}

export class DataDir {
  private manifest: Manifest = emptyManifest();
  /** Which file holds each chunk / existence bitmap of the last persisted version: what need not be rewritten. */
  private readonly chunkFiles = new WeakMap<Chunk, ChunkRecord>();
  private readonly existsFiles = new WeakMap<Block, FileRecord>();
  /** Manifest and segment writes, one at a time (loads of different entities persist concurrently). */
  private commits: Promise<unknown> = Promise.resolve();
  private nextEntityDir = 0;
  /** Set when a failed commit could not be undone: the disk state is unknown until a restart. */
  private broken: LassoError | null = null;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Brings restored columns in (background reads); null before `restore` and for read-only openers. */
  private loader: ColumnLoader | null = null;
  private hashStep: NodeJS.Immediate | null = null;

  private constructor(
    /** Real path of the directory. */
    readonly path: string,
    private readonly log: Log,
    /** Pid of the process holding the write lock when this one opened read-only; null when writable. */
    readonly lockedBy: number | null,
  ) {}

  get readOnly(): boolean {
    return this.lockedBy !== null;
  }

  /**
   * Opens (creating when missing) a data directory. The first process to open it may write; others open it
   * read-only (queries work, loads are refused with `conflict`). A writer removes what an interrupted load
   * left behind and logs it.
   *
   * @example
   *   const dir = await DataDir.open("./data", log);
   *   const { stores, segments } = await dir.restore((name, keyType, shardRows) => newStore(name, keyType, shardRows));
   */
  static async open(path: string, log: Log = () => {}): Promise<DataDir> {
    let real: string;
    try {
      await mkdir(path, { recursive: true });
      real = await realpath(path);
    } catch (e) {
      throw ioError(e, `cannot open the data directory ${path}`);
    }
    const holder = takeLock(real);
    const dir = new DataDir(real, log, holder);
    if (holder !== null) {
      log("warn", `data directory ${real} is in use by process ${holder}: opened read-only (loads are refused)`, { dataDir: real, pid: holder });
      return dir;
    }
    try {
      dir.manifest = (await readManifest(real)) ?? emptyManifest();
      dir.nextEntityDir = dir.manifest.nextEntity;
      await dir.recover();
    } catch (e) {
      dir.releaseLock();
      throw ioError(e, `cannot open the data directory ${real}`);
    }
    return dir;
  }

  /**
   * The stores (each with its last published version current) and the saved segments. A writer returns
   * as soon as the stores can answer; their columns arrive in the background (persist-open.ts) and the
   * log says when all are in. A read-only opener reads everything first: the writer may delete the files
   * of the version it opened at any time.
   */
  async restore(newStore: StoreFactory): Promise<{ stores: EntityStore[]; segments: SegmentDef[] }> {
    for (let attempt = 0; ; attempt++) {
      const loader = new ColumnLoader((e) => this.log("error", e.message, { dataDir: this.path, code: e.code }));
      try {
        const manifest = this.readOnly ? ((await readManifest(this.path)) ?? emptyManifest()) : this.manifest;
        const started = performance.now();
        const stats: OpenStats = { bytes: 0, servingMs: 0, columnsMs: 0, keysMs: 0 };
        const stores: EntityStore[] = [];
        for (const e of manifest.entities) stores.push(this.restoreEntity(e, newStore, loader));
        const segments = await readSegments(this.path);
        loader.start();
        if (this.readOnly) {
          loader.ensureAll();
          await loader.close();
          for (const s of stores) s.keys.buildHash();
          this.manifest = manifest;
        } else this.loader = loader;
        stats.bytes = loader.stats.bytes;
        stats.servingMs = performance.now() - started;
        if (stores.length > 0) this.logOpened(stores, stats, started, loader);
        return { stores, segments };
      } catch (e) {
        await loader.close();
        this.loader = null;
        // a writer replaced (and deleted) files between our reading MANIFEST and them: read the new one
        if (this.readOnly && isMissingFile(e) && attempt < READ_RETRIES) continue;
        // the engine does not come up: let another attempt (or process) have the directory
        this.closed = true;
        this.releaseLock();
        throw ioError(e, `cannot open the data directory ${this.path}`);
      }
    }
  }

  /** Logs when the stores answer, then (after the background work) when everything is in. */
  private logOpened(stores: EntityStore[], stats: OpenStats, started: number, loader: ColumnLoader): void {
    const fields = () => ({
      dataDir: this.path,
      entities: stores.map((s) => ({ name: s.name, version: s.current.number, rows: s.current.total, tags: s.current.tags.size })),
      bytes: stats.bytes,
      servingMs: Math.round(stats.servingMs),
      columnsMs: Math.round(stats.columnsMs),
      keysMs: Math.round(stats.keysMs),
      onDemand: loader.stats.onDemand,
      tookMs: Math.round(Math.max(stats.servingMs, stats.columnsMs, stats.keysMs)),
    });
    if (this.readOnly) {
      stats.columnsMs = stats.keysMs = stats.servingMs;
      this.log("info", `opened data directory ${this.path} read-only (serving after ${Math.round(stats.servingMs)} ms, all columns resident)`, fields());
      return;
    }
    this.log("info", `serving data directory ${this.path} after ${Math.round(stats.servingMs)} ms; reading ${Math.round(stats.bytes / 1e6)} MB of columns in the background`, fields());
    const columns = loader.whenDone().then(() => {
      stats.columnsMs = performance.now() - started;
    });
    const keys = this.buildKeyHashes(stores).then(() => {
      stats.keysMs = performance.now() - started;
    });
    void Promise.all([columns, keys]).then(() => {
      if (this.closed) return;
      const failed = loader.stats.failed > 0 ? `; ${loader.stats.failed} column files could not be read` : "";
      this.log(
        failed ? "error" : "info",
        `opened data directory ${this.path} (serving after ${Math.round(stats.servingMs)} ms, all columns resident after ${Math.round(stats.columnsMs)} ms, key hash after ${Math.round(stats.keysMs)} ms${failed})`,
        fields(),
      );
    });
  }

  /** Rebuilds restored key hashes a step at a time between other work (a load or delete finishes one at once). */
  private buildKeyHashes(stores: EntityStore[]): Promise<void> {
    if (openHooks.keyHashHeld) return Promise.resolve();
    return new Promise((resolve) => {
      const step = () => {
        this.hashStep = null;
        const pending = stores.find((s) => s.keys.hashPending);
        if (!pending || this.closed) return resolve();
        pending.keys.buildHash(HASH_STEP_ROWS);
        this.hashStep = setImmediate(step);
      };
      step();
    });
  }

  /**
   * Makes `next` (not yet published) durable. On return it survives a crash; on failure (disk full, I/O
   * error) it throws `io_error` and the directory still holds exactly the previous version.
   */
  async persist(store: EntityStore, next: EntityVersion, _tx: Transaction): Promise<void> {
    this.checkWritable();
    const run = this.persistOnce(store, next);
    this.inFlight.add(run);
    try {
      await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async persistOnce(store: EntityStore, next: EntityVersion): Promise<void> {
    const started = performance.now();
    const prev = this.manifest.entities.find((e) => e.name === store.name);
    const dirRel = prev?.dir ?? `${ENTITIES}/${this.nextEntityDir++}-${store.name}`;
    const dirAbs = join(this.path, dirRel);
    const scratch: Scratch[] = [];
    const written: string[] = [];
    /** Files the file system would not take through O_DIRECT (persist-io.ts). */
    let buffered = 0;
    let plan: ReturnType<DataDir["plan"]>;
    try {
      plan = this.plan(store, next, prev, dirRel, scratch);
      if (!prev) {
        await mkdir(dirAbs, { recursive: true });
        await fsyncDir(join(this.path, ENTITIES));
        await fsyncDir(this.path);
      }
      await runLimited(plan.jobs, WRITE_CONCURRENCY, async (job) => {
        const path = join(dirAbs, job.file);
        written.push(path);
        if ((await writeEncoded(path, job.enc, job.buffers)) === "buffered") buffered++;
      });
      // each file's bytes are durable (fdatasync); their names in the entity directory are made durable
      // here, before the manifest refers to them (a power loss could otherwise keep the manifest and
      // lose a directory entry; ext4's journal usually saves it, POSIX does not promise it)
      if (plan.jobs.length > 0) await fsyncDir(dirAbs);
      crashPoint("files-written");
      const record = plan.record;
      await this.commit((m) => ({
        ...m,
        nextEntity: Math.max(m.nextEntity, this.nextEntityDir),
        entities: prev ? m.entities.map((e) => (e.name === store.name ? record : e)) : [...m.entities, record],
      }));
    } catch (e) {
      // unless a failed commit left the disk in an unknown state (then the files may be referenced)
      if (!this.broken) {
        for (const f of written) await unlinkQuietly(f);
        if (!prev) await rmdir(dirAbs).catch(() => undefined);
      }
      throw ioError(e, `could not save version ${next.number} of '${store.name}' in ${this.path} (the change was not applied)`);
    } finally {
      for (const t of scratch) t.mem.freeBlock(t.ptr);
    }
    for (const [c, rec] of plan.chunks) this.chunkFiles.set(c, rec);
    for (const [b, rec] of plan.exists) this.existsFiles.set(b, rec);
    this.log("info", `saved version ${next.number} of '${store.name}'`, {
      entity: store.name,
      version: next.number,
      files: plan.jobs.length,
      bytes: plan.jobs.reduce((n, j) => n + j.enc.size, 0),
      buffered,
      tookMs: Math.round(performance.now() - started),
    });
    crashPoint("committed");
    if (prev) {
      const keep = filesOf(plan.record);
      for (const f of filesOf(prev)) {
        if (keep.has(f)) continue;
        this.loader?.beforeDelete(join(dirAbs, f));
        await unlinkQuietly(join(dirAbs, f));
      }
    }
  }

  /** Replaces the saved segments, atomically and durably. */
  async saveSegments(defs: SegmentDef[]): Promise<void> {
    this.checkWritable();
    const bytes = Buffer.from(`${JSON.stringify(defs, null, 2)}\n`);
    const run = this.commits.then(async () => {
      const tmp = join(this.path, `${SEGMENTS}.tmp`);
      try {
        await writeSmall(tmp, bytes);
        await rename(tmp, join(this.path, SEGMENTS));
        await fsyncDir(this.path);
      } catch (e) {
        await unlinkQuietly(tmp);
        throw ioError(e, `could not save segments in ${this.path}`);
      }
    });
    this.commits = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // a load still saving keeps the lock until it is done (or failed)
    await Promise.allSettled([...this.inFlight]);
    await this.commits;
    if (this.hashStep) clearImmediate(this.hashStep);
    this.hashStep = null;
    await this.loader?.close();
    this.releaseLock();
  }

  // ---------------------------------------------------------------------------------------------------
  // Writing

  private checkWritable(): void {
    if (this.closed) throw new LassoError("internal", `data directory ${this.path} is closed`);
    this.checkHealthy();
  }

  /** Checked again at the commit point: a load that started before `close` may still finish. */
  private checkHealthy(): void {
    if (this.lockedBy !== null) {
      throw new LassoError(
        "conflict",
        `data directory ${this.path} is in use by process ${this.lockedBy}: send changes to that process (e.g. the server) or stop it first`,
      );
    }
    if (this.broken) throw this.broken;
  }

  /** The next record of an entity, and the files to write for it. */
  private plan(store: EntityStore, next: EntityVersion, prev: EntityRecord | undefined, dirRel: string, scratch: Scratch[]) {
    const v = next.number;
    const jobs: WriteJob[] = [];
    const add = (file: string, col: ColumnFile) => {
      jobs.push({ file, enc: encodeFile(col), buffers: col.buffers });
      return jobs[jobs.length - 1]!.enc;
    };
    const about = (what: string) =>
      new Map([
        ["lasso.entity", store.name],
        ["lasso.version", String(v)],
        ["lasso.content", what],
      ]);

    // tags, and what their dictionaries gained
    const prevTags = new Map((prev?.tags ?? []).map((t) => [t.name, t]));
    let nextTag = prev?.nextTag ?? 0;
    const idOf = new Map<string, number>();
    const tags: TagRecord[] = [];
    for (const meta of next.tags.values()) {
      const old = prevTags.get(meta.name);
      const id = old?.id ?? nextTag++;
      idOf.set(meta.name, id);
      const rec: TagRecord = { id, name: meta.name, type: meta.type, form: meta.form };
      if (meta.codeBytes !== undefined) rec.codeBytes = meta.codeBytes;
      if (meta.unit !== undefined) rec.unit = meta.unit;
      if (meta.unsigned) rec.unsigned = true;
      if (meta.dict) {
        let files = old?.dict ?? [];
        let have = files.reduce((n, d) => n + d.count, 0);
        if (meta.dict.size > have && files.length >= MAX_DICT_FILES) {
          files = [];
          have = 0;
        }
        files = [...files];
        for (const run of stringRuns(meta.dict.values, have, meta.dict.size, Number.POSITIVE_INFINITY)) {
          const file = `t${id}.dict.c${run.from}.v${v}.arrow`;
          const enc = add(file, stringFile(meta.name, run, about(`dictionary of tag '${meta.name}', codes ${run.from}..${run.from + run.count - 1}`)));
          files.push({ file, size: enc.size, body: enc.body, from: run.from, count: run.count, bytes: run.data.length });
        }
        rec.dict = files;
      }
      tags.push(rec);
    }

    // keys appended since the previous version
    const keys = store.keys;
    let keyFiles: KeyFileRecord[] = prev?.keys ?? [];
    let keyFrom = prev?.rows ?? 0;
    if (next.rows > keyFrom && keyFiles.length >= MAX_KEY_FILES) {
      keyFiles = [];
      keyFrom = 0;
    }
    keyFiles = [...keyFiles];
    if (keys.type === "utf8") {
      for (const run of stringRuns(keys.strings(), keyFrom, next.rows)) {
        const file = `keys.r${run.from}.v${v}.arrow`;
        const enc = add(file, stringFile("key", run, about(`entity keys of rows ${run.from}..${run.from + run.count - 1}`)));
        keyFiles.push({ file, size: enc.size, body: enc.body, from: run.from, rows: run.count, bytes: run.data.length });
      }
    } else {
      const words = keys.intWords();
      const width = keyWidth(keys.type);
      for (let from = keyFrom; from < next.rows; from += KEY_FILE_ROWS) {
        const rows = Math.min(KEY_FILE_ROWS, next.rows - from);
        let bytes: Uint8Array;
        if (width === 8) bytes = new Uint8Array(words.buffer, words.byteOffset + from * 8, rows * 8);
        else {
          const lo = new Int32Array(rows);
          for (let i = 0; i < rows; i++) lo[i] = words[(from + i) * 2]!;
          bytes = new Uint8Array(lo.buffer);
        }
        const file = `keys.r${from}.v${v}.arrow`;
        const enc = add(file, intKeyFile(keys.type, rows, bytes, about(`entity keys of rows ${from}..${from + rows - 1}`)));
        keyFiles.push({ file, size: enc.size, body: enc.body, from, rows });
      }
    }

    // shards: only chunks and bitmaps that are not already on disk
    const chunks: [Chunk, ChunkRecord][] = [];
    const exists: [Block, FileRecord][] = [];
    const shards = next.shards.map((s) => {
      let ex = this.existsFiles.get(s.exists);
      if (!ex) {
        const file = `exists.s${s.index}.v${v}.arrow`;
        const bits = new Uint8Array(s.mem.memory.buffer, s.exists.ptr, store.shardRows / 8);
        const enc = add(file, existsFile(store.shardRows, bits, about(`entity existence bitmap of shard ${s.index}`)));
        ex = { file, size: enc.size, body: enc.body };
        exists.push([s.exists, ex]);
      }
      const recs: ChunkRecord[] = [];
      for (const [name, c] of s.chunks) {
        const id = idOf.get(name)!;
        let rec = this.chunkFiles.get(c);
        if (!rec) {
          const meta = next.tags.get(name)!;
          const lengths = chunkBufferLengths(meta, c.capacity, c.codesUsed);
          let ptrs = meta.form === "list" ? [c.validity, c.offsets, 0, c.codes] : [c.validity, c.values];
          if (c.sparse) {
            // Files hold bool chunks dense (a plain Arrow Bool column): 2 bits a row on disk, and the
            // container layout stays the store's own business. Opening re-derives the containers.
            const bits = c.capacity / 8;
            const tmp = s.mem.allocZeroed(bits * 2);
            scratch.push({ mem: s.mem, ptr: tmp });
            expandInto(s.mem, c.sparse.validity, c.capacity / MORSEL_ROWS, tmp);
            expandInto(s.mem, c.sparse.values, c.capacity / MORSEL_ROWS, tmp + bits);
            ptrs = [tmp, tmp + bits];
          }
          const buffer = s.mem.memory.buffer;
          const buffers = lengths.map((len, i) => new Uint8Array(buffer, ptrs[i]!, len));
          const nulls = countNulls(buffers[0]!, c.capacity);
          const file = `t${id}.s${s.index}.v${v}.arrow`;
          const what = `tag '${name}' of rows ${s.index * store.shardRows}..${s.index * store.shardRows + c.capacity - 1} (shard ${s.index})`;
          const enc = add(file, chunkFile(meta, c.capacity, c.codesUsed, buffers, nulls, about(what)));
          rec = { tag: id, file, size: enc.size, body: enc.body, capacity: c.capacity };
          if (meta.form === "list") rec.codesUsed = c.codesUsed;
          if (c.sparse) rec.sparse = true;
          chunks.push([c, rec]);
        }
        recs.push(rec);
      }
      return { rows: s.rows, exists: ex, chunks: recs };
    });

    const record: EntityRecord = {
      name: store.name,
      dir: dirRel,
      keyType: keys.type,
      shardRows: store.shardRows,
      version: v,
      rows: next.rows,
      total: next.total,
      nextTag,
      keys: keyFiles,
      tags,
      shards,
    };
    return { record, jobs, chunks, exists };
  }

  /** Replaces the manifest with `change(current)`: the commit point of a load. */
  private commit(change: (m: Manifest) => Manifest): Promise<void> {
    const run = this.commits.then(async () => {
      this.checkHealthy();
      const next = change(this.manifest);
      const tmp = join(this.path, `${MANIFEST}.tmp`);
      const final = join(this.path, MANIFEST);
      try {
        await writeSmall(tmp, Buffer.from(`${JSON.stringify(next, null, 1)}\n`));
        crashPoint("manifest-written");
        await rename(tmp, final);
      } catch (e) {
        await unlinkQuietly(tmp);
        throw e;
      }
      crashPoint("manifest-renamed");
      try {
        await fsyncDir(this.path);
      } catch (e) {
        // The rename may or may not survive a crash, and the caller will report failure: put the
        // previous manifest back so that disk and memory agree. If even that fails, stop writing.
        try {
          await writeSmall(tmp, Buffer.from(`${JSON.stringify(this.manifest, null, 1)}\n`));
          await rename(tmp, final);
          await fsyncDir(this.path);
        } catch (e2) {
          this.broken = ioError(e2, `data directory ${this.path} is in an unknown state after a failed write; restart Lasso`);
        }
        throw e;
      }
      this.manifest = next;
    });
    this.commits = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------------------------------------------
  // Opening

  /**
   * Rebuilds one entity's store: existence bitmaps, keys and dictionaries are read now; each column chunk is
   * allocated and handed to `loader`, which reads its buffers straight into shard memory later (checking
   * now that every file is there with its size, so a damaged directory is refused at once).
   */
  private restoreEntity(e: EntityRecord, newStore: StoreFactory, loader: ColumnLoader): EntityStore {
    const store = newStore(e.name, e.keyType, e.shardRows);
    if (store.shardRows !== e.shardRows || store.memories.length !== 0) {
      throw new LassoError("internal", `store factory gave shardRows ${store.shardRows}, the data directory has ${e.shardRows}`);
    }
    const dir = join(this.path, e.dir);
    const tags = new Map<string, TagMeta>();
    const byId = new Map<number, TagMeta>();
    for (const t of e.tags) {
      const meta: TagMeta = {
        name: t.name,
        type: t.type,
        form: t.form,
        ...(t.codeBytes !== undefined ? { codeBytes: t.codeBytes } : {}),
        ...(t.unit !== undefined ? { unit: t.unit } : {}),
        ...(t.unsigned ? { unsigned: true } : {}),
        ...(t.dict ? { dict: readDictionary(dir, t) } : {}),
      };
      tags.set(t.name, meta);
      byId.set(t.id, meta);
    }

    const shards: ShardState[] = e.shards.map((s, index) => {
      const blocks = s.chunks.map((c) => chunkBlockSizes(byId.get(c.tag)!, c));
      const bytes = e.shardRows / 8 + blocks.flat().reduce((n, b) => n + b + 64, 0);
      store.memories.push(new ShardMemory(store.slots, bytes));
      const mem = store.memories[index]!;
      const existsPtr = mem.alloc(e.shardRows / 8);
      readBuffers(mem, join(dir, s.exists.file), s.exists, existsBufferLengths(e.shardRows), [0, existsPtr]);
      const exists: Block = { ptr: existsPtr, refs: 0 };
      this.existsFiles.set(exists, s.exists);
      const chunks = new Map<string, Chunk>();
      for (const c of s.chunks) {
        const meta = byId.get(c.tag)!;
        const path = join(dir, c.file);
        checkSize(path, c);
        const dense = allocChunk(mem, meta, c);
        const ptrs = meta.form === "list" ? [dense.validity, dense.offsets, 0, dense.codes] : [dense.validity, dense.values];
        const lengths = chunkBufferLengths(meta, c.capacity, dense.codesUsed);
        const chunk = loader.add({ mem, path, rec: c, lengths, ptrs, sparse: c.sparse === true }, dense);
        this.chunkFiles.set(chunk, c);
        chunks.set(meta.name, chunk);
      }
      return { index, mem, exists, rows: s.rows, chunks };
    });

    const live = restoreKeys(store, e, dir, shards);
    if (live !== e.total) throw damaged(e.dir, `the existence bitmaps hold ${live} entities, MANIFEST says ${e.total}`);
    store.publish(new EntityVersion(store, e.version, e.rows, e.total, tags, shards));
    return store;
  }

  /** Removes what an interrupted load left: temporary files and files no manifest entry names. */
  private async recover(): Promise<void> {
    const removed: string[] = [];
    for (const tmp of [`${MANIFEST}.tmp`, `${SEGMENTS}.tmp`]) if (await unlinkQuietly(join(this.path, tmp))) removed.push(tmp);
    // a process killed while taking the lock leaves its LOCK.<pid>.tmp
    for (const f of await readdir(this.path)) {
      const m = /^LOCK\.(\d+)\.tmp$/.exec(f);
      if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1])) && (await unlinkQuietly(join(this.path, f)))) removed.push(f);
    }
    const referenced = new Map(this.manifest.entities.map((e) => [e.dir.slice(ENTITIES.length + 1), filesOf(e)]));
    let dirs: string[];
    try {
      dirs = await readdir(join(this.path, ENTITIES));
    } catch (e) {
      if (errnoOf(e) !== "ENOENT") throw e;
      dirs = [];
    }
    const strangers: string[] = [];
    for (const d of dirs) {
      const keep = referenced.get(d);
      if (!ENTITY_DIR.test(d)) {
        strangers.push(`${ENTITIES}/${d}`);
        continue;
      }
      let files: string[];
      try {
        files = await readdir(join(this.path, ENTITIES, d));
      } catch {
        strangers.push(`${ENTITIES}/${d}`);
        continue;
      }
      for (const f of files) {
        if (keep?.has(f)) continue;
        if (!STORE_FILE.test(f)) {
          strangers.push(`${ENTITIES}/${d}/${f}`);
          continue;
        }
        if (await unlinkQuietly(join(this.path, ENTITIES, d, f))) removed.push(`${ENTITIES}/${d}/${f}`);
      }
      if (!keep) await rmdir(join(this.path, ENTITIES, d)).catch(() => undefined);
    }
    if (strangers.length > 0) {
      this.log("warn", `data directory ${this.path} holds files Lasso did not write; left alone`, { dataDir: this.path, files: strangers.slice(0, 20) });
    }
    if (removed.length > 0) {
      this.log("warn", `recovered from an interrupted load: removed ${removed.length} files`, {
        dataDir: this.path,
        files: removed.slice(0, 20),
      });
    }
  }

  private releaseLock(): void {
    if (this.lockedBy !== null || !openForWriting.has(this.path)) return;
    openForWriting.delete(this.path);
    try {
      unlinkSync(join(this.path, LOCK));
    } catch {
      // already gone: nothing to release
    }
  }
}

// -----------------------------------------------------------------------------------------------------
// Reading files back

/** Bytes of each shard-memory block a chunk needs (as `allocChunk` allocates them). */
function chunkBlockSizes(meta: TagMeta, c: ChunkRecord): number[] {
  const lengths = chunkBufferLengths(meta, c.capacity, c.codesUsed ?? 0);
  if (meta.form !== "list") return lengths;
  return [lengths[0]!, lengths[1]!, listCodesCapacity(c.codesUsed ?? 0) * meta.codeBytes!];
}

function listCodesCapacity(used: number): number {
  // as transaction.ts allocates a fresh list chunk: room for growth without an immediate reallocation
  return Math.max(used, 1024);
}

/** Allocates a chunk's blocks in shard memory (contents are read in next). Mirrors transaction.ts allocChunk. */
function allocChunk(mem: ShardMemory, meta: TagMeta, c: ChunkRecord): Chunk {
  const sizes = chunkBlockSizes(meta, c);
  const blocks = sizes.map((n) => mem.alloc(n));
  if (meta.form === "list") {
    const codesCapacity = listCodesCapacity(c.codesUsed ?? 0);
    return { capacity: c.capacity, values: 0, validity: blocks[0]!, offsets: blocks[1]!, codes: blocks[2]!, codesCapacity, codesUsed: c.codesUsed ?? 0, blocks, refs: 0 };
  }
  return { capacity: c.capacity, values: blocks[1]!, validity: blocks[0]!, offsets: 0, codes: 0, codesCapacity: 0, codesUsed: 0, blocks, refs: 0 };
}

/** A column file is there with the size MANIFEST gives (its bytes are read later). */
function checkSize(path: string, rec: FileRecord): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    if (errnoOf(e) === "ENOENT") throw missing(path);
    throw ioError(e, `cannot read ${path}`);
  }
  if (size !== rec.size) throw wrongSize(path, size, rec.size);
}

/** Reads buffer `index` of a file into `out`. */
function readInto(path: string, rec: FileRecord, lengths: number[], index: number, out: Uint8Array): void {
  readFileBuffers(path, rec, lengths, (i) => (i === index ? out : null));
}

/** Reads a file's buffers into fresh JS memory. */
function readToMemory(path: string, rec: FileRecord, lengths: number[]): Buffer[] {
  // 8-aligned storage, so typed views (Int32Array offsets) can be laid over it
  const out = lengths.map((len) => Buffer.from(new ArrayBuffer(Math.ceil(len / 8) * 8), 0, len));
  readFileBuffers(path, rec, lengths, (i) => out[i]!);
  return out;
}

function readDictionary(dir: string, t: TagRecord): Dictionary {
  const d = new Dictionary();
  for (const f of t.dict!) {
    const path = join(dir, f.file);
    const [, offs, data] = readToMemory(path, f, stringBufferLengths(f.count, f.bytes));
    const values = decodeStrings(new Int32Array(offs!.buffer, offs!.byteOffset, f.count + 1), data!, f.count, path);
    for (const v of values) if (d.encode(v) !== d.size - 1) throw damaged(path, `dictionary value ${JSON.stringify(v)} repeats`);
  }
  return d;
}

/**
 * Restores the key of every row (select needs them at once) and declares which rows are existing entities;
 * the key hash is built from them later (keys.ts `buildHash`). Returns the number of existing entities.
 */
function restoreKeys(store: EntityStore, e: EntityRecord, dir: string, shards: ShardState[]): number {
  // a copy: the hash is built later, when a delete may have freed the restored version's bitmaps
  const bits = shards.map((s) => new Uint8Array(s.mem.memory.buffer, s.exists.ptr, e.shardRows / 8).slice());
  const sr = e.shardRows;
  store.keys.reserveRestored(e.rows);
  for (const k of e.keys) {
    const path = join(dir, k.file);
    if (e.keyType === "utf8") {
      const [, offs, data] = readToMemory(path, k, stringBufferLengths(k.rows, k.bytes!));
      store.keys.restoreStr(decodeStrings(new Int32Array(offs!.buffer, offs!.byteOffset, k.rows + 1), data!, k.rows, path));
    } else if (keyWidth(e.keyType) === 8) {
      // (lo, hi) words are the file's little-endian 64-bit values: read straight into the index
      const words = store.keys.restoreInt(k.rows);
      readInto(path, k, intKeyBufferLengths(e.keyType, k.rows), 1, new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
    } else {
      const [, values] = readToMemory(path, k, intKeyBufferLengths(e.keyType, k.rows));
      const lo = new Int32Array(values!.buffer, values!.byteOffset, k.rows);
      const signed = e.keyType === "int32";
      const words = store.keys.restoreInt(k.rows);
      for (let i = 0; i < k.rows; i++) {
        words[i * 2] = lo[i]!;
        words[i * 2 + 1] = signed && lo[i]! < 0 ? -1 : 0;
      }
    }
  }
  if (store.keys.rows !== e.rows) throw damaged(e.dir, `the key files hold ${store.keys.rows} rows, MANIFEST says ${e.rows}`);
  let live = 0;
  for (let s = 0; s < bits.length; s++) live += popcountRows(bits[s]!, Math.max(0, Math.min(sr, e.rows - s * sr)));
  store.keys.hashRestored(live, (row) => {
    const s = Math.floor(row / sr);
    const local = row - s * sr;
    return (bits[s]![local >> 3]! & (1 << (local & 7))) !== 0;
  });
  return live;
}

async function readManifest(dir: string): Promise<Manifest | null> {
  const path = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return null;
    throw e;
  }
  return parseManifest(text, path);
}

async function readSegments(dir: string): Promise<SegmentDef[]> {
  const path = join(dir, SEGMENTS);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return [];
    throw e;
  }
  let defs: unknown;
  try {
    defs = JSON.parse(text);
  } catch (e) {
    throw damaged(path, `not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(defs) || !defs.every((d) => typeof d?.name === "string" && typeof d?.entity === "string" && typeof d?.expr === "string")) {
    throw damaged(path, "not a list of segments");
  }
  return defs as SegmentDef[];
}

function isMissingFile(e: unknown): boolean {
  return errnoOf(e) === "ENOENT" || (e instanceof LassoError && e.details["errno"] === "ENOENT");
}

// -----------------------------------------------------------------------------------------------------
// The write lock: a LOCK file holding the writer's pid, created atomically (link of a complete file).

function takeLock(dir: string): number | null {
  if (openForWriting.has(dir)) return process.pid;
  const lock = join(dir, LOCK);
  const mine = join(dir, `${LOCK}.${process.pid}.tmp`);
  try {
    const fd = openSync(mine, "w");
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, lock);
        openForWriting.add(dir);
        return null;
      } catch (e) {
        if (errnoOf(e) !== "EEXIST") throw e;
      }
      const holder = readPid(lock);
      if (holder !== null && holder !== process.pid && isAlive(holder)) return holder;
      // the holder is gone (killed or crashed without closing): its lock is stale
      try {
        unlinkSync(lock);
      } catch {
        // someone else removed it first: try again
      }
    }
    return readPid(lock) ?? -1;
  } catch (e) {
    throw ioError(e, `cannot lock the data directory ${dir}`);
  } finally {
    try {
      unlinkSync(mine);
    } catch {
      // not created
    }
  }
}

function readPid(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    return errnoOf(e) === "EPERM";
  }
}

async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== null) throw failed;
}
