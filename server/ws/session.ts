/**
 * One WebSocket connection: its running requests by id, and the flow of select chunks under the
 * socket's backpressure.
 *
 * Backpressure: a select pulls its next chunk from the engine only while the socket holds fewer than
 * `streamHighWaterBytes` unsent bytes, and the selects of one socket take turns (a FIFO lock) for the
 * check-pull-send step, so at most one chunk frame overshoots the mark. A stalled reader therefore
 * stalls the engine's iterator too: the server's memory for the socket stays about one high-water mark
 * plus one chunk, however large the answer. uWS's `drain` event resumes the flow.
 */
import type { Principal } from "../../engine/catalog/index.js";
import type { WebSocket } from "uWebSockets.js";
import type { Engine } from "../../engine/api.js";
import { LassoError } from "../../engine/errors.js";
import { QueryControl, effectiveTimeout, selectRequest, type Admission } from "../admission.js";
import type { Logger } from "../log.js";
import type { ServerMetrics } from "../metrics.js";
import type { ResolvedOptions } from "../options.js";
import type { QueryFields, SelectFields } from "../request-shapes.js";
import { decodeFrame, encode, idKey, idsFrameHead, newUnpackr, type Outbound, type RequestId } from "./protocol.js";

export interface WsContext {
  readonly engine: Engine;
  readonly opts: ResolvedOptions;
  readonly admission: Admission;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  closing(): boolean;
}

const DRAIN_RECHECK_MS = 50;

export interface SocketData {
  session?: Session;
  /** Authenticated at the upgrade (http/auth.ts). */
  principal?: Principal;
}

interface Running {
  readonly id: RequestId;
  readonly op: "count" | "select";
  readonly control: QueryControl;
}

/**
 * FIFO turn-taking among a socket's selects for the check-pull-send step. A waiter whose request
 * stopped (cancel, close) leaves the queue at the next `wake` instead of waiting for its turn.
 */
class Turns {
  private held = false;
  private queue: { stopped: () => boolean; grant: (got: boolean) => void }[] = [];

  /** Resolves true with the turn, or false when the request stopped first. */
  take(stopped: () => boolean): Promise<boolean> {
    if (stopped()) return Promise.resolve(false);
    if (!this.held) {
      this.held = true;
      return Promise.resolve(true);
    }
    return new Promise((grant) => this.queue.push({ stopped, grant }));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next.grant(true);
    else this.held = false;
  }

  /** Lets stopped waiters go without the turn. */
  dropStopped(): void {
    const keep = [];
    for (const w of this.queue) {
      if (w.stopped()) w.grant(false);
      else keep.push(w);
    }
    this.queue = keep;
  }
}

export class Session {
  private readonly running = new Map<string, Running>();
  private readonly unpackr = newUnpackr();
  private readonly turns = new Turns();
  private drainWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    private readonly ctx: WsContext,
  ) {}

  get inFlight(): number {
    return this.running.size;
  }

  // ---- events from uWS -------------------------------------------------------------------------

  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    // Decoded at once: uWS neuters `message` when this callback returns.
    const req = decodeFrame(this.unpackr, new Uint8Array(message), isBinary, {
      maxTimeoutMs: this.ctx.opts.maxQueryTimeoutMs,
      maxChunk: this.ctx.opts.maxChunk,
    });
    if ("error" in req) {
      if (req.id === null) this.ctx.metrics.wsFrames.inc();
      this.ctx.metrics.wsRequests.inc({ op: "invalid", outcome: req.error.code });
      this.send({ id: req.id, type: "error", error: req.error.toJSON() });
      return;
    }
    if (req.op === "cancel") {
      // No reply of its own: the target's stream ends with `cancelled` (or it already finished).
      this.running.get(idKey(req.target))?.control.cancel("cancelled by the client");
      this.wake();
      return;
    }
    const refusal = this.admit(req.id);
    if (refusal) {
      this.ctx.metrics.wsRequests.inc({ op: req.op, outcome: refusal.code });
      this.send({ id: req.id, type: "error", error: refusal.toJSON() });
      return;
    }
    const timeoutMs = effectiveTimeout(req.fields.timeoutMs, this.ctx.opts.queryTimeoutMs, this.ctx.opts.maxQueryTimeoutMs);
    const control = new QueryControl(timeoutMs);
    let release: () => void;
    try {
      release = this.ctx.admission.admit("query", control);
    } catch (e) {
      this.ctx.metrics.wsRequests.inc({ op: req.op, outcome: "overloaded" });
      this.send({ id: req.id, type: "error", error: (e as LassoError).toJSON() });
      return;
    }
    const running: Running = { id: req.id, op: req.op, control };
    const key = idKey(req.id);
    this.running.set(key, running);
    const work = req.op === "count" ? this.count(running, req.fields, timeoutMs) : this.select(running, req.fields);
    void work
      .catch((e: unknown) => this.fail(running, e))
      .finally(() => {
        control.done();
        release();
        this.running.delete(key);
        this.ctx.metrics.wsLatency.observe({ op: running.op }, control.elapsedMs() / 1000);
      });
  }

  onDrain(): void {
    if (this.ws.getBufferedAmount() < this.ctx.opts.streamHighWaterBytes) this.wake();
  }

  /** The socket is gone: every request on it stops at once. */
  onClose(): void {
    this.closed = true;
    for (const r of this.running.values()) r.control.cancel("the client closed the socket");
    this.wake();
  }

  /** Shutdown: stop all requests now. */
  abortAll(reason: string): void {
    for (const r of this.running.values()) r.control.cancel(reason);
    this.wake();
  }

  // ---- requests --------------------------------------------------------------------------------

  private admit(id: RequestId): LassoError | undefined {
    if (this.ctx.closing()) return new LassoError("overloaded", "the server is shutting down");
    if (this.running.has(idKey(id))) {
      return new LassoError("bad_request", `request id ${String(id)} is already in use by a running request on this socket`);
    }
    if (this.running.size >= this.ctx.opts.maxInFlightPerSocket) {
      return new LassoError("overloaded", `this socket is running its limit of ${this.ctx.opts.maxInFlightPerSocket} requests at once; wait for one to finish`);
    }
    return undefined;
  }

  private async count(r: Running, f: QueryFields, timeoutMs: number): Promise<void> {
    const res = await this.ctx.engine.count({ ...f, timeoutMs, signal: r.control.signal });
    if (this.endIfStopped(r)) return;
    const frame: Outbound = { id: r.id, type: "count", count: res.count, total: res.total, tookMs: res.tookMs };
    if (res.warnings?.length) frame.warnings = res.warnings;
    this.send(frame);
    this.ctx.metrics.wsRequests.inc({ op: "count", outcome: "ok" });
  }

  private async select(r: Running, f: SelectFields): Promise<void> {
    const sel = await this.ctx.engine.select(selectRequest(f, r.control));
    const iterator = sel.batches();
    try {
      r.control.stopClock();
      if (this.endIfStopped(r)) return;
      const head: Outbound = { id: r.id, type: "count", count: sel.count, total: sel.total, tookMs: r.control.elapsedMs() };
      if (sel.warnings?.length) head.warnings = sel.warnings;
      this.send(head);
      let seq = 0;
      for (;;) {
        const stopped = () => this.closed || r.control.stopped;
        if (!(await this.turns.take(stopped))) {
          this.endIfStopped(r);
          return;
        }
        try {
          await this.belowHighWater(r);
          if (this.endIfStopped(r)) return;
          const next = await iterator.next();
          if (this.endIfStopped(r)) return;
          if (next.done) break;
          if (next.value.length === 0) continue;
          this.sendBytes(next.value.msgpack(idsFrameHead(r.id, seq++)));
        } finally {
          this.turns.release();
        }
      }
      this.send({ id: r.id, type: "done", count: sel.count, tookMs: r.control.elapsedMs() });
      this.ctx.metrics.wsRequests.inc({ op: "select", outcome: "ok" });
    } finally {
      try {
        await iterator.return?.();
      } finally {
        sel.close();
      }
    }
  }

  /**
   * Waits while the socket holds too much unsent data (or until the request stops). Woken by uWS's
   * `drain`, and re-checks on a timer: uWS can miss a writable event, leaving its buffer unsent with the
   * kernel's empty and no drain to come (seen with client and server in one process: a 5M-key stream
   * stalled for good). When a re-check finds the buffer no smaller, an empty cork makes uWS try to write
   * it again (uncorking flushes the socket's buffer), re-checking from 1 ms backing off to
   * DRAIN_RECHECK_MS; while the buffer shrinks uWS is writing and a drain will come, so the re-check
   * waits the longest.
   */
  private async belowHighWater(r: Running): Promise<void> {
    const mark = this.ctx.opts.streamHighWaterBytes;
    let waitMs = 1;
    let last = this.ws.getBufferedAmount();
    while (!this.closed && !r.control.stopped && last >= mark) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        // a re-check that fires takes its waiter away (drain only wakes below the mark: they would pile up)
        const timer = setTimeout(() => {
          const i = this.drainWaiters.indexOf(wake);
          if (i >= 0) this.drainWaiters.splice(i, 1);
          resolve();
        }, waitMs);
        this.drainWaiters.push(wake);
      });
      if (this.closed) return;
      const now = this.ws.getBufferedAmount();
      if (now >= last) {
        this.ws.cork(() => {});
        waitMs = Math.min(waitMs * 2, DRAIN_RECHECK_MS);
        last = this.ws.getBufferedAmount();
      } else {
        waitMs = DRAIN_RECHECK_MS;
        last = now;
      }
    }
  }

  /** After a stop (cancel, close), ends the request's stream; true when it stopped. */
  private endIfStopped(r: Running): boolean {
    if (!r.control.stopped && !this.closed) return false;
    if (r.control.cancelled) {
      this.send({ id: r.id, type: "cancelled" });
      this.ctx.metrics.wsRequests.inc({ op: r.op, outcome: "cancelled" });
    } else if (r.control.timedOut) {
      this.send({ id: r.id, type: "error", error: r.control.toLassoError(undefined).toJSON() });
      this.ctx.metrics.wsRequests.inc({ op: r.op, outcome: "timeout" });
    }
    return true;
  }

  private fail(r: Running, e: unknown): void {
    if (r.control.stopped || this.closed) {
      this.endIfStopped(r);
      return;
    }
    const err = r.control.toLassoError(e);
    if (err.status >= 500) this.ctx.log("error", "ws request failed", { op: r.op, code: err.code, error: e });
    this.ctx.metrics.wsRequests.inc({ op: r.op, outcome: err.code });
    this.send({ id: r.id, type: "error", error: err.toJSON() });
  }

  private wake(): void {
    this.turns.dropStopped();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private send(frame: Outbound): void {
    this.sendBytes(encode(frame));
  }

  private sendBytes(bytes: Uint8Array): void {
    if (this.closed) return;
    this.ws.cork(() => {
      this.ws.send(bytes, true);
    });
  }
}
