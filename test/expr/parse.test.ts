import { describe, expect, it } from "vitest";
import type { Expr } from "../../engine/expr/ast.js";
import { format, parseText, stripLocations } from "../../engine/expr/index.js";
import {
  after, and, before, between, bool, cmp, date, FALSE, has, inList, int, isNull, like, not, num, or, seg, str, tag,
  timestamp, TRUE, within,
} from "./build.js";

/** name → [text, tree]. Every case also round-trips through format. */
const CASES: Record<string, [string, Expr]> = {
  "bool tag alone": ["churned", tag("churned")],
  "equals string": ["city = '上海'", cmp("city", "=", str("上海"))],
  "not equals": ["city != 'x'", cmp("city", "!=", str("x"))],
  "<> is !=": ["city <> 'x'", cmp("city", "!=", str("x"))],
  "less": ["age < 30", cmp("age", "<", int(30))],
  "less or equal": ["age <= 30", cmp("age", "<=", int(30))],
  "greater": ["age > 30", cmp("age", ">", int(30))],
  "greater or equal": ["age >= 30", cmp("age", ">=", int(30))],
  "no blanks around operators": ["age>=30", cmp("age", ">=", int(30))],
  "bool literal": ["churned = TRUE", cmp("churned", "=", bool(true))],
  "bool literal lower case": ["churned != false", cmp("churned", "!=", bool(false))],
  "in": ["city IN ('上海', '北京')", inList("city", [str("上海"), str("北京")])],
  "in one value": ["city IN ('x')", inList("city", [str("x")])],
  "not in": ["city NOT IN ('a', 'b')", inList("city", [str("a"), str("b")], true)],
  "between": ["age BETWEEN 25 AND 35", between("age", int(25), int(35))],
  "not between": ["age NOT BETWEEN 25 AND 35", between("age", int(25), int(35), true)],
  "is null": ["age IS NULL", isNull("age")],
  "is not null": ["age IS NOT NULL", isNull("age", true)],
  "has": ["interests HAS 'sports'", has("interests", "one", [str("sports")])],
  "has any": ["interests HAS ANY ('sports', 'music')", has("interests", "any", [str("sports"), str("music")])],
  "has all": ["interests HAS ALL ('sports')", has("interests", "all", [str("sports")])],
  "like": ["city LIKE '上%'", like("city", "上%")],
  "not like": ["city NOT LIKE '_x\\\\%'", like("city", "_x\\%", true)],
  "within days": ["last_order_at WITHIN 30 DAYS", within("last_order_at", 30n, "day")],
  "within day singular": ["t WITHIN 1 DAY", within("t", 1n, "day")],
  "within hours lower case": ["t within 2 hours", within("t", 2n, "hour")],
  "within hour": ["t WITHIN 5 Hour", within("t", 5n, "hour")],
  "within minutes": ["t WITHIN 0 MINUTES", within("t", 0n, "minute")],
  "within minute": ["t WITHIN 90 minute", within("t", 90n, "minute")],
  "within huge": ["t WITHIN 123456789012345678901234567890 DAYS", within("t", 123456789012345678901234567890n, "day")],
  "before date": ["t BEFORE DATE '2025-01-01'", before("t", date("2025-01-01"))],
  "after timestamp": ["t AFTER TIMESTAMP '2025-01-01T08:00:00+08:00'", after("t", timestamp("2025-01-01T08:00:00+08:00"))],
  "timestamp of a date": ["t > TIMESTAMP '2025-01-01'", cmp("t", ">", timestamp("2025-01-01"))],
  "before bare string": ["t BEFORE '2025-01-01 10:00'", before("t", str("2025-01-01 10:00"))],
  "time literal in list": ["t IN (DATE '2024-02-29', timestamp '2024-03-01T00:00Z')", inList("t", [date("2024-02-29"), timestamp("2024-03-01T00:00Z")])],
  "true": ["TRUE", TRUE],
  "false lower case": ["false", FALSE],
  "segment": ["@vip_women", seg("vip_women")],
  "segment with dash and dot": ["@vip-women.v2", seg("vip-women.v2")],
  "segment quoted": ["@`vip-women`", seg("vip-women")],
  "segment chinese": ["@高价值用户", seg("高价值用户")],
  "segment starting with a digit": ["@2025-q1", seg("2025-q1")],
  "backticked reserved word": ["`AND` = 1", cmp("AND", "=", int(1))],
  "backticked dash": ["`acq-channel` = 'ads'", cmp("acq-channel", "=", str("ads"))],
  "backticked spaces and emoji": ["`my tag 😀` IS NULL", isNull("my tag 😀")],
  "backticked plain name": ["`city` = 'x'", cmp("city", "=", str("x"))],
  "unit words are tag names": ["days = 1 AND hours IS NULL AND minute", and(cmp("days", "=", int(1)), isNull("hours"), tag("minute"))],
  "dots digits underscores": ["_a.b_1 = 2", cmp("_a.b_1", "=", int(2))],
  "chinese identifiers": ["城市 IN ('上海', '北京') AND 年龄 BETWEEN 25 AND 35", and(inList("城市", [str("上海"), str("北京")]), between("年龄", int(25), int(35)))],
  "other scripts": ["ÄÖÜ_größe > 1 OR имя = 'Иван' OR ชื่อ = 'x'", or(cmp("ÄÖÜ_größe", ">", int(1)), cmp("имя", "=", str("Иван")), cmp("ชื่อ", "=", str("x")))],
  "keywords any case": ["a aNd NoT b Or c", or(and(tag("a"), not(tag("b"))), tag("c"))],
  "precedence": ["a OR b AND NOT c", or(tag("a"), and(tag("b"), not(tag("c"))))],
  "and is flat": ["a AND b AND c", and(tag("a"), tag("b"), tag("c"))],
  "or is flat": ["a OR b OR c", or(tag("a"), tag("b"), tag("c"))],
  "explicit parens kept right": ["a AND (b AND c)", and(tag("a"), and(tag("b"), tag("c")))],
  "explicit parens kept left": ["(a AND b) AND c", and(and(tag("a"), tag("b")), tag("c"))],
  "parens around one": ["((a))", tag("a")],
  "parens change precedence": ["(a OR b) AND c", and(or(tag("a"), tag("b")), tag("c"))],
  "not of group": ["NOT (a OR b)", not(or(tag("a"), tag("b")))],
  "not not": ["NOT NOT a", not(not(tag("a")))],
  "between inside and": ["age BETWEEN 1 AND 2 AND b", and(between("age", int(1), int(2)), tag("b"))],
  "not before predicate": ["NOT city = '上海'", not(cmp("city", "=", str("上海")))],
  "negative number": ["age > -5", cmp("age", ">", int(-5))],
  "decimal": ["spend_90d >= 2.5", cmp("spend_90d", ">=", num("2.5", 2.5, null))],
  "exponent is an integer": ["n = 1e3", cmp("n", "=", num("1e3", 1000, 1000n))],
  "exponent upper case signed": ["n = 15E+1", cmp("n", "=", num("15E+1", 150, 150n))],
  "integral decimal": ["n = 30.0", cmp("n", "=", num("30.0", 30, 30n))],
  "decimal exponent integral": ["n = 1.5e1", cmp("n", "=", num("1.5e1", 15, 15n))],
  "negative exponent": ["n = 1E-2", cmp("n", "=", num("1E-2", 0.01, null))],
  "zero with fraction": ["n = -0.000", cmp("n", "=", num("-0.000", -0, 0n))],
  "int64 max exact": ["n = 9223372036854775807", cmp("n", "=", num("9223372036854775807", 9223372036854775807, 9223372036854775807n))],
  "int64 min exact": ["n = -9223372036854775808", cmp("n", "=", num("-9223372036854775808", -9223372036854775808, -9223372036854775808n))],
  "uint64 max exact": ["n = 18446744073709551615", cmp("n", "=", num("18446744073709551615", 18446744073709551615, 18446744073709551615n))],
  "beyond doubles": ["n < 1e400", cmp("n", "<", num("1e400", Infinity, null))],
  "double quotes": ['city = "上海"', cmp("city", "=", str("上海"))],
  "quote escapes": ["s IN ('it\\'s', \"say \\\"hi\\\"\", 'a\"b', \"a'b\")", inList("s", [str("it's"), str('say "hi"'), str('a"b'), str("a'b")])],
  "escapes": ["s = '\\\\ \\n \\t \\u00e9 \\u{1F600} \\u{0} \\uD83D\\uDE00'", cmp("s", "=", str("\\ \n \t é 😀 \u0000 😀"))],
  "raw newline in string": ["s = 'a\nb'", cmp("s", "=", str("a\nb"))],
  "empty string": ["s = ''", cmp("s", "=", str(""))],
  "blanks and lines": ["\n  age\t>=\r\n30\u3000AND\u00a0b  ", and(cmp("age", ">=", int(30)), tag("b"))],
};

describe("parseText: constructs", () => {
  for (const [name, [text, expected]] of Object.entries(CASES)) {
    it(name, () => {
      const parsed = parseText(text);
      expect(stripLocations(parsed)).toEqual(expected);
      expect(stripLocations(parseText(format(parsed)))).toEqual(expected);
    });
  }
});

describe("parseText: locations", () => {
  it("predicates carry their span and the tag's span, in code points", () => {
    const e = parseText("x = '😀😀' AND `标 签` IS NULL");
    if (e.type !== "and") throw new Error(e.type);
    expect(e.at).toEqual({ line: 1, column: 1, length: 26 });
    const [first, second] = e.args;
    expect(first).toMatchObject({ at: { line: 1, column: 1, length: 8 }, tagAt: { line: 1, column: 1, length: 1 } });
    expect(second).toMatchObject({ at: { line: 1, column: 14, length: 13 }, tagAt: { line: 1, column: 14, length: 5 } });
  });

  it("lines and columns restart after a newline", () => {
    const e = parseText("a\n  AND\n    b = DATE '2025-01-01'");
    if (e.type !== "and") throw new Error(e.type);
    expect(e.args[1]).toMatchObject({ at: { line: 3, column: 5, length: 21 } });
    const b = e.args[1]!;
    if (b.type !== "cmp") throw new Error(b.type);
    expect(b.value.at).toEqual({ line: 3, column: 9, length: 17 });
  });

  it("a 64 KiB text is accepted (the limit is inclusive)", () => {
    const name = "a".repeat(65_536);
    expect(stripLocations(parseText(name))).toEqual(tag(name));
  });
});

describe("format", () => {
  const FORMATTED: Record<string, [string, string]> = {
    "upper-case keywords, != for <>": ["not (a and b) or c<>'x'", "NOT (a AND b) OR c != 'x'"],
    "parens only where needed": ["((a AND b)) OR ((c))", "a AND b OR c"],
    "nested and keeps parens": ["a AND (b AND c)", "a AND (b AND c)"],
    "or inside and": ["(a OR b) AND c", "(a OR b) AND c"],
    "or inside or": ["a OR (b OR c)", "a OR (b OR c)"],
    "reserved and odd names quoted": ["`in` = 1 AND `a b` = 2 AND `Date` IS NULL AND days = 3", "`in` = 1 AND `a b` = 2 AND `Date` IS NULL AND days = 3"],
    "plain backticked name unquoted": ["`城市` = \"上海\"", "城市 = '上海'"],
    "minimal escapes": ["s = \"it's \\\\ \\u{41}\\n\\t\\u0001\"", "s = 'it\\'s \\\\ A\\n\\t\\u{1}'"],
    "numbers as written": ["n IN (1E3, -0.50, 30.0)", "n IN (1E3, -0.50, 30.0)"],
    "time literals": ["t between date '2025-01-01' and timestamp '2025-01-01 10:00'", "t BETWEEN DATE '2025-01-01' AND TIMESTAMP '2025-01-01 10:00'"],
    "within units": ["t within 1 days and t within 2 hour and t within 3 minute", "t WITHIN 1 DAYS AND t WITHIN 2 HOURS AND t WITHIN 3 MINUTES"],
    "segments": ["@`a.b` or @c", "@a.b OR @c"],
    "has forms": ["i has 'a' and i has any ('a','b') and i has all ('c')", "i HAS 'a' AND i HAS ANY ('a', 'b') AND i HAS ALL ('c')"],
    "null tests": ["a is null or b is not null", "a IS NULL OR b IS NOT NULL"],
    "like": ["c not like 'a\\\\%'", "c NOT LIKE 'a\\\\%'"],
  };
  for (const [name, [text, canonical]] of Object.entries(FORMATTED)) {
    it(name, () => {
      expect(format(parseText(text))).toBe(canonical);
      expect(format(parseText(canonical))).toBe(canonical);
    });
  }

  it("a one-operand and (hand-built) formats as its operand", () => {
    expect(format(and(tag("a")))).toBe("a");
    expect(format(not(and(or(tag("a"), tag("b")))))).toBe("NOT (a OR b)");
  });
});
