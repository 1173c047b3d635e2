/** Literal helpers shared by both readers, the formatter and the checker. */

export const NUMBER_SYNTAX = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** A decimal-integer string, accepted where a number is due (JSON integers beyond 2^53). */
export const DECIMAL_INTEGER = /^-?\d+$/;
export const NON_NEGATIVE_INTEGER = /^\d+$/;
const SMALL_INTEGER = /^-?\d{1,15}$/;

/**
 * Past this many decimal digits a literal is far beyond any 64-bit tag and any double (±Infinity):
 * its exact integer is not built (10^1e9 would not fit in memory), and `int` is null.
 */
export const MAX_EXACT_DIGITS = 400;

/**
 * The value of a number literal written as `text` (which matches NUMBER_SYNTAX): the nearest double,
 * and the exact integer when the literal denotes one (`1e3`, `30.0`, `9223372036854775807`).
 */
export function numberValue(text: string): { value: number; int: bigint | null } {
  const value = Number(text);
  // the common case: a plain integer that a double holds exactly
  if (SMALL_INTEGER.test(text)) return { value, int: BigInt(value) };
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return { value, int: null };
  const negative = m[1] === "-";
  const fraction = m[3] ?? "";
  let digits = (m[2]! + fraction).replace(/^0+/, "");
  if (digits === "") return { value, int: 0n };
  const trimmed = digits.replace(/0+$/, "");
  const trailingZeros = digits.length - trimmed.length;
  digits = trimmed;
  // value = digits × 10^scale, with digits ending in a non-zero digit
  const scale = BigInt(m[4] ?? "0") - BigInt(fraction.length) + BigInt(trailingZeros);
  if (scale < 0n) return { value, int: null };
  if (BigInt(digits.length) + scale > BigInt(MAX_EXACT_DIGITS)) return { value, int: null };
  const magnitude = BigInt(digits) * 10n ** scale;
  return { value, int: negative ? -magnitude : magnitude };
}

/**
 * LIKE's own escape: after string unescaping, `\` makes the next character literal, so a pattern that
 * ends in an unpaired `\` has nothing to escape (SEL.md fine print).
 */
export function likePatternEndsInLoneBackslash(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern.charCodeAt(i) === 0x5c) {
      if (i + 1 >= pattern.length) return true;
      i++;
    }
  }
  return false;
}

/**
 * The canonical quoted form: single quotes, escaping only what must be (`'` and `\`) plus characters
 * that would be invisible or break a line (controls, line/paragraph separators).
 */
export function quoteString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "'") out += "\\'";
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029) {
      out += `\\u{${cp.toString(16).toUpperCase()}}`;
    } else out += ch;
  }
  return out + "'";
}
