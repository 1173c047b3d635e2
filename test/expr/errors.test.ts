import { describe, expect, it } from "vitest";
import type { ErrorCode } from "../../engine/errors.js";
import { parseText, stripLocations } from "../../engine/expr/index.js";
import { catchLasso } from "./support.js";

interface ErrorCase {
  text: string;
  code: ErrorCode;
  /** [line, column, length], in code points */
  at?: [number, number, number];
  /** substring of the message */
  says?: string;
  maxDepth?: number;
}

const CASES: Record<string, ErrorCase> = {
  "empty input": { text: "", code: "syntax", at: [1, 1, 0], says: "empty expression" },
  "blank input": { text: "  \n ", code: "syntax", at: [2, 2, 0], says: "empty expression" },
  "unterminated string": { text: "city = 'abc", code: "syntax", at: [1, 8, 4], says: "unterminated string" },
  "unterminated double-quoted string": { text: 'city = "a', code: "syntax", at: [1, 8, 2], says: "closing \"" },
  "stray character": { text: "age # 3", code: "syntax", at: [1, 5, 1], says: "'#'" },
  "stray character after astral characters": { text: "city = '😀😀' AND #", code: "syntax", at: [1, 17, 1] },
  "error after a Chinese tag on line 2": { text: "年龄 > 3 AND\n 城市 ~ '上海'", code: "syntax", at: [2, 5, 1] },
  "trailing garbage": { text: "age = 30 30", code: "syntax", at: [1, 10, 2], says: "expected AND, OR or end of input, found '30'" },
  "trailing close paren": { text: "age = 30)", code: "syntax", at: [1, 9, 1] },
  "IN list not closed": { text: "age IN (1, 2 AND b", code: "syntax", at: [1, 14, 3], says: "expected ')' or ',' after IN value, found 'AND'" },
  "IN without parens": { text: "city IN 'a'", code: "syntax", at: [1, 9, 3], says: "expected '(' after IN" },
  "IN empty list": { text: "city IN ()", code: "syntax", at: [1, 10, 1], says: "expected a literal" },
  "IN trailing comma": { text: "city IN ('a',)", code: "syntax", at: [1, 14, 1] },
  "missing literal": { text: "age =", code: "syntax", at: [1, 6, 0], says: "found end of input" },
  "NULL as a literal": { text: "age = NULL", code: "syntax", at: [1, 7, 4], says: "IS NULL" },
  "IS without NULL": { text: "age IS 3", code: "syntax", at: [1, 8, 1], says: "NULL" },
  "NOT without IN/BETWEEN/LIKE": { text: "a NOT b", code: "syntax", at: [1, 7, 1], says: "IN, BETWEEN or LIKE" },
  "tag followed by a tag": { text: "age 30", code: "syntax", at: [1, 5, 2], says: "expected an operator" },
  "BETWEEN without AND": { text: "age BETWEEN 1 OR 2", code: "syntax", at: [1, 15, 2], says: "expected AND" },
  "LIKE needs a string": { text: "city LIKE 5", code: "syntax", at: [1, 11, 1] },
  "LIKE pattern ending in a lone backslash": { text: "city LIKE 'abc\\\\'", code: "syntax", at: [1, 11, 7], says: "escapes nothing" },
  "LIKE pattern ending in an escaped backslash is fine": { text: "city LIKE 'abc\\\\\\\\' AND x #", code: "syntax", at: [1, 27, 1] },
  "HAS ANY without parens": { text: "i HAS ANY 'a'", code: "syntax", at: [1, 11, 3] },
  "dangling AND": { text: "a AND", code: "syntax", at: [1, 6, 0], says: "found end of input" },
  "dangling NOT": { text: "NOT", code: "syntax", at: [1, 4, 0] },
  "unclosed paren": { text: "(a OR b", code: "syntax", at: [1, 8, 0], says: "expected ')' to close the '(' at 1:1" },
  "literal on the left": { text: "30 < age", code: "syntax", at: [1, 1, 2], says: "expected a tag name" },
  "reserved word as tag name": { text: "in = 3", code: "syntax", at: [1, 1, 2], says: "`in`" },
  "bang alone": { text: "!a", code: "syntax", at: [1, 1, 1], says: "!=" },
  "double equals": { text: "age == 3", code: "syntax", at: [1, 6, 1] },
  "minus alone": { text: "age > - 5", code: "syntax", at: [1, 7, 1] },
  "malformed number": { text: "age > 30abc", code: "syntax", at: [1, 7, 5], says: "malformed number" },
  "number with a trailing dot": { text: "age > 1.", code: "syntax", at: [1, 7, 2] },
  "number with two dots": { text: "age > 1.2.3", code: "syntax", at: [1, 7, 5] },
  "leading dot": { text: "age > .5", code: "syntax", at: [1, 7, 1] },
  "unterminated backtick": { text: "`abc = 1", code: "syntax", at: [1, 1, 8], says: "closing '`'" },
  "empty backtick name": { text: "`` = 1", code: "syntax", at: [1, 1, 2] },
  "@ alone": { text: "@ AND a", code: "syntax", at: [1, 1, 1], says: "segment name" },
  "segment name too long": { text: `@${"s".repeat(129)}`, code: "syntax", at: [1, 1, 130], says: "at most 128" },
  "segment name of 128 is fine": { text: `@${"s".repeat(128)} #`, code: "syntax", at: [1, 131, 1] },
  "quoted segment name with a space": { text: "@`a b`", code: "syntax", at: [1, 1, 6] },
  "WITHIN -1": { text: "t WITHIN -1 DAYS", code: "syntax", at: [1, 10, 2], says: "non-negative whole number" },
  "WITHIN 1.5": { text: "t WITHIN 1.5 DAYS", code: "syntax", at: [1, 10, 3] },
  "WITHIN 1e3": { text: "t WITHIN 1e3 DAYS", code: "syntax", at: [1, 10, 3] },
  "WITHIN a string": { text: "t WITHIN '3' DAYS", code: "syntax", at: [1, 10, 3] },
  "WITHIN bad unit": { text: "t WITHIN 3 WEEKS", code: "syntax", at: [1, 12, 5], says: "DAYS, HOURS or MINUTES" },
  "WITHIN no unit": { text: "t WITHIN 3", code: "syntax", at: [1, 11, 0] },
  "invalid escape": { text: "city = 'a\\xb'", code: "syntax", at: [1, 10, 2], says: "invalid escape" },
  "escape at the end": { text: "city = 'a\\", code: "syntax", at: [1, 10, 1] },
  "lone high surrogate escape": { text: "city = '\\uD83D'", code: "syntax", at: [1, 9, 6], says: "lone high surrogate" },
  "lone low surrogate escape": { text: "city = '\\uDE00'", code: "syntax", at: [1, 9, 6], says: "lone low surrogate" },
  "high surrogate then a non-surrogate": { text: "s = '😀\\uD83D\\u0041'", code: "syntax", at: [1, 7, 6] },
  "two high surrogates": { text: "s = '\\uD83D\\uD83D\\uDE00'", code: "syntax", at: [1, 6, 6] },
  "short \\u": { text: "s = '\\u12'", code: "syntax", at: [1, 6, 4] },
  "\\u{} empty": { text: "s = '\\u{}'", code: "syntax", at: [1, 6, 4] },
  "\\u{} seven digits": { text: "s = '\\u{0000041}'", code: "syntax", at: [1, 6, 11] },
  "\\u{} beyond Unicode": { text: "s = '\\u{110000}'", code: "syntax", at: [1, 6, 10], says: "not a Unicode scalar value" },
  "\\u{} surrogate": { text: "s = '\\u{D800}'", code: "syntax", at: [1, 6, 8] },
  "\\u{ unclosed": { text: "s = '\\u{41'", code: "syntax", at: [1, 6, 5] },
  "raw lone surrogate in a string": { text: "s = 'a\uD800'", code: "syntax", at: [1, 7, 1], says: "unpaired" },
  "raw lone surrogate outside": { text: "a AND \uDC00", code: "syntax", at: [1, 7, 1] },
  "DATE with an impossible day": { text: "t < DATE '2025-02-29'", code: "syntax", at: [1, 5, 17], says: "day 29" },
  "DATE with a time": { text: "t < DATE '2025-01-01T00:00:00Z'", code: "syntax", at: [1, 5, 27], says: "TIMESTAMP" },
  "DATE without a string": { text: "t < DATE 2025", code: "syntax", at: [1, 10, 4] },
  "TIMESTAMP with hour 24": { text: "t < TIMESTAMP '2025-01-01T24:00'", code: "syntax", at: [1, 5, 28], says: "hour 24" },
  "too large": { text: "a".repeat(65_537), code: "too_large" },
  "too large in UTF-8 bytes, not characters": { text: "城".repeat(21_846), code: "too_large" },
  "too large is checked before depth": { text: `${"(".repeat(70_000)}a${")".repeat(70_000)}`, code: "too_large" },
  "129 nested parens": { text: `${"(".repeat(129)}a${")".repeat(129)}`, code: "too_deep", at: [1, 129, 1] },
  "129 chained NOTs": { text: `${"NOT ".repeat(129)}a`, code: "too_deep", at: [1, 513, 3] },
  "too deep through an AND's first operand": { text: "((a)) AND b", code: "too_deep", at: [1, 2, 1], maxDepth: 2 },
  "too deep through an AND's later operand": { text: "a AND ((b))", code: "too_deep", at: [1, 8, 1], maxDepth: 2 },
  "too deep through OR then AND": { text: "a OR b AND (c)", code: "too_deep", at: [1, 12, 1], maxDepth: 2 },
};

describe("parseText: errors", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, () => {
      const e = catchLasso(() => parseText(c.text, c.maxDepth === undefined ? undefined : { maxDepth: c.maxDepth }));
      expect(e.code, e.message).toBe(c.code);
      if (c.at) expect(e.at, e.message).toEqual({ line: c.at[0], column: c.at[1], length: c.at[2] });
      if (c.says) expect(e.message).toContain(c.says);
      if (e.code === "syntax") expect(Array.isArray(e.details["expected"])).toBe(true);
    });
  }
});

describe("parseText: depth limits", () => {
  const nest = (n: number) => `${"(".repeat(n)}a${")".repeat(n)}`;
  const nots = (n: number) => `${"NOT ".repeat(n)}a`;
  const andChain = (n: number) => {
    // a AND (a AND (a AND …)): every level is one paren group plus one AND operand
    let s = "a";
    for (let i = 0; i < n; i++) s = `a AND (${s})`;
    return s;
  };

  it("accepts 64 and 128 nested parens, 64 and 128 chained NOTs", () => {
    expect(stripLocations(parseText(nest(64)))).toEqual({ type: "tag", tag: "a" });
    expect(() => parseText(nest(128))).not.toThrow();
    expect(() => parseText(nots(64))).not.toThrow();
    expect(() => parseText(nots(128))).not.toThrow();
  });

  it("counts a paren group and an AND operand as one level each", () => {
    expect(() => parseText(andChain(64))).not.toThrow(); // the innermost `a` is at level 2·64 = 128
    expect(catchLasso(() => parseText(andChain(65))).code).toBe("too_deep"); // 130
  });

  it("100k-deep nesting is too_deep, not a stack overflow", () => {
    const big = { maxBytes: 10_000_000 };
    expect(catchLasso(() => parseText(nest(100_000), big)).code).toBe("too_deep");
    expect(catchLasso(() => parseText(nots(100_000), big)).code).toBe("too_deep");
    expect(catchLasso(() => parseText(`${"a AND (".repeat(100_000)}a${")".repeat(100_000)}`, big)).code).toBe("too_deep");
  });

  it("a caller's maxDepth is honoured, and capped below stack trouble", () => {
    expect(catchLasso(() => parseText(nest(11), { maxDepth: 10 })).code).toBe("too_deep");
    expect(() => parseText(nest(10), { maxDepth: 10 })).not.toThrow();
    const huge = { maxDepth: 1e9, maxBytes: 10_000_000 };
    expect(() => parseText(nest(256), huge)).not.toThrow();
    expect(catchLasso(() => parseText(nest(257), huge)).code).toBe("too_deep");
    expect(catchLasso(() => parseText(nest(200_000), huge)).code).toBe("too_deep");
  });
});
