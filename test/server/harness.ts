/**
 * Test harness for the server: a real engine (in memory) behind a real uWS server on 127.0.0.1:0,
 * seeded data sets with their oracle rows, and small HTTP / WebSocket clients.
 *
 * `Instrumented` wraps the real engine without changing any answer: it counts the chunks the engine
 * produced and the selections closed (to prove backpressure and cancellation from the outside), and
 * can hold queries at a gate (to make "a query is running" deterministic for overload and timeout tests).
 */
import {
  Bool,
  Field,
  Float64,
  Int32,
  List,
  Table,
  TimestampMillisecond,
  Utf8,
  tableToIPC,
  vectorFromArray,
  type Vector,
} from "apache-arrow";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unpack, pack } from "msgpackr";
import WebSocket from "ws";
import type {
  CountResult,
  Engine,
  JsonKey,
  KeyType,
  LoadRequest,
  QueryRequest,
  SelectRequest,
  Selection,
} from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { format, toJson } from "../../engine/expr/index.js";
import type { Expr } from "../../engine/expr/ast.js";
import { createServer, type LassoServer, type ServerOptions } from "../../server/app.js";
import { Rng } from "../../fixtures/prng.js";
import { evaluate, type OracleRow, type OracleSchema } from "../oracle/evaluate.js";
import { tableToRows } from "../oracle/rows.js";

// ---------------------------------------------------------------------------------------------------
// The engine, instrumented

export class Instrumented implements Engine {
  /** Chunks the engine yielded to the server, over all selections. */
  pulled = 0;
  /** Selections closed (released their store version). */
  closed = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** Queries waiting at the gate. */
  waiting = 0;

  constructor(readonly real: Engine) {}

  get tagCatalog(): Engine["tagCatalog"] {
    return this.real.tagCatalog;
  }

  /** From now on count/select wait until `release()` (or until their signal aborts). */
  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  private async atGate(req: QueryRequest): Promise<void> {
    const gate = this.gate;
    if (!gate) return;
    this.waiting++;
    try {
      await new Promise<void>((resolve) => {
        void gate.then(resolve);
        req.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      this.waiting--;
    }
  }

  entities() {
    return this.real.entities();
  }
  tags(entity: string, opts?: { valuesLimit?: number }) {
    return this.real.tags(entity, opts);
  }
  async count(req: QueryRequest): Promise<CountResult> {
    await this.atGate(req);
    return this.real.count(req);
  }
  async select(req: SelectRequest): Promise<Selection> {
    await this.atGate(req);
    const sel = await this.real.select(req);
    const self = this;
    let closed = false;
    // every chunk pulled from the engine is counted; the selection is closed when the stream ends
    async function* counted<T>(it: AsyncIterable<T>): AsyncGenerator<T> {
      try {
        for await (const c of it) {
          self.pulled++;
          yield c;
        }
      } finally {
        close();
      }
    }
    const close = () => {
      if (!closed) {
        closed = true;
        self.closed++;
      }
      sel.close();
    };
    return {
      entity: sel.entity,
      keyType: sel.keyType,
      count: sel.count,
      total: sel.total,
      ...(sel.warnings ? { warnings: sel.warnings } : {}),
      chunks: () => counted(sel.chunks()),
      batches: () => counted(sel.batches()),
      close,
    };
  }
  explain(req: QueryRequest) {
    return this.real.explain(req);
  }
  load(req: LoadRequest) {
    return this.real.load(req);
  }
  deleteRows(entity: string, keys: JsonKey[]) {
    return this.real.deleteRows(entity, keys);
  }
  putSegment(def: Parameters<Engine["putSegment"]>[0]) {
    return this.real.putSegment(def);
  }
  getSegment(name: string) {
    return this.real.getSegment(name);
  }
  listSegments() {
    return this.real.listSegments();
  }
  deleteSegment(name: string) {
    return this.real.deleteSegment(name);
  }
  stats() {
    return this.real.stats();
  }
  close() {
    return this.real.close();
  }
}

export interface Harness {
  engine: Instrumented;
  server: LassoServer;
  base: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<Harness> {
  const engine = new Instrumented(await openEngine({ threads: 0 }));
  const server = await createServer(engine, { port: 0, ...opts });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    engine,
    server,
    base,
    wsUrl: `ws://127.0.0.1:${server.port}/v1/ws`,
    async close() {
      await server.close(2000);
      await engine.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Data sets

/** The instant the data's times are relative to; queries pin `asOf` to it. */
export const AS_OF = "2025-06-01T00:00:00Z";
export const AS_OF_NS = BigInt(Date.parse(AS_OF)) * 1_000_000n;
const DAY_MS = 86_400_000;

export const CITIES = ["上海", "北京", "广州", "深圳", "杭州"];
export const INTERESTS = ["sports", "music", "travel", "games", "food"];

/** Keys of each type, some chosen to trip encoders (CSV specials, > 2^53, negative, near the top). */
export function keyAt(keyType: KeyType, i: number): string | number | bigint {
  switch (keyType) {
    case "utf8":
      return i % 97 === 5 ? `u${i},"q"\n` : i % 89 === 3 ? `ü-${i} 上海` : `u${i}`;
    case "int32":
      return i * 7 - 50_000;
    case "uint32":
      return 4_000_000_000 + i;
    case "int64":
      return (1n << 60n) + BigInt(i) * 3n - (i % 2 === 0 ? 0n : 1n << 61n);
    case "uint64":
      return (1n << 63n) + BigInt(i) * 11n;
  }
}

function keyVector(keyType: KeyType, n: number): Vector {
  const keys = Array.from({ length: n }, (_, i) => keyAt(keyType, i));
  switch (keyType) {
    case "utf8":
      return vectorFromArray(keys as string[], new Utf8());
    case "int32":
      return vectorFromArray(Int32Array.from(keys as number[]));
    case "uint32":
      return vectorFromArray(Uint32Array.from(keys as number[]));
    case "int64":
      return vectorFromArray(BigInt64Array.from(keys as bigint[]));
    case "uint64":
      return vectorFromArray(BigUint64Array.from(keys as bigint[]));
  }
}

/** `n` users with seeded tags of every common SEL type; key column `user_id`. */
export function usersTable(n: number, seed: number, keyType: KeyType = "utf8"): Table {
  const r = new Rng(seed, "server-test");
  const age: (number | null)[] = [];
  const city: (string | null)[] = [];
  const churned: boolean[] = [];
  const spend: (number | null)[] = [];
  const interests: (string[] | null)[] = [];
  const lastOrder: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    age.push(r.chance(0.1) ? null : r.between(18, 80));
    city.push(r.chance(0.05) ? null : CITIES[r.below(CITIES.length)]!);
    churned.push(r.chance(0.3));
    spend.push(r.chance(0.2) ? null : Math.round(r.exponential(300) * 100) / 100);
    interests.push(r.chance(0.1) ? null : INTERESTS.filter(() => r.chance(0.3)));
    lastOrder.push(r.chance(0.15) ? null : Date.parse(AS_OF) - r.below(120 * DAY_MS));
  }
  return new Table({
    user_id: keyVector(keyType, n),
    age: vectorFromArray(age, new Int32()),
    city: vectorFromArray(city, new Utf8()),
    churned: vectorFromArray(churned, new Bool()),
    spend: vectorFromArray(spend, new Float64()),
    interests: vectorFromArray(interests, new List(new Field("item", new Utf8(), true))),
    last_order_at: vectorFromArray(lastOrder, new TimestampMillisecond()),
  });
}

export function ipcStreamBytes(t: Table): Uint8Array {
  return tableToIPC(t, "stream");
}
export function ipcFileBytes(t: Table): Uint8Array {
  return tableToIPC(t, "file");
}

export interface DataSet {
  table: Table;
  rows: OracleRow[];
  schema: OracleSchema;
  keyType: KeyType;
}

export function dataSet(n: number, seed: number, keyType: KeyType = "utf8"): DataSet {
  const table = usersTable(n, seed, keyType);
  return { table, keyType, ...tableToRows(table, "user_id") };
}

/** The JSON encoding of an oracle key (API.md): 64-bit as decimal strings, 32-bit as numbers. */
export function jsonKey(keyType: KeyType, key: string | bigint): JsonKey {
  if (keyType === "utf8") return key as string;
  if (keyType === "int32" || keyType === "uint32") return Number(key);
  return String(key);
}

/** What the oracle says a select returns: keys in JSON encoding, in row order. */
export function oracleKeys(ds: DataSet, expr: Expr, segments?: Record<string, Expr>): JsonKey[] {
  return evaluate(expr, ds.rows, ds.schema, { now: AS_OF_NS, ...(segments ? { segments } : {}) }).map((i) => jsonKey(ds.keyType, ds.rows[i]!.key));
}

export { format as exprText, toJson as exprJson };

/** Sorted copies, for order-insensitive comparison of key sets. */
export function sortedKeys(keys: readonly JsonKey[]): string[] {
  return keys.map((k) => `${typeof k}:${k}`).sort();
}

// ---------------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // `any`: a test convenience; bodies are checked field by field.
  json(): any;
}

export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === "string" || body instanceof Uint8Array) init.body = body;
    else init.body = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** POSTs `bytes` in pieces of `piece` bytes: a real streamed (chunked) upload, not one buffer. */
export async function postStreamed(url: string, bytes: Uint8Array, type: string, piece = 777): Promise<Reply> {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let at = 0; at < bytes.length; at += piece) c.enqueue(bytes.subarray(at, at + piece));
      c.close();
    },
  });
  const res = await fetch(url, { method: "POST", headers: { "content-type": type }, body, duplex: "half" } as RequestInit);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** `lasso <args>` in a child process, from the sources (vite-node runs cli-runner.ts). */
export function lassoChild(args: string[]): ChildProcess {
  const runner = fileURLToPath(new URL("./cli-runner.ts", import.meta.url));
  return spawn(process.execPath, [join(ROOT, "node_modules/vite-node/vite-node.mjs"), runner, "--", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs `lasso <args>` to its end: exit code, stdout and stderr. */
export function runLasso(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = lassoChild(args);
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

export async function load(base: string, entity: string, key: string, bytes: Uint8Array, type = "application/vnd.apache.arrow.stream"): Promise<Reply> {
  return http(base, "POST", `/v1/entities/${encodeURIComponent(entity)}/load?key=${encodeURIComponent(key)}`, bytes, { "content-type": type });
}

/** Expects an API.md error reply with this status and code; returns the error object. */
export function expectError(r: Reply, status: number, code: string): { code: string; message: string; at?: unknown; path?: string } {
  if (r.status !== status) throw new Error(`expected ${status} ${code}, got ${r.status}: ${r.text}`);
  const body = r.json() as { error?: { code: string; message: string } };
  if (!body.error || body.error.code !== code) throw new Error(`expected code ${code}, got ${r.text}`);
  if (typeof body.error.message !== "string" || body.error.message.length === 0) throw new Error(`error without a message: ${r.text}`);
  return body.error;
}

// ---------------------------------------------------------------------------------------------------
// WebSocket

// `any`: frames are decoded msgpack, checked field by field.
export type FrameValue = any;

/** A WebSocket client that queues decoded frames and lets a test wait for the one it expects. */
export class WsClient {
  readonly frames: FrameValue[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | undefined;
  private closedP: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      this.frames.push(isBinary ? unpack(data) : { text: data.toString() });
      this.notify();
    });
    this.closedP = new Promise((resolve) =>
      ws.on("close", (code) => {
        this.closeCode = code;
        this.notify();
        resolve(code);
      }),
    );
    ws.on("error", () => {});
  }

  static async open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    const c = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return c;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(value: unknown): void {
    this.ws.send(pack(value));
  }
  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Waits for the first queued frame matching `pred`, removes it from the queue and returns it. */
  async next(pred: (f: FrameValue) => boolean = () => true): Promise<FrameValue> {
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) while waiting for a frame`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** All frames of request `id` up to and including its terminal frame. */
  async collect(id: unknown): Promise<FrameValue[]> {
    const out: FrameValue[] = [];
    for (;;) {
      const f = await this.next((x) => x.id === id);
      out.push(f);
      if (f.type === "done" || f.type === "error" || f.type === "cancelled") return out;
    }
  }

  closed(): Promise<number> {
    return this.closedP;
  }

  async close(): Promise<void> {
    if (this.closeCode !== undefined) return;
    this.ws.close();
    await this.closedP;
  }
}

/** Polls `read` until it returns the same value `stableFor` times in a row (state has settled). */
export async function settle<T>(read: () => T, stableFor = 5, everyMs = 50): Promise<T> {
  let last = read();
  let same = 0;
  while (same < stableFor) {
    await new Promise((r) => setTimeout(r, everyMs));
    const now = read();
    if (now === last) same++;
    else {
      same = 0;
      last = now;
    }
  }
  return last;
}

/** Polls until `cond` holds (or fails the test after `tries`). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, tries = 200, everyMs = 25): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** A metric's value from /metrics text. */
export async function metric(base: string, line: string): Promise<number> {
  const text = await (await fetch(base + "/metrics")).text();
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? Number.NaN : Number(found.slice(line.length + 1));
}

/** A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes, no bare quote / CR / LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r") {
        if (text[i] === '"' || text[i] === "\n") throw new Error(`bare ${JSON.stringify(text[i])} in an unquoted field at ${i}`);
        field += text[i++];
      }
    }
    row.push(field);
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text.slice(i, i + 2) !== "\r\n") throw new Error(`expected CRLF at ${i}`);
    i += 2;
    rows.push(row);
    row = [];
  }
  return rows;
}

/**
 * A `lasso serve`/`start` child's stderr: every line into `log`, and its "listening" line's URL (rejected
 * when the child exits first, with the log so far).
 */
export function listeningUrl(child: ChildProcess, log: string[], exited: Promise<number | null>): Promise<string> {
  let buf = "";
  return new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        log.push(line);
        try {
          const ev = JSON.parse(line) as { msg?: string; url?: string };
          if (ev.msg === "listening" && ev.url) resolve(ev.url);
        } catch {
          // not a JSON log line (e.g. a warning from a dependency)
        }
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening:\n${log.join("\n")}`)));
  });
}
