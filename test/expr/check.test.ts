import { describe, expect, it } from "vitest";
import type { ErrorCode } from "../../engine/errors.js";
import { check, parseExpr, parseJson, parseText, suggestNames } from "../../engine/expr/index.js";
import { MapCatalog, userCatalog } from "./catalog.js";
import { catchLasso } from "./support.js";

/** Expressions that check cleanly against userCatalog(). */
const VALID: Record<string, string> = {
  "bool alone": "churned",
  "bool = TRUE": "churned = TRUE",
  "bool != FALSE": "churned != FALSE",
  "bool <> TRUE": "churned <> TRUE",
  "bool IS NULL": "churned IS NULL AND high_value IS NOT NULL",
  "enum compare": "city = '上海' AND city != 'x' AND city < 'm' AND city >= 'a'",
  "enum in / between": "city IN ('上海', '北京') AND city NOT IN ('x') AND level BETWEEN 'a' AND 'c' AND level NOT BETWEEN 'x' AND 'y'",
  "enum like": "city LIKE '上%' AND city NOT LIKE '\\\\_x'",
  "enum null": "gender IS NULL",
  "int compare": "age = 30 AND age > 1.5 AND age <= 1e3 AND age != -1",
  "int with decimal strings": "age = '9223372036854775807' AND orders_90d IN (1, '2')",
  "int between / in": "age BETWEEN 25 AND 35 AND age NOT IN (1, 2)",
  "float": "spend_90d > 500 AND spend_90d BETWEEN 0.5 AND '12'",
  "time compare with literals": "last_order_at > DATE '2025-01-01' AND last_order_at <= TIMESTAMP '2025-01-01T12:00:00+08:00'",
  "time compare with ISO strings": "signup_date = '2025-01-01' AND signup_date IN ('2025-01-01 10:00', DATE '2024-02-29')",
  "time between": "signup_date BETWEEN DATE '2024-01-01' AND '2024-12-31T23:59:59.999999999Z'",
  "time within / before / after": "last_order_at WITHIN 30 DAYS AND last_order_at BEFORE '2025-01-01' AND signup_date AFTER DATE '2020-01-01'",
  "multi has": "interests HAS 'sports' AND interests HAS ANY ('a', 'b') AND interests HAS ALL ('c') AND interests IS NOT NULL",
  "backticked tag": "`acq-channel` = 'ads'",
  "chinese": "城市 IN ('上海', '北京') AND 年龄 BETWEEN 25 AND 35 AND 兴趣 HAS '运动' AND NOT 是否流失 AND 最近下单时间 WITHIN 7 DAYS",
  "constants": "TRUE OR FALSE",
};

interface Mismatch {
  text: string;
  at: [number, number, number];
}

/** Expressions that are type_mismatch, with the predicate's span. */
const MISMATCH: Record<string, Mismatch> = {
  "int alone": { text: "age", at: [1, 1, 3] },
  "enum alone": { text: "churned AND city", at: [1, 13, 4] },
  "enum > number": { text: "city > 3", at: [1, 1, 8] },
  "enum = TRUE": { text: "city = TRUE", at: [1, 1, 11] },
  "enum = date": { text: "city = DATE '2025-01-01'", at: [1, 1, 24] },
  "int = string": { text: "age = 'x'", at: [1, 1, 9] },
  "int = decimal-fraction string": { text: "age = '1.5'", at: [1, 1, 11] },
  "int = TRUE": { text: "age = TRUE", at: [1, 1, 10] },
  "int in with one string": { text: "churned AND age IN (1, 'x')", at: [1, 13, 15] },
  "int between a string": { text: "age BETWEEN 1 AND 'x'", at: [1, 1, 21] },
  "int like": { text: "age LIKE '1%'", at: [1, 1, 13] },
  "int has": { text: "age HAS 1", at: [1, 1, 9] },
  "float within": { text: "spend_90d WITHIN 3 DAYS", at: [1, 1, 23] },
  "multi =": { text: "interests = 'a'", at: [1, 1, 15] },
  "multi in": { text: "interests IN ('a')", at: [1, 1, 18] },
  "multi like": { text: "interests LIKE 'a%'", at: [1, 1, 19] },
  "multi has number": { text: "interests HAS 5", at: [1, 1, 15] },
  "multi has any number": { text: "interests HAS ANY ('a', 1)", at: [1, 1, 26] },
  "multi alone": { text: "interests", at: [1, 1, 9] },
  "bool <": { text: "churned < 1", at: [1, 1, 11] },
  "bool = 1": { text: "churned = 1", at: [1, 1, 11] },
  "bool = 'true'": { text: "churned = 'true'", at: [1, 1, 16] },
  "bool in": { text: "churned IN (TRUE)", at: [1, 1, 17] },
  "bool between": { text: "churned BETWEEN FALSE AND TRUE", at: [1, 1, 30] },
  "bool like": { text: "churned LIKE 'x'", at: [1, 1, 16] },
  "enum has": { text: "city HAS 'x'", at: [1, 1, 12] },
  "enum within": { text: "city WITHIN 3 DAYS", at: [1, 1, 18] },
  "enum before": { text: "city BEFORE '2025-01-01'", at: [1, 1, 24] },
  "time = non-ISO string": { text: "last_order_at = 'yesterday'", at: [1, 1, 27] },
  "time = number": { text: "last_order_at > 5", at: [1, 1, 17] },
  "time before non-ISO": { text: "last_order_at BEFORE '2025-13-01'", at: [1, 1, 33] },
  "time before number": { text: "last_order_at AFTER 20250101", at: [1, 1, 28] },
  "time like": { text: "last_order_at LIKE '2025%'", at: [1, 1, 26] },
  "time has": { text: "last_order_at HAS '2025-01-01'", at: [1, 1, 30] },
  "chinese int = string, after astral text": { text: "城市 = '😀😀' OR 年龄 = '二十'", at: [1, 14, 9] },
  "inside NOT and parens": { text: "NOT (churned OR age = 'x')", at: [1, 17, 9] },
};

describe("check: valid", () => {
  for (const [name, text] of Object.entries(VALID)) {
    it(name, () => {
      expect(() => check(parseText(text), userCatalog())).not.toThrow();
    });
  }
});

describe("check: type_mismatch at the predicate", () => {
  for (const [name, c] of Object.entries(MISMATCH)) {
    it(name, () => {
      const e = catchLasso(() => check(parseText(c.text), userCatalog()));
      expect(e.code, e.message).toBe("type_mismatch");
      expect(e.at, e.message).toEqual({ line: c.at[0], column: c.at[1], length: c.at[2] });
    });
  }

  it("says what would be valid", () => {
    const e = catchLasso(() => check(parseText("age = 'x'"), userCatalog()));
    expect(e.message).toContain("'age' is an int tag");
    expect(e.message).toContain("needs a number");
    expect(e.message).toContain("An int tag takes");
  });

  it("JSON-form mismatches carry the node's path", () => {
    const e = catchLasso(() => check(parseJson({ and: [{ tag: "churned" }, { "=": ["age", "x"] }] }), userCatalog()));
    expect(e.code).toBe("type_mismatch");
    expect(e.path).toBe("/and/1");
    expect(e.at).toBeUndefined();
  });

  it("JSON-form big integers as decimal strings and ISO strings are accepted", () => {
    const json = { and: [{ "=": ["age", "-9223372036854775808"] }, { before: ["last_order_at", "2025-01-01T00:00:00Z"] }, { in: ["signup_date", ["2025-01-01"]] }] };
    expect(() => check(parseJson(json), userCatalog())).not.toThrow();
  });
});

describe("check: unknown_tag", () => {
  const CASES: Record<string, [string, [number, number, number], string[]]> = {
    "a typo": ["cty = 'x'", [1, 1, 3], ["city"]],
    "a transposition": ["aeg > 3", [1, 1, 3], ["age"]],
    "wrong case (tags are case-sensitive)": ["City = 'x'", [1, 1, 4], ["city"]],
    "a prefix": ["churned AND spend > 3", [1, 13, 5], ["spend_90d"]],
    "chinese": ["城巿 = '上海'", [1, 1, 2], ["城市"]],
    "chinese after astral characters": ["城市 = '😀' AND 年令 > 3", [1, 14, 2], ["年龄"]],
    "backticked, span includes backticks": ["`acq_channel` = 'ads'", [1, 1, 13], ["acq-channel"]],
    "nothing near": ["zzzzzzzz", [1, 1, 8], []],
  };
  for (const [name, [text, at, suggestions]] of Object.entries(CASES)) {
    it(name, () => {
      const e = catchLasso(() => check(parseText(text), userCatalog()));
      expect(e.code, e.message).toBe("unknown_tag");
      expect(e.at).toEqual({ line: at[0], column: at[1], length: at[2] });
      expect(e.details["suggestions"]).toEqual(suggestions);
      for (const s of suggestions) expect(e.message).toContain(`'${s}'`);
    });
  }

  it("JSON form: path of the node", () => {
    const e = catchLasso(() => check(parseJson({ or: [{ tag: "churned" }, { isNull: "agee" }] }), userCatalog()));
    expect(e.code).toBe("unknown_tag");
    expect(e.path).toBe("/or/1");
    expect(e.details["suggestions"]).toEqual(["age"]);
  });
});

describe("suggestNames", () => {
  it("ranks by edit distance over code points, then name", () => {
    expect(suggestNames("cit", ["city", "cat", "dog", "cite", "c"])).toEqual(["cat", "cite", "city"]);
    expect(suggestNames("年令", ["年龄", "城市", "性别"])).toEqual(["年龄"]);
    expect(suggestNames("😀a", ["😀b", "xyz"])).toEqual(["😀b"]);
    expect(suggestNames("abc", ["abc"], 3)).toEqual([]);
    expect(suggestNames("order", ["orders_90d", "x"])).toEqual(["orders_90d"]);
    expect(suggestNames("a", ["b", "c", "d", "e"], 2)).toEqual(["b", "c"]);
  });
});

describe("check: segments", () => {
  const errorOf = (text: string, catalog: MapCatalog, segmentName?: string) =>
    catchLasso(() => check(parseExpr(text), catalog, segmentName === undefined ? {} : { segmentName }));

  it("a saved segment of the entity checks", () => {
    const c = userCatalog().withSegment("vip", "spend_90d > 500").withSegment("vip_women", "@vip AND gender = 'f'");
    expect(() => check(parseText("@vip_women AND NOT churned"), c)).not.toThrow();
  });

  it("unknown segment, at the reference", () => {
    const e = errorOf("churned OR @nope", userCatalog());
    expect([e.code, e.at]).toEqual(["unknown_segment", { line: 1, column: 12, length: 5 }]);
  });

  it("unknown segment behind another, at the reference that leads there", () => {
    const e = errorOf("churned OR @`a`", userCatalog().withSegment("a", "@b"));
    expect(e.code).toBe("unknown_segment");
    expect(e.at).toEqual({ line: 1, column: 12, length: 4 });
    expect(e.message).toContain("@a");
    expect(e.message).toContain("'@b'");
  });

  it("a segment of another entity is type_mismatch", () => {
    const e = errorOf("@devices_ios", userCatalog().withSegment("devices_ios", "TRUE", "device"));
    expect([e.code, e.at]).toEqual(["type_mismatch", { line: 1, column: 1, length: 12 }]);
  });

  it("an error inside a referenced segment surfaces at the reference", () => {
    const c = userCatalog().withSegment("old", "removed_tag = 1");
    const e = errorOf("age > 3 AND @old", c);
    expect(e.code).toBe("unknown_tag");
    expect(e.at).toEqual({ line: 1, column: 13, length: 4 });
    expect(e.message).toContain("in @old");
  });

  it("a cycle among saved segments names the chain", () => {
    const c = userCatalog().withSegment("a", "@b AND churned").withSegment("b", "age > 1 OR @c").withSegment("c", "@a");
    const e = errorOf("city = 'x' AND @a", c);
    expect(e.code).toBe("segment_cycle");
    expect(e.at).toEqual({ line: 1, column: 16, length: 2 });
    expect(e.message).toContain("@a → @b → @c → @a");
    expect(e.details["cycle"]).toEqual(["a", "b", "c", "a"]);
  });

  it("self-reference of a saved segment", () => {
    const e = errorOf("@me", userCatalog().withSegment("me", "churned OR @me"));
    expect(e.code).toBe("segment_cycle");
    expect(e.details["cycle"]).toEqual(["me", "me"]);
  });

  it("saving a segment that refers to itself, directly or through others", () => {
    expect(errorOf("churned AND @x", userCatalog(), "x").code).toBe("segment_cycle");
    const c = userCatalog().withSegment("y", "@x").withSegment("x", "TRUE");
    const e = errorOf("@y", c, "x");
    expect(e.code).toBe("segment_cycle");
    expect(e.details["cycle"]).toEqual(["x", "y", "x"]);
    // without the name it is an ordinary, valid reference
    expect(() => check(parseText("@y"), c)).not.toThrow();
  });

  it("a diamond is not a cycle; a 10,000-long chain does not overflow the stack", () => {
    const c = userCatalog().withSegment("d", "churned").withSegment("b", "@d").withSegment("c", "@d").withSegment("top", "@b AND @c");
    expect(() => check(parseText("@top OR @d"), c)).not.toThrow();
    const chain = userCatalog().withSegment("s0", "churned");
    for (let i = 1; i <= 10_000; i++) chain.withSegment(`s${i}`, { segment: `s${i - 1}` });
    expect(() => check(parseText("@s10000"), chain)).not.toThrow();
    chain.withSegment("s0", "@s10000");
    expect(errorOf("@s5", chain).code).toBe("segment_cycle");
  });

  it("JSON-form segment errors carry the path", () => {
    const e = catchLasso(() => check(parseJson({ and: [true, { segment: "nope" }] }), userCatalog()));
    expect([e.code, e.path]).toEqual(["unknown_segment" satisfies ErrorCode, "/and/1"]);
  });
});
