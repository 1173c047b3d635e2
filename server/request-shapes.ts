/**
 * Shape checks shared by HTTP bodies and WebSocket frames: which fields a request has and of what JSON
 * type. Meaning (is the expression valid, does the entity exist) is the engine's to judge.
 */
import type { ExprInput, JsonKey } from "../engine/api.js";
import { LassoError } from "../engine/errors.js";

/** Where the fields came from, for messages: "body" (HTTP) or "frame" (WebSocket). */
export type Origin = "body" | "frame";

export interface QueryFields {
  entity?: string;
  expr: ExprInput;
  asOf?: string;
  includeDrafts?: boolean;
  timeoutMs?: number;
}

export interface SelectFields extends QueryFields {
  limit?: number;
  chunk?: number;
}

function isPlain(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "binary data";
  switch (typeof v) {
    case "string":
      return "a string";
    case "number":
      return Number.isInteger(v) ? "an integer" : "a number";
    case "bigint":
      return "an integer";
    case "boolean":
      return "a boolean";
    case "object":
      return isPlain(v as object) ? "an object" : `a ${(v as object).constructor?.name ?? "non-JSON"} value`;
    default:
      return typeof v;
  }
}

function bad(origin: Origin, msg: string): LassoError {
  return new LassoError("bad_request", `request ${origin}: ${msg}`);
}

/** The request must be a JSON object (a map in msgpack). */
export function requireObject(v: unknown, origin: Origin): Record<string, unknown> {
  // Plain objects only: msgpackr decodes maps to plain objects, but some other values (the reserved
  // 0xc1 byte, extensions, dates) to objects of their own classes.
  if (typeof v !== "object" || v === null || Array.isArray(v) || !isPlain(v)) {
    throw bad(origin, `must be ${origin === "body" ? "a JSON object" : "a msgpack map"}, got ${kindOf(v)}`);
  }
  return v as Record<string, unknown>;
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

export function optionalString(o: Record<string, unknown>, field: string, origin: Origin): string | undefined {
  const v = own(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(origin, `"${field}" must be a string, got ${kindOf(v)}`);
  return v;
}

export function requiredString(o: Record<string, unknown>, field: string, origin: Origin): string {
  const v = optionalString(o, field, origin);
  if (v === undefined) throw bad(origin, `"${field}" is missing (a string)`);
  return v;
}

/** A whole number in [min, max]; msgpack 64-bit integers arrive as bigint. */
export function optionalInt(o: Record<string, unknown>, field: string, origin: Origin, min: number, max: number): number | undefined {
  let v = own(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v === "bigint" && v >= BigInt(min) && v <= BigInt(max)) v = Number(v);
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(origin, `"${field}" must be an integer from ${min} to ${max}, got ${typeof v === "number" || typeof v === "bigint" ? String(v) : kindOf(v)}`);
  }
  return v;
}

function optionalBool(o: Record<string, unknown>, field: string, origin: Origin): boolean | undefined {
  const v = own(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(origin, `"${field}" must be true or false, got ${kindOf(v)}`);
  return v;
}

/**
 * `expr` is SEL text (string) or the JSON form (object, or the literals true/false). A msgpack frame may
 * carry 64-bit integers (bigint) inside it: SEL's JSON form takes those beyond 2^53 as decimal strings,
 * so they are turned into strings here (smaller ones into numbers); binary and other non-JSON values are
 * refused.
 */
function exprField(o: Record<string, unknown>, origin: Origin): ExprInput {
  const v = own(o, "expr");
  if (v === undefined) throw bad(origin, `"expr" is missing (SEL text as a string, or a JSON expression object)`);
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    return origin === "frame" ? (toJsonValue(v, "/expr") as object) : v;
  }
  throw bad(origin, `"expr" must be SEL text (a string) or a JSON expression (an object, true or false), got ${kindOf(v)}`);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Deep-copies a decoded msgpack value into plain JSON values (bigint → number or decimal string). Iterative so a
 * hostile nesting depth cannot overflow the stack; the engine rejects depth past its own limit.
 */
export function toJsonValue(root: unknown, at: string): unknown {
  const convert = (v: unknown, path: string): unknown => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new LassoError("bad_request", `request frame: ${path} is not a finite number`);
      return v;
    }
    // 64-bit msgpack integers decode as bigint; SEL's JSON form takes those past 2^53 as decimal strings.
    if (typeof v === "bigint") return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
    if (Array.isArray(v)) return new Array<unknown>(v.length);
    if (typeof v === "object" && !(v instanceof Uint8Array) && !(v instanceof Date) && !(v instanceof Map)) return {};
    throw new LassoError("bad_request", `request frame: ${path} is ${kindOf(v)}, which has no JSON form`);
  };
  const out = convert(root, at);
  const stack: [unknown, unknown, string][] = [[root, out, at]];
  while (stack.length > 0) {
    const [src, dst, path] = stack.pop()!;
    if (Array.isArray(src)) {
      const d = dst as unknown[];
      for (let i = 0; i < src.length; i++) {
        d[i] = convert(src[i], `${path}/${i}`);
        if (typeof d[i] === "object" && d[i] !== null) stack.push([src[i], d[i], `${path}/${i}`]);
      }
    } else if (typeof src === "object" && src !== null) {
      const d = dst as Record<string, unknown>;
      for (const [k, v] of Object.entries(src)) {
        const c = convert(v, `${path}/${k}`);
        // defineProperty: a key named "__proto__" stays data, never a prototype swap.
        Object.defineProperty(d, k, { value: c, enumerable: true, writable: true, configurable: true });
        if (typeof c === "object" && c !== null) stack.push([v, c, `${path}/${k}`]);
      }
    }
  }
  return out;
}

export function queryFields(o: Record<string, unknown>, origin: Origin, maxTimeoutMs: number): QueryFields {
  const f: QueryFields = { expr: exprField(o, origin) };
  const entity = optionalString(o, "entity", origin);
  if (entity !== undefined) f.entity = entity;
  const asOf = optionalString(o, "asOf", origin);
  if (asOf !== undefined) f.asOf = asOf;
  const drafts = optionalBool(o, "includeDrafts", origin);
  if (drafts !== undefined) f.includeDrafts = drafts;
  // Larger than the maximum is accepted and cut to it; the cut is the server's policy, not an error.
  const timeout = optionalInt(o, "timeoutMs", origin, 1, Number.MAX_SAFE_INTEGER);
  if (timeout !== undefined) f.timeoutMs = Math.min(timeout, maxTimeoutMs);
  return f;
}

/**
 * A whole number ≥ min whose larger values all mean the same as `max`, so they are cut to it rather than
 * refused: `limit` (1e20 too: JSON has no integer type; past every possible count it means "all") and
 * `chunk` (the most ids per frame: a frame holding fewer than asked still keeps that promise).
 */
function cappedInt(o: Record<string, unknown>, field: string, origin: Origin, min: number, max: number): number | undefined {
  let v = own(o, field);
  if ((typeof v === "number" && Number.isInteger(v) && v > max) || (typeof v === "bigint" && v > BigInt(max))) v = max;
  return optionalInt({ [field]: v }, field, origin, min, max);
}

export function selectFields(o: Record<string, unknown>, origin: Origin, maxTimeoutMs: number, maxChunk: number): SelectFields {
  const f: SelectFields = queryFields(o, origin, maxTimeoutMs);
  const limit = cappedInt(o, "limit", origin, 0, Number.MAX_SAFE_INTEGER);
  if (limit !== undefined) f.limit = limit;
  const chunk = cappedInt(o, "chunk", origin, 1, maxChunk);
  if (chunk !== undefined) f.chunk = chunk;
  return f;
}

/** `{"keys":[…]}` of `DELETE …/rows`: each key a string or an integer (64-bit keys as decimal strings). */
export function deleteKeys(o: Record<string, unknown>): JsonKey[] {
  const keys = own(o, "keys");
  if (!Array.isArray(keys)) throw bad("body", `"keys" must be an array of entity keys, got ${keys === undefined ? "nothing" : kindOf(keys)}`);
  for (let i = 0; i < keys.length; i++) {
    const k: unknown = keys[i];
    if (typeof k === "string") continue;
    if (typeof k === "number" && Number.isSafeInteger(k)) continue;
    const got = typeof k === "number" && Number.isInteger(k) ? `${k}, beyond 2^53 where JSON numbers lose digits` : kindOf(k);
    throw bad("body", `"keys"[${i}] must be a string or an integer (64-bit keys as decimal strings), got ${got}`);
  }
  return keys as JsonKey[];
}

/** `PUT /v1/segments/{name}` body. */
export function segmentFields(o: Record<string, unknown>): { entity?: string; expr: ExprInput; description?: string } {
  const f: { entity?: string; expr: ExprInput; description?: string } = { expr: exprField(o, "body") };
  const entity = optionalString(o, "entity", "body");
  if (entity !== undefined) f.entity = entity;
  const description = optionalString(o, "description", "body");
  if (description !== undefined) f.description = description;
  return f;
}
