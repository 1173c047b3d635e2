/**
 * The server's overhead over the engine alone, measured so that a shared 2-core machine cannot fake it.
 *
 * - The same count queries (the workload's count mix, round-robin, each answer checked against the
 *   engine's count) run closed-loop at N in flight against three targets: the engine in this process,
 *   the server's WebSocket and its HTTP API (the server in its own process, over the same data).
 * - The targets take turns in short rounds (the order rotating each round), so background load that
 *   drifts over minutes hits all three alike; the overhead is the median over rounds of the paired
 *   1 − server/engine of that round.
 * - The load generator is lean (raw sockets, HTTP requests encoded once, answers parsed only for their count),
 *   as wrk would be: the figure is the server's cost, not a JS client library's.
 * - CPU per query is reported beside it: the engine's process in its rounds, the server's process
 *   (/proc/PID/stat) and the load generator's in theirs. On 2 cores the client's CPU is taken from the
 *   same cores the server needs, which is why it is shown separately.
 */
import { connect, type Socket } from "node:net";
import { pack, unpack } from "msgpackr";
import WebSocket from "ws";
import type { Engine } from "../engine/api.js";
import { processCpuMs } from "./proc.js";
import { median } from "./stats.js";

export interface OverheadQuery {
  readonly expr: string | object;
  /** The engine's answer: every server answer must equal it. */
  readonly count: number;
}

export interface OverheadOptions {
  engine: Engine;
  entity: string;
  asOf: string;
  queries: readonly OverheadQuery[];
  /** The server: its base URL (http://H:P) and process id. */
  url: string;
  serverPid: number;
  inFlight: readonly number[];
  rounds: number;
  roundSeconds: number;
  /** Progress: `lasting` for phase starts, else a status line. */
  log?: (line: string, lasting?: boolean) => void;
}

export type OverheadTarget = "engine" | "ws" | "http";

export interface RoundFigures {
  queriesPerSec: number;
  /** CPU of the process that answered (engine: this one; server: the server's), ms per query. */
  answerCpuMs: number;
  /** CPU of this process while it only generated load (server rounds), ms per query. */
  clientCpuMs?: number;
}

export interface OverheadRow {
  inFlight: number;
  /** Median over rounds per target. */
  median: Record<OverheadTarget, RoundFigures>;
  /** Median over rounds of 1 − target/engine queries/s of the same round. */
  overhead: { ws: number; http: number };
  rounds: Record<OverheadTarget, RoundFigures[]>;
}

/** A closed-loop sender: resolves with the count the target answered for query `i`. */
type Sender = (i: number) => Promise<number>;

export interface Driver {
  readonly name: string;
  send: Sender;
  close(): void;
}

const TARGETS: readonly OverheadTarget[] = ["engine", "ws", "http"];

export async function measureOverhead(o: OverheadOptions): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  const maxInFlight = Math.max(...o.inFlight);
  const drivers: Record<OverheadTarget, Driver> = {
    engine: engineDriver(o),
    ws: await wsDriver(o),
    http: httpDriver(o, maxInFlight),
  };
  try {
    // untimed: every query twice per target (lazy per-version work, JIT, connections)
    for (const t of TARGETS) await closedLoop(drivers[t], o.queries, Math.min(4, maxInFlight), o.queries.length * 2, 0);
    for (const n of o.inFlight) {
      o.log?.(`overhead: ${n} in flight, ${o.rounds} rounds of ${o.roundSeconds} s per target`, true);
      const rounds: Record<OverheadTarget, RoundFigures[]> = { engine: [], ws: [], http: [] };
      for (let r = 0; r < o.rounds; r++) {
        for (let k = 0; k < TARGETS.length; k++) {
          const t = TARGETS[(r + k) % TARGETS.length]!;
          o.log?.(`overhead: ${n} in flight, round ${r + 1}/${o.rounds}, ${t}`);
          rounds[t].push(await measureRound(drivers[t], t, o, n));
        }
      }
      const paired = (t: "ws" | "http") => median(rounds[t].map((f, r) => 1 - f.queriesPerSec / rounds.engine[r]!.queriesPerSec));
      rows.push({
        inFlight: n,
        median: { engine: medianFigures(rounds.engine), ws: medianFigures(rounds.ws), http: medianFigures(rounds.http) },
        overhead: { ws: paired("ws"), http: paired("http") },
        rounds,
      });
    }
  } finally {
    for (const t of TARGETS) drivers[t].close();
  }
  return rows;
}

async function measureRound(d: Driver, t: OverheadTarget, o: OverheadOptions, inFlight: number): Promise<RoundFigures> {
  const cpu0 = process.cpuUsage();
  const server0 = t === "engine" ? 0 : processCpuMs(o.serverPid);
  const t0 = performance.now();
  const n = await closedLoop(d, o.queries, inFlight, Number.POSITIVE_INFINITY, o.roundSeconds * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(cpu0);
  const ownMs = (own.user + own.system) / 1000;
  if (t === "engine") return { queriesPerSec: n / seconds, answerCpuMs: ownMs / n };
  return { queriesPerSec: n / seconds, answerCpuMs: (processCpuMs(o.serverPid) - server0) / n, clientCpuMs: ownMs / n };
}

/** A lost answer fails the run with the query named instead of stalling it. */
const ANSWER_DEADLINE_MS = 60_000;

/** Runs `inFlight` loops until `limit` queries were sent or `ms` passed (0 = no time limit); returns how many were answered. */
async function closedLoop(d: Driver, queries: readonly OverheadQuery[], inFlight: number, limit: number, ms: number): Promise<number> {
  const end = ms > 0 ? performance.now() + ms : Number.POSITIVE_INFINITY;
  let next = 0;
  let done = 0;
  // per loop: when its request in flight was sent (∞: none) and which query it is; one watchdog for all
  const sentAt = new Float64Array(inFlight).fill(Number.POSITIVE_INFINITY);
  const asked = new Int32Array(inFlight);
  const loop = async (l: number) => {
    for (;;) {
      const now = performance.now();
      if (next >= limit || now >= end) return;
      const i = next++ % queries.length;
      sentAt[l] = now;
      asked[l] = i;
      const got = await d.send(i);
      sentAt[l] = Number.POSITIVE_INFINITY;
      if (got !== queries[i]!.count) throw new Error(`overhead: query ${i} (${JSON.stringify(queries[i]!.expr)}) answered ${got}, the engine said ${queries[i]!.count}`);
      done++;
    }
  };
  let watchdog: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      const now = performance.now();
      for (let l = 0; l < inFlight; l++) {
        if (now - sentAt[l]! <= ANSWER_DEADLINE_MS) continue;
        const i = asked[l]!;
        reject(new Error(`overhead: no answer to query ${i} (${JSON.stringify(queries[i]!.expr)}) over ${d.name} within ${ANSWER_DEADLINE_MS / 1000} s`));
      }
    }, 1000);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: inFlight }, (_, l) => loop(l))), late]);
  } finally {
    clearInterval(watchdog);
  }
  return done;
}

function engineDriver(o: OverheadOptions): Driver {
  return {
    name: "the engine",
    send: async (i) => (await o.engine.count({ entity: o.entity, expr: o.queries[i]!.expr, asOf: o.asOf })).count,
    close: () => {},
  };
}

/** One WebSocket, requests multiplexed by id (a msgpack frame of a few dozen bytes each: µs beside a query's ms). */
async function wsDriver(o: OverheadOptions): Promise<Driver> {
  const ws = new WebSocket(`${o.url.replace(/^http/, "ws")}/v1/ws`, { perMessageDeflate: false });
  ws.binaryType = "nodebuffer";
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const waiting = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  ws.on("message", (data: Buffer) => {
    const f = unpack(data) as { id: number; count?: number; error?: { code: string; message: string } };
    const w = waiting.get(f.id);
    if (!w) return;
    waiting.delete(f.id);
    if (f.count !== undefined) w.resolve(f.count);
    else w.reject(new Error(`overhead ws: ${f.error?.code ?? "no count"}: ${f.error?.message ?? ""}`));
  });
  let id = 0;
  return {
    name: "WebSocket",
    send: (i) =>
      new Promise<number>((resolve, reject) => {
        waiting.set(++id, { resolve, reject });
        ws.send(pack({ id, op: "count", entity: o.entity, expr: o.queries[i]!.expr, asOf: o.asOf }));
      }),
    close: () => ws.close(),
  };
}

/** Keep-alive HTTP/1.1 over raw sockets, one request at a time per socket (no pipelining), requests encoded once. */
export function httpDriver(o: Pick<OverheadOptions, "url" | "entity" | "asOf" | "queries">, sockets: number): Driver {
  const { hostname, port } = new URL(o.url);
  const requests = o.queries.map((q) => {
    const body = Buffer.from(JSON.stringify({ entity: o.entity, expr: q.expr, asOf: o.asOf }));
    const head = `POST /v1/count HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head), body]);
  });
  // The server closes keep-alive connections left idle (e.g. through the other targets' rounds): those
  // are dropped here and replaced, never written to.
  const idle: HttpConnection[] = [];
  const open = new Set<HttpConnection>();
  const take = (): HttpConnection => {
    for (let c = idle.pop(); c; c = idle.pop()) if (c.open) return c;
    for (const c of open) if (!c.open) open.delete(c);
    if (open.size >= sockets) throw new Error("overhead http: more requests in flight than sockets");
    const c = new HttpConnection(hostname, Number(port));
    open.add(c);
    return c;
  };
  const ask = async (i: number, retry: boolean): Promise<{ status: number; body: Buffer }> => {
    const c = take();
    try {
      return await c.request(requests[i]!);
    } catch (e) {
      // closed by the server before any byte of the answer (an idle timeout racing the request): once more
      if (retry && e instanceof ClosedBeforeAnswer) return ask(i, false);
      throw e;
    } finally {
      if (c.open) idle.push(c);
    }
  };
  return {
    name: "HTTP",
    send: async (i) => {
      const { status, body } = await ask(i, true);
      const parsed = JSON.parse(body.toString("utf8")) as { count?: number; error?: { code: string; message: string } };
      if (status !== 200 || parsed.count === undefined) throw new Error(`overhead http: ${status} ${parsed.error?.code ?? ""}: ${parsed.error?.message ?? ""}`);
      return parsed.count;
    },
    close: () => open.forEach((c) => c.close()),
  };
}

class ClosedBeforeAnswer extends Error {}

class HttpConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: { status: number; body: Buffer }) => void; reject: (e: Error) => void } | undefined;

  open = true;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on("data", (d) => this.onData(d));
    // 'close' follows every 'error': the request fails there, with the error's words
    let error = "";
    this.socket.on("error", (e) => (error = `: ${e.message}`));
    this.socket.on("close", () => {
      this.open = false;
      this.fail(this.buf.length === 0 ? new ClosedBeforeAnswer(`overhead http: connection closed${error}`) : new Error(`overhead http: connection closed mid-answer${error}`));
    });
  }

  request(bytes: Buffer): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.open = false;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    const headEnd = this.buf.indexOf("\r\n\r\n");
    if (headEnd < 0 || !this.pending) return;
    const head = this.buf.subarray(0, headEnd).toString("latin1");
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`overhead http: a response without Content-Length: ${head.slice(0, 200)}`));
    const end = headEnd + 4 + Number(length[1]);
    if (this.buf.length < end) return;
    const status = Number(head.slice(9, 12));
    const body = this.buf.subarray(headEnd + 4, end);
    this.buf = this.buf.subarray(end);
    const p = this.pending;
    this.pending = undefined;
    p.resolve({ status, body });
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
}

function medianFigures(fs: readonly RoundFigures[]): RoundFigures {
  const out: RoundFigures = { queriesPerSec: median(fs.map((f) => f.queriesPerSec)), answerCpuMs: median(fs.map((f) => f.answerCpuMs)) };
  const client = fs.flatMap((f) => (f.clientCpuMs === undefined ? [] : [f.clientCpuMs]));
  if (client.length) out.clientCpuMs = median(client);
  return out;
}

export function overheadMd(rows: readonly OverheadRow[], o: { rounds: number; roundSeconds: number }): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const q = (f: RoundFigures) => f.queriesPerSec.toFixed(0);
  const cpu = (f: RoundFigures) => f.answerCpuMs.toFixed(2) + (f.clientCpuMs !== undefined ? ` + ${f.clientCpuMs.toFixed(2)}` : "");
  const lines = [
    "### Server overhead over the engine alone (seg-v1 count queries, closed loop, lean load generator)",
    "",
    `${o.rounds} rounds of ${o.roundSeconds} s per target and concurrency, targets taking turns; overhead = median over rounds of`,
    "1 − server ÷ engine queries/s of the same round. CPU ms per query: the answering process (+ the load generator's).",
    "",
    "| in flight | engine q/s | WS q/s | WS overhead | HTTP q/s | HTTP overhead | CPU/query engine | CPU/query WS server + client | CPU/query HTTP server + client |",
    "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const r of rows) {
    const m = r.median;
    lines.push(`| ${r.inFlight} | ${q(m.engine)} | ${q(m.ws)} | ${pct(r.overhead.ws)} | ${q(m.http)} | ${pct(r.overhead.http)} | ${cpu(m.engine)} | ${cpu(m.ws)} | ${cpu(m.http)} |`);
  }
  return lines.join("\n") + "\n";
}
