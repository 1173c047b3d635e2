/**
 * One HTTP request/response over uWebSockets.js, made safe to use from async code.
 *
 * uWS rules this class enforces (so handlers cannot break them):
 * - `res.onAborted` is registered at once, before any async work; after an abort `res` is never touched.
 * - every write from an async callback goes inside `res.cork(...)`;
 * - nothing is written after the response ended.
 * The `HttpRequest` is only valid during the route callback, so everything needed later (method, path,
 * query, headers) is copied in the constructor.
 */
import type { Principal } from "../../engine/catalog/index.js";
import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import { LassoError } from "../../engine/errors.js";
import { errorBody } from "./errors.js";

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  499: "Client Closed Request",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? "Status"}`;
}

/** A status code, or how a response ended without one: the client left, or the server cut a failed stream. */
export type FinishStatus = number | "aborted" | "cut";

export const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The headers an error answer carries besides its JSON body (HTTP routes and the WebSocket upgrade alike):
 * when to retry an `overloaded`, what is allowed after a 405, and (RFC 9110 §11.6.1) the scheme a 401 wants.
 */
export function errorHeaders(e: LassoError, opts: { retryAfterSec?: number; allow?: string } = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  if (e.code === "overloaded" && opts.retryAfterSec !== undefined) headers["Retry-After"] = String(opts.retryAfterSec);
  if (e.code === "method_not_allowed" && opts.allow) headers["Allow"] = opts.allow;
  if (e.code === "unauthorized") headers["WWW-Authenticate"] = 'Bearer realm="lasso"';
  return headers;
}

export class Exchange {
  readonly method: string;
  /** The path as sent (percent-encoded), without the query. */
  readonly url: string;
  readonly rawQuery: string;
  /** Lower-cased header names; only the ones handlers read. */
  readonly headers: Readonly<Record<string, string>>;
  readonly startedAt = performance.now();
  /** The route pattern, for metrics and logs ("unmatched" until routed). */
  route = "unmatched";
  /** Who is asking, once authenticated (routes.ts). */
  principal: Principal | null = null;

  private _aborted = false;
  private _ended = false;
  private _started = false;
  private _status = 0;
  private reported = false;
  private readonly abortHandlers: (() => void)[] = [];
  private writableWaiter: (() => void) | undefined;

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
    private readonly onFinish: (ex: Exchange, status: FinishStatus) => void,
  ) {
    this.method = req.getMethod().toUpperCase();
    this.url = req.getUrl();
    this.rawQuery = req.getQuery() ?? "";
    const h: Record<string, string> = {};
    for (const name of ["content-type", "content-length", "accept", "authorization", "transfer-encoding"]) {
      const v = req.getHeader(name);
      if (v) h[name] = v;
    }
    this.headers = h;
    res.onAborted(() => {
      this._aborted = true;
      const wake = this.writableWaiter;
      this.writableWaiter = undefined;
      wake?.();
      this._ended = true;
      this.report("aborted");
      for (const f of this.abortHandlers.splice(0)) f();
    });
  }

  /** The client went away: stop all work for it. */
  get aborted(): boolean {
    return this._aborted;
  }
  /** A response was sent (or the connection is gone): nothing more may be written. */
  get ended(): boolean {
    return this._ended;
  }
  /** Headers are out: the status can no longer change. */
  get started(): boolean {
    return this._started;
  }
  get status(): number {
    return this._status;
  }

  onAbort(f: () => void): void {
    if (this._aborted) f();
    else this.abortHandlers.push(f);
  }

  /** The uWS response, for the body readers (onData / pause / resume). Never write through it. */
  get raw(): HttpResponse {
    return this.res;
  }

  /** Whole response in one go. `close` also drops the connection (e.g. an unread request body remains). */
  send(status: number, contentType: string | undefined, body: string | Uint8Array, headers: Record<string, string> = {}, close = false): void {
    if (this._ended) return;
    this._ended = true;
    this._status = status;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      if (contentType) this.res.writeHeader("Content-Type", contentType);
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v);
      if (this.method === "HEAD") {
        // A HEAD answer carries the GET answer's headers and no body (RFC 9110 §9.3.2); uWS's `end` would
        // write the body, which a keep-alive client then reads as the start of its next response. The
        // length goes in by hand: uWS v20.30's endWithoutBody(length) leaves the connection expecting
        // that many body bytes (the next request on it is dropped), and endWithoutBody(…, true) writes a
        // second, bogus Content-Length. So no `close` either: nothing is left unread after a HEAD.
        this.res.writeHeader("Content-Length", String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength));
        this.res.endWithoutBody();
      } else this.res.end(body, close);
    });
    this.report(status);
  }

  sendJson(status: number, value: unknown, headers?: Record<string, string>): void {
    this.send(status, JSON_TYPE, JSON.stringify(value), headers);
  }

  /**
   * An error as API.md's `{"error":{…}}`. Before the headers are out this is a normal response; after,
   * the status cannot change, so the connection is cut and the client sees a truncated reply, never a
   * complete-looking wrong one.
   */
  sendError(e: LassoError, opts: { retryAfterSec?: number; allow?: string; close?: boolean } = {}): void {
    if (this._ended) return;
    if (this._started) {
      this.destroy();
      return;
    }
    this.send(e.status, JSON_TYPE, JSON.stringify(errorBody(e)), errorHeaders(e, opts), opts.close ?? false);
  }

  /** Starts a streamed response (chunked). */
  begin(status: number, headers: Record<string, string>): void {
    if (this._ended || this._started) return;
    this._started = true;
    this._status = status;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v);
    });
  }

  /**
   * Writes part of a streamed body. uWS always takes the whole chunk; `false` means it is now holding
   * bytes the socket has not accepted, and the caller should `await writable()` before producing more.
   */
  write(chunk: string | Uint8Array): boolean {
    if (this._ended) return true;
    let ok = true;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }

  /** Resolves once the socket drained what it held (or the client went away). */
  writable(): Promise<void> {
    if (this._ended) return Promise.resolve();
    return new Promise((resolve) => {
      this.writableWaiter = resolve;
      this.res.onWritable(() => {
        const wake = this.writableWaiter;
        this.writableWaiter = undefined;
        wake?.();
        return true;
      });
    });
  }

  /** Ends a streamed body. */
  end(): void {
    if (this._ended) return;
    this._ended = true;
    this.res.cork(() => {
      this.res.end();
    });
    this.report(this._status);
  }

  /** Cuts the connection (a failure after the headers went out). */
  destroy(): void {
    if (this._ended) return;
    this._ended = true;
    // Reported first: uWS runs the onAborted callback (which would report "aborted") inside close().
    this.report("cut");
    this.res.close();
  }

  private report(status: FinishStatus): void {
    if (this.reported) return;
    this.reported = true;
    this.onFinish(this, status);
  }
}
