/**
 * Request bodies. Two readers, both started synchronously in the route callback (uWS delivers body data
 * right away and copies nothing: each chunk's ArrayBuffer is neutered when the callback returns):
 * - `readJsonBody`: bounded, whole, UTF-8-checked, parsed; over the limit → `payload_too_large` at once.
 * - `BodyStream`: an async iterable of chunks for loads, never the whole body in memory: the upload is
 *   paused while the consumer lags, and a body cut short ends the iteration with an error.
 */
import { LassoError } from "../../engine/errors.js";
import type { Exchange } from "./exchange.js";

/** Media types as sent, parameters split off. */
export function mediaType(header: string | undefined): { type: string; params: Record<string, string> } {
  if (!header) return { type: "", params: {} };
  const [type, ...rest] = header.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1").toLowerCase();
  }
  return { type: type!.trim().toLowerCase(), params };
}

/** API.md: request bodies are `application/json` (charset optional; when given it must be UTF-8). */
export function requireJsonContentType(ex: Exchange): void {
  const { type, params } = mediaType(ex.headers["content-type"]);
  if (type !== "application/json") {
    throw new LassoError(
      "unsupported_media_type",
      `request body must be Content-Type: application/json, got ${ex.headers["content-type"] ? `"${ex.headers["content-type"]}"` : "none"}`,
    );
  }
  if (params.charset !== undefined && params.charset !== "utf-8" && params.charset !== "utf8") {
    throw new LassoError("unsupported_media_type", `request body charset must be utf-8, got "${params.charset}"`);
  }
}

/** Content-Length when sent and well-formed. */
export function declaredLength(ex: Exchange): number | undefined {
  const v = ex.headers["content-length"];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Thrown (never sent) when the client left while its body was being read. */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection");
  }
}

function tooLarge(limit: number): LassoError {
  return new LassoError("payload_too_large", `request body is over the ${limit}-byte limit`, { limit });
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads and parses a JSON body of at most `limit` bytes. Rejects with `payload_too_large` as soon as the
 * limit is passed (the reader stops accumulating; the caller answers and closes the connection),
 * `bad_json` for bytes that are not UTF-8 or not JSON, `ClientGone` when the client left.
 */
export function readJsonBody(ex: Exchange, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(ex);
    if (declared !== undefined && declared > limit) {
      reject(tooLarge(limit));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    ex.onAbort(() => {
      if (settled) return;
      settled = true;
      reject(new ClientGone());
    });
    ex.raw.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (size > limit) {
        settled = true;
        reject(tooLarge(limit));
        return;
      }
      // Copied: uWS neuters the ArrayBuffer when this callback returns.
      parts.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      settled = true;
      try {
        resolve(parseJson(Buffer.concat(parts, size)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

export function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) throw new LassoError("bad_json", "request body is empty; expected a JSON object");
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new LassoError("bad_json", "request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new LassoError("bad_json", `request body is not valid JSON: ${msg}`);
  }
}

/**
 * A load body as an async iterable of chunks, fed by uWS `onData`. Holds at most about `highWater`
 * unread bytes: past that the upload is paused (TCP pushes back on the client) until the consumer
 * catches up. Ends normally at the body's last byte; ends with an error when the client leaves first
 * (dropped connection, or fewer bytes than Content-Length followed by a close), so a load never
 * mistakes a cut body for a whole one.
 *
 * uWS's chunks (tens of KiB, their memory reclaimed when the callback returns) are copied into 1 MiB
 * slabs that are reused: a chunk handed out is valid until the consumer asks for the next one, as
 * LoadRequest.body allows (ingest and the CSV reader are done with a chunk by then). A fresh buffer per
 * uWS chunk cost ~4 s of CPU (collection, page faults) over a 3.5 GB load.
 */
export class BodyStream implements AsyncIterable<Uint8Array> {
  /** Slab views ready for the consumer, in order. */
  private readonly queue: Uint8Array[] = [];
  /** The slab being filled, and how much of it is. */
  private slab: Uint8Array | null = null;
  private filled = 0;
  /** Slabs the consumer is done with. */
  private readonly spare: Uint8Array[] = [];
  private queued = 0;
  private received = 0;
  private complete = false;
  private failure: Error | undefined;
  private paused = false;
  private wake: (() => void) | undefined;
  private iterating = false;

  /** `badBody`: the code of a body cut short or of another length than declared (bad_arrow for Arrow IPC). */
  constructor(
    private readonly ex: Exchange,
    private readonly highWater: number,
    badBody: "bad_arrow" | "bad_request" = "bad_arrow",
  ) {
    const declared = declaredLength(ex);
    ex.onAbort(() => {
      if (this.complete) return;
      this.fail(
        new LassoError(
          badBody,
          `the request body was cut short after ${this.received} bytes${declared !== undefined ? ` of ${declared}` : ""} (connection closed)`,
        ),
      );
    });
    ex.raw.onData((chunk, isLast) => {
      if (this.complete || this.failure) return;
      if (chunk.byteLength > 0) {
        this.copyIn(new Uint8Array(chunk));
        this.queued += chunk.byteLength;
        this.received += chunk.byteLength;
      }
      if (isLast) {
        if (declared !== undefined && this.received !== declared) {
          this.fail(new LassoError(badBody, `the request body has ${this.received} bytes, Content-Length said ${declared}`));
          return;
        }
        this.complete = true;
      } else if (this.queued >= this.highWater && !this.paused && !ex.ended) {
        this.paused = true;
        ex.raw.pause();
      }
      this.notify();
    });
  }

  /** Whether the whole body arrived (if not, the connection must be closed after the reply). */
  get fullyRead(): boolean {
    return this.complete && this.queue.length === 0 && this.slab === null;
  }
  get bytesReceived(): number {
    return this.received;
  }

  private copyIn(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (!this.slab) {
        this.slab = this.spare.pop() ?? new Uint8Array(SLAB_BYTES);
        this.filled = 0;
      }
      const n = Math.min(bytes.length - at, this.slab.length - this.filled);
      this.slab.set(bytes.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.slab.length) this.hand();
    }
  }

  /** Queues the filled part of the current slab. */
  private hand(): void {
    if (!this.slab || this.filled === 0) return;
    this.queue.push(this.slab.subarray(0, this.filled));
    this.slab = null;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterating) throw new Error("a request body can be read once");
    this.iterating = true;
    for (;;) {
      if (this.failure) throw this.failure;
      // Full slabs are queued as they fill; a partly filled one goes out when nothing else is left, so a
      // waiting consumer never waits for bytes that have arrived (and a paused upload always drains).
      if (this.queue.length === 0) this.hand();
      const next = this.queue.shift();
      if (next) {
        this.queued -= next.byteLength;
        if (this.paused && this.queued < this.highWater / 2 && !this.ex.ended) {
          this.paused = false;
          this.ex.raw.resume();
        }
        yield next;
        // asked for the next chunk: this one's slab is free again
        if (this.spare.length < MAX_SPARE_SLABS) this.spare.push(new Uint8Array(next.buffer, 0, SLAB_BYTES));
        continue;
      }
      if (this.complete) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

const SLAB_BYTES = 1 << 20;
/** Slabs kept for reuse: enough for a full queue at the default 8 MiB high-water mark. */
const MAX_SPARE_SLABS = 16;
