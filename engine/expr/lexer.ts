/**
 * SEL text → tokens, on demand (so the first error in reading order is the one reported).
 * Positions are kept in Unicode code points, as error spans are (SEL.md "Errors"); lines are
 * separated by `\n` (a `\r` before it is an ordinary blank).
 */
import { LassoError, type Span } from "../errors.js";
import {
  codePointLength,
  isIdentPart,
  isIdentStart,
  isSegmentChar,
  isSurrogate,
  keywordOf,
  segmentNameProblem,
  type Keyword,
} from "./names.js";

export interface Pos {
  /** UTF-16 index into the text. */
  readonly index: number;
  /** Code points before this position. */
  readonly cp: number;
  readonly line: number;
  readonly column: number;
}

export type TokenKind =
  | "word" // an unquoted identifier, possibly a reserved word
  | "name" // a backtick-quoted name
  | "segment" // @name or @`name`
  | "string"
  | "number"
  | "punct"
  | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** The token as written. */
  readonly text: string;
  /** word: the identifier; name / segment: the bare name; string: after unescaping; else as written. */
  readonly value: string;
  /** Set when a word is a reserved word (in upper case). */
  readonly keyword?: Keyword;
  readonly start: Pos;
  readonly end: Pos;
}

export function spanBetween(start: Pos, end: Pos): Span {
  return { line: start.line, column: start.column, length: end.cp - start.cp };
}

export function tokenSpan(t: Token): Span {
  return spanBetween(t.start, t.end);
}

const PUNCT_TWO = new Set(["!=", "<>", "<=", ">="]);
const PUNCT_ONE = new Set(["(", ")", ",", "=", "<", ">"]);
const BACKSLASH = 0x5c;
const BACKTICK = 0x60;

/** What may start a token, for an unexpected character (the lexer does not know the parser's context). */
const TOKEN_EXPECTED = ["a tag name", "`quoted name`", "@segment", "a string", "a number", "( ) ,", "= != <> < <= > >="];
const TOKEN_HELP = "expected a tag name, a `quoted name`, an @segment, a 'string', a number, '(', ')', ',' or a comparison";
const ESCAPES_HELP = "valid escapes are \\' \\\" \\\\ \\n \\t \\uXXXX \\u{X…}";

export class Lexer {
  private index = 0;
  private cp = 0;
  private line = 1;
  private column = 1;

  constructor(private readonly text: string) {}

  next(): Token {
    this.skipBlanks();
    const start = this.pos();
    if (this.atEnd()) return { kind: "eof", text: "", value: "", start, end: start };
    const c = this.code();
    if (c === 0x27 || c === 0x22) return this.string(c);
    if (c === BACKTICK) {
      const name = this.quotedName();
      return this.token("name", start, name);
    }
    if (c === 0x40) return this.segment();
    if (isDigit(c) || (c === 0x2d && isDigit(this.codeAt(this.index + 1)))) return this.number();
    if (isIdentStart(c)) {
      while (!this.atEnd() && isIdentPart(this.code())) this.advance();
      const word = this.text.slice(start.index, this.index);
      const keyword = keywordOf(word);
      const end = this.pos();
      return keyword
        ? { kind: "word", text: word, value: word, keyword, start, end }
        : { kind: "word", text: word, value: word, start, end };
    }
    const two = this.text.slice(this.index, this.index + 2);
    if (PUNCT_TWO.has(two)) {
      this.advance();
      this.advance();
      return this.token("punct", start, two);
    }
    const one = String.fromCodePoint(c);
    if (PUNCT_ONE.has(one)) {
      this.advance();
      return this.token("punct", start, one);
    }
    this.advance();
    if (one === "!") throw this.fail(start, "unexpected '!': did you mean '!='?", ["!="]);
    if (one === "-") throw this.fail(start, "unexpected '-': a negative number is written -5 (no space)", ["a number"]);
    throw this.fail(start, `unexpected character ${describeChar(c)}: ${TOKEN_HELP}`, TOKEN_EXPECTED);
  }

  private token(kind: TokenKind, start: Pos, value: string): Token {
    return { kind, text: this.text.slice(start.index, this.index), value, start, end: this.pos() };
  }

  // ---- cursor ----

  private pos(): Pos {
    return { index: this.index, cp: this.cp, line: this.line, column: this.column };
  }
  private atEnd(): boolean {
    return this.index >= this.text.length;
  }
  /** The code point at the cursor; an unpaired surrogate comes back as itself. */
  private code(): number {
    return this.text.codePointAt(this.index)!;
  }
  private codeAt(index: number): number {
    return index < this.text.length ? this.text.codePointAt(index)! : -1;
  }
  private advance(): void {
    const c = this.code();
    this.index += c > 0xffff ? 2 : 1;
    this.cp++;
    if (c === 0x0a) {
      this.line++;
      this.column = 1;
    } else this.column++;
  }
  private skipBlanks(): void {
    while (!this.atEnd() && isBlank(this.code())) this.advance();
  }

  private fail(start: Pos, message: string, expected: string[]): LassoError {
    return new LassoError("syntax", message, { at: spanBetween(start, this.pos()), expected });
  }

  // ---- token bodies ----

  private string(quote: number): Token {
    const start = this.pos();
    const q = String.fromCharCode(quote);
    this.advance();
    let out = "";
    for (;;) {
      if (this.atEnd()) throw this.fail(start, `unterminated string: expected a closing ${q}`, [q]);
      const c = this.code();
      if (c === quote) {
        this.advance();
        break;
      }
      if (c === BACKSLASH) {
        out += this.escape();
        continue;
      }
      this.rejectSurrogate(c);
      out += String.fromCodePoint(c);
      this.advance();
    }
    return this.token("string", start, out);
  }

  private escape(): string {
    const start = this.pos();
    this.advance();
    if (this.atEnd()) throw this.fail(start, `unterminated escape '\\': ${ESCAPES_HELP}`, ["an escape"]);
    const c = this.code();
    this.advance();
    switch (c) {
      case 0x27:
        return "'";
      case 0x22:
        return '"';
      case BACKSLASH:
        return "\\";
      case 0x6e:
        return "\n";
      case 0x74:
        return "\t";
      case 0x75:
        return this.unicodeEscape(start);
      default:
        throw this.fail(start, `invalid escape '\\${String.fromCodePoint(c)}': ${ESCAPES_HELP}`, ["an escape"]);
    }
  }

  /** After `\u`: `{X…}` (1–6 hex digits) or exactly 4 hex digits, a surrogate pair taking two escapes. */
  private unicodeEscape(start: Pos): string {
    if (!this.atEnd() && this.code() === 0x7b) {
      this.advance();
      let hex = "";
      while (!this.atEnd() && isHexDigit(this.code())) {
        hex += String.fromCharCode(this.code());
        this.advance();
      }
      if (this.atEnd() || this.code() !== 0x7d || hex.length === 0 || hex.length > 6) {
        if (!this.atEnd() && this.code() === 0x7d) this.advance();
        throw this.fail(start, "invalid escape: \\u{…} takes 1 to 6 hex digits and a closing '}'", ["hex digits", "}"]);
      }
      this.advance();
      const value = parseInt(hex, 16);
      if (value > 0x10ffff || isSurrogate(value)) {
        throw this.fail(start, `invalid escape: U+${hex.toUpperCase()} is not a Unicode scalar value`, ["a code point"]);
      }
      return String.fromCodePoint(value);
    }
    const value = this.fourHex(start);
    if (value >= 0xdc00 && value <= 0xdfff) {
      throw this.fail(start, "invalid escape: a lone low surrogate (\\uDC00–\\uDFFF must follow a high surrogate)", ["a code point"]);
    }
    if (value >= 0xd800 && value <= 0xdbff) {
      const low = this.peekLowSurrogateEscape();
      if (low < 0) {
        const message = "invalid escape: a lone high surrogate (\\uD800–\\uDBFF must be followed by a \\uDC00–\\uDFFF escape)";
        throw this.fail(start, message, ["a low surrogate escape"]);
      }
      for (let i = 0; i < 6; i++) this.advance();
      return String.fromCharCode(value, low);
    }
    return String.fromCharCode(value);
  }

  private fourHex(start: Pos): number {
    let hex = "";
    while (hex.length < 4 && !this.atEnd() && isHexDigit(this.code())) {
      hex += String.fromCharCode(this.code());
      this.advance();
    }
    if (hex.length < 4) throw this.fail(start, "invalid escape: \\u takes exactly 4 hex digits, or {X…}", ["hex digits"]);
    return parseInt(hex, 16);
  }

  /** The low surrogate of a `\uXXXX` escape right at the cursor, or -1. */
  private peekLowSurrogateEscape(): number {
    const s = this.text.slice(this.index, this.index + 6);
    if (!/^\\u[0-9A-Fa-f]{4}$/.test(s)) return -1;
    const v = parseInt(s.slice(2), 16);
    return v >= 0xdc00 && v <= 0xdfff ? v : -1;
  }

  private rejectSurrogate(c: number): void {
    if (!isSurrogate(c)) return;
    const start = this.pos();
    this.advance();
    throw this.fail(start, `invalid character ${describeChar(c)}: an unpaired UTF-16 surrogate`, []);
  }

  /** `` `…` `` → the name between the backticks (any characters but a backtick, at least one). */
  private quotedName(): string {
    const start = this.pos();
    this.advance();
    let name = "";
    for (;;) {
      if (this.atEnd()) throw this.fail(start, "unterminated quoted name: expected a closing '`'", ["`"]);
      const c = this.code();
      if (c === BACKTICK) {
        this.advance();
        break;
      }
      this.rejectSurrogate(c);
      name += String.fromCodePoint(c);
      this.advance();
    }
    if (name === "") throw this.fail(start, "empty quoted name: write a name between the backticks", ["a name"]);
    return name;
  }

  private segment(): Token {
    const start = this.pos();
    this.advance();
    let name: string;
    if (!this.atEnd() && this.code() === BACKTICK) name = this.quotedName();
    else {
      const from = this.index;
      while (!this.atEnd() && isSegmentChar(this.code())) this.advance();
      name = this.text.slice(from, this.index);
      if (name === "") throw this.fail(start, "expected a segment name after '@', e.g. @vip_women", ["a segment name"]);
    }
    const problem = segmentNameProblem(name);
    if (problem) throw this.fail(start, `invalid segment name '${truncate(name)}': ${problem}`, ["a segment name"]);
    return this.token("segment", start, name);
  }

  /** `-?digits(.digits)?([eE][+-]?digits)?`, not glued to a following letter, digit or '.'. */
  private number(): Token {
    const start = this.pos();
    if (this.code() === 0x2d) this.advance();
    this.digits();
    if (this.codeAt(this.index) === 0x2e && isDigit(this.codeAt(this.index + 1))) {
      this.advance();
      this.digits();
    }
    const e = this.codeAt(this.index);
    if (e === 0x65 || e === 0x45) {
      const sign = this.codeAt(this.index + 1);
      const signed = sign === 0x2b || sign === 0x2d;
      if (isDigit(this.codeAt(this.index + (signed ? 2 : 1)))) {
        this.advance();
        if (signed) this.advance();
        this.digits();
      }
    }
    if (!this.atEnd() && (isIdentPart(this.code()) || this.code() === 0x2e)) {
      while (!this.atEnd() && (isIdentPart(this.code()) || this.code() === 0x2e)) this.advance();
      const text = this.text.slice(start.index, this.index);
      throw this.fail(start, `malformed number '${truncate(text)}': numbers are written like 30, -2.5 or 1e6`, ["a number"]);
    }
    const text = this.text.slice(start.index, this.index);
    return { kind: "number", text, value: text, start, end: this.pos() };
  }

  private digits(): void {
    while (!this.atEnd() && isDigit(this.code())) this.advance();
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
const BLANK = /^\s$/u;
function isBlank(c: number): boolean {
  if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) return true;
  // other Unicode blanks (e.g. U+3000, the ideographic space of Chinese input methods)
  return c > 0x7f && BLANK.test(String.fromCodePoint(c));
}

/** A character for a message: itself when visible, else its U+ code. */
export function describeChar(c: number): string {
  const hex = `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || isSurrogate(c) || BLANK.test(String.fromCodePoint(c))) return hex;
  return `'${String.fromCodePoint(c)}' (${hex})`;
}

/** Shortens text quoted in a message to a readable length (in code points). */
export function truncate(s: string, max = 40): string {
  if (codePointLength(s) <= max) return s;
  return `${Array.from(s).slice(0, max - 1).join("")}…`;
}
