/**
 * A small client for Lasso's server, for marketing systems and batch jobs. Engine-independent: it speaks
 * only the wire protocol of API.md (WebSocket + msgpack for queries, HTTP + JSON for the rest).
 *
 *   import { LassoClient } from "lasso/client";
 *   const lasso = new LassoClient("http://127.0.0.1:7600");
 *   const { count } = await lasso.count("city IN ('上海', '北京') AND age BETWEEN 25 AND 35");
 *   for await (const ids of lasso.select("churned", { chunk: 10_000 })) send(ids);
 *   await lasso.close();
 *
 * WebSocket: Node's global WebSocket when there is one (Node ≥ 22, browsers), else the `ws` package.
 * Many requests share one socket; each is matched by its id. A slow consumer of `select` slows the
 * server's stream (the socket is paused while unread chunks pile up), never the other way round.
 */
import { Packr, Unpackr } from "msgpackr";

/** An entity key in its JSON encoding: Utf8 → string, 32-bit → number, 64-bit → decimal string. */
export type Key = string | number;
export type Expr = string | object | boolean;

export interface LassoClientOptions {
  /** Sent as `Authorization: Bearer …` (HTTP and the WebSocket upgrade). */
  token?: string;
  /** Unread select chunks (over all streams) before the socket is paused; default 64. */
  maxBufferedChunks?: number;
}

export interface QueryOptions {
  /** May be omitted when the store has one entity type. */
  entity?: string;
  /** ISO 8601 instant that pins `now`. */
  asOf?: string;
  timeoutMs?: number;
  includeDrafts?: boolean;
  /** Aborting cancels the request on the server. */
  signal?: AbortSignal;
}

export interface SelectOptions extends QueryOptions {
  limit?: number;
  /** Most ids per chunk (server default 65,536). */
  chunk?: number;
}

export interface CountAnswer {
  count: number;
  total: number;
  tookMs: number;
  warnings?: string[];
}

export interface ErrorInfo {
  code: string;
  message: string;
  at?: { line: number; column: number; length: number };
  path?: string;
}

/** A failure reported by the server (`code` as in API.md), or by the connection (`connection_closed`). */
export class LassoClientError extends Error {
  readonly code: string;
  readonly status?: number;
  readonly at?: ErrorInfo["at"];
  readonly path?: string;
  constructor(info: ErrorInfo, status?: number) {
    super(info.message);
    this.name = "LassoClientError";
    this.code = info.code;
    if (status !== undefined) this.status = status;
    if (info.at) this.at = info.at;
    if (info.path !== undefined) this.path = info.path;
  }
}

// The subset of the WebSocket API both the WHATWG class and the `ws` package provide.
interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (ev: { data?: unknown; code?: number; reason?: string }) => void): void;
  /** `ws` only: stop / restart reading from the TCP socket. */
  pause?: () => void;
  resume?: () => void;
}
type SocketClass = new (url: string, options?: unknown) => SocketLike;

interface Frame {
  id: string | number | bigint | null;
  type: "count" | "ids" | "done" | "cancelled" | "error";
  count?: number;
  total?: number;
  tookMs?: number;
  warnings?: string[];
  seq?: number;
  ids?: Key[];
  error?: ErrorInfo;
}

const OPEN = 1;

export class LassoClient {
  readonly baseUrl: string;
  readonly http: LassoHttp;
  private readonly token: string | undefined;
  private readonly maxBufferedChunks: number;
  private socket: Promise<SocketLike> | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, (f: Frame) => void>();
  private readonly packr = new Packr({ useRecords: false });
  private readonly unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  private buffered = 0;
  private paused = false;

  constructor(url: string, opts: LassoClientOptions = {}) {
    this.baseUrl = url.replace(/\/+$/, "");
    this.token = opts.token;
    this.maxBufferedChunks = opts.maxBufferedChunks ?? 64;
    this.http = new LassoHttp(this.baseUrl, this.token);
  }

  /** Counts matching entities over the WebSocket. */
  async count(expr: Expr, opts: QueryOptions = {}): Promise<CountAnswer> {
    const id = this.nextId++;
    const frame = await new Promise<Frame>((resolve, reject) => {
      this.start(id, { op: "count", expr, ...queryFields(opts) }, opts.signal, (f) => {
        if (f.type === "count") resolve(f);
        else if (f.type === "error") reject(new LassoClientError(f.error!));
        else if (f.type === "cancelled") reject(new LassoClientError({ code: "cancelled", message: "the request was cancelled" }));
      }).catch(reject);
    });
    return answer(frame);
  }

  /**
   * Streams matching keys over the WebSocket, chunk by chunk. `count` resolves before the first chunk;
   * breaking out of the loop (or `cancel()`) stops the query on the server.
   */
  select(expr: Expr, opts: SelectOptions = {}): SelectStream {
    const id = this.nextId++;
    const fields: Record<string, unknown> = { op: "select", expr, ...queryFields(opts) };
    if (opts.limit !== undefined) fields["limit"] = opts.limit;
    if (opts.chunk !== undefined) fields["chunk"] = opts.chunk;
    const stream = new SelectStream(id, () => this.cancel(id), (n) => this.consumed(n));
    this.start(id, fields, opts.signal, (f) => {
      if (f.type === "ids") this.buffered++;
      if (this.buffered >= this.maxBufferedChunks) this.pause();
      stream.push(f);
    }).catch((e: unknown) => stream.push({ id, type: "error", error: { code: "connection_closed", message: String(e) } }));
    return stream;
  }

  /** Stops a running request; its stream ends with a `cancelled` error (or nothing if it had finished). */
  cancel(id: number | string): void {
    void this.connect()
      .then((s) => {
        if (s.readyState === OPEN) s.send(this.packr.pack({ id: this.nextId++, op: "cancel", target: id }));
      })
      .catch(() => {});
  }

  /** Closes the WebSocket (HTTP needs no closing). Running requests fail with `connection_closed`. */
  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return;
    const sock = await s.catch(() => undefined);
    if (sock && sock.readyState <= OPEN) {
      await new Promise<void>((resolve) => {
        sock.addEventListener("close", () => resolve());
        sock.close(1000, "client closing");
      });
    }
  }

  private async start(id: number, fields: Record<string, unknown>, signal: AbortSignal | undefined, onFrame: (f: Frame) => void): Promise<void> {
    if (signal?.aborted) throw new LassoClientError({ code: "cancelled", message: "aborted before it started" });
    const s = await this.connect();
    const key = String(id);
    const onAbort = () => this.cancel(id);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.pending.set(key, (f) => {
      if (f.type === "done" || f.type === "error" || f.type === "cancelled" || (f.type === "count" && fields["op"] === "count")) {
        this.pending.delete(key);
        signal?.removeEventListener("abort", onAbort);
      }
      onFrame(f);
    });
    s.send(this.packr.pack({ id, ...fields }));
  }

  private connect(): Promise<SocketLike> {
    this.socket ??= this.open();
    return this.socket;
  }

  private async open(): Promise<SocketLike> {
    const Impl = await socketClass();
    const url = this.baseUrl.replace(/^http/, "ws") + "/v1/ws";
    const headers = this.token ? { Authorization: `Bearer ${this.token}` } : undefined;
    const s = headers && !("WebSocket" in globalThis && Impl === (globalThis as { WebSocket?: unknown }).WebSocket) ? new Impl(url, { headers }) : new Impl(url);
    s.binaryType = "arraybuffer";
    s.addEventListener("message", (ev) => this.onMessage(ev.data));
    s.addEventListener("close", (ev) => this.onClose(ev.code ?? 1006, ev.reason ?? ""));
    await new Promise<void>((resolve, reject) => {
      s.addEventListener("open", () => resolve());
      s.addEventListener("error", () => reject(new LassoClientError({ code: "connection_closed", message: `cannot connect to ${url}` })));
    });
    return s;
  }

  private onMessage(data: unknown): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
    const f = this.unpackr.unpack(bytes) as Frame;
    const handler = f.id === null ? undefined : this.pending.get(String(f.id));
    handler?.(f);
  }

  private onClose(code: number, reason: string): void {
    this.socket = undefined;
    const error: Frame = { id: null, type: "error", error: { code: "connection_closed", message: `the connection closed (${code}${reason ? " " + reason : ""})` } };
    for (const h of [...this.pending.values()]) h(error);
    this.pending.clear();
  }

  // `paused` changes synchronously and the socket follows it a microtask later: a resume decided in
  // between must win over the pause still on its way, or the socket stays paused with nothing left to
  // read and the stream stalls.
  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    void this.socket?.then((s) => {
      if (this.paused) s.pause?.();
    });
  }

  private consumed(chunks: number): void {
    this.buffered -= chunks;
    if (this.paused && this.buffered < this.maxBufferedChunks / 2) {
      this.paused = false;
      void this.socket?.then((s) => {
        if (!this.paused) s.resume?.();
      });
    }
  }
}

/** The chunks of one select, in order. Also an async iterable of `Key[]`. */
export class SelectStream implements AsyncIterable<Key[]> {
  /** Resolves with the full number of matches before the first chunk. */
  readonly count: Promise<CountAnswer>;
  private resolveCount!: (a: CountAnswer) => void;
  private rejectCount!: (e: Error) => void;
  private readonly queue: Key[][] = [];
  private end: { error?: LassoClientError; done?: { count: number; tookMs: number } } | undefined;
  private wake: (() => void) | undefined;
  private iterating = false;

  constructor(
    readonly id: number,
    private readonly cancelFn: () => void,
    private readonly consumed: (n: number) => void,
  ) {
    this.count = new Promise((resolve, reject) => {
      this.resolveCount = resolve;
      this.rejectCount = reject;
    });
    this.count.catch(() => {}); // the iterator reports the same error
  }

  /** Stops the select on the server. */
  cancel(): void {
    this.cancelFn();
  }

  /** Every key, collected (fine for small answers). */
  async all(): Promise<Key[]> {
    const out: Key[] = [];
    for await (const chunk of this) for (const k of chunk) out.push(k);
    return out;
  }

  /** @internal */
  push(f: Frame): void {
    if (this.end) return;
    switch (f.type) {
      case "count":
        this.resolveCount(answer(f));
        break;
      case "ids":
        this.queue.push(f.ids ?? []);
        break;
      case "done":
        this.end = { done: { count: f.count ?? 0, tookMs: f.tookMs ?? 0 } };
        break;
      case "cancelled":
        this.end = { error: new LassoClientError({ code: "cancelled", message: "the select was cancelled" }) };
        break;
      case "error":
        this.end = { error: new LassoClientError(f.error ?? { code: "internal", message: "unknown error" }) };
        break;
    }
    if (this.end?.error) this.rejectCount(this.end.error);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Key[]> {
    if (this.iterating) throw new Error("a select stream can be read once");
    this.iterating = true;
    let finished = false;
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk) {
          this.consumed(1);
          yield chunk;
          continue;
        }
        if (this.end) {
          finished = true;
          if (this.end.error) throw this.end.error;
          return;
        }
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      if (!finished) this.cancel();
      this.consumed(this.queue.length);
      this.queue.length = 0;
    }
  }
}

function answer(f: Frame): CountAnswer {
  const a: CountAnswer = { count: f.count ?? 0, total: f.total ?? 0, tookMs: f.tookMs ?? 0 };
  if (f.warnings) a.warnings = f.warnings;
  return a;
}

function queryFields(o: QueryOptions): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (o.entity !== undefined) f["entity"] = o.entity;
  if (o.asOf !== undefined) f["asOf"] = o.asOf;
  if (o.timeoutMs !== undefined) f["timeoutMs"] = o.timeoutMs;
  if (o.includeDrafts !== undefined) f["includeDrafts"] = o.includeDrafts;
  return f;
}

async function socketClass(): Promise<SocketClass> {
  const g = globalThis as { WebSocket?: SocketClass };
  if (g.WebSocket) return g.WebSocket;
  try {
    const mod = (await import("ws")) as { default: unknown };
    return mod.default as SocketClass;
  } catch {
    throw new Error("no WebSocket implementation: use Node ≥ 22 or install the `ws` package");
  }
}

// -------------------------------------------------------------------------------------------------
// HTTP

export interface SegmentDef {
  name: string;
  entity: string;
  expr: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

export interface LoadAnswer {
  entity: string;
  rows: number;
  inserted: number;
  updated: number;
  newTags: string[];
  version: number;
  tookMs: number;
}

export interface QueryBody {
  entity?: string;
  expr: Expr;
  asOf?: string;
  timeoutMs?: number;
  includeDrafts?: boolean;
}

/** The HTTP half of the API (API.md): bulk loads, deletes, catalog, segments, and JSON queries. */
export class LassoHttp {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  count(body: QueryBody, signal?: AbortSignal): Promise<CountAnswer> {
    return this.json("POST", "/v1/count", body, signal);
  }

  /** The whole answer as JSON (fine for small answers; see `selectStream` for large ones). */
  select(body: QueryBody & { limit?: number }, signal?: AbortSignal): Promise<{ count: number; ids: Key[] }> {
    return this.json("POST", "/v1/select", body, signal);
  }

  /** The answer as NDJSON, yielded in chunks as it arrives; `count` is in the X-Lasso-Count header. */
  async *selectStream(body: QueryBody & { limit?: number }, signal?: AbortSignal): AsyncGenerator<Key[]> {
    const res = await this.request("POST", "/v1/select", body, signal, { Accept: "application/x-ndjson" });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let rest = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = rest + decoder.decode(value, { stream: true });
        const cut = text.lastIndexOf("\n");
        rest = text.slice(cut + 1);
        if (cut >= 0) yield text.slice(0, cut).split("\n").map((l) => JSON.parse(l) as Key);
      }
      if (rest.trim()) yield [JSON.parse(rest) as Key];
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  /** Bulk load: Arrow IPC bytes (stream or file format), given whole or as chunks. */
  load(entity: string, key: string, body: Uint8Array | AsyncIterable<Uint8Array>, opts: { format?: "stream" | "file"; signal?: AbortSignal } = {}): Promise<LoadAnswer> {
    const type = `application/vnd.apache.arrow.${opts.format ?? "stream"}`;
    const path = `/v1/entities/${encodeURIComponent(entity)}/load?key=${encodeURIComponent(key)}`;
    return this.send("POST", path, body instanceof Uint8Array ? body : toReadable(body), type, opts.signal);
  }

  deleteRows(entity: string, keys: Key[]): Promise<{ entity: string; deleted: number; missing: number; version: number; tookMs: number }> {
    return this.json("DELETE", `/v1/entities/${encodeURIComponent(entity)}/rows`, { keys });
  }

  entities(): Promise<{ entities: { name: string; keyType: string; rows: number; tags: number; version: number }[] }> {
    return this.json("GET", "/v1/entities");
  }

  tags(entity: string, valuesLimit?: number): Promise<{ entity: string; tags: { name: string; type: string; rowsWithValue: number; values?: { value: string; count: number }[] }[] }> {
    const q = valuesLimit === undefined ? "" : `?values=${valuesLimit}`;
    return this.json("GET", `/v1/entities/${encodeURIComponent(entity)}/tags${q}`);
  }

  putSegment(name: string, def: { entity?: string; expr: Expr; description?: string }): Promise<SegmentDef> {
    return this.json("PUT", `/v1/segments/${encodeURIComponent(name)}`, def);
  }

  getSegment(name: string): Promise<SegmentDef & { count: number; total: number }> {
    return this.json("GET", `/v1/segments/${encodeURIComponent(name)}`);
  }

  listSegments(): Promise<{ segments: SegmentDef[] }> {
    return this.json("GET", "/v1/segments");
  }

  deleteSegment(name: string): Promise<{ deleted: string }> {
    return this.json("DELETE", `/v1/segments/${encodeURIComponent(name)}`);
  }

  health(): Promise<{ status: string }> {
    return this.json("GET", "/healthz");
  }

  private json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.send(method, path, body === undefined ? undefined : JSON.stringify(body), "application/json", signal);
  }

  private async send<T>(method: string, path: string, body: string | Uint8Array | ReadableStream<Uint8Array> | undefined, type: string, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = type;
    const res = await this.fetch(method, path, body, headers, signal);
    return (await res.json()) as T;
  }

  private request(method: string, path: string, body: unknown, signal: AbortSignal | undefined, extra: Record<string, string>): Promise<Response> {
    return this.fetch(method, path, JSON.stringify(body), { "Content-Type": "application/json", ...extra }, signal);
  }

  private async fetch(method: string, path: string, body: string | Uint8Array | ReadableStream<Uint8Array> | undefined, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    if (this.token) headers["Authorization"] = `Bearer ${this.token}`;
    const init: RequestInit & { duplex?: "half" } = { method, headers };
    if (body !== undefined) init.body = body;
    if (body instanceof ReadableStream) init.duplex = "half";
    if (signal) init.signal = signal;
    const res = await fetch(this.baseUrl + path, init);
    if (!res.ok) {
      let info: ErrorInfo = { code: "http_" + res.status, message: res.statusText };
      try {
        const j = (await res.json()) as { error?: ErrorInfo };
        if (j.error) info = j.error;
      } catch {
        // not a JSON error body: keep the status line
      }
      throw new LassoClientError(info, res.status);
    }
    return res;
  }
}

function toReadable(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}
