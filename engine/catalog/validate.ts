/**
 * Value checks shared by the library, the HTTP handler and the CLI. Each throws `bad_request` naming the
 * field, what was wrong and what would be valid; none of them touches storage.
 */
import { LassoError } from "../errors.js";
import { LIMITS } from "./types.js";

// C0/C1 controls and the Unicode line/paragraph separators: never meaningful in a name.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const ENTITY_NAME = /^[\p{L}\p{N}_.-]+$/u;
const USER_NAME = /^[A-Za-z0-9_.@-]+$/;

export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function text(field: string, value: unknown, max: number, opts: { min?: number; multiline?: boolean } = {}): string {
  if (typeof value !== "string") throw new LassoError("bad_request", `${field} must be a string`);
  const len = codePoints(value);
  const min = opts.min ?? 0;
  if (len < min) throw new LassoError("bad_request", `${field} must not be empty`);
  if (len > max) throw new LassoError("bad_request", `${field} is ${len} characters long; at most ${max} are allowed`);
  const check = opts.multiline ? value.replace(/[\n\t]/g, " ") : value;
  if (CONTROL.test(check)) throw new LassoError("bad_request", `${field} contains a control character`);
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new LassoError("bad_request", `${field} must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Most UTF-8 bytes: the entity's data directory is "<number>-<name>", under the 255-byte file name limit. */
const MAX_ENTITY_NAME_BYTES = 200;

/** An entity name, by the one rule the store and the catalog share. */
export function entityName(value: unknown, max = LIMITS.entity): string {
  const s = text("entity", value, max, { min: 1 });
  if (!ENTITY_NAME.test(s)) throw new LassoError("bad_request", `entity "${s}" may contain only letters, digits, "_", "-" and "."`);
  const bytes = Buffer.byteLength(s, "utf8");
  if (bytes > MAX_ENTITY_NAME_BYTES) {
    throw new LassoError("bad_request", `entity "${s}" is ${bytes} bytes of UTF-8; at most ${MAX_ENTITY_NAME_BYTES} are allowed`);
  }
  return s;
}

/** A tag name is a SEL identifier or a backtick-quoted one, so anything but a backtick and controls. */
export function tagName(value: unknown, max: number): string {
  const s = text("tag name", value, max, { min: 1 });
  if (s.includes("`")) throw new LassoError("bad_request", `tag name "${s}" contains a backtick, which SEL cannot quote`);
  if (s.trim() !== s) throw new LassoError("bad_request", `tag name "${s}" starts or ends with white space`);
  return s;
}

export function userName(value: unknown, max: number): string {
  const s = text("user name", value, max, { min: 1 });
  if (!USER_NAME.test(s)) throw new LassoError("bad_request", `user name "${s}" may contain only A-Z a-z 0-9 _ . @ -`);
  return s;
}

export function categoryName(value: unknown, max: number): string {
  const s = text("category name", value, max, { min: 1 }).trim();
  if (s.length === 0) throw new LassoError("bad_request", "category name must not be blank");
  return s;
}

export function positiveInt(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new LassoError("bad_request", `${field} must be a positive integer; got ${JSON.stringify(value)}`);
  }
  return value;
}

export function nonNegativeNumber(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new LassoError("bad_request", `${field} must be a non-negative number; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An ISO 8601 instant (as produced by `Date#toISOString`, or any form `Date` parses with a date part). */
export function instant(field: string, value: unknown): string {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new LassoError("bad_request", `${field} must be an ISO 8601 time such as 2025-01-31T00:00:00Z; got ${JSON.stringify(value)}`);
  }
  return new Date(Date.parse(value)).toISOString();
}
