/**
 * The one error type Lasso raises on purpose. Every user-facing failure carries a stable `code`
 * (the contract's codes, see ../shared/spec), a message that says what/where/what would be valid,
 * and — for expression errors — where: `at` (1-based line:column and length in code points, text form)
 * or `path` (a JSON Pointer, JSON form).
 */
export type ErrorCode =
  // expression language (SEL.md)
  | "syntax"
  | "unknown_tag"
  | "type_mismatch"
  | "unknown_segment"
  | "segment_cycle"
  | "segment_in_use"
  | "too_deep"
  | "too_large"
  // API (API.md)
  | "bad_json"
  | "bad_request"
  | "unsupported_media_type"
  | "unknown_entity"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "bad_arrow"
  | "schema_conflict"
  | "duplicate_key"
  | "null_key"
  | "timeout"
  | "cancelled"
  | "overloaded"
  | "unauthorized"
  | "forbidden"
  | "tag_disabled"
  // tag catalog (409s)
  | "conflict"
  | "version_conflict"
  | "invalid_transition"
  | "cycle"
  // the engine's own faults (5xx)
  | "internal"
  | "kernel_fault"
  | "io_error";

/** HTTP status for each code; 5xx only for Lasso's own faults. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  syntax: 400,
  unknown_tag: 400,
  type_mismatch: 400,
  unknown_segment: 404,
  segment_cycle: 400,
  segment_in_use: 409,
  too_deep: 400,
  too_large: 400,
  bad_json: 400,
  bad_request: 400,
  unsupported_media_type: 415,
  unknown_entity: 404,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  bad_arrow: 400,
  schema_conflict: 409,
  duplicate_key: 400,
  null_key: 400,
  timeout: 408,
  cancelled: 499,
  overloaded: 503,
  unauthorized: 401,
  forbidden: 403,
  tag_disabled: 409,
  conflict: 409,
  version_conflict: 409,
  invalid_transition: 409,
  cycle: 409,
  internal: 500,
  kernel_fault: 500,
  io_error: 500,
};

/** A place in expression text: 1-based line and column, length — all in Unicode code points. */
export interface Span {
  readonly line: number;
  readonly column: number;
  readonly length: number;
}

export interface ErrorDetails {
  /** Where in the text form. */
  at?: Span;
  /** Where in the JSON form: a JSON Pointer to the offending node, e.g. `/and/2`. */
  path?: string;
  /** Extra machine-readable facts (e.g. `suggestions` for unknown_tag, `expected` for syntax). */
  [key: string]: unknown;
}

export class LassoError extends Error {
  readonly code: ErrorCode;
  readonly at?: Span;
  readonly path?: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = "LassoError";
    this.code = code;
    const { at, path, ...rest } = details;
    if (at) this.at = at;
    if (path !== undefined) this.path = path;
    this.details = rest;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** The wire form of API.md: `{code, message, at?, path?}`. */
  toJSON(): { code: ErrorCode; message: string; at?: Span; path?: string } {
    const out: { code: ErrorCode; message: string; at?: Span; path?: string } = {
      code: this.code,
      message: this.message,
    };
    if (this.at) out.at = this.at;
    if (this.path !== undefined) out.path = this.path;
    return out;
  }
}

export function isLassoError(e: unknown): e is LassoError {
  return e instanceof LassoError;
}
