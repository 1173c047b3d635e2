/**
 * What a benchmark runs queries against: the engine in process, a Lasso server over its WebSocket or
 * HTTP API, or the DuckDB peer. Each answers one query at a time per call; modes call them
 * concurrently for throughput. A select streams every key to the caller (that is the work measured),
 * counting them; with `digest` it also folds them into a key digest (checks only, never timed).
 */
import type { Engine } from "../engine/api.js";
import { LassoClient } from "../server/client.js";
import type { DuckPeer } from "./duckdb.js";
import { keyDigest, type KeyDigest } from "./keys.js";
import type { QueryOp } from "./workload.js";

export interface BenchQuery {
  readonly id: string;
  readonly op: QueryOp;
  readonly expr: string | object;
  /** DuckDB WHERE condition. */
  readonly sql: string;
  readonly entity: string;
  readonly asOf: string;
}

export interface Answer {
  /** Matching entities. */
  count: number;
  /** Keys received (selects). */
  ids?: number;
  digest?: KeyDigest;
}

export interface RunOptions {
  digest?: boolean;
  /** Abandons the query (the target is asked to stop it). */
  signal?: AbortSignal;
}

export interface Target {
  /** "engine", "ws://…", "http://…", "duckdb". */
  readonly name: string;
  readonly kind: "lasso" | "peer";
  run(q: BenchQuery, opts?: RunOptions): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * Runs a query with a deadline: past `timeoutMs` the query is aborted and the promise rejects, whether
 * or not the target honours the abort (a stalled stream must fail the benchmark, not hang it).
 */
export async function runBounded(target: Target, q: BenchQuery, timeoutMs: number, opts: { digest?: boolean } = {}): Promise<Answer> {
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) return target.run(q, opts);
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      const limit = timeoutMs >= 1000 ? `${(timeoutMs / 1000).toFixed(0)} s` : `${timeoutMs} ms`;
      reject(new Error(`${target.name} gave no answer to ${q.id} within ${limit} (stalled or far too slow)`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([target.run(q, { ...opts, signal: ac.signal }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class EngineTarget implements Target {
  readonly kind = "lasso";
  constructor(readonly engine: Engine, readonly name = "engine") {}

  async run(q: BenchQuery, opts: RunOptions = {}): Promise<Answer> {
    const req = { entity: q.entity, expr: q.expr, asOf: q.asOf, ...(opts.signal ? { signal: opts.signal } : {}) };
    if (q.op === "count") return { count: (await this.engine.count(req)).count };
    const sel = await this.engine.select(req);
    const d = opts.digest ? keyDigest() : undefined;
    let ids = 0;
    try {
      for await (const chunk of sel.chunks()) {
        ids += chunk.length;
        if (d) for (const k of chunk) d.add(k);
      }
    } finally {
      sel.close();
    }
    return d ? { count: sel.count, ids, digest: d.value() } : { count: sel.count, ids };
  }

  async close(): Promise<void> {
    // The engine belongs to the caller.
  }
}

/** `ws://HOST:PORT/v1/ws` (or the server's base URL): counts and selects over one WebSocket. */
export class WsTarget implements Target {
  readonly kind = "lasso";
  client: LassoClient;
  constructor(readonly name: string, private readonly opts: { token?: string } = {}) {
    this.client = this.connect();
  }

  private connect(): LassoClient {
    return new LassoClient(baseUrlOf(this.name), this.opts.token ? { token: this.opts.token } : {});
  }

  async run(q: BenchQuery, opts: RunOptions = {}): Promise<Answer> {
    // An abandoned request may leave its socket stuck: later requests get a fresh connection.
    opts.signal?.addEventListener("abort", () => {
      const old = this.client;
      this.client = this.connect();
      void old.close().catch(() => {});
    }, { once: true });
    const o = { entity: q.entity, asOf: q.asOf, ...(opts.signal ? { signal: opts.signal } : {}) };
    if (q.op === "count") return { count: (await this.client.count(q.expr, o)).count };
    const stream = this.client.select(q.expr, o);
    const d = opts.digest ? keyDigest() : undefined;
    let ids = 0;
    for await (const chunk of stream) {
      ids += chunk.length;
      if (d) for (const k of chunk) d.add(k);
    }
    const count = (await stream.count).count;
    return d ? { count, ids, digest: d.value() } : { count, ids };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** `http://HOST:PORT`: POST /v1/count, and POST /v1/select streamed as NDJSON. */
export class HttpTarget implements Target {
  readonly kind = "lasso";
  readonly client: LassoClient;
  constructor(readonly name: string, opts: { token?: string } = {}) {
    this.client = new LassoClient(baseUrlOf(name), opts.token ? { token: opts.token } : {});
  }

  async run(q: BenchQuery, opts: RunOptions = {}): Promise<Answer> {
    const body = { entity: q.entity, expr: q.expr, asOf: q.asOf };
    if (q.op === "count") return { count: (await this.client.http.count(body, opts.signal)).count };
    const d = opts.digest ? keyDigest() : undefined;
    let ids = 0;
    for await (const chunk of this.client.http.selectStream(body, opts.signal)) {
      ids += chunk.length;
      if (d) for (const k of chunk) d.add(k);
    }
    // Without a limit the stream holds every match, so the count is the keys received.
    return d ? { count: ids, ids, digest: d.value() } : { count: ids, ids };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export class DuckTarget implements Target {
  readonly kind = "peer";
  readonly name = "duckdb";
  constructor(readonly peer: DuckPeer) {}

  async run(q: BenchQuery, opts: RunOptions = {}): Promise<Answer> {
    if (q.op === "count") return { count: await this.peer.count(q.sql, opts.signal) };
    const r = await this.peer.select(q.sql, opts);
    return r.digest ? { count: r.count, ids: r.count, digest: r.digest } : { count: r.count, ids: r.count };
  }

  async close(): Promise<void> {
    this.peer.close();
  }
}

/** `ws://h:p/v1/ws` → `http://h:p`; `http://h:p/` → `http://h:p`. */
export function baseUrlOf(target: string): string {
  const u = new URL(target);
  const scheme = u.protocol === "wss:" || u.protocol === "https:" ? "https:" : "http:";
  return `${scheme}//${u.host}`;
}
