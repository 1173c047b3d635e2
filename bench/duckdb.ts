/**
 * DuckDB as the peer: the same data, loaded into DuckDB (in-process, @duckdb/node-api) and queried with
 * the workload's SQL in the same run.
 *
 * Loading: DuckDB here has no Arrow reader (its arrow extension cannot be downloaded offline), so the
 * Arrow IPC file is converted to CSV once (only the key and the tags the workload uses: a column store
 * does not read the others) and read with DuckDB's parallel `read_csv` into a database file cached under
 * bench/.cache, keyed by the data file's hash and the column set. Later runs open the cached file; the
 * warm-up runs bring its blocks into DuckDB's buffer pool, so timed queries read memory.
 *
 * Types (bench/sql.ts relies on them): bool → BOOLEAN, enum → VARCHAR, int → its Arrow width
 * (TINYINT … UBIGINT), float and decimal → DOUBLE (the value SEL compares), time → TIMESTAMP (µs, UTC),
 * multi → VARCHAR[].
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import * as arrow from "apache-arrow";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { LassoError } from "../engine/errors.js";
import { quoteIdent, quoteString } from "./sql.js";
import { keyDigest, type KeyDigest } from "./keys.js";
import { readArrowFile } from "./data.js";

/** Separates list items inside one CSV field (a control character no tag value in the fixtures holds). */
const LIST_SEP = "\x1f";
/** Prefix of every list field, so an empty list ("L") differs from a null (\N). */
const LIST_MARK = "L";
const NULL_TEXT = "\\N";
/** Bumped when the CSV encoding or the table's types change: cached databases of older formats are rebuilt. */
const FORMAT_VERSION = 1;

export interface DuckPeerOptions {
  /** Arrow IPC file (file or stream format) holding the data. */
  file: string;
  /** sha256 of the file (names the cache entry). */
  fileSha256: string;
  /** Table name: the entity. */
  entity: string;
  key: string;
  /** Columns besides the key. */
  columns: readonly string[];
  cacheDir: string;
  /** DuckDB worker threads (default: cores). */
  threads?: number;
  /** DuckDB's memory_limit, e.g. "4GB" (default: DuckDB's, 80% of RAM); on a shared machine beside a large engine. */
  memoryLimit?: string;
  /** "file": query the cached database (warm buffer pool); "memory": copy it into an in-memory database first. */
  storage?: "file" | "memory";
  onProgress?: (phase: string, done: number, total: number) => void;
  log?: (line: string) => void;
}

export interface DuckLoadFigures {
  rows: number;
  /** Time to write the CSV from Arrow (our harness, not DuckDB). */
  csvMs: number;
  csvBytes: number;
  /** DuckDB's `CREATE TABLE … AS SELECT … FROM read_csv(…)`. */
  loadMs: number;
}

export interface SelectAnswer {
  count: number;
  ms: number;
  digest?: KeyDigest;
}

export class DuckPeer {
  private readonly idle: DuckDBConnection[] = [];
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly version: string,
    readonly table: string,
    readonly key: string,
    /** Set when this run built the cached database. */
    readonly load: DuckLoadFigures | undefined,
    readonly threads: number,
    readonly storage: "file" | "memory",
  ) {}

  static async open(opts: DuckPeerOptions): Promise<DuckPeer> {
    const log = opts.log ?? (() => {});
    mkdirSync(opts.cacheDir, { recursive: true });
    const cols = [...new Set(opts.columns)].filter((c) => c !== opts.key).sort();
    const colsHash = createHash("sha256").update(JSON.stringify([FORMAT_VERSION, opts.entity, opts.key, cols])).digest("hex").slice(0, 12);
    const prefix = `duckdb-${opts.fileSha256.slice(0, 16)}-`;
    let path = join(opts.cacheDir, `${prefix}${colsHash}.duckdb`);
    let load: DuckLoadFigures | undefined;
    if (!existsSync(path)) {
      // A cached database of the same file with more columns serves as well (e.g. for a workload subset).
      const wider = readdirSync(opts.cacheDir).filter((f) => f.startsWith(prefix) && f.endsWith(".duckdb.json")).find((f) => {
        try {
          const meta = JSON.parse(readFileSync(join(opts.cacheDir, f), "utf8")) as { format: number; entity: string; key: string; columns: string[] };
          return meta.format === FORMAT_VERSION && meta.entity === opts.entity && meta.key === opts.key && cols.every((c) => meta.columns.includes(c)) &&
            existsSync(join(opts.cacheDir, f.slice(0, -".json".length)));
        } catch {
          return false;
        }
      });
      if (wider) path = join(opts.cacheDir, wider.slice(0, -".json".length));
      else {
        log(`duckdb: building ${path} (${cols.length} columns)`);
        load = await buildDatabase(path, opts, cols);
        writeFileSync(`${path}.json`, JSON.stringify({ format: FORMAT_VERSION, entity: opts.entity, key: opts.key, columns: cols }));
      }
    }
    const threads = opts.threads ?? 0;
    const settings: Record<string, string> = {};
    if (threads > 0) settings["threads"] = String(threads);
    if (opts.memoryLimit) settings["memory_limit"] = opts.memoryLimit;
    const storage = opts.storage ?? "file";
    let instance: DuckDBInstance;
    if (storage === "memory") {
      instance = await DuckDBInstance.create(":memory:", settings);
      const c = await instance.connect();
      await c.run(`ATTACH ${quoteString(path)} AS cached (READ_ONLY)`);
      await c.run(`CREATE TABLE ${quoteIdent(opts.entity)} AS SELECT * FROM cached.${quoteIdent(opts.entity)}`);
      await c.run(`DETACH cached`);
      c.closeSync();
    } else {
      instance = await DuckDBInstance.create(path, { ...settings, access_mode: "READ_ONLY" });
    }
    const c = await instance.connect();
    const v = await c.runAndReadAll(`SELECT version(), current_setting('threads')`);
    const [version, actualThreads] = v.getRows()[0]!;
    c.closeSync();
    return new DuckPeer(instance, String(version), quoteIdent(opts.entity), quoteIdent(opts.key), load, Number(actualThreads), storage);
  }

  /** A connection for one query at a time (throughput mode runs several). */
  private async connection(): Promise<DuckDBConnection> {
    return this.idle.pop() ?? (await this.instance.connect());
  }

  async count(where: string, signal?: AbortSignal): Promise<number> {
    const c = await this.connection();
    const stop = () => c.interrupt();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      const r = await c.runAndReadAll(`SELECT count(*) FROM ${this.table} WHERE ${where}`);
      return Number(r.getRows()[0]![0] as bigint);
    } catch (e) {
      throw sqlError(e, where);
    } finally {
      signal?.removeEventListener("abort", stop);
      this.idle.push(c);
    }
  }

  /**
   * Streams the keys to JS chunk by chunk, as a Node program using DuckDB would receive them; with
   * `digest`, also folds every key into an order-independent digest (not done in timed runs).
   */
  async select(where: string, opts: { digest?: boolean; signal?: AbortSignal } = {}): Promise<{ count: number; digest?: KeyDigest }> {
    const c = await this.connection();
    const stop = () => c.interrupt();
    opts.signal?.addEventListener("abort", stop, { once: true });
    try {
      const result = await c.stream(`SELECT ${this.key} FROM ${this.table} WHERE ${where}`);
      const d = opts.digest ? keyDigest() : undefined;
      let count = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const keys = chunk.getColumnValues(0);
        count += keys.length;
        if (d) for (const k of keys) d.add(String(k));
      }
      return d ? { count, digest: d.value() } : { count };
    } catch (e) {
      throw sqlError(e, where);
    } finally {
      opts.signal?.removeEventListener("abort", stop);
      this.idle.push(c);
    }
  }

  close(): void {
    for (const c of this.idle) c.closeSync();
    this.idle.length = 0;
    this.instance.closeSync();
  }
}

function sqlError(e: unknown, where: string): Error {
  return new LassoError("internal", `DuckDB failed on WHERE ${where}: ${(e as Error).message}`);
}

interface ColumnEncoder {
  name: string;
  /** DuckDB type of the CSV column. */
  csvType: string;
  /** The expression that turns the CSV column into the table's column. */
  select: string;
  /** Appends row i's CSV text (without separators) for one batch's column. */
  encode(data: arrow.Data, i: number): string;
}

async function buildDatabase(path: string, opts: DuckPeerOptions, cols: readonly string[]): Promise<DuckLoadFigures> {
  const csv = `${path}.csv.tmp-${process.pid}`;
  const tmpDb = `${path}.tmp-${process.pid}`;
  rmSync(tmpDb, { force: true });
  rmSync(`${tmpDb}.wal`, { force: true });
  try {
    const t0 = performance.now();
    const { rows, encoders, bytes } = await writeCsv(opts.file, csv, opts.key, cols, opts.onProgress);
    const csvMs = performance.now() - t0;
    const instance = await DuckDBInstance.create(tmpDb, opts.threads ? { threads: String(opts.threads) } : {});
    const c = await instance.connect();
    const t1 = performance.now();
    const columns = `{${encoders.map((e) => `${quoteString(e.name)}: ${quoteString(e.csvType)}`).join(", ")}}`;
    opts.onProgress?.("duckdb read_csv", 0, rows);
    await c.run(
      `CREATE TABLE ${quoteIdent(opts.entity)} AS SELECT ${encoders.map((e) => `${e.select} AS ${quoteIdent(e.name)}`).join(", ")} ` +
        `FROM read_csv(${quoteString(csv)}, header = true, delim = ',', quote = '"', escape = '"', nullstr = ${quoteString(NULL_TEXT)}, ` +
        `allow_quoted_nulls = false, columns = ${columns}, parallel = true)`,
    );
    const loadMs = performance.now() - t1;
    await c.run("CHECKPOINT");
    c.closeSync();
    instance.closeSync();
    renameSync(tmpDb, path);
    return { rows, csvMs, csvBytes: bytes, loadMs };
  } finally {
    rmSync(csv, { force: true });
    rmSync(tmpDb, { force: true });
    rmSync(`${tmpDb}.wal`, { force: true });
  }
}

async function writeCsv(file: string, csvPath: string, key: string, cols: readonly string[],
  onProgress?: (phase: string, done: number, total: number) => void): Promise<{ rows: number; encoders: ColumnEncoder[]; bytes: number }> {
  mkdirSync(dirname(csvPath), { recursive: true });
  const { reader, close } = await readArrowFile(file);
  try {
    const schema = reader.schema;
    const wanted = [key, ...cols];
    const fields = wanted.map((name) => {
      const i = schema.fields.findIndex((f) => f.name === name);
      if (i < 0) throw new LassoError("bad_request", `DuckDB peer: column ${name} is not in ${file}`);
      return { index: i, field: schema.fields[i]! };
    });
    const encoders = fields.map(({ field }) => encoderFor(field));
    const out = createWriteStream(csvPath, { highWaterMark: 1 << 22 });
    let bytes = 0;
    const write = async (text: string) => {
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await once(out, "drain");
    };
    await write(encoders.map((e) => csvQuote(e.name)).join(",") + "\n");
    let rows = 0;
    const total = statSync(file).size;
    let seen = 0;
    for await (const batch of reader) {
      const datas = fields.map(({ index }) => batch.data.children[index]!);
      // Data read from IPC starts at offset 0; the encoders index the value buffers from there.
      for (const d of datas) if (d.offset !== 0) throw new LassoError("internal", "DuckDB peer: a sliced Arrow column");
      const n = batch.numRows;
      const encode = encoders.map((e) => e.encode);
      const width = encode.length;
      // Row by row into one string per batch: no per-cell arrays (this loop runs rows × columns times).
      let text = "";
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < width; c++) {
          const d = datas[c]!;
          text += (c === 0 ? "" : ",") + (d.nullCount > 0 && !d.getValid(i) ? NULL_TEXT : encode[c]!(d, i));
        }
        text += "\n";
        // Short strings die young: flushing every few thousand rows keeps the collector's work small.
        if ((i & 4095) === 4095) {
          await write(text);
          text = "";
        }
      }
      await write(text);
      rows += n;
      seen += batch.data.byteLength;
      onProgress?.("duckdb csv", Math.min(seen, total), total);
    }
    out.end();
    await once(out, "finish");
    return { rows, encoders, bytes };
  } finally {
    await close();
  }
}

function csvQuote(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

const INT_TYPES: Record<string, string> = {
  "8s": "TINYINT", "16s": "SMALLINT", "32s": "INTEGER", "64s": "BIGINT",
  "8u": "UTINYINT", "16u": "USMALLINT", "32u": "UINTEGER", "64u": "UBIGINT",
};

/** µs per unit of a 64-bit time value, as [multiply, divide]. */
const TIME_UNIT_US: Record<number, [number, number]> = {
  [arrow.TimeUnit.SECOND]: [1_000_000, 1],
  [arrow.TimeUnit.MILLISECOND]: [1000, 1],
  [arrow.TimeUnit.MICROSECOND]: [1, 1],
  [arrow.TimeUnit.NANOSECOND]: [1, 1000],
};

// 32-bit views of 64-bit value buffers, made once per column chunk: reading words avoids a BigInt per value.
const words = new WeakMap<arrow.Data, Int32Array>();
function wordsOf(d: arrow.Data): Int32Array {
  let w = words.get(d);
  if (!w) {
    const v = d.values as BigInt64Array;
    w = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
    words.set(d, w);
  }
  return w;
}

/**
 * Row i of a 64-bit time column in whole µs (floored), as decimal text. Exact: doubles while the value
 * and the product stay below 2^53 (every ms and s timestamp of the next centuries), BigInt otherwise.
 */
function timeUs(d: arrow.Data, i: number, mul: number, div: number): string {
  const w = wordsOf(d);
  const hi = w[2 * i + 1]!;
  if (hi > -(1 << 20) && hi < 1 << 20) {
    const v = hi * 4294967296 + (w[2 * i]! >>> 0);
    const us = div === 1 ? v * mul : Math.floor(v / div);
    if (Number.isSafeInteger(us)) return String(us);
  }
  const big = (d.values as BigInt64Array)[i]! * BigInt(mul);
  const q = big / BigInt(div);
  return String(big % BigInt(div) !== 0n && big < 0n ? q - 1n : q);
}

function encoderFor(field: arrow.Field): ColumnEncoder {
  const name = field.name;
  const t = field.type as arrow.DataType;
  const col = quoteIdent(name);
  const plain = (csvType: string, encode: ColumnEncoder["encode"]): ColumnEncoder => ({ name, csvType, select: col, encode });
  if (arrow.DataType.isBool(t)) return plain("BOOLEAN", (d, i) => ((d.values[i >> 3]! >> (i & 7)) & 1 ? "true" : "false"));
  if (arrow.DataType.isInt(t)) {
    const it = t as arrow.Int;
    const type = INT_TYPES[`${it.bitWidth}${it.isSigned ? "s" : "u"}`]!;
    if (it.bitWidth === 64) return plain(type, (d, i) => String((d.values as BigInt64Array | BigUint64Array)[i]!));
    return plain(type, (d, i) => String(d.values[i]));
  }
  if (arrow.DataType.isFloat(t)) return plain("DOUBLE", (d, i) => String(d.values[i]));
  if (arrow.DataType.isDecimal(t)) {
    const dt = t as arrow.Decimal;
    const per = dt.bitWidth / 32;
    const scale = 10 ** dt.scale;
    // As the engine reads it: the unscaled integer as a double, divided by 10^scale.
    return plain("DOUBLE", (d, i) => {
      const w = d.values as Uint32Array;
      let v = 0n;
      for (let k = per - 1; k >= 0; k--) v = (v << 32n) | BigInt(w[i * per + k]!);
      return String(Number(BigInt.asIntN(dt.bitWidth, v)) / scale);
    });
  }
  if (arrow.DataType.isDate(t) || arrow.DataType.isTimestamp(t)) {
    const select = `make_timestamp(${col})`;
    if (arrow.DataType.isDate(t) && (t as arrow.Date_).unit === arrow.DateUnit.DAY) {
      return { name, csvType: "BIGINT", select, encode: (d, i) => String((d.values as Int32Array)[i]! * 86_400_000_000) };
    }
    if (arrow.DataType.isDate(t)) return { name, csvType: "BIGINT", select, encode: (d, i) => timeUs(d, i, 1000, 1) };
    const [mul, div] = TIME_UNIT_US[(t as arrow.Timestamp).unit]!;
    return { name, csvType: "BIGINT", select, encode: (d, i) => timeUs(d, i, mul, div) };
  }
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t) || arrow.DataType.isDictionary(t)) {
    if (arrow.DataType.isDictionary(t) && !arrow.DataType.isUtf8(t.dictionary) && !arrow.DataType.isLargeUtf8(t.dictionary)) {
      throw new LassoError("bad_request", `DuckDB peer: column ${name} has unsupported type ${String(t)}`);
    }
    return plain("VARCHAR", (d, i) => (d.dictionary ? quotedDictionary(d)[Number(d.values[i])]! : csvQuote(stringAt(d, i))));
  }
  if (arrow.DataType.isList(t)) {
    return {
      name, csvType: "VARCHAR",
      select: `CASE WHEN ${col} IS NULL THEN NULL WHEN ${col} = '${LIST_MARK}' THEN []::VARCHAR[] ` +
        `ELSE string_split(${col}[${LIST_MARK.length + 1}:], chr(${LIST_SEP.charCodeAt(0)})) END`,
      encode: (d, i) => {
        const offsets = d.valueOffsets as Int32Array;
        const child = d.children[0]!;
        let text = LIST_MARK;
        let items = 0;
        for (let k = offsets[i]!; k < offsets[i + 1]!; k++) {
          if (!child.getValid(k)) continue; // a null item is no value: HAS never matches it
          const s = stringAt(child, k);
          if (s.includes(LIST_SEP)) throw new LassoError("bad_request", `DuckDB peer: a value of ${name} contains U+001F`);
          text += (items++ > 0 ? LIST_SEP : "") + s;
        }
        return csvQuote(text);
      },
    };
  }
  throw new LassoError("bad_request", `DuckDB peer: column ${name} has unsupported type ${String(t)}`);
}

// Dictionaries decoded once each (a dictionary Vector is shared by every batch of an IPC file).
const decoded = new WeakMap<object, string[]>();

const quoted = new WeakMap<object, string[]>();
function quotedDictionary(d: arrow.Data): string[] {
  let q = quoted.get(d.dictionary!);
  if (!q) {
    q = Array.from(d.dictionary!, (v) => csvQuote(String(v)));
    quoted.set(d.dictionary!, q);
  }
  return q;
}

/** Row i of a Utf8 / LargeUtf8 / Dictionary<Utf8> column (not null). */
function stringAt(d: arrow.Data, i: number): string {
  if (d.dictionary) {
    let strings = decoded.get(d.dictionary);
    if (!strings) {
      strings = Array.from(d.dictionary, (v) => String(v));
      decoded.set(d.dictionary, strings);
    }
    return strings[Number(d.values[i])]!;
  }
  const offsets = d.valueOffsets as Int32Array | BigInt64Array;
  const bytes = d.values as Uint8Array;
  const from = Number(offsets[i]!);
  const to = Number(offsets[i + 1]!);
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString("utf8");
}
