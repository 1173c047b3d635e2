import { describe, expect, it } from "vitest";
import type { Expr } from "../../engine/expr/ast.js";
import { format, parseExpr, parseJson, parseText, stripLocations, toJson } from "../../engine/expr/index.js";
import {
  after, and, before, between, bool, cmp, FALSE, has, inList, int, isNull, like, not, num, or, seg, str, tag, TRUE,
  within,
} from "./build.js";
import { catchLasso } from "./support.js";

const CASES: Record<string, [unknown, Expr]> = {
  "SEL.md example": [
    {
      and: [
        { in: ["city", ["上海", "北京"]] },
        { between: ["age", 25, 35] },
        { not: { tag: "churned" } },
        { or: [{ has: ["interests", "sports"] }, { ">": ["spend_90d", 500] }] },
      ],
    },
    and(
      inList("city", [str("上海"), str("北京")]),
      between("age", int(25), int(35)),
      not(tag("churned")),
      or(has("interests", "one", [str("sports")]), cmp("spend_90d", ">", int(500))),
    ),
  ],
  "constants": [{ or: [true, false] }, or(TRUE, FALSE)],
  "one-operand and is its operand": [{ and: [{ tag: "a" }] }, tag("a")],
  "one-operand or is its operand": [{ or: [{ tag: "a" }] }, tag("a")],
  "nested and kept": [{ and: [{ tag: "a" }, { and: [{ tag: "b" }, { tag: "c" }] }] }, and(tag("a"), and(tag("b"), tag("c")))],
  "compare ops": [
    { and: [{ "=": ["a", 1] }, { "!=": ["b", "x"] }, { "<": ["c", 1.5] }, { "<=": ["d", -2] }, { ">": ["e", 1e21] }, { ">=": ["f", true] }] },
    and(cmp("a", "=", int(1)), cmp("b", "!=", str("x")), cmp("c", "<", num("1.5", 1.5, null)), cmp("d", "<=", int(-2)),
      cmp("e", ">", num("1e+21", 1e21, 10n ** 21n)), cmp("f", ">=", bool(true))),
  ],
  "big integer as a decimal string": [{ "=": ["id", "9223372036854775807"] }, cmp("id", "=", str("9223372036854775807"))],
  "notIn": [{ notIn: ["city", ["a"]] }, inList("city", [str("a")], true)],
  "notBetween": [{ notBetween: ["age", 1, 2] }, between("age", int(1), int(2), true)],
  "null tests": [{ and: [{ isNull: "a" }, { isNotNull: "b" }] }, and(isNull("a"), isNull("b", true))],
  "hasAny / hasAll": [{ or: [{ hasAny: ["i", ["a", "b"]] }, { hasAll: ["i", ["c"]] }] }, or(has("i", "any", [str("a"), str("b")]), has("i", "all", [str("c")]))],
  "like / notLike": [{ or: [{ like: ["c", "上%"] }, { notLike: ["c", "a\\_"] }] }, or(like("c", "上%"), like("c", "a\\_", true))],
  "within units": [
    { and: [{ within: ["t", 30, "days"] }, { within: ["t", 1, "day"] }, { within: ["t", 2, "hours"] }, { within: ["t", 3, "MINUTE"] }, { within: ["t", "99999999999999999999", "minutes"] }] },
    and(within("t", 30n, "day"), within("t", 1n, "day"), within("t", 2n, "hour"), within("t", 3n, "minute"), within("t", 99999999999999999999n, "minute")),
  ],
  "before / after": [{ or: [{ before: ["t", "2025-01-01T00:00:00Z"] }, { after: ["t", "2025-01-01"] }] }, or(before("t", str("2025-01-01T00:00:00Z")), after("t", str("2025-01-01")))],
  "segment": [{ segment: "vip_women" }, seg("vip_women")],
  "any tag name": [{ tag: "AND is a name with spaces" }, tag("AND is a name with spaces")],
};

describe("parseJson: nodes", () => {
  for (const [name, [json, expected]] of Object.entries(CASES)) {
    it(name, () => {
      const parsed = parseJson(json);
      expect(stripLocations(parsed)).toEqual(expected);
      // the same tree through text
      expect(stripLocations(parseText(format(parsed)))).toEqual(expected);
    });
  }

  it("nodes carry their JSON Pointer", () => {
    const e = parseJson({ and: [{ tag: "a" }, { not: { or: [{ tag: "b" }, { "=": ["c", 1] }] } }] });
    expect(e.path).toBe("");
    if (e.type !== "and") throw new Error(e.type);
    expect(e.args[0]!.path).toBe("/and/0");
    const n = e.args[1]!;
    if (n.type !== "not") throw new Error(n.type);
    expect(n.path).toBe("/and/1");
    expect(n.arg.path).toBe("/and/1/not");
    if (n.arg.type !== "or") throw new Error(n.arg.type);
    expect(n.arg.args[1]!.path).toBe("/and/1/not/or/1");
  });

  it("parseExpr sends strings to the text reader and the rest to the JSON reader", () => {
    expect(stripLocations(parseExpr("a"))).toEqual(tag("a"));
    expect(stripLocations(parseExpr({ tag: "a" }))).toEqual(tag("a"));
    expect(stripLocations(parseExpr(true))).toEqual(TRUE);
    expect(catchLasso(() => parseExpr(null as unknown as object)).code).toBe("syntax");
  });
});

describe("parseJson: errors carry the path of the offending node", () => {
  const ERRORS: Record<string, [unknown, string, string?]> = {
    "null": [null, ""],
    "a string": ["age > 3", ""],
    "a number": [5, ""],
    "an array": [[{ tag: "a" }], ""],
    "no key": [{}, ""],
    "two keys": [{ tag: "a", not: true }, "", "exactly one key"],
    "unknown node": [{ and: [{ tag: "a" }, { foo: 1 }] }, "/and/1", "unknown node"],
    "<> is text-only": [{ "<>": ["a", 1] }, "", "text-only"],
    "empty and": [{ and: [] }, ""],
    "and of a non-array": [{ and: { tag: "a" } }, ""],
    "and of a non-node": [{ and: [{ tag: "a" }, 1] }, "/and/1"],
    "deep inside": [{ and: [{ tag: "a" }, { or: [{ tag: "b" }, { in: ["c", "x"] }] }] }, "/and/1/or/1"],
    "not of a non-node": [{ not: { not: 5 } }, "/not/not"],
    "tag not a string": [{ tag: 5 }, ""],
    "empty tag name": [{ tag: "" }, ""],
    "tag name with a backtick": [{ isNull: "a`b" }, ""],
    "tag name with a lone surrogate": [{ tag: "a\uD800" }, ""],
    "compare with one element": [{ "=": ["age"] }, ""],
    "compare with three elements": [{ "=": ["age", 1, 2] }, ""],
    "compare with null": [{ and: [{ tag: "a" }, { "=": ["age", null] }] }, "/and/1", "isNull"],
    "compare with an object": [{ "=": ["age", { n: 1 }] }, ""],
    "compare with NaN": [{ "=": ["age", NaN] }, ""],
    "compare with Infinity": [{ "<": ["age", Infinity] }, ""],
    "string with a lone surrogate": [{ "=": ["city", "\uDC00"] }, ""],
    "in without a list": [{ in: ["city", "a"] }, ""],
    "in with an empty list": [{ in: ["city", []] }, ""],
    "in with a bad value": [{ not: { in: ["city", ["a", ["b"]]] } }, "/not"],
    "hasAny with an empty list": [{ hasAny: ["i", []] }, ""],
    "between with two elements": [{ between: ["age", 1] }, ""],
    "like with a number": [{ like: ["city", 5] }, ""],
    "like ending in a lone backslash": [{ like: ["city", "50\\"] }, "", "escapes nothing"],
    "within negative": [{ within: ["t", -1, "days"] }, ""],
    "within fraction": [{ within: ["t", 1.5, "days"] }, ""],
    "within decimal string with a sign": [{ within: ["t", "-1", "days"] }, ""],
    "within bad unit": [{ within: ["t", 1, "weeks"] }, ""],
    "within missing unit": [{ within: ["t", 1] }, ""],
    "segment not a string": [{ segment: 5 }, ""],
    "segment name with a space": [{ segment: "a b" }, ""],
    "segment name too long": [{ segment: "x".repeat(129) }, ""],
    "segment name empty": [{ or: [true, { segment: "" }] }, "/or/1"],
    "pointer escapes": [{ and: [{ tag: "a" }, { "a/b~c": 1 }] }, "/and/1"],
  };
  for (const [name, [json, path, says]] of Object.entries(ERRORS)) {
    it(name, () => {
      const e = catchLasso(() => parseJson(json));
      expect(e.code, e.message).toBe("syntax");
      expect(e.path, e.message).toBe(path);
      expect(e.at).toBeUndefined();
      if (says) expect(e.message).toContain(says);
    });
  }
});

describe("parseJson: depth", () => {
  const nots = (n: number): unknown => {
    let v: unknown = { tag: "a" };
    for (let i = 0; i < n; i++) v = { not: v };
    return v;
  };
  const ands = (n: number): unknown => {
    let v: unknown = { tag: "a" };
    for (let i = 0; i < n; i++) v = { and: [{ tag: "b" }, v] };
    return v;
  };

  it("accepts 64 and 128 levels", () => {
    expect(() => parseJson(nots(64))).not.toThrow();
    expect(() => parseJson(ands(64))).not.toThrow();
    expect(() => parseJson(nots(128))).not.toThrow();
    expect(() => parseJson(ands(128))).not.toThrow();
  });

  it("129 levels are too_deep with the path of the first node too deep", () => {
    const e = catchLasso(() => parseJson(nots(129)));
    expect(e.code).toBe("too_deep");
    expect(e.path).toBe("/not".repeat(129));
    const f = catchLasso(() => parseJson(ands(129)));
    expect(f.code).toBe("too_deep");
    expect(f.path).toBe(`${"/and/1".repeat(128)}/and/0`);
  });

  it("100k-deep JSON is too_deep, not a stack overflow; a cycle too", () => {
    expect(catchLasso(() => parseJson(nots(100_000))).code).toBe("too_deep");
    expect(catchLasso(() => parseJson(ands(100_000))).code).toBe("too_deep");
    const cyclic: { not: unknown } = { not: null };
    cyclic.not = cyclic;
    expect(catchLasso(() => parseJson(cyclic)).code).toBe("too_deep");
  });
});

describe("toJson", () => {
  it("writes every node in SEL.md's shapes", () => {
    const text =
      "a AND NOT b AND (c = 1 OR d != 'x') AND e IN ('p') AND e NOT IN ('q') AND f BETWEEN 1 AND 2 AND " +
      "f NOT BETWEEN 3 AND 4 AND g IS NULL AND g IS NOT NULL AND h HAS 'm' AND h HAS ANY ('m', 'n') AND " +
      "h HAS ALL ('o') AND i LIKE 'a%' AND i NOT LIKE 'b_' AND t WITHIN 30 DAYS AND t WITHIN 1 HOUR AND " +
      "t BEFORE DATE '2025-01-01' AND t AFTER TIMESTAMP '2025-01-01T00:00:00Z' AND @s AND TRUE";
    expect(toJson(parseText(text))).toEqual({
      and: [
        { tag: "a" }, { not: { tag: "b" } }, { or: [{ "=": ["c", 1] }, { "!=": ["d", "x"] }] },
        { in: ["e", ["p"]] }, { notIn: ["e", ["q"]] }, { between: ["f", 1, 2] }, { notBetween: ["f", 3, 4] },
        { isNull: "g" }, { isNotNull: "g" }, { has: ["h", "m"] }, { hasAny: ["h", ["m", "n"]] }, { hasAll: ["h", ["o"]] },
        { like: ["i", "a%"] }, { notLike: ["i", "b_"] }, { within: ["t", 30, "days"] }, { within: ["t", 1, "hours"] },
        { before: ["t", "2025-01-01"] }, { after: ["t", "2025-01-01T00:00:00Z"] }, { segment: "s" }, true,
      ],
    });
  });

  it("keeps numbers exact: integers beyond 2^53 become decimal strings", () => {
    expect(toJson(parseText("n IN (9007199254740991, 9007199254740993, -9223372036854775808, 1E3, 30.0, -0, 2.50, 1e400)"))).toEqual({
      in: ["n", [9007199254740991, "9007199254740993", "-9223372036854775808", 1000, 30, 0, 2.5, "1e400"]],
    });
    expect(toJson(parseText("t WITHIN 9007199254740993 DAYS"))).toEqual({ within: ["t", "9007199254740993", "days"] });
  });
});
