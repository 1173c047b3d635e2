/**
 * The WebSocket protocol of API.md, one file: what a client may send, what the server sends back, and
 * the msgpack decoding of one binary frame into a checked request.
 *
 * Client → server (each a msgpack map in one binary frame):
 *   {id, op:"count",  entity?, expr, asOf?, includeDrafts?, timeoutMs?}
 *   {id, op:"select", entity?, expr, asOf?, includeDrafts?, timeoutMs?, limit?, chunk?}
 *   {id, op:"cancel", target}
 * Server → client:
 *   {id, type:"count", count, total, tookMs}          answer of count; first frame of select
 *   {id, type:"ids", seq, ids:[…]}                    select chunks, seq from 0
 *   {id, type:"done", count, tookMs}                  select finished
 *   {id, type:"cancelled"}                            the target of a cancel stopped
 *   {id, type:"error", error:{code, message, at?, path?}}
 *
 * `id` is any msgpack string (of any length: only the frame limit bounds it) or integer, and is echoed
 * back as given: small integers as numbers, 64-bit encoded ones (which msgpackr decodes as bigint) as
 * 64-bit integers again.
 */
import { Packr, Unpackr } from "msgpackr";
import type { JsonKey } from "../../engine/api.js";
import { LassoError } from "../../engine/errors.js";
import { kindOf, requireObject, selectFields, queryFields, type QueryFields, type SelectFields } from "../request-shapes.js";

export type RequestId = string | number | bigint;

export type Request =
  | { readonly id: RequestId; readonly op: "count"; readonly fields: QueryFields }
  | { readonly id: RequestId; readonly op: "select"; readonly fields: SelectFields }
  | { readonly id: RequestId; readonly op: "cancel"; readonly target: RequestId };

/** A frame that could not be turned into a request; `id` is null when none could be read. */
export interface Refusal {
  readonly id: RequestId | null;
  readonly error: LassoError;
}

export type Outbound =
  | { id: RequestId; type: "count"; count: number; total: number; tookMs: number; warnings?: string[] }
  | { id: RequestId; type: "ids"; seq: number; ids: JsonKey[] }
  | { id: RequestId; type: "done"; count: number; tookMs: number }
  | { id: RequestId; type: "cancelled" }
  | { id: RequestId | null; type: "error"; error: ReturnType<LassoError["toJSON"]> };

export interface DecodeLimits {
  maxTimeoutMs: number;
  maxChunk: number;
}

/**
 * Decoders are per socket: msgpackr can carry record definitions from one frame to the next, and one
 * client's must never shape another's decoding.
 */
export function newUnpackr(): Unpackr {
  return new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint" });
}

const packr = new Packr({ useRecords: false });

export function encode(frame: Outbound): Uint8Array {
  return packr.pack(frame);
}

/**
 * The start of an `{id, type:"ids", seq, ids}` frame, up to and including the key "ids": the keys'
 * msgpack array follows it (KeyChunk.msgpack(head) writes both into one buffer). Packed with `ids: null`
 * and the null (0xc0, the last byte) dropped, so msgpackr writes the map header for four fields.
 */
export function idsFrameHead(id: RequestId, seq: number): Uint8Array {
  const frame = packr.pack({ id, type: "ids", seq, ids: null });
  if (frame[frame.length - 1] !== 0xc0) throw new Error("msgpack: an ids frame head must end in the null of `ids`");
  return frame.slice(0, frame.length - 1);
}

export function isRequestId(v: unknown): v is RequestId {
  if (typeof v === "string") return true;
  if (typeof v === "number") return Number.isInteger(v);
  return typeof v === "bigint";
}

/** A key for maps of running requests: 7 and 7n are the same id. */
export function idKey(id: RequestId): string {
  return typeof id === "string" ? `s${id}` : `n${id.toString()}`;
}

function refuse(id: RequestId | null, message: string): Refusal {
  return { id, error: new LassoError("bad_request", message) };
}

export function decodeFrame(unpackr: Unpackr, bytes: Uint8Array, isBinary: boolean, limits: DecodeLimits): Request | Refusal {
  if (!isBinary) return refuse(null, "text frames are not accepted: send each request as one binary frame holding a msgpack map");
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (e) {
    return refuse(null, `the frame is not one valid msgpack value (${e instanceof Error ? e.message : String(e)})`);
  }
  let o: Record<string, unknown>;
  try {
    o = requireObject(value, "frame");
  } catch (e) {
    return { id: null, error: e as LassoError };
  }
  const rawId = Object.hasOwn(o, "id") ? o["id"] : undefined;
  if (rawId === undefined || rawId === null) return refuse(null, `request frame: "id" is missing (a string or an integer that names the request)`);
  if (!isRequestId(rawId)) {
    return refuse(null, `request frame: "id" must be a string or an integer, got ${kindOf(rawId)}`);
  }
  const id = rawId;
  const op = Object.hasOwn(o, "op") ? o["op"] : undefined;
  try {
    switch (op) {
      case "count":
        return { id, op, fields: queryFields(o, "frame", limits.maxTimeoutMs) };
      case "select":
        return { id, op, fields: selectFields(o, "frame", limits.maxTimeoutMs, limits.maxChunk) };
      case "cancel": {
        const target = Object.hasOwn(o, "target") ? o["target"] : undefined;
        if (!isRequestId(target)) {
          return refuse(id, `request frame: "target" must be the id (a string or an integer) of the request to cancel, got ${target === undefined ? "nothing" : kindOf(target)}`);
        }
        return { id, op, target };
      }
      case undefined:
        return refuse(id, `request frame: "op" is missing (count, select or cancel)`);
      default:
        return refuse(id, `request frame: "op" must be count, select or cancel, got ${typeof op === "string" ? `"${op.slice(0, 64)}"` : kindOf(op)}`);
    }
  } catch (e) {
    return { id, error: e as LassoError };
  }
}
