/**
 * Workloads: named, versioned sets of segment queries. `seg-v1` is the standard suite over the fixture
 * schema (fixtures/schema.ts); `--workload FILE` reads a JSON file of the same shape.
 *
 * Every seg-v1 query carries its DuckDB SQL, written by hand, as the WHERE condition of
 * `SELECT … FROM "user"`. The SQL must be TRUE exactly where the SEL expression holds. A SQL NULL counts
 * as not matching, which is SEL's rule for every predicate on a null tag, so a positive SQL predicate can
 * be written as is; only SEL's NOT differs (it is the complement among existing entities, nulls
 * included): `NOT e` is written `NOT coalesce(e, false)` (SEL.md). The run checks every count against
 * DuckDB's, so a mistake here shows up as a loud mismatch, never as a wrong ratio.
 *
 * The SQL is DuckDB's fastest equivalent form we found, so the peer is measured at its best: HAS ANY /
 * HAS ALL are chains of `list_contains` (4× faster in DuckDB 1.5 than `list_has_any` / `list_has_all`
 * over 1M rows).
 *
 * Changing a seg-v1 query, its SQL or its weight changes the workload: bump SEG_V1.version, since
 * `compare` refuses results of different workload versions (it compares the digest too).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { FIXTURE_NOW_ISO } from "../fixtures/schema.js";
import { parseExpr } from "../engine/expr/index.js";
import { LassoError } from "../engine/errors.js";

export type QueryOp = "count" | "select";

export interface WorkloadQuery {
  /** Stable name, unique in the workload (results and `compare` key on it). */
  readonly id: string;
  /** What the query stands for, e.g. "enum IN". */
  readonly shape: string;
  readonly op: QueryOp;
  /** SEL text or JSON form. */
  readonly expr: string | object;
  /** DuckDB WHERE condition over the entity table; derived from `expr` when absent (bench/sql.ts). */
  readonly sql?: string;
  /** Relative frequency in throughput and rate modes (default 1). */
  readonly weight: number;
}

/** A saved segment the workload's queries refer to (`@name`); created on each target before the run. */
export interface WorkloadSegment {
  readonly name: string;
  readonly expr: string | object;
  readonly sql?: string;
}

export interface Workload {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly entity: string;
  /** `now` for every query, so WITHIN answers are the same on every run and every system. */
  readonly asOf: string;
  readonly segments: readonly WorkloadSegment[];
  readonly queries: readonly WorkloadQuery[];
}

/** `fixtures` times are relative to this instant; seg-v1 pins `now` to it. */
const NOW = FIXTURE_NOW_ISO;

/** The standard suite. Selectivities are those of the `standard` fixture (seed 42). */
export const SEG_V1: Workload = {
  name: "seg-v1",
  version: "1.0.0",
  description: "18 segment queries of distinct shapes over the standard fixture schema (user, ~100 tags)",
  entity: "user",
  asOf: NOW,
  segments: [
    {
      name: "seg_v1_active_women",
      expr: "gender = 'female' AND login_days_30d >= 10",
      sql: `gender = 'female' AND login_days_30d >= 10`,
    },
    {
      name: "seg_v1_beauty_fans",
      expr: "@seg_v1_active_women AND interests HAS ANY ('beauty', 'skincare', 'makeup')",
      sql: `(gender = 'female' AND login_days_30d >= 10) AND (list_contains(interests, 'beauty') OR list_contains(interests, 'skincare') OR list_contains(interests, 'makeup'))`,
    },
  ],
  queries: [
    { id: "q01_bool", shape: "single bool tag", op: "count", weight: 4, expr: "churned", sql: `churned` },
    {
      id: "q02_enum_in", shape: "enum IN", op: "count", weight: 4,
      expr: "城市 IN ('上海', '北京', '广州', '深圳')",
      sql: `"城市" IN ('上海', '北京', '广州', '深圳')`,
    },
    { id: "q03_int_range", shape: "numeric range (int)", op: "count", weight: 3, expr: "age BETWEEN 25 AND 35", sql: `age BETWEEN 25 AND 35` },
    {
      id: "q04_float_range", shape: "numeric range (float)", op: "count", weight: 2,
      expr: "spend_90d >= 500 AND spend_90d < 2000",
      sql: `spend_90d >= 500 AND spend_90d < 2000`,
    },
    {
      id: "q05_time_within", shape: "time WITHIN", op: "count", weight: 3,
      expr: "last_order_at WITHIN 30 DAYS",
      // now − 30 days ≤ t ≤ now, both ends inclusive (SEL.md); now = 2026-01-01T00:00:00Z.
      sql: `last_order_at BETWEEN TIMESTAMP '2025-12-02 00:00:00' AND TIMESTAMP '2026-01-01 00:00:00'`,
    },
    {
      id: "q06_multi_has_any", shape: "multi HAS ANY", op: "count", weight: 3,
      expr: "interests HAS ANY ('sports', 'music', 'travel')",
      sql: `list_contains(interests, 'sports') OR list_contains(interests, 'music') OR list_contains(interests, 'travel')`,
    },
    {
      id: "q07_multi_has_all", shape: "multi HAS ALL", op: "count", weight: 1,
      expr: "标签 HAS ALL ('高消费', '品牌忠诚')",
      sql: `list_contains("标签", '高消费') AND list_contains("标签", '品牌忠诚')`,
    },
    {
      id: "q08_and4", shape: "4-leaf AND", op: "count", weight: 4,
      expr: "gender = 'female' AND age BETWEEN 25 AND 35 AND 城市 IN ('上海', '北京') AND NOT churned",
      sql: `gender = 'female' AND age BETWEEN 25 AND 35 AND "城市" IN ('上海', '北京') AND NOT coalesce(churned, false)`,
    },
    {
      id: "q09_or_not", shape: "nested OR / NOT", op: "count", weight: 2,
      expr: "(high_value OR level IN ('gold', 'platinum', 'diamond')) AND NOT (churned OR risk_level = 'high')",
      sql: `(high_value OR level IN ('gold', 'platinum', 'diamond')) AND NOT coalesce(churned OR risk_level = 'high', false)`,
    },
    {
      id: "q10_leaves12", shape: "12 leaves", op: "count", weight: 2,
      expr:
        "(gender = 'female' AND age BETWEEN 20 AND 40) OR (interests HAS ANY ('beauty', 'fashion') AND spend_90d > 200) " +
        "OR (城市 IN ('上海', '杭州') AND level IN ('gold', 'platinum') AND NOT churned) " +
        "OR (push_enabled AND last_login_at WITHIN 7 DAYS AND orders_90d >= 3 AND device_os = 'ios' AND coupon_sensitive)",
      sql:
        `(gender = 'female' AND age BETWEEN 20 AND 40) OR ((list_contains(interests, 'beauty') OR list_contains(interests, 'fashion')) AND spend_90d > 200) ` +
        `OR ("城市" IN ('上海', '杭州') AND level IN ('gold', 'platinum') AND NOT coalesce(churned, false)) ` +
        `OR (push_enabled AND last_login_at BETWEEN TIMESTAMP '2025-12-25 00:00:00' AND TIMESTAMP '2026-01-01 00:00:00' ` +
        `AND orders_90d >= 3 AND device_os = 'ios' AND coupon_sensitive)`,
    },
    {
      id: "q11_selective", shape: "very selective (≈0.001%)", op: "count", weight: 2,
      expr: "fraud_flag AND 城市 = '上海'",
      sql: `fraud_flag AND "城市" = '上海'`,
    },
    {
      id: "q12_broad", shape: "very broad (≈99.8%)", op: "count", weight: 2,
      expr: "NOT test_account AND NOT blacklisted",
      sql: `NOT coalesce(test_account, false) AND NOT coalesce(blacklisted, false)`,
    },
    {
      id: "q13_segment_of_segment", shape: "segment of segment", op: "count", weight: 2,
      expr: "@seg_v1_beauty_fans AND NOT churned",
      sql: `((gender = 'female' AND login_days_30d >= 10) AND (list_contains(interests, 'beauty') OR list_contains(interests, 'skincare') OR list_contains(interests, 'makeup'))) AND NOT coalesce(churned, false)`,
    },
    {
      id: "q14_like", shape: "enum LIKE", op: "count", weight: 1,
      expr: "device_model LIKE 'iPhone%'",
      sql: `device_model LIKE 'iPhone%'`,
    },
    {
      id: "q15_null_not_in", shape: "IS NULL + NOT IN", op: "count", weight: 1,
      expr: "is_vip IS NULL AND 会员等级 NOT IN ('普通会员', '银卡会员')",
      // x NOT IN (…) is NULL where x is null, so SQL already excludes null tiers as SEL does.
      sql: `is_vip IS NULL AND "会员等级" NOT IN ('普通会员', '银卡会员')`,
    },
    {
      id: "q16_wide_mixed", shape: "8 tags of every type", op: "count", weight: 1,
      expr:
        "is_vip = TRUE AND 省份 IN ('广东省', '浙江省', '江苏省') AND credit_score >= 700 AND churn_probability < 0.3 " +
        "AND signup_date AFTER DATE '2024-01-01' AND apps_installed HAS '小红书' AND NOT (gender = 'male') AND device_hash IS NOT NULL",
      sql:
        `is_vip = TRUE AND "省份" IN ('广东省', '浙江省', '江苏省') AND credit_score >= 700 AND churn_probability < 0.3 ` +
        `AND signup_date > TIMESTAMP '2024-01-01 00:00:00' AND list_contains(apps_installed, '小红书') ` +
        `AND NOT coalesce(gender = 'male', false) AND device_hash IS NOT NULL`,
    },
    {
      id: "q17_select_1pct", shape: "select IDs, ≈1%", op: "select", weight: 1,
      expr: "high_value AND 城市 IN ('上海', '北京')",
      sql: `high_value AND "城市" IN ('上海', '北京')`,
    },
    { id: "q18_select_50pct", shape: "select IDs, ≈50%", op: "select", weight: 1, expr: "ab_group = 'A'", sql: `ab_group = 'A'` },
  ],
};

export const BUILTIN_WORKLOADS: Readonly<Record<string, Workload>> = { "seg-v1": SEG_V1 };

/** sha256 of the workload's meaning (queries, SQL, weights, segments, asOf), for `compare`. */
export function workloadDigest(w: Workload): string {
  const canonical = JSON.stringify({
    name: w.name, version: w.version, entity: w.entity, asOf: w.asOf,
    segments: w.segments.map((s) => [s.name, s.expr, s.sql ?? null]),
    queries: w.queries.map((q) => [q.id, q.op, q.expr, q.sql ?? null, q.weight]),
  });
  return createHash("sha256").update(canonical).digest("hex");
}

/** A built-in name or a JSON file path. */
export function resolveWorkload(nameOrPath: string): Workload {
  const builtin = BUILTIN_WORKLOADS[nameOrPath];
  if (builtin) return builtin;
  let text: string;
  try {
    text = readFileSync(nameOrPath, "utf8");
  } catch (e) {
    throw new LassoError("bad_request",
      `--workload ${nameOrPath}: neither a built-in workload (${Object.keys(BUILTIN_WORKLOADS).join(", ")}) nor a readable file (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LassoError("bad_json", `--workload ${nameOrPath}: ${(e as Error).message}`);
  }
  return parseWorkload(json, nameOrPath);
}

/**
 * Validates a workload file:
 *   {"name": "mine", "version": "1", "entity"?: "user", "asOf"?: ISO,
 *    "segments"?: [{"name", "expr", "sql"?}],
 *    "queries": [{"id"?, "expr", "op"?: "count"|"select", "weight"?: 1, "sql"?, "shape"?}]}
 * Every expression is parsed here, so a syntax error names the query before any data is loaded.
 */
export function parseWorkload(json: unknown, source = "workload"): Workload {
  const fail = (what: string): never => {
    throw new LassoError("bad_request", `${source}: ${what}`);
  };
  if (!isObject(json)) return fail("must be a JSON object with a \"queries\" array");
  const str = (v: unknown, what: string): string => (typeof v === "string" && v.length > 0 ? v : fail(`${what} must be a non-empty string`));
  const name = json["name"] === undefined ? "custom" : str(json["name"], "name");
  const version = json["version"] === undefined ? "1" : String(json["version"]);
  const entity = json["entity"] === undefined ? "user" : str(json["entity"], "entity");
  const asOf = json["asOf"] === undefined ? NOW : str(json["asOf"], "asOf");
  const exprOf = (v: unknown, where: string): string | object => {
    if (typeof v !== "string" && !isObject(v)) return fail(`${where}.expr must be SEL text or a SEL JSON object`);
    try {
      parseExpr(v);
    } catch (e) {
      return fail(`${where}.expr: ${(e as Error).message}`);
    }
    return v;
  };
  const segmentsIn = json["segments"] ?? [];
  if (!Array.isArray(segmentsIn)) return fail("segments must be an array");
  const segments = segmentsIn.map((s: unknown, i): WorkloadSegment => {
    if (!isObject(s)) return fail(`segments[${i}] must be an object`);
    const seg: { name: string; expr: string | object; sql?: string } = {
      name: str(s["name"], `segments[${i}].name`),
      expr: exprOf(s["expr"], `segments[${i}]`),
    };
    if (s["sql"] !== undefined) seg.sql = str(s["sql"], `segments[${i}].sql`);
    return seg;
  });
  const queriesIn = json["queries"];
  if (!Array.isArray(queriesIn) || queriesIn.length === 0) return fail("queries must be a non-empty array");
  const ids = new Set<string>();
  const queries = queriesIn.map((q: unknown, i): WorkloadQuery => {
    if (!isObject(q)) return fail(`queries[${i}] must be an object`);
    const id = q["id"] === undefined ? `q${String(i + 1).padStart(2, "0")}` : str(q["id"], `queries[${i}].id`);
    if (ids.has(id)) fail(`queries[${i}].id "${id}" is used twice`);
    ids.add(id);
    const op = q["op"] ?? "count";
    if (op !== "count" && op !== "select") fail(`queries[${i}].op must be "count" or "select", got ${JSON.stringify(op)}`);
    const weight = q["weight"] ?? 1;
    if (typeof weight !== "number" || !(weight > 0) || !Number.isFinite(weight)) fail(`queries[${i}].weight must be a positive number`);
    const out: { id: string; shape: string; op: QueryOp; expr: string | object; sql?: string; weight: number } = {
      id, op: op as QueryOp, weight: weight as number,
      shape: q["shape"] === undefined ? String(op) : str(q["shape"], `queries[${i}].shape`),
      expr: exprOf(q["expr"], `queries[${i}]`),
    };
    if (q["sql"] !== undefined) out.sql = str(q["sql"], `queries[${i}].sql`);
    return out;
  });
  return { name, version, description: `workload file ${source}`, entity, asOf, segments, queries };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Picks queries by weight from a seeded stream (throughput and rate modes). */
export class WeightedPicker<T extends { weight: number }> {
  private readonly cumulative: Float64Array;
  private readonly total: number;
  constructor(private readonly items: readonly T[], private readonly next: () => number) {
    this.cumulative = new Float64Array(items.length);
    let sum = 0;
    items.forEach((it, i) => (this.cumulative[i] = sum += it.weight));
    this.total = sum;
  }
  pick(): T {
    const x = this.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}
