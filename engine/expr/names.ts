/**
 * Lexical rules for names, shared by the lexer (reading), the JSON reader (validating) and the
 * formatter (deciding when a tag name needs backticks), so the three can never disagree.
 */

/** SEL.md's reserved words: tag names that are one of these (any case) must be backtick-quoted. */
export const RESERVED_WORDS = [
  "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "HAS", "ANY", "ALL",
  "WITHIN", "BEFORE", "AFTER", "TRUE", "FALSE", "DATE", "TIMESTAMP",
] as const;
export type Keyword = (typeof RESERVED_WORDS)[number];
const RESERVED: ReadonlySet<string> = new Set(RESERVED_WORDS);

/** Unit words are keywords only right after `WITHIN n`; elsewhere they are ordinary tag names. */
/** A Map, not an object: a lookup must not find `__proto__` or `constructor` on a prototype. */
const UNIT_WORDS: ReadonlyMap<string, "day" | "hour" | "minute"> = new Map([
  ["DAY", "day"], ["DAYS", "day"], ["HOUR", "hour"], ["HOURS", "hour"], ["MINUTE", "minute"], ["MINUTES", "minute"],
]);

/** The longest segment name, in code points (SEL.md fine print). */
export const MAX_SEGMENT_NAME = 128;

const ASCII_LETTERS = /^[A-Za-z]+$/;

/**
 * Keywords are matched case-insensitively over ASCII only: `"ın".toUpperCase()` is `"IN"`, and a
 * Turkish tag name must not turn into an operator.
 */
export function keywordOf(word: string): Keyword | undefined {
  if (!ASCII_LETTERS.test(word)) return undefined;
  const upper = word.toUpperCase();
  return RESERVED.has(upper) ? (upper as Keyword) : undefined;
}

/** The unit a word names right after `WITHIN n` (any ASCII case), or undefined. */
export function unitOf(word: string): "day" | "hour" | "minute" | undefined {
  return UNIT_WORDS.get(asciiUpper(word));
}

/** ASCII-only upper case, for unit words (same reason as keywordOf). */
export function asciiUpper(word: string): string {
  return ASCII_LETTERS.test(word) ? word.toUpperCase() : word;
}

const IDENT_START = /^[\p{L}_]$/u;
/**
 * SEL.md says letters, digits, '_' and '.'. Combining marks (\p{M}) are accepted after the first
 * character as well — more than the contract asks — because Thai, Hindi and other scripts cannot spell
 * words without them (ชื่อ, नाम), and a name that is letters to its reader should not need backticks.
 */
const IDENT_PART = /^[\p{L}\p{M}\p{Nd}_.]$/u;
const SEGMENT_CHAR = /^[\p{L}\p{Nd}_.\-]$/u;
const IDENTIFIER = /^[\p{L}_][\p{L}\p{M}\p{Nd}_.]*$/u;
const SEGMENT_NAME = /^[\p{L}\p{Nd}_.\-]+$/u;

function isAsciiLetter(cp: number): boolean {
  return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}
function isAsciiDigit(cp: number): boolean {
  return cp >= 0x30 && cp <= 0x39;
}

export function isIdentStart(cp: number): boolean {
  if (cp < 0x80) return isAsciiLetter(cp) || cp === 0x5f;
  return IDENT_START.test(String.fromCodePoint(cp));
}

export function isIdentPart(cp: number): boolean {
  if (cp < 0x80) return isAsciiLetter(cp) || isAsciiDigit(cp) || cp === 0x5f || cp === 0x2e;
  return IDENT_PART.test(String.fromCodePoint(cp));
}

export function isSegmentChar(cp: number): boolean {
  if (cp < 0x80) return isAsciiLetter(cp) || isAsciiDigit(cp) || cp === 0x5f || cp === 0x2e || cp === 0x2d;
  return SEGMENT_CHAR.test(String.fromCodePoint(cp));
}

/** A tag name that can be written without backticks. */
export function isPlainIdentifier(name: string): boolean {
  return IDENTIFIER.test(name) && keywordOf(name) === undefined;
}

/** Why a segment name is invalid, or undefined when it is fine. */
export function segmentNameProblem(name: string): string | undefined {
  const length = codePointLength(name);
  if (length === 0) return "a segment name cannot be empty";
  if (length > MAX_SEGMENT_NAME) return `a segment name has at most ${MAX_SEGMENT_NAME} characters, this one has ${length}`;
  if (!SEGMENT_NAME.test(name)) return "a segment name has only letters, digits, '_', '-' and '.'";
  return undefined;
}

/** Why a tag name cannot be written in SEL text, or undefined when it can (backticks allow all else). */
export function tagNameProblem(name: string): string | undefined {
  if (name.length === 0) return "a tag name cannot be empty";
  if (name.includes("`")) return "a tag name cannot contain '`'";
  if (hasLoneSurrogate(name)) return "a tag name must be valid Unicode (it has an unpaired surrogate)";
  return undefined;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Strings from JSON.parse or JS callers may hold unpaired surrogates, which have no UTF-8 form. */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

export function isSurrogate(cp: number): boolean {
  return cp >= 0xd800 && cp <= 0xdfff;
}

export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a high surrogate followed by a low one is one code point
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
