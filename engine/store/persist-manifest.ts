/**
 * The MANIFEST: the single source of truth of a data directory. It names every file of every entity's
 * current version; a file it does not name is garbage (an interrupted load's output) and is removed on
 * open. It is replaced whole, atomically (write MANIFEST.tmp, fsync, rename, fsync the directory), so
 * a reader sees either the previous version or the next one, never a mix.
 *
 *   {
 *     "format": 1, "nextEntity": 2,
 *     "entities": [{
 *       "name": "user", "dir": "entities/0-user", "keyType": "int64", "shardRows": 4194304,
 *       "version": 7, "rows": 1000000, "total": 999000, "nextTag": 12,
 *       "keys":  [{ "file": "keys.r0.v1.arrow", "size": …, "body": …, "from": 0, "rows": 1000000 }],
 *       "tags":  [{ "id": 3, "name": "城市", "type": "enum", "form": "codes", "codeBytes": 1,
 *                   "dict": [{ "file": "t3.dict.c0.v1.arrow", "size": …, "body": …, "from": 0, "count": 40, "bytes": 312 }] }],
 *       "shards": [{ "rows": 1000000, "exists": { "file": "exists.s0.v7.arrow", "size": …, "body": … },
 *                    "chunks": [{ "tag": 3, "file": "t3.s0.v1.arrow", "size": …, "body": …, "capacity": 1048576 }] }]
 *     }]
 *   }
 *
 * File names say what they hold and which version wrote them (`.v<version>.arrow`); files are never
 * modified after the manifest names them.
 */
import type { KeyType } from "../api.js";
import type { TagType } from "../expr/ast.js";
import { LassoError } from "../errors.js";
import type { TimeUnit, ValueForm } from "./tags.js";

export const MANIFEST = "MANIFEST";
export const SEGMENTS = "segments.json";
export const ENTITIES = "entities";
export const LOCK = "LOCK";
export const FORMAT = 1;

/** A file of the data directory and how to read it: its total size and where its body starts. */
export interface FileRecord {
  file: string;
  size: number;
  body: number;
}

export interface KeyFileRecord extends FileRecord {
  /** First row of the run. */
  from: number;
  rows: number;
  /** utf8 keys: UTF-8 bytes of the run. */
  bytes?: number;
}

export interface DictFileRecord extends FileRecord {
  /** First code of the run. */
  from: number;
  count: number;
  bytes: number;
}

export interface TagRecord {
  /** Stable per entity; names files (tag names may hold any character). */
  id: number;
  name: string;
  type: TagType;
  form: ValueForm;
  codeBytes?: 1 | 2 | 4;
  unit?: TimeUnit;
  /** int tag with UInt64 values: stored value − 2^63 (tags.ts). */
  unsigned?: boolean;
  dict?: DictFileRecord[];
}

export interface ChunkRecord extends FileRecord {
  tag: number;
  capacity: number;
  /** list form: codes used. */
  codesUsed?: number;
  /** bool form: the chunk was in container form (engine/store/containers.ts); the file holds it dense. */
  sparse?: true;
}

export interface ShardRecord {
  rows: number;
  exists: FileRecord;
  chunks: ChunkRecord[];
}

export interface EntityRecord {
  name: string;
  /** Directory of the entity's files, relative to the data directory. */
  dir: string;
  keyType: KeyType;
  shardRows: number;
  version: number;
  rows: number;
  total: number;
  nextTag: number;
  keys: KeyFileRecord[];
  tags: TagRecord[];
  shards: ShardRecord[];
}

export interface Manifest {
  format: typeof FORMAT;
  nextEntity: number;
  entities: EntityRecord[];
}

export function emptyManifest(): Manifest {
  return { format: FORMAT, nextEntity: 0, entities: [] };
}

/** Every file an entity's record names (relative to its directory). */
export function filesOf(e: EntityRecord): Set<string> {
  const out = new Set<string>();
  for (const k of e.keys) out.add(k.file);
  for (const t of e.tags) for (const d of t.dict ?? []) out.add(d.file);
  for (const s of e.shards) {
    out.add(s.exists.file);
    for (const c of s.chunks) out.add(c.file);
  }
  return out;
}

/** Files written by the store: `<what>.v<version>.arrow`. Anything else in an entity directory is left alone. */
export const STORE_FILE = /^[a-z0-9.]+\.v\d+\.arrow$/;
/** "<number>-<entity name>" (entity names: catalog/validate.ts entityName). */
export const ENTITY_DIR = /^\d+-[\p{L}\p{N}_.-]{1,128}$/u;

const KEY_TYPES: readonly KeyType[] = ["utf8", "int32", "int64", "uint32", "uint64"];
const FORMS: readonly ValueForm[] = ["bool", "i32", "i64", "f32", "f64", "codes", "list"];
const TYPES: readonly TagType[] = ["bool", "enum", "int", "float", "time", "multi"];

/**
 * Parses and checks a manifest. The checks are of shape and of the invariants the reader relies on
 * (so a damaged manifest fails here with its path, not later as a wild pointer).
 */
export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw damaged(where, `not JSON (${(e as Error).message})`);
  }
  const m = raw as Manifest;
  if (typeof m !== "object" || m === null) throw damaged(where, "not an object");
  if (m.format !== FORMAT) {
    throw new LassoError("io_error", `${where} has format ${JSON.stringify(m.format)}; this Lasso reads format ${FORMAT} (upgrade Lasso or restore a matching backup)`);
  }
  if (!isCount(m.nextEntity) || !Array.isArray(m.entities)) throw damaged(where, "missing nextEntity or entities");
  const names = new Set<string>();
  m.entities.forEach((e, i) => {
    const at = `${where}: entities[${i}]`;
    if (typeof e.name !== "string" || names.has(e.name)) throw damaged(at, "bad or repeated name");
    names.add(e.name);
    if (typeof e.dir !== "string" || !ENTITY_DIR.test(e.dir.slice(ENTITIES.length + 1)) || !e.dir.startsWith(`${ENTITIES}/`)) throw damaged(at, "bad dir");
    if (!KEY_TYPES.includes(e.keyType)) throw damaged(at, "bad keyType");
    if (!isCount(e.shardRows) || e.shardRows === 0 || e.shardRows % 65_536 !== 0) throw damaged(at, "bad shardRows");
    for (const k of ["version", "rows", "total", "nextTag"] as const) if (!isCount(e[k])) throw damaged(at, `bad ${k}`);
    if (!Array.isArray(e.keys) || !Array.isArray(e.tags) || !Array.isArray(e.shards)) throw damaged(at, "missing keys, tags or shards");
    let row = 0;
    for (const k of e.keys) {
      checkFile(k, at);
      if (k.from !== row || !isCount(k.rows)) throw damaged(at, `key file ${k.file} does not continue at row ${row}`);
      if (e.keyType === "utf8" && !isCount(k.bytes)) throw damaged(at, `key file ${k.file} lacks bytes`);
      row += k.rows;
    }
    if (row !== e.rows) throw damaged(at, `key files hold ${row} rows, the entity ${e.rows}`);
    if (Math.ceil(e.rows / e.shardRows) !== e.shards.length) throw damaged(at, `${e.shards.length} shards for ${e.rows} rows`);
    const tagIds = new Map<number, TagRecord>();
    for (const t of e.tags) {
      if (!isCount(t.id) || t.id >= e.nextTag || tagIds.has(t.id) || typeof t.name !== "string") throw damaged(at, `bad tag ${JSON.stringify(t.name)}`);
      if (!TYPES.includes(t.type) || !FORMS.includes(t.form)) throw damaged(at, `tag ${t.name}: bad type or form`);
      if ((t.form === "codes" || t.form === "list") !== Array.isArray(t.dict)) throw damaged(at, `tag ${t.name}: dictionary files`);
      if ((t.form === "codes" || t.form === "list") && ![1, 2, 4].includes(t.codeBytes!)) throw damaged(at, `tag ${t.name}: bad codeBytes`);
      let code = 0;
      for (const d of t.dict ?? []) {
        checkFile(d, at);
        if (d.from !== code || !isCount(d.count) || !isCount(d.bytes)) throw damaged(at, `tag ${t.name}: dictionary file ${d.file}`);
        code += d.count;
      }
      tagIds.set(t.id, t);
    }
    e.shards.forEach((s, si) => {
      const rowsHere = Math.min(e.shardRows, e.rows - si * e.shardRows);
      if (s.rows !== rowsHere) throw damaged(at, `shard ${si} has ${s.rows} rows, expected ${rowsHere}`);
      checkFile(s.exists, at);
      const seen = new Set<number>();
      for (const c of s.chunks) {
        checkFile(c, at);
        const t = tagIds.get(c.tag);
        if (!t || seen.has(c.tag)) throw damaged(at, `shard ${si}: chunk ${c.file} of unknown or repeated tag`);
        seen.add(c.tag);
        if (!isCount(c.capacity) || c.capacity === 0 || c.capacity % 65_536 !== 0 || c.capacity > e.shardRows) {
          throw damaged(at, `chunk ${c.file}: bad capacity`);
        }
        if (t.form === "list" && !isCount(c.codesUsed)) throw damaged(at, `chunk ${c.file}: bad codesUsed`);
      }
    });
  });
  return m;
}

function checkFile(f: FileRecord, at: string): void {
  if (typeof f !== "object" || f === null || typeof f.file !== "string" || !STORE_FILE.test(f.file) || !isCount(f.size) || !isCount(f.body)) {
    throw damaged(at, `bad file entry ${JSON.stringify(f)}`);
  }
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

export function damaged(where: string, what: string): LassoError {
  return new LassoError("io_error", `the data directory is damaged: ${where}: ${what} (restore it from a backup)`);
}
