/** Size and depth limits shared by the text and JSON readers (SEL.md: "Nesting depth is bounded"). */

export interface ParseOptions {
  /** Most UTF-8 bytes of expression text (default 65,536); checked before anything else. */
  maxBytes?: number;
  /** Most nesting levels: each parenthesised group, NOT and AND/OR operand is one (default 128). */
  maxDepth?: number;
}

export const DEFAULT_MAX_BYTES = 65_536;
export const DEFAULT_MAX_DEPTH = 128;
/**
 * The readers recurse once per level (a few frames, ~1 KB of stack before the JIT warms up; the
 * default main-thread stack held ~940 levels when measured), so the depth a caller may ask for is
 * capped well below that: a limit must never turn into a RangeError.
 */
export const MAX_DEPTH_CEILING = 256;

export interface Limits {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

export function resolveLimits(opts: ParseOptions | undefined): Limits {
  const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = Math.min(opts?.maxDepth ?? DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING);
  return { maxBytes, maxDepth };
}

/**
 * Last line of defence should a reader be entered with little stack left (a deep caller, a small
 * worker stack): a stack overflow is reported as `too_deep`, never escapes as a RangeError.
 */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}
