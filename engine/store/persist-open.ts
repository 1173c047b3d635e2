/**
 * Opening a data directory without waiting for its columns.
 *
 * Reading ~3 GB of column files into fresh WebAssembly memory takes seconds, nearly all of it the OS
 * handing out fresh pages. So `DataDir.restore` publishes each store as soon as its manifest, keys,
 * dictionaries and existence bitmaps are in, with every column chunk allocated but not yet read; a
 * `ColumnLoader` then brings the chunks in, in manifest order, on a worker thread (the page faults land
 * on another core), and the key hash is built on the main thread meanwhile (keys.ts `buildHash`).
 *
 * A chunk not yet read is a `Chunk` whose pointer fields are accessors: the first read of any of them
 * (`values`, `validity`, `sparse`, `blocks`, …) waits for exactly that chunk — reading it on the calling
 * thread if the worker has not claimed it, waiting (Atomics.wait) if the worker is reading it — and then
 * turns the accessors into plain fields. So nothing outside this file knows about residency, and no code
 * can see a pointer into bytes not yet read. A file that cannot be read surfaces as the `io_error` of the
 * query that needs it (and is logged); a chunk freed before it was read (its version retired) is never read.
 *
 * Task states live in a SharedArrayBuffer so that both threads can claim a chunk atomically:
 *
 *   PENDING ──worker claims──▶ WORKER ──▶ DONE | FAILED
 *      └──────main claims───▶ MAIN   ──▶ DONE | FAILED      PENDING/FAILED ──freed unread──▶ DROPPED
 */
import { Worker } from "node:worker_threads";
import { LassoError } from "../errors.js";
import { sparsify } from "./containers.js";
import { bodyOffsets } from "./persist-arrow.js";
import { FileReader, errnoOf, ioError } from "./persist-io.js";
import { damaged, type FileRecord } from "./persist-manifest.js";
import type { ShardMemory } from "./shard-memory.js";
import type { Chunk } from "./tags.js";

const PENDING = 0;
const WORKER = 1;
const MAIN = 2;
const DONE = 3;
const FAILED = 4;
const DROPPED = 5;

/** Control words after the task states: how many tasks the worker may start (a test hook), and "stop". */
const CTL_ALLOWED = 0;
const CTL_STOP = 1;

/** Chunk fields that point into (or describe) bytes read from the file: reading one waits for the chunk. */
const LAZY_FIELDS = ["values", "validity", "offsets", "codes", "codesCapacity", "codesUsed", "sparse", "blocks"] as const;

/**
 * Test hook: with `columnsAllowed` set before a directory is opened, the background worker reads only that
 * many chunks until `allowColumns` raises it (a query needing a chunk past it reads it itself). Lets a test
 * query a store whose columns are still arriving at any chosen point, without depending on timing.
 */
export const openHooks: { columnsAllowed: number | null; keyHashHeld: boolean } = { columnsAllowed: null, keyHashHeld: false };
const loaders = new Set<ColumnLoader>();
/** Lets the background worker of every open loader read `n` chunks in all (see `openHooks`). */
export function allowColumns(n: number): void {
  for (const l of loaders) l.allow(n);
}

/** One chunk to bring in: its file, where each of its buffers goes, and what to do once it is in. */
export interface ColumnTask {
  readonly mem: ShardMemory;
  readonly path: string;
  readonly rec: FileRecord;
  /** Buffer lengths in the file, in IPC order. */
  readonly lengths: number[];
  /** Where each buffer goes in shard memory (0 = not kept). */
  readonly ptrs: number[];
  /** Rewrite into container form once read (a sparse bool chunk). */
  readonly sparse: boolean;
}

interface Entry extends ColumnTask {
  /** The chunk as it will be once read (plain fields); `chunk` shows it through accessors until then. */
  readonly dense: Chunk;
  readonly chunk: Chunk;
  settled: boolean;
  /** Counted out of `outstanding` (in, dropped, or given up on). */
  counted: boolean;
}

/** What the worker needs of a task: the memory (by index), the file, its size and (offset, ptr, len, end) per buffer. */
type WorkerTask = [memory: number, path: string, size: number, pieces: number[]];

export interface LoaderStats {
  chunks: number;
  bytes: number;
  /** Chunks read on the calling thread because a query (or a load) needed them first. */
  onDemand: number;
  failed: number;
}

export class ColumnLoader {
  private readonly entries: Entry[] = [];
  private readonly byPath = new Map<string, number>();
  private state: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private outstanding = 0;
  private started = false;
  private closed = false;
  readonly stats: LoaderStats = { chunks: 0, bytes: 0, onDemand: 0, failed: 0 };

  constructor(private readonly onError: (e: LassoError) => void) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Registers a chunk whose blocks are allocated (as `dense` describes them) but not yet read; returns the
   * chunk to publish in its place.
   */
  add(task: ColumnTask, dense: Chunk): Chunk {
    if (this.started) throw new LassoError("internal", "column loader already started");
    const index = this.entries.length;
    const chunk = { capacity: dense.capacity, refs: 0 } as Chunk;
    for (const field of LAZY_FIELDS) {
      Object.defineProperty(chunk, field, {
        configurable: true,
        enumerable: true,
        get: () => {
          // a chunk freed before it was read (its last version retired: refs fell to 0) is never read
          if (field === "blocks" && chunk.refs === 0) this.drop(index);
          else this.ensure(index, true);
          return chunk[field];
        },
        set: (value: unknown) => {
          this.ensure(index, true);
          (chunk as unknown as Record<string, unknown>)[field] = value;
        },
      });
    }
    this.entries.push({ ...task, dense, chunk, settled: false, counted: false });
    this.byPath.set(task.path, index);
    this.stats.chunks++;
    this.stats.bytes += task.rec.size;
    return chunk;
  }

  /** Starts reading every registered chunk in the background, in registration order. */
  start(): void {
    this.started = true;
    const n = this.entries.length;
    this.state = new Int32Array(new SharedArrayBuffer(4 * (n + 2)));
    this.state[n + CTL_ALLOWED] = openHooks.columnsAllowed ?? n;
    this.outstanding = n;
    if (n === 0) {
      this.resolveDone();
      return;
    }
    const memories: WebAssembly.Memory[] = [];
    const memoryIndex = new Map<WebAssembly.Memory, number>();
    const tasks: WorkerTask[] = this.entries.map((e) => {
      let m = memoryIndex.get(e.mem.memory);
      if (m === undefined) memoryIndex.set(e.mem.memory, (m = memories.push(e.mem.memory) - 1));
      const { offsets } = bodyOffsets(e.lengths);
      const pieces: number[] = [];
      e.lengths.forEach((len, i) => {
        if (len > 0 && e.ptrs[i]! !== 0) pieces.push(e.rec.body + offsets[i]!, e.ptrs[i]!, len, tailEnd(e.ptrs[i]!, len));
      });
      return [m, e.path, e.rec.size, pieces];
    });
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { state: this.state.buffer, memories, tasks } });
    worker.unref();
    worker.on("message", (i: number) => this.arrived(i));
    worker.on("error", (e) => this.onError(ioError(e, "the background column reader failed")));
    this.exited = new Promise((resolve) =>
      worker.once("exit", () => {
        this.worker = null;
        // whatever the worker left unread (stopped, or it died) is read on demand
        for (let i = 0; i < n; i++) if (Atomics.compareExchange(this.state, i, WORKER, PENDING) === WORKER) Atomics.notify(this.state, i);
        this.finishRemaining();
        if (!this.closed) this.readRestHere(0);
        resolve();
      }),
    );
    this.worker = worker;
    loaders.add(this);
  }

  /** Resolves when every chunk is in (or failed, or was dropped), or the loader is closed. */
  whenDone(): Promise<void> {
    return this.done;
  }

  /** Test hook: lets the worker start `n` chunks in all. */
  allow(n: number): void {
    const at = this.entries.length + CTL_ALLOWED;
    Atomics.store(this.state, at, Math.min(n, this.entries.length));
    Atomics.notify(this.state, at);
  }

  /** Stops the background reads (after the chunk being read); chunks still needed are read on demand. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    loaders.delete(this);
    const n = this.entries.length;
    if (this.worker) {
      // an unreferenced worker would not keep the process alive until its exit, which close awaits
      this.worker.ref();
      Atomics.store(this.state, n + CTL_STOP, 1);
      Atomics.store(this.state, n + CTL_ALLOWED, n);
      Atomics.notify(this.state, n + CTL_ALLOWED);
    }
    await this.exited;
    this.resolveDone();
  }

  /** Reads every chunk not yet in on the calling thread (a read-only opener that must not serve lazily). */
  ensureAll(): void {
    for (let i = 0; i < this.entries.length; i++) this.ensure(i);
  }

  /**
   * The file at `path` is about to be deleted (a load replaced it): if its chunk is still unread, read it
   * now while a version holds it, or drop it if none does. Errors are left to whoever reads it later.
   */
  beforeDelete(path: string): void {
    const i = this.byPath.get(path);
    if (i === undefined || this.entries[i]!.settled) return;
    const e = this.entries[i]!;
    try {
      if (e.chunk.refs === 0) this.drop(i);
      else this.ensure(i);
    } catch {
      // the chunk stays unread; a query that needs it reports the error
    }
  }

  /**
   * Makes chunk `i` resident (reading it here if no one has), or throws its typed read error. `onDemand`:
   * a query or load touched the chunk (counted in `stats.onDemand` when it is read here for it).
   */
  private ensure(i: number, onDemand = false): void {
    const e = this.entries[i]!;
    if (e.settled) return;
    if (!this.started) throw new LassoError("internal", "a column was read before the store was opened");
    for (;;) {
      const s = Atomics.load(this.state, i);
      if (s === DONE) break;
      if (s === WORKER) {
        Atomics.wait(this.state, i, WORKER);
        continue;
      }
      if (s === DROPPED) throw new LassoError("internal", "a column was read after its store version was freed");
      if (Atomics.compareExchange(this.state, i, s, MAIN) !== s) continue;
      try {
        readBuffers(e.mem, e.path, e.rec, e.lengths, e.ptrs);
      } catch (err) {
        Atomics.store(this.state, i, FAILED);
        throw err;
      }
      Atomics.store(this.state, i, DONE);
      if (onDemand) this.stats.onDemand++;
      break;
    }
    this.settle(e, true);
  }

  /** Chunk `i` is being freed: it need not be read, only not written to once its blocks are free. */
  private drop(i: number): void {
    const e = this.entries[i]!;
    if (e.settled) return;
    for (;;) {
      const s = Atomics.load(this.state, i);
      if (s === WORKER) {
        Atomics.wait(this.state, i, WORKER);
        continue;
      }
      if ((s === PENDING || s === FAILED) && Atomics.compareExchange(this.state, i, s, DROPPED) !== s) continue;
      break;
    }
    // the dense blocks as allocated: whatever they hold, they are about to be freed
    this.settle(e, false);
  }

  /** Replaces the accessors by the chunk's fields (and builds its containers); the chunk counts as in. */
  private settle(e: Entry, read: boolean): void {
    const c = e.chunk as unknown as Record<string, unknown>;
    const dense = e.dense as unknown as Record<string, unknown>;
    // `sparse` becomes undefined (sparsify may set it), never deleted: a delete would put every restored
    // chunk into V8's slow dictionary-property mode for good
    for (const field of LAZY_FIELDS) {
      Object.defineProperty(c, field, { value: field === "sparse" ? undefined : dense[field], writable: true, configurable: true, enumerable: true });
    }
    e.settled = true;
    if (read && e.sparse) sparsify(e.mem, e.chunk);
    this.count(e);
  }

  private count(e: Entry): void {
    if (e.counted) return;
    e.counted = true;
    if (--this.outstanding === 0) this.resolveDone();
  }

  /** The worker finished chunk `i` (or gave up on it): settle it now rather than at its first use. */
  private arrived(i: number): void {
    if (i < 0) {
      this.finishRemaining();
      return;
    }
    const e = this.entries[i]!;
    if (e.settled) return;
    const s = Atomics.load(this.state, i);
    if (s === DONE) this.settle(e, true);
    else if (s === FAILED) this.retry(i);
  }

  /** After the worker is done: chunks it could not read get one more try here, so the error is typed and logged. */
  private finishRemaining(): void {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.settled) continue;
      const s = Atomics.load(this.state, i);
      if (s === DONE) this.settle(e, true);
      else if (s === FAILED) this.retry(i);
    }
    if (this.closed) this.resolveDone();
  }

  /** The worker is gone before reading everything (it failed): read the rest here, a chunk per turn. */
  private readRestHere(from: number): void {
    let i = from;
    while (i < this.entries.length && this.entries[i]!.counted) i++;
    if (i >= this.entries.length || this.closed) return;
    this.retry(i);
    setImmediate(() => this.readRestHere(i + 1));
  }

  private retry(i: number): void {
    if (this.entries[i]!.counted) return;
    try {
      this.ensure(i);
    } catch (err) {
      this.stats.failed++;
      // it stays unread: a query that needs it gets this error; the rest of the store keeps serving
      this.count(this.entries[i]!);
      this.onError(ioError(err, `cannot read ${this.entries[i]!.path}`));
    }
  }
}

/** Blocks are rounded up to 64 bytes: a read zeroes the tail past the buffer, as in a fresh chunk. */
function tailEnd(ptr: number, len: number): number {
  return ptr + Math.ceil(Math.max(len, 8) / 64) * 64;
}

/** Reads a file's buffers straight into shard memory at `ptrs` (0 = a buffer not kept, e.g. absent validity). */
export function readBuffers(mem: ShardMemory, path: string, rec: FileRecord, lengths: number[], ptrs: number[]): void {
  const u8 = mem.u8;
  readFileBuffers(path, rec, lengths, (i, len) => {
    const ptr = ptrs[i]!;
    if (ptr === 0) return null;
    u8.fill(0, ptr + len, tailEnd(ptr, len));
    return new Uint8Array(u8.buffer, ptr, len);
  });
}

/**
 * Reads the body buffers of a column file (lengths as persist-arrow.ts lays them out): buffer i, when
 * non-empty, into the bytes `into(i, length)` returns (exactly `length` of them), or not at all for null.
 * The one reader of column files on this thread (the background loader's worker has its own copy).
 */
export function readFileBuffers(
  path: string, rec: FileRecord, lengths: readonly number[], into: (i: number, length: number) => Uint8Array | null,
): void {
  const file = openChecked(path, rec);
  try {
    const { offsets, length } = bodyOffsets(lengths);
    if (rec.body + length > rec.size) throw damaged(path, `body of ${length} bytes does not fit a ${rec.size}-byte file`);
    lengths.forEach((len, i) => {
      if (len === 0) return;
      const out = into(i, len);
      if (out) file.readInto(out, rec.body + offsets[i]!);
    });
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  } finally {
    file.close();
  }
}

export function openChecked(path: string, rec: FileRecord): FileReader {
  let file: FileReader;
  try {
    file = new FileReader(path);
  } catch (e) {
    if (errnoOf(e) === "ENOENT") throw missing(path);
    throw ioError(e, `cannot read ${path}`);
  }
  if (file.stats.size !== rec.size) {
    file.close();
    throw wrongSize(path, file.stats.size, rec.size);
  }
  return file;
}

export function missing(path: string): LassoError {
  return new LassoError("io_error", `the data directory is damaged: ${path} is missing (restore it from a backup)`, { errno: "ENOENT" });
}

export function wrongSize(path: string, size: number, want: number): LassoError {
  return damaged(path, `${size} bytes, MANIFEST says ${want} (truncated or replaced)`);
}

/**
 * The background reader (a worker thread, run from this source so it needs no file of its own beside
 * the compiled engine). For each task in order: claim it (PENDING → WORKER) unless the main thread got
 * there first, read its buffers into shard memory, publish DONE or FAILED, wake a waiter, tell the main
 * thread. Errors are not described here: the main thread re-reads a FAILED chunk to produce the typed error.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const { state, memories, tasks } = workerData;
const st = new Int32Array(state);
const n = tasks.length;
const ALLOWED = n + ${CTL_ALLOWED}, STOP = n + ${CTL_STOP};
for (let i = 0; i < n; i++) {
  while (Atomics.load(st, ALLOWED) <= i && Atomics.load(st, STOP) === 0) Atomics.wait(st, ALLOWED, Atomics.load(st, ALLOWED));
  if (Atomics.load(st, STOP) !== 0) break;
  if (Atomics.compareExchange(st, i, ${PENDING}, ${WORKER}) !== ${PENDING}) continue;
  const [m, path, size, pieces] = tasks[i];
  let ok = false;
  let fd = -1;
  try {
    fd = fs.openSync(path, "r");
    if (fs.fstatSync(fd).size === size) {
      const u8 = new Uint8Array(memories[m].buffer);
      for (let p = 0; p < pieces.length; p += 4) {
        const at = pieces[p], ptr = pieces[p + 1], len = pieces[p + 2], end = pieces[p + 3];
        if (at + len > size) throw new Error("short");
        let done = 0;
        while (done < len) {
          const got = fs.readSync(fd, u8, ptr + done, len - done, at + done);
          if (got === 0) throw new Error("short");
          done += got;
        }
        u8.fill(0, ptr + len, end);
      }
      ok = true;
    }
  } catch {
    ok = false;
  } finally {
    if (fd >= 0) try { fs.closeSync(fd); } catch {}
    Atomics.store(st, i, ok ? ${DONE} : ${FAILED});
    Atomics.notify(st, i);
  }
  parentPort.postMessage(i);
}
parentPort.postMessage(-1);
`;
