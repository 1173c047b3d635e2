/**
 * The oracle's own proof: every construct of SEL.md over a handful of hand-made rows, each expected set
 * worked out by hand (see the row table below), never by running the oracle.
 */
import { describe, expect, it } from "vitest";
import type { Expr } from "../../engine/expr/ast.js";
import { evaluate, exactNumber, OracleError, type OracleRow, type OracleSchema } from "./evaluate.js";
import { parseInstant } from "./instant.js";
import {
  after, and, before, between, bool, cmp, date, FALSE, has, hasAll, hasAny, inList, isNotNull, isNull, like, not,
  notBetween, notIn, notLike, num, or, seg, str, tag, TRUE, ts, within,
} from "./build.js";

// Row values are written with Date.parse (milliseconds) + explicit nanoseconds: independent of the oracle.
const ms = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;
const NOW = ms("2026-01-01T00:00:00Z");

const schema: OracleSchema = {
  churned: { type: "bool" },
  城市: { type: "enum" },
  note: { type: "enum" },
  age: { type: "int" },
  big: { type: "int" },
  spend: { type: "float" },
  f32: { type: "float" },
  last: { type: "time", timeUnit: "ms" },
  seen: { type: "time", timeUnit: "us" },
  signup: { type: "time", timeUnit: "day" },
  interests: { type: "multi" },
};

/*
 *  i  exists churned 城市    note    age big                    spend f32          last                      signup      interests
 *  0  yes    true    上海    50%     30  9007199254740993       100.5 fround(0.1)  2025-12-31T12:00:00Z      2024-02-29  [sports, music]
 *  1  yes    false   北京    50x     25  9007199254740992       0.1   –            2025-11-01T00:00:00Z      2025-01-01  []
 *  2  yes    –       –       –       –   –                      –     –            –                         –           –
 *  3  yes    true    广州    a_b     35  -9223372036854775808   500   0.5          2026-01-01T00:00:00Z (now) 2020-01-01 [music]
 *  4  NO     (a copy of row 0: deleted, so in no answer)
 *  5  yes    false   上海市  axb     36  9223372036854775807    -2.5  –            2025-12-02T00:00:00Z      2025-12-31  [sports, 读书]
 *  6  yes    –       深圳    𝄞       18  0                      30    –            2025-12-01T23:59:59.999Z  1970-01-01  [读书]
 *  7  yes    true    北京    ～      30  1                      30.5  –            2026-01-01T00:00:00.001Z  2025-01-01  [sports]
 *  8  yes    false   杭州    a\b     99  -1                     -0    –            1969-12-31T23:59:59Z      –           []
 *  9  NO     (every tag absent)
 *  seen (µs): row 0 2025-06-01T00:00:00.000001Z, row 1 2025-06-01T00:00:00Z, others –.
 *  UTF-8 lead bytes: 上 E4 B8 8A, 北 E5 8C 97, 广 E5 B9 BF, 杭 E6 9D AD, 深 E6 B7 B1; ～ (U+FF5E) EF BD 9E,
 *  𝄞 (U+1D11E) F0 9D 84 9E — so 𝄞 > ～ in UTF-8 order although 𝄞 < ～ in UTF-16 order.
 */
const row0: OracleRow = {
  key: 100n,
  exists: true,
  tags: {
    churned: true, 城市: "上海", note: "50%", age: 30n, big: 9007199254740993n, spend: 100.5, f32: Math.fround(0.1),
    last: ms("2025-12-31T12:00:00Z"), seen: ms("2025-06-01T00:00:00Z") + 1_000n, signup: ms("2024-02-29T00:00:00Z"),
    interests: ["sports", "music"],
  },
};
const rows: OracleRow[] = [
  row0,
  {
    key: 101n, exists: true,
    tags: {
      churned: false, 城市: "北京", note: "50x", age: 25n, big: 9007199254740992n, spend: 0.1, f32: null,
      last: ms("2025-11-01T00:00:00Z"), seen: ms("2025-06-01T00:00:00Z"), signup: ms("2025-01-01T00:00:00Z"), interests: [],
    },
  },
  {
    key: 102n, exists: true,
    tags: {
      churned: null, 城市: null, note: null, age: null, big: null, spend: null, f32: null, last: null, seen: null,
      signup: null, interests: null,
    },
  },
  {
    key: 103n, exists: true,
    tags: {
      churned: true, 城市: "广州", note: "a_b", age: 35n, big: -9223372036854775808n, spend: 500, f32: 0.5,
      last: NOW, signup: ms("2020-01-01T00:00:00Z"), interests: ["music"],
    },
  },
  { ...row0, key: 104n, exists: false },
  {
    key: 105n, exists: true,
    tags: {
      churned: false, 城市: "上海市", note: "axb", age: 36n, big: 9223372036854775807n, spend: -2.5,
      last: ms("2025-12-02T00:00:00Z"), signup: ms("2025-12-31T00:00:00Z"), interests: ["sports", "读书"],
    },
  },
  {
    key: 106n, exists: true,
    tags: {
      城市: "深圳", note: "𝄞", age: 18n, big: 0n, spend: 30, last: ms("2025-12-01T23:59:59.999Z"),
      signup: 0n, interests: ["读书"],
    },
  },
  {
    key: 107n, exists: true,
    tags: {
      churned: true, 城市: "北京", note: "～", age: 30n, big: 1n, spend: 30.5, last: NOW + 1_000_000n,
      signup: ms("2025-01-01T00:00:00Z"), interests: ["sports"],
    },
  },
  {
    key: 108n, exists: true,
    tags: {
      churned: false, 城市: "杭州", note: "a\\b", age: 99n, big: -1n, spend: -0, last: -1_000_000_000n, interests: [],
    },
  },
  { key: 109n, exists: false, tags: {} },
];

const segments: Record<string, Expr> = {
  vip: and(cmp("churned", "=", false), cmp("age", ">=", 25)),
  vip_shanghai: and(seg("vip"), cmp("城市", "=", "上海市")),
  loop_a: seg("loop_b"),
  loop_b: seg("loop_a"),
  self: or(tag("churned"), seg("self")),
};

const ALL = [0, 1, 2, 3, 5, 6, 7, 8];

const cases: Record<string, [Expr, number[]]> = {
  // constants, bool tags, NOT
  "TRUE is every existing row": [TRUE, ALL],
  "FALSE is none": [FALSE, []],
  "bool tag alone": [tag("churned"), [0, 3, 7]],
  "bool = TRUE": [cmp("churned", "=", true), [0, 3, 7]],
  "bool = FALSE": [cmp("churned", "=", false), [1, 5, 8]],
  "bool != TRUE excludes nulls": [cmp("churned", "!=", true), [1, 5, 8]],
  "bool != FALSE": [cmp("churned", "!=", false), [0, 3, 7]],
  "NOT bool includes nulls": [not(tag("churned")), [1, 2, 5, 6, 8]],
  "NOT NOT bool": [not(not(tag("churned"))), [0, 3, 7]],
  "bool IS NULL (deleted rows excluded)": [isNull("churned"), [2, 6]],
  "bool IS NOT NULL": [isNotNull("churned"), [0, 1, 3, 5, 7, 8]],

  // enums, Chinese, UTF-8 order
  "enum = (no prefix match)": [cmp("城市", "=", "上海"), [0]],
  "enum != excludes nulls": [cmp("城市", "!=", "上海"), [1, 3, 5, 6, 7, 8]],
  "NOT enum = includes nulls": [not(cmp("城市", "=", "上海")), [1, 2, 3, 5, 6, 7, 8]],
  "enum IN": [inList("城市", "上海", "北京"), [0, 1, 7]],
  "enum NOT IN excludes nulls": [notIn("城市", "上海", "北京"), [3, 5, 6, 8]],
  "NOT enum IN includes nulls": [not(inList("城市", "上海", "北京")), [2, 3, 5, 6, 8]],
  "enum value nobody has": [cmp("城市", "=", "成都"), []],
  "enum < prefix": [cmp("城市", "<", "上海市"), [0]],
  "enum > by bytes": [cmp("城市", ">", "上海"), [1, 3, 5, 6, 7, 8]],
  "enum >= by bytes": [cmp("城市", ">=", "北京"), [1, 3, 6, 7, 8]],
  "enum <=": [cmp("城市", "<=", "上海市"), [0, 5]],
  "enum BETWEEN": [between("城市", "北京", "广州"), [1, 3, 7]],
  "enum BETWEEN reversed is empty": [between("城市", "广州", "北京"), []],
  "enum NOT BETWEEN": [notBetween("城市", "北京", "广州"), [0, 5, 6, 8]],
  "UTF-8 not UTF-16 order (>)": [cmp("note", ">", "～"), [6]],
  "UTF-8 not UTF-16 order (<)": [cmp("note", "<", "～"), [0, 1, 3, 5, 8]],
  "astral code point equality": [cmp("note", "=", "𝄞"), [6]],

  // LIKE
  "LIKE prefix": [like("城市", "上%"), [0, 5]],
  "LIKE one code point": [like("城市", "上_"), [0]],
  "LIKE suffix": [like("城市", "%京"), [1, 7]],
  "LIKE whole value only": [like("城市", "上海"), [0]],
  "NOT LIKE excludes nulls": [notLike("城市", "上%"), [1, 3, 6, 7, 8]],
  "NOT (LIKE) includes nulls": [not(like("城市", "上%")), [1, 2, 3, 6, 7, 8]],
  "LIKE escaped %": [like("note", "50\\%"), [0]],
  "LIKE % wildcard": [like("note", "50%"), [0, 1]],
  "LIKE _ wildcard": [like("note", "a_b"), [3, 5, 8]],
  "LIKE escaped _": [like("note", "a\\_b"), [3]],
  "LIKE escaped backslash": [like("note", "a\\\\b"), [8]],
  "LIKE escaped ordinary char": [like("note", "\\a\\xb"), [5]],
  "LIKE _ is one astral code point": [like("note", "_"), [6, 7]],
  "LIKE __ is not one astral code point": [like("note", "__"), []],
  "LIKE % alone is every value": [like("note", "%"), [0, 1, 3, 5, 6, 7, 8]],
  "LIKE %% with a middle": [like("note", "%\\\\%"), [8]],

  // ints, exact
  "int =": [cmp("age", "=", 30), [0, 7]],
  "int = 30.0": [cmp("age", "=", num("30.0")), [0, 7]],
  "int = 3e1": [cmp("age", "=", num("3e1")), [0, 7]],
  "int = 0.3e2": [cmp("age", "=", num("0.3e2")), [0, 7]],
  "int = 30.5 is nothing": [cmp("age", "=", num("30.5")), []],
  "int < 30.5": [cmp("age", "<", num("30.5")), [0, 1, 6, 7]],
  "int <= 30.5": [cmp("age", "<=", num("30.5")), [0, 1, 6, 7]],
  "int > 30.5": [cmp("age", ">", num("30.5")), [3, 5, 8]],
  "int >= 30.5": [cmp("age", ">=", num("30.5")), [3, 5, 8]],
  "int != 30.5 is every value": [cmp("age", "!=", num("30.5")), [0, 1, 3, 5, 6, 7, 8]],
  "int > -30.5": [cmp("age", ">", num("-30.5")), [0, 1, 3, 5, 6, 7, 8]],
  "int >= 1e3": [cmp("age", ">=", num("1e3")), []],
  "int < 1e400": [cmp("age", "<", num("1e400")), [0, 1, 3, 5, 6, 7, 8]],
  "int > -1e400": [cmp("age", ">", num("-1e400")), [0, 1, 3, 5, 6, 7, 8]],
  "int >= 35 + 1e-18 (a double would round to 35)": [cmp("age", ">=", num("35.000000000000000001")), [5, 8]],
  "int = decimal string": [cmp("age", "=", str("30")), [0, 7]],
  "int BETWEEN": [between("age", 25, 35), [0, 1, 3, 7]],
  "int BETWEEN fractional ends": [between("age", num("24.5"), num("25.5")), [1]],
  "int BETWEEN reversed": [between("age", 35, 25), []],
  "int NOT BETWEEN": [notBetween("age", 25, 35), [5, 6, 8]],
  "NOT int BETWEEN": [not(between("age", 25, 35)), [2, 5, 6, 8]],
  "int IN": [inList("age", 18, 99, 100), [6, 8]],
  "int NOT IN": [notIn("age", 30), [1, 3, 5, 6, 8]],
  "int IS NULL": [isNull("age"), [2]],
  "int64 exact beyond 2^53": [cmp("big", "=", num("9007199254740993")), [0]],
  "int64 > 2^53": [cmp("big", ">", num("9007199254740992")), [0, 5]],
  "int64 min": [cmp("big", "=", num("-9223372036854775808")), [3]],
  "int64 < min + 1": [cmp("big", "<", num("-9223372036854775807")), [3]],
  "int64 max": [cmp("big", "=", num("9223372036854775807")), [5]],
  "int64 >= 2^63 is nothing": [cmp("big", ">=", num("9223372036854775808")), []],
  "int64 = decimal string beyond 2^53": [cmp("big", "=", str("9007199254740993")), [0]],
  "int64 < 0": [cmp("big", "<", 0), [3, 8]],
  "int64 IN": [inList("big", 0, 1), [6, 7]],

  // floats, as doubles
  "float = 0.1": [cmp("spend", "=", num("0.1")), [1]],
  "float > 30": [cmp("spend", ">", 30), [0, 3, 7]],
  "float >= 30": [cmp("spend", ">=", 30), [0, 3, 6, 7]],
  "float = 0 matches -0": [cmp("spend", "=", 0), [8]],
  "float < 0 (not -0)": [cmp("spend", "<", 0), [5]],
  "float BETWEEN": [between("spend", 30, num("30.5")), [6, 7]],
  "float = decimal string": [cmp("spend", "=", str("30")), [6]],
  "float != excludes nulls": [cmp("spend", "!=", 500), [0, 1, 5, 6, 7, 8]],
  "float32 widened is not 0.1": [cmp("f32", "=", num("0.1")), []],
  "float32 widened > 0.1": [cmp("f32", ">", num("0.1")), [0, 3]],
  "float32 widened exact": [cmp("f32", "=", num("0.10000000149011612")), [0]],
  "float32 = 0.5": [cmp("f32", "=", num("0.5")), [3]],
  "float IS NULL": [isNull("f32"), [1, 2, 5, 6, 7, 8]],

  // time
  "WITHIN 30 DAYS inclusive both ends, not future": [within("last", 30, "day"), [0, 3, 5]],
  "WITHIN 0 DAYS is now only": [within("last", 0, "day"), [3]],
  "WITHIN 1 HOUR": [within("last", 1, "hour"), [3]],
  "WITHIN 12 HOURS boundary": [within("last", 12, "hour"), [0, 3]],
  "WITHIN 720 MINUTES boundary": [within("last", 720, "minute"), [0, 3]],
  "WITHIN 719 MINUTES": [within("last", 719, "minute"), [3]],
  "NOT WITHIN includes nulls and the future": [not(within("last", 30, "day")), [1, 2, 6, 7, 8]],
  "BEFORE bare date string, strict": [before("last", "2025-12-02"), [1, 6, 8]],
  "AFTER DATE, strict": [after("last", date("2025-12-02")), [0, 3, 7]],
  "AFTER TIMESTAMP": [after("last", ts("2026-01-01T00:00:00Z")), [7]],
  "AFTER with +08:00 offset": [after("last", "2026-01-01T08:00:00+08:00"), [7]],
  "= with space and +0800": [cmp("last", "=", "2026-01-01 08:00:00+0800"), [3]],
  "= with +09 and no seconds": [cmp("last", "=", "2026-01-01T09:00+09"), [3]],
  "= with -05:30": [cmp("last", "=", "2025-12-31T18:30:00-05:30"), [3]],
  "no offset means UTC": [cmp("last", "=", ts("2026-01-01T00:00")), [3]],
  "sub-ns literal equals nothing": [cmp("last", "=", "2026-01-01T00:00:00.0000000001Z"), []],
  "sub-ns literal >": [cmp("last", ">", "2026-01-01T00:00:00.0000000001Z"), [7]],
  "sub-ns literal >=": [cmp("last", ">=", "2026-01-01T00:00:00.0000000001Z"), [7]],
  "sub-ns literal <": [cmp("last", "<", "2026-01-01T00:00:00.0000000001Z"), [0, 1, 3, 5, 6, 8]],
  "ms literal finer than nothing": [cmp("last", "=", "2026-01-01T00:00:00.001Z"), [7]],
  "time BETWEEN": [between("last", "2025-12-01T23:59:59.999Z", "2025-12-02"), [5, 6]],
  "before the epoch": [cmp("last", "<", date("1970-01-01")), [8]],
  "before the epoch, exact": [cmp("last", "=", "1969-12-31T23:59:59Z"), [8]],
  "time IN": [inList("last", "2026-01-01", "1969-12-31T23:59:59Z"), [3, 8]],
  "µs tag vs 500 ns literal >": [cmp("seen", ">", "2025-06-01T00:00:00.0000005Z"), [0]],
  "µs tag vs 500 ns literal <": [cmp("seen", "<", "2025-06-01T00:00:00.0000005Z"), [1]],
  "µs tag vs 500 ns literal =": [cmp("seen", "=", "2025-06-01T00:00:00.0000005Z"), []],
  "date tag = DATE": [cmp("signup", "=", date("2025-01-01")), [1, 7]],
  "date tag >= timestamp": [cmp("signup", ">=", "2025-01-01T00:00:00Z"), [1, 5, 7]],
  "date tag > 1 ns before midnight": [cmp("signup", ">", "2024-12-31T23:59:59.999999999Z"), [1, 5, 7]],
  "date tag BEFORE 1 ns after midnight": [before("signup", "2024-02-29T00:00:00.000000001Z"), [0, 3, 6]],
  "date tag AFTER leap day": [after("signup", "2024-02-29"), [1, 5, 7]],
  "date tag WITHIN 1 DAY": [within("signup", 1, "day"), [5]],
  "date tag IS NULL": [isNull("signup"), [2, 8]],

  // multi
  "HAS": [has("interests", "sports"), [0, 5, 7]],
  "HAS Chinese": [has("interests", "读书"), [5, 6]],
  "HAS ANY": [hasAny("interests", "music", "读书"), [0, 3, 5, 6]],
  "HAS ALL": [hasAll("interests", "sports", "music"), [0]],
  "HAS ALL Chinese": [hasAll("interests", "sports", "读书"), [5]],
  "HAS unknown value": [has("interests", "none"), []],
  "multi IS NULL ([] is not null)": [isNull("interests"), [2]],
  "multi IS NOT NULL": [isNotNull("interests"), [0, 1, 3, 5, 6, 7, 8]],
  "NOT HAS includes empty and null": [not(has("interests", "sports")), [1, 2, 3, 6, 8]],

  // combinations
  "AND of IN and BETWEEN": [and(inList("城市", "上海", "北京"), between("age", 25, 35)), [0, 1, 7]],
  "AND NOT": [and(inList("城市", "上海", "北京"), between("age", 25, 35), not(tag("churned"))), [1]],
  "OR": [or(tag("churned"), has("interests", "读书")), [0, 3, 5, 6, 7]],
  "NOT (a OR b)": [not(or(tag("churned"), cmp("age", ">", 30))), [1, 2, 6]],
  "NOT a AND NOT b": [and(not(tag("churned")), not(cmp("城市", "=", "北京"))), [2, 5, 6, 8]],
  "OR with FALSE": [or(FALSE, cmp("age", "=", 18)), [6]],
  "AND with TRUE": [and(TRUE, cmp("age", "=", 18)), [6]],

  // segments
  "segment": [seg("vip"), [1, 5, 8]],
  "NOT segment": [not(seg("vip")), [0, 2, 3, 6, 7]],
  "nested segment": [seg("vip_shanghai"), [5]],
};

const errors: Record<string, [Expr, string]> = {
  "unknown tag": [cmp("城區", "=", "x"), "unknown_tag"],
  "unknown tag deep inside": [and(TRUE, or(FALSE, tag("nope"))), "unknown_tag"],
  "unknown tag named like an Object member": [tag("constructor"), "unknown_tag"],
  "int tag alone": [tag("age"), "type_mismatch"],
  "bool <": [cmp("churned", "<", true), "type_mismatch"],
  "bool IN": [inList("churned", true), "type_mismatch"],
  "bool BETWEEN": [between("churned", false, true), "type_mismatch"],
  "bool = string": [cmp("churned", "=", "true"), "type_mismatch"],
  "enum > number": [cmp("城市", ">", 3), "type_mismatch"],
  "enum = TRUE": [cmp("城市", "=", true), "type_mismatch"],
  "enum = DATE": [cmp("城市", "=", date("2025-01-01")), "type_mismatch"],
  "enum HAS": [has("城市", "x"), "type_mismatch"],
  "int = 'x'": [cmp("age", "=", "x"), "type_mismatch"],
  "int = '30.5' (not a decimal integer)": [cmp("age", "=", "30.5"), "type_mismatch"],
  "int IN with one string": [inList("age", 1, "x"), "type_mismatch"],
  "int LIKE": [like("age", "3%"), "type_mismatch"],
  "int WITHIN": [within("age", 3, "day"), "type_mismatch"],
  "float = TRUE": [cmp("spend", "=", bool(true)), "type_mismatch"],
  "float = 'abc'": [cmp("spend", "=", "abc"), "type_mismatch"],
  "time > non-ISO string": [cmp("last", ">", "yesterday"), "type_mismatch"],
  "time > number": [cmp("last", ">", 5), "type_mismatch"],
  "time BEFORE number": [before("last", 5), "type_mismatch"],
  "enum BEFORE": [before("城市", "2025-01-01"), "type_mismatch"],
  "DATE with an impossible day": [cmp("last", "=", date("2025-02-29")), "syntax"],
  "DATE with a time": [cmp("last", "=", date("2025-01-01T00:00")), "syntax"],
  "multi =": [cmp("interests", "=", "a"), "type_mismatch"],
  "multi IN": [inList("interests", "a"), "type_mismatch"],
  "multi HAS number": [has("interests", 3), "type_mismatch"],
  "LIKE ending in a lone backslash": [like("note", "50\\"), "syntax"],
  "unknown segment": [seg("nope"), "unknown_segment"],
  "unknown segment named like an Object member": [seg("toString"), "unknown_segment"],
  "segment cycle": [seg("loop_a"), "segment_cycle"],
  "self reference": [seg("self"), "segment_cycle"],
};

describe("oracle: hand-computed answers", () => {
  const opts = { now: NOW, segments };
  for (const [name, [expr, expected]] of Object.entries(cases)) {
    it(name, () => {
      expect(evaluate(expr, rows, schema, opts)).toEqual(expected);
    });
  }
});

describe("oracle: errors", () => {
  for (const [name, [expr, code]] of Object.entries(errors)) {
    it(name, () => {
      let caught: unknown;
      try {
        evaluate(expr, [], schema, { now: NOW, segments }); // errors come before any row is read
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(OracleError);
      expect((caught as OracleError).code).toBe(code);
    });
  }
});

describe("oracle: guards", () => {
  it("refuses a row value of the wrong JS type", () => {
    const bad: OracleRow[] = [{ key: 1n, exists: true, tags: { age: 30 as unknown as bigint } }];
    expect(() => evaluate(cmp("age", "=", 30), bad, schema, { now: NOW })).toThrow(/age/);
  });
});

describe("oracle: ISO instants", () => {
  const S = 1_000_000_000n;
  const table: [string, "date" | "timestamp" | "any", bigint | null, boolean?][] = [
    ["1970-01-01", "any", 0n],
    ["1970-01-02", "date", 86_400n * S],
    ["1969-12-31", "any", -86_400n * S],
    ["2000-03-01", "any", 951_868_800n * S],
    ["2024-02-29T12:34:56Z", "any", 1_709_210_096n * S],
    ["2024-02-29t12:34:56z", "any", 1_709_210_096n * S],
    ["2024-02-29 12:34", "timestamp", 1_709_210_040n * S],
    ["2024-02-29T20:34:56+08:00", "any", 1_709_210_096n * S],
    ["2024-02-29T20:34:56+0800", "any", 1_709_210_096n * S],
    ["2024-02-29T20:34:56+08", "any", 1_709_210_096n * S],
    ["2024-02-29T07:04:56-05:30", "any", 1_709_210_096n * S],
    ["2024-02-29T12:34:56.5Z", "any", 1_709_210_096n * S + 500_000_000n],
    ["2024-02-29T12:34:56.123456789Z", "any", 1_709_210_096n * S + 123_456_789n],
    ["2024-02-29T12:34:56.1234567891Z", "any", 1_709_210_096n * S + 123_456_789n, true],
    ["2024-02-29T12:34:56.1234567890Z", "any", 1_709_210_096n * S + 123_456_789n, false],
    ["0001-01-01", "any", -62_135_596_800n * S],
    ["9999-12-31T23:59:59Z", "any", 253_402_300_799n * S],
    ["2023-02-29", "any", null],
    ["2024-13-01", "any", null],
    ["2024-01-01T24:00", "any", null],
    ["2024-01-01T23:60", "any", null],
    ["2024-01-01T23:59:60", "any", null],
    ["2024-01-01T10:00", "date", null],
    ["2024-01-01Z", "any", null],
    ["2024-1-01", "any", null],
    ["20240101", "any", null],
    ["2024-01-01T10", "any", null],
    ["2024-01-01T10:00:00.Z", "any", null],
    ["2024-01-01T10:00:00+24:00", "any", null],
    [" 2024-01-01", "any", null],
  ];
  for (const [text, form, floor, frac] of table) {
    it(`${form} ${JSON.stringify(text)}`, () => {
      const got = parseInstant(text, form);
      if (floor === null) expect(got).toBeNull();
      else expect(got).toEqual({ floor, frac: frac ?? false });
    });
  }
});

describe("oracle: exact number literals", () => {
  const table: [string, bigint, boolean][] = [
    ["0", 0n, false],
    ["-0.0", 0n, false],
    ["30", 30n, false],
    ["30.5", 30n, true],
    ["-30.5", -31n, true],
    ["-30", -30n, false],
    ["1e3", 1000n, false],
    ["1.5E1", 15n, false],
    ["15e-1", 1n, true],
    ["-15e-1", -2n, true],
    ["1e-400", 0n, true],
    ["-1e-400", -1n, true],
    ["9223372036854775807", 9223372036854775807n, false],
    ["-9223372036854775808.000", -9223372036854775808n, false],
    ["18446744073709551615.5", 18446744073709551615n, true],
  ];
  for (const [text, floor, frac] of table) {
    it(text, () => expect(exactNumber(text)).toEqual({ floor, frac }));
  }
  it("clamps beyond 10^60 keeping the sign", () => {
    expect(exactNumber("1e400")!.floor > 2n ** 64n).toBe(true);
    expect(exactNumber("-1e400")!.floor < -(2n ** 64n)).toBe(true);
  });
});
