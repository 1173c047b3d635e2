/**
 * The oracle's tests state expressions with ./build.ts; this pins those trees to what the SEL parser makes
 * of the same text, so the hand-computed cases are about real SEL and not about a private dialect.
 */
import { describe, expect, it } from "vitest";
import type { Expr } from "../../engine/expr/ast.js";
import { parseText, stripLocations } from "../../engine/expr/index.js";
import * as b from "./build.js";

const cases: [string, Expr][] = [
  ["TRUE OR FALSE", b.or(b.TRUE, b.FALSE)],
  ["churned", b.tag("churned")],
  ["churned != TRUE", b.cmp("churned", "!=", true)],
  ["NOT NOT churned", b.not(b.not(b.tag("churned")))],
  ["城市 IN ('上海', '北京') AND age BETWEEN 25 AND 35", b.and(b.inList("城市", "上海", "北京"), b.between("age", 25, 35))],
  ["城市 NOT IN ('上海')", b.notIn("城市", "上海")],
  ["城市 NOT BETWEEN '北京' AND '广州'", b.notBetween("城市", "北京", "广州")],
  ["note LIKE '50\\\\%'", b.like("note", "50\\%")],
  ["note NOT LIKE 'a\\\\_b'", b.notLike("note", "a\\_b")],
  ["note > '\\u{1D11E}'", b.cmp("note", ">", "𝄞")],
  ["age = 30.5", b.cmp("age", "=", b.num("30.5"))],
  ["age = 3e1", b.cmp("age", "=", b.num("3e1"))],
  ["age >= 35.000000000000000001", b.cmp("age", ">=", b.num("35.000000000000000001"))],
  ["age < 1e400", b.cmp("age", "<", b.num("1e400"))],
  ["big = -9223372036854775808", b.cmp("big", "=", b.num("-9223372036854775808"))],
  ["age = '30'", b.cmp("age", "=", "30")],
  ["age IS NULL OR age IS NOT NULL", b.or(b.isNull("age"), b.isNotNull("age"))],
  ["last AFTER DATE '2025-12-02'", b.after("last", b.date("2025-12-02"))],
  ["last BEFORE '2025-12-02'", b.before("last", "2025-12-02")],
  ["last = TIMESTAMP '2026-01-01T00:00'", b.cmp("last", "=", b.ts("2026-01-01T00:00"))],
  ["last WITHIN 30 DAYS", b.within("last", 30, "day")],
  ["last WITHIN 1 HOUR", b.within("last", 1, "hour")],
  ["last WITHIN 720 minutes", b.within("last", 720, "minute")],
  ["interests HAS 'sports'", b.has("interests", "sports")],
  ["interests HAS ANY ('music', '读书')", b.hasAny("interests", "music", "读书")],
  ["interests HAS ALL ('sports', 'music')", b.hasAll("interests", "sports", "music")],
  ["@vip AND NOT @`vip-2`", b.and(b.seg("vip"), b.not(b.seg("vip-2")))],
];

describe("oracle builders = parser trees", () => {
  for (const [text, built] of cases) {
    it(text, () => expect(stripLocations(parseText(text))).toEqual(built));
  }
});
