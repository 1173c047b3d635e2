/**
 * Server settings and their defaults, named once. Every limit here is checked at the edge (HTTP body,
 * WebSocket frame, admission) before the engine sees a request.
 */
import type { Logger } from "./log.js";
import { silentLogger } from "./log.js";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 7600;
const MiB = 1024 * 1024;

export interface ServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7600; 0 picks a free port (the real one is reported by `createServer`). */
  port?: number;
  /** Largest JSON body of count / select / segment requests (API.md: 1 MiB). */
  maxJsonBodyBytes?: number;
  /** Largest JSON body of `DELETE …/rows` (a key list can be long). */
  maxDeleteBodyBytes?: number;
  /** Largest WebSocket frame; a bigger one drops the connection with 1009 (uWS cannot do otherwise). */
  maxFrameBytes?: number;
  /** Queries (count / select / segment counts) running at once over all clients; beyond → `overloaded`. */
  maxInFlight?: number;
  /** Requests running at once on one WebSocket; beyond → `overloaded` for that socket. */
  maxInFlightPerSocket?: number;
  /** Loads running at once; beyond → `overloaded`. */
  maxLoadsInFlight?: number;
  /** Query timeout when a request gives none (→ `timeout`, 408). */
  queryTimeoutMs?: number;
  /** Largest `timeoutMs` a request may ask for; larger values are cut to it. */
  maxQueryTimeoutMs?: number;
  /** Seconds a WebSocket may stay silent before uWS closes it (0 disables). */
  idleTimeoutSec?: number;
  /** A select pulls its next chunk only while the socket holds less than this many unsent bytes. */
  streamHighWaterBytes?: number;
  /** Largest `chunk` (ids per WebSocket frame); a larger ask is cut to it. */
  maxChunk?: number;
  /** Load bodies: unread bytes held before the upload is paused. */
  loadHighWaterBytes?: number;
  /** Seconds sent in Retry-After with `overloaded`. */
  retryAfterSec?: number;
  /** Distinct enum values listed per tag by `GET …/tags` (override per request with `?values=N`). */
  tagValuesLimit?: number;
  /** Log every HTTP request (one line each); errors are logged regardless. */
  accessLog?: boolean;
  log?: Logger;
}

export type ResolvedOptions = Required<ServerOptions>;

export function resolveOptions(o: ServerOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    host: o.host ?? DEFAULT_HOST,
    port: o.port ?? DEFAULT_PORT,
    maxJsonBodyBytes: o.maxJsonBodyBytes ?? 1 * MiB,
    maxDeleteBodyBytes: o.maxDeleteBodyBytes ?? 64 * MiB,
    maxFrameBytes: o.maxFrameBytes ?? 16 * MiB,
    maxInFlight: o.maxInFlight ?? 256,
    maxInFlightPerSocket: o.maxInFlightPerSocket ?? 64,
    maxLoadsInFlight: o.maxLoadsInFlight ?? 4,
    queryTimeoutMs: o.queryTimeoutMs ?? 30_000,
    maxQueryTimeoutMs: o.maxQueryTimeoutMs ?? 600_000,
    idleTimeoutSec: o.idleTimeoutSec ?? 120,
    streamHighWaterBytes: o.streamHighWaterBytes ?? 1 * MiB,
    maxChunk: o.maxChunk ?? 1 << 20,
    loadHighWaterBytes: o.loadHighWaterBytes ?? 8 * MiB,
    retryAfterSec: o.retryAfterSec ?? 1,
    tagValuesLimit: o.tagValuesLimit ?? 100,
    accessLog: o.accessLog ?? false,
    log: o.log ?? silentLogger,
  };
  for (const [name, value] of Object.entries(r)) {
    if (typeof value === "number" && !(Number.isInteger(value) && value >= 0)) {
      throw new RangeError(`server option ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (r.port > 65535) throw new RangeError(`server option port must be 0…65535, got ${r.port}`);
  // uWS rounds idle timeouts to multiples of 4 s and rejects values under 8 s (other than 0).
  if (r.idleTimeoutSec !== 0 && r.idleTimeoutSec < 8) r.idleTimeoutSec = 8;
  return r;
}
