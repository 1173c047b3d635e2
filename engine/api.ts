/**
 * The engine's public surface, as the server and the CLI use it. Everything here is validated input:
 * the server decodes and checks shapes, the engine checks meaning (SEL errors, unknown entity, ...).
 * All failures are `LassoError`s (engine/errors.ts).
 */
import type { TagType } from "./expr/ast.js";
import type { TagCatalog } from "./catalog/index.js";

/** An expression in text form (string) or JSON form (object / boolean), as a client sent it. */
export type ExprInput = string | object | boolean;

/** How an entity's external keys are typed; select answers keep this type (API.md). */
export type KeyType = "utf8" | "int32" | "int64" | "uint32" | "uint64";

/**
 * One external key in its JSON encoding: Utf8 → string, Int32/UInt32 → number,
 * Int64/UInt64 → decimal string (exact).
 */
export type JsonKey = string | number;

export interface QueryRequest {
  /** May be omitted when the store has exactly one entity. */
  entity?: string;
  expr: ExprInput;
  /** ISO 8601 / RFC 3339 instant that pins `now` (WITHIN, @segments). Default: the time of the request. */
  asOf?: string;
  /** Include `draft` / `pending_review` tags (catalog lifecycle). */
  includeDrafts?: boolean;
  /** Stops the query between morsels; the promise / iterator then rejects with code `cancelled`. */
  signal?: AbortSignal;
  /** Milliseconds; past it the query fails with code `timeout`. */
  timeoutMs?: number;
}

export interface CountResult {
  count: number;
  /** Existing entities of the entity type. */
  total: number;
  tookMs: number;
  /** E.g. deprecated tags used. */
  warnings?: string[];
}

export interface SelectRequest extends QueryRequest {
  /** Most keys to return (default: all). `count` is always the full number of matches. */
  limit?: number;
  /** Most keys per chunk (default 65,536). */
  chunk?: number;
}

/** Text forms of a key list: JSON array items (comma-separated), NDJSON / raw lines, RFC 4180 CSV rows. */
export type KeyTextFormat = "json" | "ndjson" | "csv" | "lines";

/**
 * One chunk of a select answer, encoded on demand straight to the bytes a client reads (no JS value per
 * key on the way): the server's fast path. `keys()` gives the JSON values for callers that want them.
 */
export interface KeyChunk {
  readonly length: number;
  readonly keyType: KeyType;
  /** The keys in their JSON encoding (64-bit keys as decimal strings). */
  keys(): JsonKey[];
  /**
   * UTF-8 text: "json" → the array items joined by commas, with a leading comma unless `first`;
   * "ndjson" → one JSON key per line; "csv" → one RFC 4180 field per CRLF-ended line; "lines" → raw keys.
   */
  text(format: KeyTextFormat, first: boolean): Uint8Array;
  /**
   * The msgpack encoding of the array of keys (JSON encoding: 64-bit keys as decimal strings), written
   * after `prefix` in the same buffer (e.g. the start of the frame that carries it: no second copy).
   */
  msgpack(prefix?: Uint8Array): Uint8Array;
  /** Native values: utf8 → strings; int32/uint32 → one word a key; int64/uint64 → (lo, hi) words a key. */
  native(): Int32Array | string[];
}

/**
 * A running select. `count`/`total` are known before the first key; `chunks` (JSON values) and `batches`
 * (encodable chunks) yield keys in row order — use one of them — each chunk produced only when the
 * consumer asks for it (backpressure). Breaking out of the loop or calling `close()` releases the store
 * version at once.
 */
export interface Selection {
  readonly entity: string;
  readonly keyType: KeyType;
  readonly count: number;
  readonly total: number;
  readonly warnings?: string[];
  chunks(): AsyncIterableIterator<JsonKey[]>;
  batches(): AsyncIterableIterator<KeyChunk>;
  close(): void;
}

export interface EntityInfo {
  name: string;
  keyType: KeyType;
  /** Existing entities. */
  rows: number;
  tags: number;
  version: number;
}

export interface TagSummary {
  name: string;
  type: TagType;
  /** Entities that have a value (not null). */
  rowsWithValue: number;
  /** Enums (and multi): distinct values with their entity counts, most frequent first, up to a limit. */
  values?: { value: string; count: number }[];
  /** True when `values` was cut at the limit. */
  valuesTruncated?: boolean;
}

export interface LoadRequest {
  entity: string;
  /** The entity-id column. */
  key: string;
  /**
   * Arrow IPC stream or file bytes, as they arrive (streamed, never buffered whole in JS). The load is
   * done with a chunk before it asks for the next, so a producer may reuse one buffer (`fileChunks`).
   */
  body: AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
  /** Who loads (recorded as owner of tags the load creates). */
  actor?: string;
  /** Progress callback: rows applied so far. */
  onProgress?: (rows: number) => void;
}

export interface LoadResult {
  entity: string;
  rows: number;
  inserted: number;
  updated: number;
  newTags: string[];
  version: number;
  tookMs: number;
}

export interface DeleteResult {
  entity: string;
  deleted: number;
  /** Keys that matched no existing entity. */
  missing: number;
  version: number;
  tookMs: number;
}

export interface SegmentDef {
  name: string;
  entity: string;
  /** Canonical text form of the expression. */
  expr: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

export interface StoreStats {
  entities: number;
  rows: number;
  tags: number;
  /** Bytes of tag data held in Wasm memory. */
  bytes: number;
  /** Shard memories over all entities (one WebAssembly.Memory each, at most 4 GiB). */
  shards: number;
  /** Their size: what the tag data, free space inside them and their growth reserve take from RAM. */
  wasmMemoryBytes: number;
  queriesInFlight: number;
}

export interface Engine {
  /** The tag catalog (tree, lifecycle, users); queries pass its lifecycle gate. */
  readonly tagCatalog: TagCatalog;
  entities(): EntityInfo[];
  tags(entity: string, opts?: { valuesLimit?: number }): TagSummary[];
  count(req: QueryRequest): Promise<CountResult>;
  select(req: SelectRequest): Promise<Selection>;
  explain(req: QueryRequest): Promise<string>;
  load(req: LoadRequest): Promise<LoadResult>;
  deleteRows(entity: string, keys: JsonKey[]): Promise<DeleteResult>;
  putSegment(def: { name: string; entity?: string; expr: ExprInput; description?: string }): Promise<{ created: boolean; segment: SegmentDef }>;
  getSegment(name: string): SegmentDef | undefined;
  listSegments(): SegmentDef[];
  /** Refused with `segment_in_use` (naming the referrers) while another segment refers to it. */
  deleteSegment(name: string): Promise<void>;
  stats(): StoreStats;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Data directory; created when missing. Omit for an in-memory store (tests). */
  dataDir?: string;
  /** Worker threads for large queries (default: cores). 0 runs everything on the calling thread. */
  threads?: number;
  /** Rows per shard (one WebAssembly.Memory each); a multiple of 65,536. Tests force it small. */
  shardRows?: number;
  /** Row·kernel steps above which a count is split across workers (default ≈ 1 ms of work); tests set 0. */
  splitThreshold?: number;
  /** Milliseconds between writes of buffered tag usage counts (default 5000). */
  usageFlushMs?: number;
  /** Log sink (structured); default silent. */
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}
