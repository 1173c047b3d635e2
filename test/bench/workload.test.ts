/** The seg-v1 suite's shape, workload files, the weighted mix, and SEL → SQL on its own. */
import { describe, expect, it } from "vitest";
import { collectSegments, collectTags, parseExpr } from "../../engine/expr/index.js";
import { STANDARD_TAGS, tagTypes } from "../../fixtures/schema.js";
import { Rng } from "../../fixtures/prng.js";
import { selToSql } from "../../bench/sql.js";
import { parseWorkload, SEG_V1, WeightedPicker, workloadDigest } from "../../bench/workload.js";

describe("seg-v1", () => {
  it("has at least 12 queries of distinct shapes, each with SQL, over tags of the fixture schema", () => {
    expect(SEG_V1.queries.length).toBeGreaterThanOrEqual(12);
    expect(new Set(SEG_V1.queries.map((q) => q.id)).size).toBe(SEG_V1.queries.length);
    expect(new Set(SEG_V1.queries.map((q) => q.shape)).size).toBe(SEG_V1.queries.length);
    const names = new Set(STANDARD_TAGS.map((t) => t.name));
    for (const q of [...SEG_V1.queries, ...SEG_V1.segments]) {
      expect(q.sql, q.name ?? "").toBeTruthy();
      for (const tag of collectTags(parseExpr(q.expr))) expect(names.has(tag), `${tag} is a fixture tag`).toBe(true);
    }
  });

  it("covers the shapes issue 7 asks for", () => {
    const shapes = SEG_V1.queries.map((q) => q.shape).join(" | ");
    for (const s of ["single", "enum IN", "numeric range", "WITHIN", "HAS ANY", "4-leaf AND", "OR / NOT", "12 leaves",
      "very selective", "very broad", "segment of segment", "select IDs, ≈1%", "select IDs, ≈50%"]) {
      expect(shapes).toContain(s);
    }
    // Segment of segment: the query names a segment that itself names a segment.
    const q = SEG_V1.queries.find((x) => x.shape === "segment of segment")!;
    const [seg] = collectSegments(parseExpr(q.expr));
    const def = SEG_V1.segments.find((s) => s.name === seg)!;
    expect(collectSegments(parseExpr(def.expr)).length).toBe(1);
    const leaves = SEG_V1.queries.find((x) => x.shape === "12 leaves")!;
    expect(collectTags(parseExpr(leaves.expr)).length).toBeGreaterThanOrEqual(10);
  });

  it("its digest changes when a query does", () => {
    const changed = { ...SEG_V1, queries: SEG_V1.queries.map((q, i) => (i === 0 ? { ...q, weight: q.weight + 1 } : q)) };
    expect(workloadDigest(changed)).not.toBe(workloadDigest(SEG_V1));
    expect(workloadDigest({ ...SEG_V1 })).toBe(workloadDigest(SEG_V1));
  });
});

describe("workload files", () => {
  it("fills defaults", () => {
    const w = parseWorkload({ queries: [{ expr: "churned" }, { id: "b", expr: { tag: "high_value" }, op: "select", weight: 3 }] });
    expect(w.queries.map((q) => [q.id, q.op, q.weight])).toEqual([["q01", "count", 1], ["b", "select", 3]]);
    expect(w.entity).toBe("user");
    expect(w.asOf).toBe("2026-01-01T00:00:00Z");
  });

  it("names what is wrong", () => {
    expect(() => parseWorkload([])).toThrow(/JSON object/);
    expect(() => parseWorkload({ queries: [] })).toThrow(/non-empty array/);
    expect(() => parseWorkload({ queries: [{ expr: "churned", op: "delete" }] })).toThrow(/queries\[0\]\.op/);
    expect(() => parseWorkload({ queries: [{ expr: "churned", weight: 0 }] })).toThrow(/weight/);
    expect(() => parseWorkload({ queries: [{ expr: "churned" }, { expr: "age >" }] })).toThrow(/queries\[1\]\.expr/);
    expect(() => parseWorkload({ queries: [{ id: "a", expr: "churned" }, { id: "a", expr: "churned" }] })).toThrow(/used twice/);
  });

  it("the weighted mix follows the weights (seeded)", () => {
    const seed = 7;
    const rng = new Rng(seed, "picker");
    const picker = new WeightedPicker([{ id: "a", weight: 1 }, { id: "b", weight: 3 }], () => rng.float());
    let b = 0;
    for (let i = 0; i < 20_000; i++) if (picker.pick().id === "b") b++;
    expect(b / 20_000, `seed ${seed}`).toBeGreaterThan(0.73);
    expect(b / 20_000, `seed ${seed}`).toBeLessThan(0.77);
  });
});

describe("SEL → SQL", () => {
  const ctx = { types: tagTypes("standard"), asOf: "2026-01-01T00:00:00Z", segments: new Map([["s", "churned"]]) };

  it("writes SEL's NOT as the complement including nulls", () => {
    expect(selToSql("NOT churned", ctx)).toBe(`(NOT coalesce(("churned" = TRUE), false))`);
    expect(selToSql("NOT @s", ctx)).toBe(`(NOT coalesce((("churned" = TRUE)), false))`);
  });

  it("keeps NOT IN / NOT BETWEEN null-excluding and 64-bit literals exact", () => {
    expect(selToSql("gender NOT IN ('male')", ctx)).toBe(`("gender" NOT IN ('male'))`);
    expect(selToSql("device_hash = 9223372036854775807", ctx)).toBe(`("device_hash" = 9223372036854775807)`);
    expect(selToSql("spend_90d > 0.1", ctx)).toBe(`("spend_90d" > CAST('0.1' AS DOUBLE))`);
  });

  it("moves sub-µs time bounds to the µs that keeps the same set", () => {
    // 1.5 µs after the epoch: t < 1.5 µs ⇔ t < 2 µs; t > 1.5 µs ⇔ t > 1 µs.
    expect(selToSql("last_login_at BEFORE '1970-01-01T00:00:00.0000015Z'", ctx)).toBe(`("last_login_at" < make_timestamp(2::BIGINT))`);
    expect(selToSql("last_login_at AFTER '1970-01-01T00:00:00.0000015Z'", ctx)).toBe(`("last_login_at" > make_timestamp(1::BIGINT))`);
    expect(selToSql("last_order_at WITHIN 1 DAYS", ctx)).toBe(
      `(("last_order_at" >= make_timestamp(1767139200000000::BIGINT)) AND ("last_order_at" <= make_timestamp(1767225600000000::BIGINT)))`);
  });

  it("turns HAS ANY / HAS ALL into list_contains chains and LIKE escapes into DuckDB's", () => {
    expect(selToSql("interests HAS ANY ('a', 'b')", ctx)).toBe(`(list_contains("interests", 'a') OR list_contains("interests", 'b'))`);
    expect(selToSql("interests HAS ALL ('a', 'b')", ctx)).toBe(`(list_contains("interests", 'a') AND list_contains("interests", 'b'))`);
    expect(selToSql("gender LIKE 'a\\\\_b\\\\x%'", ctx)).toBe(`("gender" LIKE 'a\\_bx%' ESCAPE '\\')`);
  });

  it("refuses unknown tags and segments", () => {
    expect(() => selToSql("nope", ctx)).toThrow(/nope/);
    expect(() => selToSql("@missing", ctx)).toThrow(/missing/);
  });
});
