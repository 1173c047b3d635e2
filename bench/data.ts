/**
 * The benchmark's data: named fixtures generated once and cached under bench/.cache, the engine's copy
 * of them (a persisted data directory, also cached, so a second run starts in seconds), and the data
 * fingerprint that makes two results comparable.
 *
 * The fingerprint is computed from what the system under test reports about its data (per entity: key
 * type, row count; per tag: type, rows with a value, the most frequent values with their counts), so the
 * engine in process and a server over HTTP give the same fingerprint for the same data, and any change of
 * the data (rows, values, generator, seed) changes it. The file's sha256 is kept beside it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as arrow from "apache-arrow";
import type { Engine, EntityInfo, TagSummary } from "../engine/api.js";
import { fileChunks, openEngine } from "../engine/index.js";
import { isLassoError, LassoError } from "../engine/errors.js";
import { SIZES, parseRowCount, type SchemaName, type SizeName } from "../fixtures/schema.js";
import { writeFixture } from "../fixtures/generate.js";

export const FIXTURE_SEED = 42;
/** Values per tag in the fingerprint. */
const FINGERPRINT_VALUES = 20;

/** The repository root (holds package.json), from source or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("bench: no package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export function defaultCacheDir(): string {
  return resolve(repoRoot(), "bench", ".cache");
}

/**
 * A fixture size from an environment variable (or `fallback`): a size name (small, 1m, 10m, 100m) or a
 * row count like 1000000, 500k or 10m. A count equal to a named size is that size (its schema follows).
 */
export function fixtureFromEnv(name: string, fallback: string): SizeName | number {
  const v = (process.env[name] || fallback).trim().toLowerCase();
  const rows = Object.hasOwn(SIZES, v) ? SIZES[v as SizeName] : parseRowCount(v);
  if (rows === null) throw new Error(`${name} must be a row count like 1000000, 500k or 10m, got "${v}"`);
  return (Object.keys(SIZES) as SizeName[]).find((k) => SIZES[k] === rows) ?? rows;
}

export interface FixtureFile {
  path: string;
  name: SizeName | string;
  rows: number;
  seed: number;
  schema: SchemaName;
}

/** `100m` uses the narrow schema (~30 tags) so that it and DuckDB fit the machine (issue 3). */
export function fixtureSchemaFor(size: string): SchemaName {
  return size === "100m" ? "narrow" : "standard";
}

/**
 * The fixture file for a named size (or an explicit row count), generated into the cache when missing.
 * Generation is deterministic (rows, seed, schema), so the cached file is the file.
 */
export async function ensureFixture(opts: {
  size: SizeName | number;
  seed?: number;
  schema?: SchemaName;
  cacheDir: string;
  onProgress?: (done: number, total: number) => void;
  log?: (line: string) => void;
}): Promise<FixtureFile> {
  const rows = typeof opts.size === "number" ? opts.size : SIZES[opts.size];
  const name = typeof opts.size === "number" ? `rows${opts.size}` : opts.size;
  const seed = opts.seed ?? FIXTURE_SEED;
  const schema = opts.schema ?? fixtureSchemaFor(String(opts.size));
  mkdirSync(opts.cacheDir, { recursive: true });
  const path = join(opts.cacheDir, `fixture-${schema}-${rows}-s${seed}.arrow`);
  if (!existsSync(path)) {
    opts.log?.(`generating fixture ${name} (${rows.toLocaleString("en-US")} rows, ${schema} schema, seed ${seed}) → ${path}`);
    await writeFixture(path, { rows, seed, schema, onProgress: opts.onProgress });
  }
  return { path, name, rows, seed, schema };
}

/** sha256 of a file, cached beside it (keyed by size and mtime: a rewritten file is hashed again). */
export async function fileSha256(path: string): Promise<string> {
  const st = statSync(path);
  const side = `${path}.sha256`;
  const stamp = `${st.size}:${st.mtimeMs}`;
  if (existsSync(side)) {
    const [s, hash] = readFileSync(side, "utf8").trim().split(" ");
    if (s === stamp && hash) return hash;
  }
  const h = createHash("sha256");
  for await (const chunk of fileChunks(path)) h.update(chunk);
  const hash = h.digest("hex");
  try {
    writeFileSync(side, `${stamp} ${hash}\n`);
  } catch {
    // a read-only place: hash again next time
  }
  return hash;
}

export interface DataSummary {
  entity: string;
  keyType: string;
  rows: number;
  tags: { name: string; type: string; rowsWithValue: number; values?: { value: string; count: number }[] }[];
}

/** The fingerprint of a data summary (see the header). */
export function summaryFingerprint(s: DataSummary): string {
  const canonical = {
    entity: s.entity, keyType: s.keyType, rows: s.rows,
    tags: [...s.tags].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((t) => [
      t.name, t.type, t.rowsWithValue,
      (t.values ?? []).slice(0, FINGERPRINT_VALUES).map((v) => [v.value, v.count]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    ]),
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

export function engineSummary(engine: Engine, entity: string): DataSummary {
  const info = engine.entities().find((e: EntityInfo) => e.name === entity);
  if (!info) throw new LassoError("unknown_entity", `entity ${entity} is not in the store (has: ${engine.entities().map((e) => e.name).join(", ") || "none"})`);
  const tags = engine.tags(entity, { valuesLimit: FINGERPRINT_VALUES }).map((t: TagSummary) => ({
    name: t.name, type: t.type, rowsWithValue: t.rowsWithValue, ...(t.values ? { values: t.values } : {}),
  }));
  return { entity, keyType: info.keyType, rows: info.rows, tags };
}

export const FINGERPRINT_VALUES_LIMIT = FINGERPRINT_VALUES;

/**
 * Record batches of an Arrow IPC file (or stream) on disk, read one at a time. Arrow JS given a Node
 * stream of an IPC *file* first reads the whole file into one buffer (9.6 GB for the 100m fixture:
 * "Invalid typed array length"); given a file handle it reads batch by batch. `close` releases the file.
 */
export async function readArrowFile(path: string): Promise<{
  reader: arrow.AsyncRecordBatchFileReader | arrow.AsyncRecordBatchStreamReader;
  close: () => Promise<void>;
}> {
  const handle = await open(path, "r");
  try {
    const reader = await arrow.RecordBatchReader.from(handle);
    await reader.open();
    return { reader, close: () => handle.close().catch(() => undefined) };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/** The bytes of an Arrow IPC file as a stream, without some columns (re-encoded as an IPC stream). */
export async function* ipcWithout(path: string, drop: ReadonlySet<string>): AsyncGenerator<Uint8Array> {
  const { reader, close } = await readArrowFile(path);
  try {
    const keep = reader.schema.fields.map((f, i) => [f, i] as const).filter(([f]) => !drop.has(f.name));
    const schema = new arrow.Schema(keep.map(([f]) => f), reader.schema.metadata);
    const type = new arrow.Struct(schema.fields);
    const writer = new arrow.RecordBatchStreamWriter();
    // The writer queues its output; this loop collects it. Everything queued for one batch is collected by
    // the microtasks that run before the next setImmediate (as in fixtures/generate.ts writeFixture).
    const ready: Uint8Array[] = [];
    const drain = (async () => {
      for await (const chunk of writer) ready.push(chunk);
    })();
    for await (const b of reader) {
      // RecordBatch.select in apache-arrow 21 mis-pairs children with fields: build the projection by hand.
      const children = keep.map(([, i]) => b.data.children[i]!);
      writer.write(new arrow.RecordBatch(schema, arrow.makeData({ type, length: b.numRows, nullCount: 0, children })));
      await new Promise<void>((r) => setImmediate(r));
      yield* ready.splice(0);
    }
    writer.close();
    await drain;
    yield* ready.splice(0);
  } finally {
    await close();
  }
}

export interface LoadedEngine {
  engine: Engine;
  /** Columns the engine refused (with its reason), loaded without them. */
  excluded: { column: string; reason: string }[];
  /** Set when this run loaded the data (not restored from the cache). */
  load?: { rows: number; bytes: number; ms: number };
  dataDir?: string;
}

/**
 * Loads an Arrow file into an engine. A column the engine refuses (`schema_conflict` naming it) is left
 * out and the load retried, loudly: the result lists it, so a benchmark never silently measures other
 * data than it says.
 */
export async function loadFile(engine: Engine, file: string, entity: string, key: string,
  opts: { onProgress?: (rows: number) => void; log?: (line: string) => void } = {}): Promise<Omit<LoadedEngine, "engine">> {
  const excluded: { column: string; reason: string }[] = [];
  const bytes = statSync(file).size;
  for (;;) {
    const drop = new Set(excluded.map((e) => e.column));
    const body = drop.size === 0 ? fileChunks(file) : ipcWithout(file, drop);
    const t0 = performance.now();
    try {
      const r = await engine.load({ entity, key, body, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
      return { excluded, load: { rows: r.rows, bytes, ms: performance.now() - t0 } };
    } catch (e) {
      const column = isLassoError(e) && e.code === "schema_conflict" ? /column '([^']+)'/.exec(e.message)?.[1] : undefined;
      if (!column || drop.has(column)) throw e;
      opts.log?.(`WARNING: the engine refused column ${column} (${(e as Error).message}); loading without it`);
      excluded.push({ column, reason: (e as Error).message });
    }
  }
}

/** The cached data directory of the engine's copy of a fixture file (by the file's sha256). */
export function engineDataDir(cacheDir: string, fileSha256: string): string {
  return join(cacheDir, `engine-${fileSha256.slice(0, 16)}`);
}

/**
 * An engine holding `file`, restored from the cached data directory when an earlier run loaded the same
 * file there (checked by the file's sha256), else loaded now (and persisted for the next run).
 */
export async function engineForFile(opts: {
  file: string;
  fileSha256: string;
  entity: string;
  key: string;
  cacheDir: string;
  threads?: number;
  /** Keep the data in memory only (no cache directory). */
  memoryOnly?: boolean;
  onProgress?: (rows: number) => void;
  log?: (line: string) => void;
}): Promise<LoadedEngine> {
  const threads = opts.threads !== undefined ? { threads: opts.threads } : {};
  if (opts.memoryOnly) {
    const engine = await openEngine(threads);
    return { engine, ...(await loadFile(engine, opts.file, opts.entity, opts.key, opts)) };
  }
  const dataDir = engineDataDir(opts.cacheDir, opts.fileSha256);
  const marker = join(dataDir, "bench-loaded.json");
  if (existsSync(marker)) {
    try {
      const m = JSON.parse(readFileSync(marker, "utf8")) as { sha256: string; entity: string; rows: number; excluded: LoadedEngine["excluded"] };
      if (m.sha256 === opts.fileSha256 && m.entity === opts.entity) {
        const engine = await openEngine({ dataDir, ...threads });
        const info = engine.entities().find((e) => e.name === opts.entity);
        if (info && info.rows === m.rows) return { engine, excluded: m.excluded, dataDir };
        await engine.close();
      }
    } catch (e) {
      opts.log?.(`cached engine data in ${dataDir} is unusable (${(e as Error).message}); loading again`);
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const engine = await openEngine({ dataDir, ...threads });
  const loaded = await loadFile(engine, opts.file, opts.entity, opts.key, opts);
  const rows = engine.entities().find((e) => e.name === opts.entity)?.rows ?? 0;
  writeFileSync(marker, JSON.stringify({ sha256: opts.fileSha256, entity: opts.entity, rows, excluded: loaded.excluded }, null, 2));
  return { engine, ...loaded, dataDir };
}
