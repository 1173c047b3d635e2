/**
 * SEL.md conformance, black box: one `it` per rule of /work/shared/spec/SEL.md (the line is cited), each a
 * concrete probe — an expression over a tiny hand-made table and the answer the contract demands, written
 * out by hand. Every answer is checked three ways: the engine's `select` keys, its `count`, and the
 * reference evaluator (test/oracle), so an oracle that shares a misreading with the engine fails too.
 * Errors are checked by code and by place (`at` in code points, or the JSON form's `path`).
 *
 * The table is built in `table()` below, one column per SEL type and Arrow spelling (a key not listed for a
 * column is null there). `now` is 2025-01-01T00:00:00Z unless a probe pins another `asOf`. k8 is loaded and
 * then deleted: it must be in no answer at all. Bugs this found: LIKE patterns holding '-' threw a JS
 * SyntaxError; `30…0e-449` (exponent and digits together) compared as 30·10^49; `WITHIN 3 __proto__` and the
 * JSON unit "constructor" passed for units and crashed the planner; too_large and planner-side too_deep
 * carried no place.
 */
import * as arrow from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { LassoError, type ErrorCode } from "../../engine/errors.js";
import { format, parseExpr, parseText, stripLocations, toJson } from "../../engine/expr/index.js";
import type { Expr } from "../../engine/expr/ast.js";
import { openEngine } from "../../engine/index.js";
import { evaluate, OracleError, type OracleRow, type OracleSchema } from "../oracle/evaluate.js";
import { parseInstant as oracleInstant } from "../oracle/instant.js";
import { tableToRows } from "../oracle/rows.js";
import { chunked } from "./data.js";

const NOW = "2025-01-01T00:00:00Z";
const NOW_MS = Date.parse(NOW);
const NOW_NS = BigInt(NOW_MS) * 1_000_000n;
const DAY_MS = 86_400_000;
const K = ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13", "k14"] as const;
type Key = (typeof K)[number];
type Col<T> = Partial<Record<Key, T>>;

// ---- the table ------------------------------------------------------------------------------------

const CITY: Col<string> = {
  k1: "上海", k2: "北京", k4: "é", k5: "e\u0301", k6: "Shanghai", k7: "50%", k8: "上海", k9: "a_b", k10: "a\\b",
  k11: "😀", k12: "\uFFFD", k13: "shanghai", k14: "500",
};
const INTERESTS: Col<string[]> = {
  k1: ["sports", "music"], k2: [], k4: ["music"], k5: ["科技", "sports"], k6: ["Sports"], k7: ["music", "music"], k8: ["sports"],
};
const ms = (x: number) => BigInt(x);
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

function values<T>(c: Col<T>): (T | null)[] {
  return K.map((k) => (c[k] === undefined ? null : c[k]!));
}
function bitmap(vs: readonly unknown[]): Uint8Array {
  const out = new Uint8Array(8);
  vs.forEach((v, i) => {
    if (v !== null) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}
/** A fixed-width column from raw values (exact 64-bit values; Arrow JS's builders round some through doubles). */
function raw<T extends arrow.DataType>(type: T, c: Col<number | bigint>, Data: new (n: number) => ArrayLike<unknown>): arrow.Vector {
  const vs = values(c);
  const data = new Data(K.length) as unknown as { [i: number]: number | bigint };
  vs.forEach((v, i) => {
    if (v !== null) data[i] = v;
  });
  return arrow.makeVector({ type, length: K.length, nullCount: vs.filter((v) => v === null).length, nullBitmap: bitmap(vs), data } as never);
}
function decimal(c: Col<bigint>): arrow.Vector {
  const vs = values(c);
  const words = new Uint32Array(K.length * 4);
  vs.forEach((v, i) => {
    let x = BigInt.asUintN(128, v ?? 0n);
    for (let w = 0; w < 4; w++, x >>= 32n) words[i * 4 + w] = Number(x & 0xffffffffn);
  });
  const type = new arrow.Decimal(2, 10, 128);
  return arrow.makeVector({ type, length: K.length, nullCount: vs.filter((v) => v === null).length, nullBitmap: bitmap(vs), data: words } as never);
}

function table(): arrow.Table {
  const strings = (t: arrow.DataType, c: Col<string>) => arrow.vectorFromArray(values(c), t);
  const lists = (item: arrow.DataType) => arrow.vectorFromArray(values(INTERESTS), new arrow.List(new arrow.Field("item", item, true)));
  return new arrow.Table({
    id: arrow.vectorFromArray([...K], new arrow.Utf8()),
    vip: arrow.vectorFromArray(values({ k1: true, k2: false, k4: true, k5: false, k7: true, k8: true }), new arrow.Bool()),
    city: strings(new arrow.Utf8(), CITY),
    city_d: strings(new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()), CITY),
    city_l: strings(new arrow.LargeUtf8(), CITY),
    城市: strings(new arrow.Utf8(), CITY),
    age: raw(new arrow.Int8(), { k1: 30, k2: 25, k4: 35, k5: 36, k6: 24, k7: -5, k8: 30 }, Int8Array),
    big: raw(new arrow.Int64(), { k1: 2n ** 63n - 1n, k2: 2n ** 63n - 2n, k4: -(2n ** 63n), k5: 0n, k6: 2n ** 53n + 1n }, BigInt64Array),
    ubig: raw(new arrow.Uint64(), { k1: 2n ** 64n - 1n, k2: 0n, k4: 2n ** 63n, k5: 2n ** 63n - 1n }, BigUint64Array),
    spend: raw(new arrow.Float64(), { k1: 0.1, k2: 500, k4: NaN, k5: -0, k6: Infinity, k7: 0.30000000000000004 }, Float64Array),
    score: raw(new arrow.Float32(), { k1: Math.fround(0.1), k2: 1.5, k4: -0 }, Float32Array),
    dec: decimal({ k1: 12345n, k2: -1n }),
    t_ms: raw(new arrow.TimestampMillisecond(), {
      k1: ms(NOW_MS), k2: ms(NOW_MS - 1), k4: ms(NOW_MS - 30 * DAY_MS), k5: ms(NOW_MS + 1), k6: ms(NOW_MS - 30 * DAY_MS - 1),
      k7: ms(Date.parse("2024-02-29T12:00:00Z")), k8: ms(NOW_MS),
    }, BigInt64Array),
    t_tz: raw(new arrow.TimestampMicrosecond("Asia/Shanghai"), { k1: ms(NOW_MS) * 1000n, k2: ms(NOW_MS) * 1000n + 1n }, BigInt64Array),
    t_s: raw(new arrow.TimestampSecond(), { k1: ms(NOW_MS / 1000), k2: ms(NOW_MS / 1000 - 1) }, BigInt64Array),
    t_ns: raw(new arrow.TimestampNanosecond(), { k1: NOW_NS + 1n, k2: NOW_NS }, BigInt64Array),
    d32: raw(new arrow.DateDay(), { k1: day("2024-02-29"), k2: day("2024-03-01"), k4: day("2024-12-31") }, Int32Array),
    d64: raw(new arrow.DateMillisecond(), { k1: ms(day("2024-02-29") * DAY_MS), k2: ms(day("2024-03-01") * DAY_MS) }, BigInt64Array),
    interests: lists(new arrow.Utf8()),
    idict: lists(new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
    "acq-channel": strings(new arrow.Utf8(), { k1: "ads", k2: "s-e.o" }),
    in: raw(new arrow.Int32(), { k1: 1, k2: 2 }, Int32Array),
    day: raw(new arrow.Int32(), { k1: 1, k2: 2 }, Int32Array),
    "a.b": raw(new arrow.Int32(), { k1: 7 }, Int32Array),
    // null items inside lists (the contract is silent; engine and oracle read them as absent items)
    nl: arrow.vectorFromArray(values<(string | null)[]>({ k1: [null], k2: ["a", null, "b"], k4: [] }), new arrow.List(new arrow.Field("item", new arrow.Utf8(), true))),
    // NaN first in the column, and a column of NaN only (per-morsel statistics must not be fooled)
    nan64: raw(new arrow.Float64(), { k1: NaN, k2: 1, k4: 2, k5: NaN, k6: -Infinity }, Float64Array),
    nan32: raw(new arrow.Float32(), { k1: NaN, k2: 1, k4: 2, k5: NaN, k6: -Infinity }, Float32Array),
    allnan: raw(new arrow.Float64(), { k1: NaN, k2: NaN }, Float64Array),
    // a dictionary that holds one value twice (legal Arrow) and a value no row uses
    dupdict: arrow.makeVector({
      type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
      length: K.length,
      nullCount: K.length - 4,
      nullBitmap: bitmap(K.map((_, i) => (i < 4 ? 1 : null))),
      data: Int32Array.from(K.map((_, i) => [0, 1, 2, 1][i] ?? 0)),
      dictionary: arrow.vectorFromArray(["a", "a", "b", "unused"], new arrow.Utf8()),
    } as never),
    // columns where no entity has a value
    no_b: arrow.vectorFromArray(values<boolean>({}), new arrow.Bool()),
    no_s: arrow.vectorFromArray(values<string>({}), new arrow.Utf8()),
    no_i: raw(new arrow.Int64(), {}, BigInt64Array),
    no_f: raw(new arrow.Float32(), {}, Float32Array),
    no_t: raw(new arrow.TimestampMillisecond(), {}, BigInt64Array),
    no_l: arrow.vectorFromArray(values<string[]>({}), new arrow.List(new arrow.Field("item", new arrow.Utf8(), true))),
  });
}

// ---- harness --------------------------------------------------------------------------------------

let engine: Engine;
let rows: OracleRow[];
let schema: OracleSchema;
const oracleSegments: Record<string, Expr> = {};
const EXISTING = K.filter((k) => k !== "k8");

beforeAll(async () => {
  engine = await openEngine({ threads: 0 });
  const t = table();
  await engine.load({ entity: "u", key: "id", body: chunked(arrow.tableToIPC(t, "stream"), 1 << 12) });
  await engine.load({ entity: "other", key: "id", body: chunked(arrow.tableToIPC(new arrow.Table({ id: arrow.vectorFromArray(["x"]), vip: arrow.vectorFromArray([true]) }), "stream")) });
  const del = await engine.deleteRows("u", ["k8"]);
  expect(del.deleted).toBe(1);
  ({ rows, schema } = tableToRows(t, "id"));
  rows[K.indexOf("k8")]!.exists = false;
  for (const [name, expr, entity] of [
    ["vip_women", "vip AND age >= 30", "u"],
    ["recent", "t_ms WITHIN 0 DAYS", "u"],
    ["vip-w.2", "@vip_women OR age < 0", "u"],
    ["elsewhere", "vip", "other"],
  ] as const) {
    await engine.putSegment({ name, entity, expr });
    oracleSegments[name] = parseText(expr);
  }
});
afterAll(async () => {
  await engine?.close();
});

interface Opts {
  asOf?: string;
}

/** The keys `expr` selects, by the engine (select and count) and by the oracle; all three must equal `want`. */
async function expectKeys(expr: string | object | boolean, want: readonly Key[], opts: Opts = {}): Promise<void> {
  const asOf = opts.asOf ?? NOW;
  const label = typeof expr === "string" ? expr : JSON.stringify(expr);
  const ordered = [...want].sort((a, b) => K.indexOf(a) - K.indexOf(b));
  const sel = await engine.select({ entity: "u", expr, asOf });
  const got: string[] = [];
  for await (const c of sel.chunks()) got.push(...c.map(String));
  expect(got, `engine select: ${label}`).toEqual(ordered);
  expect(sel.count, `engine select count: ${label}`).toBe(want.length);
  const c = await engine.count({ entity: "u", expr, asOf });
  expect(c.count, `engine count: ${label}`).toBe(want.length);
  expect(c.total, `engine total: ${label}`).toBe(EXISTING.length);
  const nowNs = oracleInstant(asOf)!.floor;
  const oracle = evaluate(parseExpr(expr), rows, schema, { now: nowNs, segments: oracleSegments }).map((i) => rows[i]!.key);
  expect(oracle, `oracle: ${label}`).toEqual(ordered);
}

interface Where {
  /** [line, column, length] in code points (text form). */
  at?: [number, number, number];
  /** JSON Pointer (JSON form). */
  path?: string;
  /** A substring the message must hold. */
  says?: string;
  /** The oracle has no notion of entities: skip its check where the error is about one. */
  noOracle?: boolean;
}

function labelOf(expr: string | object | boolean): string {
  const text = typeof expr === "string" ? expr : JSON.stringify(expr, undefined, undefined);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** `expr` fails with `code` at the given place, in the engine; the oracle agrees on the code when it can read the tree. */
async function expectError(expr: string | object | boolean, code: ErrorCode, where: Where = {}): Promise<LassoError> {
  let label: string;
  try {
    label = labelOf(expr);
  } catch {
    label = "(a tree too deep to print)";
  }
  const e = await engine.count({ entity: "u", expr, asOf: NOW }).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, `expected ${code}: ${label}`).toBeInstanceOf(LassoError);
  const err = e as LassoError;
  expect(err.code, `${label}: ${err.message}`).toBe(code);
  if (where.at) expect(err.at, `${label}: ${err.message}`).toEqual({ line: where.at[0], column: where.at[1], length: where.at[2] });
  if (where.path !== undefined) {
    expect(err.path, `${label}: ${err.message}`).toBe(where.path);
    expect(err.at).toBeUndefined();
  }
  if (where.says) expect(err.message).toContain(where.says);
  if (where.noOracle) return err;
  if (code === "unknown_tag" || code === "type_mismatch" || code === "unknown_segment" || code === "segment_cycle") {
    let oracle: unknown = null;
    try {
      evaluate(parseExpr(expr), rows, schema, { now: NOW_NS, segments: oracleSegments });
    } catch (x) {
      oracle = x;
    }
    expect(oracle, `oracle should refuse ${label}`).toBeInstanceOf(OracleError);
    expect((oracle as OracleError).code, label).toBe(code);
  }
  return err;
}

const ALL_BUT = (...out: Key[]): Key[] => EXISTING.filter((k) => !out.includes(k));
/** Keys with a value for a tag, per the table above. */
const HAS_AGE: Key[] = ["k1", "k2", "k4", "k5", "k6", "k7"];
const HAS_CITY: Key[] = EXISTING.filter((k) => CITY[k] !== undefined);

// ---- SEL.md "Types of tags" -----------------------------------------------------------------------

describe("types of tags (SEL.md 7–17)", () => {
  it("L10–15: every Arrow type of the table loads as its SEL type and answers", async () => {
    await expectKeys("vip", ["k1", "k4", "k7"]);
    for (const c of ["city", "city_d", "city_l", "城市"]) await expectKeys(`${c} = '上海'`, ["k1"]);
    await expectKeys("age = 30", ["k1"]);
    await expectKeys("big = 0", ["k5"]);
    await expectKeys("ubig = 0", ["k2"]);
    await expectKeys("spend = 500", ["k2"]);
    await expectKeys("score = 1.5", ["k2"]);
    await expectKeys("dec = 123.45", ["k1"]); // Decimal(10, 2) 12345 → 123.45 as float
    await expectKeys("dec < 0", ["k2"]);
    await expectKeys("t_ms = '2025-01-01T00:00:00Z'", ["k1"]);
    await expectKeys("d32 = DATE '2024-02-29'", ["k1"]);
    await expectKeys("d64 = DATE '2024-02-29'", ["k1"]);
    await expectKeys("interests HAS 'music'", ["k1", "k4", "k7"]);
    await expectKeys("idict HAS 'music'", ["k1", "k4", "k7"]);
  });

  it("L17, L56: a tag no entity has a value for answers every operator (nothing matches; NOT matches all)", async () => {
    for (const text of [
      "no_b", "no_b = FALSE", "no_b != TRUE", "no_s = 'a'", "no_s != 'a'", "no_s < 'b'", "no_s IN ('a', 'b')", "no_s NOT IN ('a')",
      "no_s BETWEEN 'a' AND 'z'", "no_s LIKE '%'", "no_s NOT LIKE 'a-%'", "no_i = 0", "no_i != 0", "no_i > -9223372036854775808",
      "no_i NOT BETWEEN 1 AND 2", "no_f = 0", "no_f < 1e400", "no_f NOT IN (1.5)", "no_t WITHIN 99999 DAYS", "no_t BEFORE '3000-01-01'",
      "no_t AFTER DATE '1000-01-01'", "no_t != '2025-01-01'", "no_l HAS 'a'", "no_l HAS ANY ('a', 'b')", "no_l HAS ALL ('a')",
      "no_s IS NOT NULL", "no_l IS NOT NULL",
    ]) {
      await expectKeys(text, []);
      await expectKeys(`NOT ${text}`, EXISTING);
    }
    for (const t of ["no_b", "no_s", "no_i", "no_f", "no_t", "no_l"]) await expectKeys(`${t} IS NULL`, EXISTING);
  });

  it("L17: a deleted entity is in no segment (not even TRUE, NOT FALSE or IS NULL)", async () => {
    await expectKeys("TRUE", EXISTING);
    await expectKeys("NOT FALSE", EXISTING);
    await expectKeys("city = '上海'", ["k1"]);
    await expectKeys("big IS NULL", ["k3", "k7", "k9", "k10", "k11", "k12", "k13", "k14"]);
    await expectKeys("NOT age = 30", ALL_BUT("k1"));
  });
});

// ---- SEL.md "Grammar" -----------------------------------------------------------------------------

describe("grammar (SEL.md 19–53)", () => {
  it("L19: keywords are case-insensitive (and, or, not, in, between, is null, has any, like, within, true, date)", async () => {
    await expectKeys("city in ('上海', '北京') and not vip", ["k2"]);
    await expectKeys("age Between 25 And 30 oR FALSE", ["k1", "k2"]);
    await expectKeys("age is not null AnD NoT age iS NuLl", HAS_AGE);
    await expectKeys("interests has any ('科技') or interests Has All ('music', 'sports')", ["k1", "k5"]);
    await expectKeys("city not like '%a%' and city like '__'", ["k1", "k2", "k5"]);
    await expectKeys("t_ms within 1 day", ["k1", "k2"]);
    await expectKeys("vip = true", ["k1", "k4", "k7"]);
    await expectKeys("d32 = date '2024-02-29' or d32 = timestamp '2024-03-01'", ["k1", "k2"]);
    await expectKeys("t_ms before timestamp '2024-12-02T00:00:00Z' and t_ms after '2024-01-01'", ["k6", "k7"]);
  });

  it("L22–24, L50: NOT binds tighter than AND, AND tighter than OR", async () => {
    // vip OR (age = 25 AND city = '上海') — not (vip OR age = 25) AND city = '上海'
    await expectKeys("vip OR age = 25 AND city = '上海'", ["k1", "k4", "k7"]);
    await expectKeys("age = 25 AND city = '北京' OR vip", ["k1", "k2", "k4", "k7"]);
    // (NOT vip) AND age > 30 — not NOT (vip AND age > 30)
    await expectKeys("NOT vip AND age > 30", ["k5"]);
    await expectKeys("NOT (vip AND age > 30)", ALL_BUT("k4"));
    await expectKeys("NOT NOT vip", ["k1", "k4", "k7"]);
    await expectKeys("(vip OR age = 25) AND city = '上海'", ["k1"]);
    // BETWEEN's own AND binds first
    await expectKeys("age BETWEEN 25 AND 30 AND vip", ["k1"]);
    await expectKeys("NOT age BETWEEN 25 AND 30 AND vip", ["k4", "k7"]);
    await expectKeys("age NOT BETWEEN 25 AND 30 OR age BETWEEN 30 AND 30", ["k1", "k4", "k5", "k6", "k7"]);
    await expectKeys("vip AND NOT NOT vip AND NOT FALSE", ["k1", "k4", "k7"]);
  });

  it("L25, L61: TRUE is every existing entity, FALSE none; both stand anywhere a primary does", async () => {
    await expectKeys("FALSE", []);
    await expectKeys("TRUE AND vip", ["k1", "k4", "k7"]);
    await expectKeys("FALSE OR vip", ["k1", "k4", "k7"]);
    await expectKeys("NOT TRUE", []);
    await expectKeys("(TRUE)", EXISTING);
  });

  it("L27, L61: a bool tag alone means tag = TRUE", async () => {
    await expectKeys("vip", ["k1", "k4", "k7"]);
    await expectKeys("vip = TRUE", ["k1", "k4", "k7"]);
  });

  it("L28, L129: cmp is = != <> < <= > >=; <> is !=", async () => {
    await expectKeys("age = 30", ["k1"]);
    await expectKeys("age != 30", ["k2", "k4", "k5", "k6", "k7"]);
    await expectKeys("age <> 30", ["k2", "k4", "k5", "k6", "k7"]);
    await expectKeys("age < 25", ["k6", "k7"]);
    await expectKeys("age <= 25", ["k2", "k6", "k7"]);
    await expectKeys("age > 35", ["k5"]);
    await expectKeys("age >= 35", ["k4", "k5"]);
    await expectKeys("age>=35", ["k4", "k5"]);
    await expectKeys("vip <> FALSE", ["k1", "k4", "k7"]);
  });

  it("L29, L60: [NOT] IN; x NOT IN (…) ≡ x IS NOT NULL AND NOT x IN (…)", async () => {
    await expectKeys("age IN (30, 25)", ["k1", "k2"]);
    await expectKeys("age IN (30)", ["k1"]);
    await expectKeys("age NOT IN (30, 25)", ["k4", "k5", "k6", "k7"]);
    await expectKeys("NOT age IN (30, 25)", ALL_BUT("k1", "k2"));
    await expectKeys("city NOT IN ('上海', 'nowhere')", HAS_CITY.filter((k) => k !== "k1"));
    await expectKeys("t_ms IN ('2025-01-01T00:00:00Z', DATE '2024-12-02')", ["k1", "k4"]);
  });

  it("L30, L68: [NOT] BETWEEN is inclusive both ends; low > high matches nothing; NOT BETWEEN likewise needs a value", async () => {
    await expectKeys("age BETWEEN 25 AND 35", ["k1", "k2", "k4"]);
    await expectKeys("age NOT BETWEEN 25 AND 35", ["k5", "k6", "k7"]);
    await expectKeys("age BETWEEN 35 AND 25", []);
    await expectKeys("age NOT BETWEEN 35 AND 25", HAS_AGE);
    await expectKeys("city BETWEEN '上海' AND '上海'", ["k1"]);
    await expectKeys("city BETWEEN 'b' AND 'a'", []);
    await expectKeys("spend BETWEEN 0 AND 0.1", ["k1", "k5"]);
    await expectKeys("t_ms BETWEEN '2024-12-02' AND '2025-01-01'", ["k1", "k2", "k4"]);
  });

  it("L31, L129: IS [NOT] NULL, on every type including bool and multi", async () => {
    await expectKeys("age IS NULL", ["k3", "k9", "k10", "k11", "k12", "k13", "k14"]);
    await expectKeys("age IS NOT NULL", HAS_AGE);
    await expectKeys("vip IS NULL", ["k3", "k6", "k9", "k10", "k11", "k12", "k13", "k14"]);
    await expectKeys("vip IS NOT NULL", ["k1", "k2", "k4", "k5", "k7"]);
    await expectKeys("city IS NULL", ["k3"]);
    await expectKeys("t_ms IS NOT NULL", ["k1", "k2", "k4", "k5", "k6", "k7"]);
  });

  it("L32–33, L64–65: HAS / HAS ANY / HAS ALL; a null or empty list has nothing; [] IS NOT NULL", async () => {
    for (const t of ["interests", "idict"]) {
      await expectKeys(`${t} HAS 'music'`, ["k1", "k4", "k7"]);
      await expectKeys(`${t} HAS 'Sports'`, ["k6"]);
      await expectKeys(`${t} HAS ANY ('sports', '科技')`, ["k1", "k5"]);
      await expectKeys(`${t} HAS ANY ('nope')`, []);
      await expectKeys(`${t} HAS ALL ('sports', 'music')`, ["k1"]);
      await expectKeys(`${t} HAS ALL ('music')`, ["k1", "k4", "k7"]);
      await expectKeys(`${t} HAS ALL ('sports', 'nope')`, []);
      await expectKeys(`${t} IS NULL`, ["k3", "k9", "k10", "k11", "k12", "k13", "k14"]);
      await expectKeys(`${t} IS NOT NULL`, ["k1", "k2", "k4", "k5", "k6", "k7"]);
      await expectKeys(`NOT ${t} HAS 'music'`, ALL_BUT("k1", "k4", "k7"));
    }
  });

  it("L64–65: a list holding only null items is a list (IS NOT NULL) that has nothing", async () => {
    await expectKeys("nl IS NOT NULL", ["k1", "k2", "k4"]);
    await expectKeys("nl HAS 'a'", ["k2"]);
    await expectKeys("nl HAS ALL ('a', 'b')", ["k2"]);
    await expectKeys("nl HAS ANY ('x', 'b')", ["k2"]);
    await expectKeys("NOT nl HAS ANY ('a', 'b')", ALL_BUT("k2"));
  });

  it("L34, L71–74: LIKE is case-sensitive, % any run, _ one code point; NOT LIKE needs a value", async () => {
    await expectKeys("city LIKE '上%'", ["k1"]);
    await expectKeys("city LIKE '%hai'", ["k6", "k13"]);
    await expectKeys("city LIKE 'S%'", ["k6"]);
    await expectKeys("city LIKE '_'", ["k4", "k11", "k12"]); // é, 😀 (one astral code point), U+FFFD
    await expectKeys("city LIKE '__'", ["k1", "k2", "k5"]); // 上海, 北京, e + U+0301
    await expectKeys("city LIKE 'e_'", ["k5"]);
    await expectKeys("city LIKE '%'", HAS_CITY);
    await expectKeys("city LIKE ''", []);
    await expectKeys("city NOT LIKE '%a%'", ["k1", "k2", "k4", "k5", "k7", "k11", "k12", "k14"]);
    await expectKeys("NOT city LIKE '%a%'", ["k1", "k2", "k3", "k4", "k5", "k7", "k11", "k12", "k14"]);
    await expectKeys("city_d LIKE '%hai'", ["k6", "k13"]);
  });

  it("L72–74, L127: LIKE escapes: '50\\\\%' is the pattern 50\\% and matches 50% only; \\_ and \\\\", async () => {
    await expectKeys("city LIKE '50\\\\%'", ["k7"]);
    await expectKeys("city LIKE '50%'", ["k7", "k14"]);
    await expectKeys("city LIKE 'a\\\\_b'", ["k9"]);
    await expectKeys("city LIKE 'a_b'", ["k9", "k10"]);
    await expectKeys("city LIKE 'a\\\\\\\\b'", ["k10"]); // pattern a\\b: a backslash
    await expectKeys("city LIKE '\\\\a_b'", ["k9", "k10"]); // \a is a
    await expectKeys("city LIKE '%\\\\%'", ["k7"]);
    await expectKeys({ like: ["city", "50\\%"] }, ["k7"]);
  });

  it("L34, L72: every other character in a pattern is itself (regular-expression syntax means nothing)", async () => {
    await expectKeys("`acq-channel` LIKE 's-%'", ["k2"]);
    await expectKeys("`acq-channel` LIKE 's-e.o'", ["k2"]);
    await expectKeys("`acq-channel` LIKE 's_e_o'", ["k2"]);
    await expectKeys("`acq-channel` LIKE 's-e_o'", ["k2"]);
    await expectKeys("`acq-channel` LIKE 's.e%'", []);
    await expectKeys("`acq-channel` NOT LIKE '%-%'", ["k1"]);
    // each printable ASCII character (and a few others) as a literal inside % … %
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      if (ch === "%" || ch === "_" || ch === "\\") continue;
      const lit = ch === "'" ? "\\'" : ch;
      const want = HAS_CITY.filter((k) => CITY[k]!.includes(ch));
      await expectKeys(`city LIKE '%${lit}%'`, want);
      await expectKeys(`city LIKE '${lit}%' OR city LIKE '%${lit}'`, HAS_CITY.filter((k) => CITY[k]!.startsWith(ch) || CITY[k]!.endsWith(ch)));
      await expectKeys({ like: ["city", `%\\${ch}%`] }, want); // \x is x
    }
    await expectKeys("city LIKE '%\\u{1F600}%' OR city LIKE '%\u0301'", ["k5", "k11"]);
  });

  it("L127: a LIKE pattern ending in a lone \\ is a syntax error (span: the pattern string)", async () => {
    await expectError("city LIKE 'ab\\\\'", "syntax", { at: [1, 11, 6] });
    await expectError("city NOT LIKE '\\\\'", "syntax", { at: [1, 15, 4] });
    await expectError({ and: [{ tag: "vip" }, { like: ["city", "ab\\"] }] }, "syntax", { path: "/and/1" });
  });

  it("L35, L80: WITHIN n DAY(S)|HOUR(S)|MINUTE(S) is now − n ≤ t ≤ now, both ends inclusive", async () => {
    const in30: Key[] = ["k1", "k2", "k4"]; // k4 is exactly now − 30 days; k5 is 1 ms after now; k6 1 ms too early
    await expectKeys("t_ms WITHIN 30 DAYS", in30);
    await expectKeys("t_ms WITHIN 30 DAY", in30);
    await expectKeys("t_ms WITHIN 720 HOURS", in30);
    await expectKeys("t_ms WITHIN 720 HOUR", in30);
    await expectKeys("t_ms WITHIN 43200 MINUTES", in30);
    await expectKeys("t_ms WITHIN 43200 minute", in30);
    await expectKeys("t_ms WITHIN 0 DAYS", ["k1"]);
    await expectKeys("t_ms WITHIN 0 DAYS", ["k5"], { asOf: "2025-01-01T00:00:00.001Z" });
    await expectKeys("NOT t_ms WITHIN 30 DAYS", ALL_BUT(...in30));
    await expectKeys("d32 WITHIN 1 DAY", ["k4"]);
    await expectKeys("t_s WITHIN 1 MINUTE", ["k1", "k2"]);
    await expectKeys("t_ns WITHIN 1 MINUTE", ["k2"]); // k1 is 1 ns after now
    await expectKeys("t_ms WITHIN 99999999999999999999 DAYS", ["k1", "k2", "k4", "k6", "k7"]);
  });

  it("L36: BEFORE / AFTER are strict", async () => {
    await expectKeys("t_ms BEFORE TIMESTAMP '2025-01-01T00:00:00Z'", ["k2", "k4", "k6", "k7"]);
    await expectKeys("t_ms BEFORE '2025-01-01'", ["k2", "k4", "k6", "k7"]);
    await expectKeys("t_ms AFTER '2025-01-01T00:00:00Z'", ["k5"]);
    await expectKeys("t_ms AFTER DATE '2025-01-01'", ["k5"]);
    await expectKeys("d32 AFTER DATE '2024-02-29'", ["k2", "k4"]);
    await expectKeys("d32 BEFORE DATE '2024-02-29'", []);
  });

  it("L37–38, L44–47: identifiers (Unicode letters, _, digits, .), backtick-quoted names, reserved words, unit words", async () => {
    await expectKeys("城市 IN ('上海', '北京') AND age BETWEEN 25 AND 35", ["k1", "k2"]);
    await expectKeys("`城市` = '北京'", ["k2"]);
    await expectKeys("`acq-channel` = 'ads'", ["k1"]);
    await expectKeys("`in` = 1", ["k1"]);
    await expectKeys("day = 2", ["k2"]); // a unit word is a keyword only after WITHIN n
    await expectKeys("a.b = 7", ["k1"]);
    await expectKeys("`a.b` = 7", ["k1"]);
    await expectKeys("`vip`", ["k1", "k4", "k7"]);
  });

  it("L45: tag names are case-sensitive", async () => {
    await expectError("City = '上海'", "unknown_tag", { at: [1, 1, 4], says: "city" });
    await expectError("VIP", "unknown_tag", { at: [1, 1, 3] });
  });

  it("L45–47: reserved words must be backtick-quoted; names with other characters need backticks", async () => {
    await expectError("in = 1", "syntax", { at: [1, 1, 2] });
    await expectError("IN = 1", "syntax", { at: [1, 1, 2] });
    await expectError("vip AND any = 1", "syntax", { at: [1, 9, 3] });
    await expectError("acq-channel = 'ads'", "syntax");
  });

  it("L40, L48–49: strings in '…' or \"…\"; escapes \\' \\\" \\\\ \\n \\t \\uXXXX \\u{X…}; any other is syntax", async () => {
    await expectKeys('city = "上海"', ["k1"]);
    await expectKeys("city = '\\u4E0A\\u6D77'", ["k1"]);
    await expectKeys("city = '\\u{4E0A}\\u{6d77}'", ["k1"]);
    await expectKeys("city = '\\u{1F600}'", ["k11"]);
    await expectKeys("city = '\\uD83D\\uDE00'", ["k11"]); // a surrogate pair of escapes is one code point
    await expectKeys("city = 'e\\u0301'", ["k5"]);
    await expectKeys("city = 'a\\\\b'", ["k10"]);
    await expectKeys('city = "a\\\\b"', ["k10"]);
    await expectKeys("city IN ('it\\'s', \"say \\\"hi\\\"\", 'a\\nb', 'a\\tb', '上海')", ["k1"]);
    await expectKeys("city = '\\u{FFFD}'", ["k12"]);
    await expectError("city = '\\x41'", "syntax", { at: [1, 9, 2] });
    await expectError("city = '\\a'", "syntax", { at: [1, 9, 2] });
    await expectError("city = '\\%'", "syntax", { at: [1, 9, 2] });
    await expectError("city = '\\U0041'", "syntax", { at: [1, 9, 2] });
  });

  it("L41: number := -?digits(.digits)?([eE][+-]?digits)?", async () => {
    await expectKeys("age = 30", ["k1"]);
    await expectKeys("age = 3e1", ["k1"]);
    await expectKeys("age = 3E+1", ["k1"]);
    await expectKeys("age = 300e-1", ["k1"]);
    await expectKeys("age = 30.0", ["k1"]);
    await expectKeys("age = 2.5e1", ["k2"]);
    await expectKeys("age = -5", ["k7"]);
    await expectKeys("age > -5.5", HAS_AGE);
    await expectKeys("age = 30.5", []);
    await expectKeys("age < 24.5", ["k6", "k7"]);
    await expectKeys("age > 35.5", ["k5"]);
  });

  it("L42, L75–77: timeLit is DATE / TIMESTAMP string; a bare string compared with a time tag is ISO 8601", async () => {
    await expectKeys("d32 = DATE '2024-02-29'", ["k1"]);
    await expectKeys("d32 = '2024-02-29'", ["k1"]);
    await expectKeys("d32 = TIMESTAMP '2024-02-29'", ["k1"]);
    await expectKeys("d64 = '2024-03-01'", ["k2"]);
    await expectKeys("t_ms = TIMESTAMP '2025-01-01 00:00'", ["k1"]);
  });

  it("L50–52: 64 nested parentheses, 64 chained NOTs, 64 alternating AND/OR levels and JSON 64 deep are accepted", async () => {
    await expectKeys(`${"(".repeat(64)}vip${")".repeat(64)}`, ["k1", "k4", "k7"]);
    await expectKeys(`${"NOT ".repeat(64)}vip`, ["k1", "k4", "k7"]);
    await expectKeys(`${"NOT ".repeat(63)}vip`, ALL_BUT("k1", "k4", "k7"));
    // a AND (b OR (a AND (b OR …))): each level is one operand plus one paren group
    let text = "vip";
    for (let i = 0; i < 32; i++) text = i % 2 === 0 ? `age = 25 OR (${text})` : `city IS NOT NULL AND (${text})`;
    await expectKeys(text, ["k1", "k2", "k4", "k7"]);
    let json: object = { tag: "vip" };
    for (let i = 0; i < 64; i++) json = i % 2 === 0 ? { or: [{ "=": ["age", 25] }, json] } : { and: [{ isNotNull: "city" }, json] };
    await expectKeys(json, ["k1", "k2", "k4", "k7"]);
    let nots: object = { tag: "vip" };
    for (let i = 0; i < 64; i++) nots = { not: nots };
    await expectKeys(nots, ["k1", "k4", "k7"]);
  });

  it("L51–52: deeper than the limit is too_deep, never a stack overflow", async () => {
    await expectError(`${"(".repeat(100_000)}vip${")".repeat(100_000)}`, "too_large");
    await expectError(`${"(".repeat(20_000)}vip${")".repeat(20_000)}`, "too_deep");
    await expectError(`${"NOT ".repeat(10_000)}vip`, "too_deep");
    let json: object = { tag: "vip" };
    for (let i = 0; i < 10_000; i++) json = { not: json };
    await expectError(json, "too_deep");
    let ands: object = { tag: "vip" };
    for (let i = 0; i < 10_000; i++) ands = { and: [ands, { tag: "vip" }] };
    await expectError(ands, "too_deep");
  });

  it("L53, L89: too_large over 64 KiB of UTF-8 (exactly 65,536 bytes is fine), checked before anything else", async () => {
    const pad = (bytes: number) => `city = '${"x".repeat(bytes - "city = ''".length)}'`;
    await expectKeys(pad(65_536), []);
    await expectError(pad(65_537), "too_large");
    await expectError(`city = '${"城".repeat(21_846)}'`, "too_large"); // 65,547 bytes, 21,855 characters
    await expectError(`${"(".repeat(40_000)}${"#".repeat(30_000)}`, "too_large");
  });
});

// ---- SEL.md "Meaning" -----------------------------------------------------------------------------

describe("meaning (SEL.md 55–82)", () => {
  it("L56–57: a null never matches = != < IN NOT IN BETWEEN LIKE HAS WITHIN BEFORE AFTER", async () => {
    await expectKeys("city != '上海'", HAS_CITY.filter((k) => k !== "k1"));
    await expectKeys("age != 1000", HAS_AGE);
    await expectKeys("age < 1000", HAS_AGE);
    await expectKeys("age NOT IN (1000)", HAS_AGE);
    await expectKeys("age NOT BETWEEN 1000 AND 2000", HAS_AGE);
    await expectKeys("city NOT LIKE 'zzz'", HAS_CITY);
    await expectKeys("vip != TRUE", ["k2", "k5"]);
    await expectKeys("t_ms BEFORE '3000-01-01' OR t_ms AFTER '1000-01-01'", ["k1", "k2", "k4", "k5", "k6", "k7"]);
  });

  it("L58–59: NOT e is the complement among existing entities (NOT city = '上海' includes no city)", async () => {
    await expectKeys("NOT city = '上海'", ALL_BUT("k1"));
    await expectKeys("NOT vip", ALL_BUT("k1", "k4", "k7"));
    await expectKeys("NOT age < 1000", ALL_BUT(...HAS_AGE));
    await expectKeys("NOT (age > 30 OR city = '北京')", ALL_BUT("k2", "k4", "k5"));
    await expectKeys("NOT vip != TRUE", ALL_BUT("k2", "k5"));
  });

  it("L62–63: enum < > are lexicographic by UTF-8 bytes; an unknown enum value matches nothing", async () => {
    await expectKeys("city < 'b'", ["k6", "k7", "k9", "k10", "k14"]);
    // 😀 (F0 9F 98 80) sorts after U+FFFD (EF BF BD) in UTF-8, though before it in UTF-16
    await expectKeys("city > '\\uFFFD'", ["k11"]);
    await expectKeys("city >= 'é'", ["k1", "k2", "k4", "k11", "k12"]);
    await expectKeys("city <= 'a\\\\b'", ["k6", "k7", "k10", "k14"]);
    await expectKeys("city BETWEEN '50%' AND '500'", ["k7", "k14"]);
    await expectKeys("city = 'nowhere'", []);
    await expectKeys("city IN ('nowhere', '上海')", ["k1"]);
    await expectKeys("city != 'nowhere'", HAS_CITY);
    await expectKeys("city > 'zzz'", ["k1", "k2", "k4", "k11", "k12"]);
  });

  it("L66–67: bool tags compare only with = / != TRUE / FALSE; other uses are type_mismatch", async () => {
    await expectKeys("vip = FALSE", ["k2", "k5"]);
    await expectKeys("vip != FALSE", ["k1", "k4", "k7"]);
    await expectError("vip < TRUE", "type_mismatch", { at: [1, 1, 10] });
    await expectError("vip IN (TRUE)", "type_mismatch", { at: [1, 1, 13] });
    await expectError("vip BETWEEN FALSE AND TRUE", "type_mismatch");
    await expectError("vip = 1", "type_mismatch", { at: [1, 1, 7] });
    await expectError("vip = 'true'", "type_mismatch");
    await expectError("vip LIKE 'x'", "type_mismatch");
    await expectError("vip HAS 'x'", "type_mismatch");
    await expectError("vip WITHIN 1 DAYS", "type_mismatch");
    await expectError("age", "type_mismatch", { at: [1, 1, 3] });
    await expectError("vip AND (city)", "type_mismatch", { at: [1, 10, 4] });
    await expectError("t_ms OR vip", "type_mismatch", { at: [1, 1, 4] });
    await expectError({ tag: "age" }, "type_mismatch", { path: "" });
  });

  it("L62, L69–70: int tags compare exactly to 64 bits; int vs fractional literals are numeric", async () => {
    await expectKeys("big = 9223372036854775807", ["k1"]);
    await expectKeys("big = 9223372036854775806", ["k2"]);
    await expectKeys("big > 9223372036854775806", ["k1"]);
    await expectKeys("big = -9223372036854775808", ["k4"]);
    await expectKeys("big = 9007199254740993", ["k6"]);
    await expectKeys("big = 9007199254740992", []);
    await expectKeys("big > 9223372036854775807", []);
    await expectKeys("big >= 9223372036854775808", []);
    await expectKeys("big < -9223372036854775808", []);
    await expectKeys("big <= 9223372036854775807", ["k1", "k2", "k4", "k5", "k6"]);
    await expectKeys("big = 9223372036854775807.0", ["k1"]);
    await expectKeys("big < 9223372036854775806.5", ["k2", "k4", "k5", "k6"]);
    await expectKeys("big = 9.223372036854775807e18", ["k1"]);
    await expectKeys("big IN (9223372036854775807, 9007199254740993)", ["k1", "k6"]);
    await expectKeys("ubig = 18446744073709551615", ["k1"]);
    await expectKeys("ubig > 9223372036854775807", ["k1", "k4"]);
    await expectKeys("ubig = 9223372036854775808", ["k4"]);
    await expectKeys("ubig = 9223372036854775807", ["k5"]);
    await expectKeys("ubig < 0", []);
    await expectKeys("ubig >= -1", ["k1", "k2", "k4", "k5"]);
    await expectKeys("ubig BETWEEN 1 AND 18446744073709551614", ["k4", "k5"]);
    // the exponent and the digits together give the value: 30·10^449 · 10^-449 is 30
    await expectKeys(`age = 30${"0".repeat(449)}e-449`, ["k1"]);
    await expectKeys(`age < 0.${"0".repeat(449)}25e451`, ["k6", "k7"]); // 25
    await expectKeys(`big = 9223372036854775807${"0".repeat(500)}e-500`, ["k1"]);
    await expectKeys("age > 1e400", []);
    await expectKeys("age > -1e400", HAS_AGE);
  });

  it("L69–70: float tags compare the stored value widened exactly to a double with the literal as a double", async () => {
    await expectKeys("spend = 0.1", ["k1"]);
    await expectKeys("spend = 0.30000000000000004", ["k7"]);
    await expectKeys("spend = 0.3", []);
    await expectKeys("spend > 100", ["k2", "k6"]);
    await expectKeys("spend = 0", ["k5"]); // -0 = 0
    await expectKeys("spend < 0", []);
    await expectKeys("spend >= 0", ["k1", "k2", "k5", "k6", "k7"]); // NaN compares false
    await expectKeys("score = 0.1", []); // float32(0.1) widened is 0.10000000149011612
    await expectKeys("score = 0.10000000149011612", ["k1"]);
    await expectKeys("score > 0.1", ["k1", "k2"]);
    await expectKeys("score < 0.10000000149011612", ["k4"]);
    await expectKeys("score BETWEEN 0.1 AND 1.5", ["k1", "k2"]);
    await expectKeys("score = 0", ["k4"]);
    await expectKeys("spend IN (500, 0.1)", ["k1", "k2"]);
    await expectKeys("spend = 1e400", ["k6"]); // the literal as a double is +Infinity
  });

  it("L56, L69: a stored NaN is a value that no comparison but != holds for (statistics included)", async () => {
    for (const t of ["nan64", "nan32"]) {
      await expectKeys(`${t} >= 0`, ["k2", "k4"]);
      await expectKeys(`${t} < 5`, ["k2", "k4", "k6"]);
      await expectKeys(`${t} <= 1e400`, ["k2", "k4", "k6"]);
      await expectKeys(`${t} BETWEEN 1 AND 2`, ["k2", "k4"]);
      await expectKeys(`${t} = 1`, ["k2"]);
      await expectKeys(`${t} != 1`, ["k1", "k4", "k5", "k6"]);
      await expectKeys(`${t} NOT BETWEEN 1 AND 2`, ["k1", "k5", "k6"]);
      await expectKeys(`${t} IS NOT NULL`, ["k1", "k2", "k4", "k5", "k6"]);
      await expectKeys(`NOT ${t} < 5`, ALL_BUT("k2", "k4", "k6"));
    }
    await expectKeys("allnan >= 0 OR allnan < 0", []);
    await expectKeys("allnan != 0", ["k1", "k2"]);
    await expectKeys("allnan > -1e400", []);
  });

  it("L11, L71: an enum is its string values, however the dictionary spells them (duplicates, unused entries)", async () => {
    await expectKeys("dupdict = 'a'", ["k1", "k2", "k4"]);
    await expectKeys("dupdict != 'a'", ["k3"]);
    await expectKeys("dupdict IN ('a', 'unused')", ["k1", "k2", "k4"]);
    await expectKeys("dupdict < 'b'", ["k1", "k2", "k4"]);
    await expectKeys("dupdict LIKE 'a%'", ["k1", "k2", "k4"]);
    await expectKeys("dupdict = 'unused'", []);
    await expectKeys("dupdict NOT IN ('b')", ["k1", "k2", "k4"]);
  });

  it("L71: strings compare by UTF-8 bytes, no normalisation, case-sensitively", async () => {
    await expectKeys("city = 'é'", ["k4"]);
    await expectKeys("city = 'e\u0301'", ["k5"]);
    await expectKeys("city = 'shanghai'", ["k13"]);
    await expectKeys("city = 'SHANGHAI'", []);
    await expectKeys("city_d IN ('é', 'Shanghai')", ["k4", "k6"]);
    await expectKeys("city_l = 'e\\u0301'", ["k5"]);
  });

  it("L75–78: time values are instants; no zone = UTC; a date is 00:00:00 UTC; comparisons exact at the tag's precision", async () => {
    await expectKeys("t_ms = '2025-01-01T00:00:00'", ["k1"]);
    await expectKeys("t_ms = '2025-01-01 08:00:00+08:00'", ["k1"]);
    await expectKeys("t_ms = '2025-01-01T08:00+0800'", ["k1"]);
    await expectKeys("t_ms = '2025-01-01T08:00:00+08'", ["k1"]);
    await expectKeys("t_ms = '2024-12-31T19:00:00-05:00'", ["k1"]);
    await expectKeys("t_ms = '2024-12-31T23:59:59.999Z'", ["k2"]);
    await expectKeys("t_ms = '2024-12-31T23:59:59.999000000Z'", ["k2"]);
    await expectKeys("t_ms = '2024-12-31T23:59:59.9995Z'", []);
    await expectKeys("t_ms < '2024-12-31T23:59:59.9995Z'", ["k2", "k4", "k6", "k7"]);
    await expectKeys("t_ms > '2024-12-31T23:59:59.9995Z'", ["k1", "k5"]);
    await expectKeys("t_ms <= TIMESTAMP '2024-12-31T23:59:59.9999999999999Z'", ["k2", "k4", "k6", "k7"]);
    await expectKeys("t_ms BETWEEN '2024-12-31T23:59:59.9995Z' AND '2025-01-01T00:00:00.0000001Z'", ["k1"]);
    await expectKeys("t_tz = '2025-01-01T08:00:00+08:00'", ["k1"]);
    await expectKeys("t_tz = '2025-01-01T00:00:00.000001Z'", ["k2"]);
    await expectKeys("t_tz > '2025-01-01T00:00:00.0000005Z'", ["k2"]);
    await expectKeys("d32 = '2024-02-29T00:00:00Z'", ["k1"]);
    await expectKeys("d32 = '2024-02-29T08:00:00+08:00'", ["k1"]);
    await expectKeys("d32 = '2024-02-29T01:00:00Z'", []);
    await expectKeys("d32 < '2024-02-29T00:00:00.000000001Z'", ["k1"]);
    await expectKeys("d64 > '2024-02-29T00:00:00.001'", ["k2"]);
    await expectKeys("t_ns = '2025-01-01T00:00:00.000000001Z'", ["k1"]);
    await expectKeys("t_ns > TIMESTAMP '2025-01-01'", ["k1"]);
    await expectKeys("t_s = '2025-01-01T00:00:00.5Z'", []);
    await expectKeys("t_s < '2025-01-01T00:00:00.5Z'", ["k1", "k2"]);
    await expectKeys("t_ms = '2024-02-29T12:00:00.000Z'", ["k7"]);
  });

  it("L79: now is fixed per query and a request may pin it (asOf), in any accepted form", async () => {
    await expectKeys("t_ms WITHIN 1 MINUTE", ["k1", "k2"], { asOf: "2025-01-01 08:00+08:00" });
    await expectKeys("t_ms WITHIN 1 MINUTE", ["k1", "k2", "k5"], { asOf: "2025-01-01T00:00:30Z" });
    await expectKeys("t_ms WITHIN 30 DAYS", ["k1", "k2", "k5"], { asOf: "2025-01-01T00:00:00.001Z" }); // k4 is now 1 ms too old
    await expectKeys("t_ms WITHIN 1 DAY", ["k7"], { asOf: "2024-03-01T12:00:00Z" });
  });

  it("L81, L135: @name is the saved segment evaluated at the query's now/asOf; names with - and . and backticks", async () => {
    await expectKeys("@vip_women", ["k1", "k4"]);
    await expectKeys("@`vip_women`", ["k1", "k4"]);
    await expectKeys("@vip-w.2", ["k1", "k4", "k7"]);
    await expectKeys("@`vip-w.2` AND NOT @vip_women", ["k7"]);
    await expectKeys("NOT @vip_women", ALL_BUT("k1", "k4"));
    await expectKeys("@recent", ["k1"]);
    await expectKeys("@recent", ["k5"], { asOf: "2025-01-01T00:00:00.001Z" });
    await expectKeys({ segment: "vip_women" }, ["k1", "k4"]);
  });

  it("L82, L134–136: unknown, other-entity and cyclic segment references", async () => {
    await expectError("vip AND @nope", "unknown_segment", { at: [1, 9, 5] });
    await expectError("@Vip_women", "unknown_segment", { at: [1, 1, 10] }); // names are case-sensitive
    await expectError("vip OR @`elsewhere`", "type_mismatch", { at: [1, 8, 12], noOracle: true });
    await expectError({ or: [{ tag: "vip" }, { segment: "elsewhere" }] }, "type_mismatch", { path: "/or/1", noOracle: true });
    const self = await engine.putSegment({ name: "loop", entity: "u", expr: "@loop" }).catch((e: unknown) => e);
    expect((self as LassoError).code).toBe("segment_cycle");
    await engine.putSegment({ name: "ring_a", entity: "u", expr: "vip" });
    await engine.putSegment({ name: "ring_b", entity: "u", expr: "@ring_a" });
    const ring = await engine.putSegment({ name: "ring_a", entity: "u", expr: "age > 1 OR @ring_b" }).catch((e: unknown) => e);
    expect((ring as LassoError).code).toBe("segment_cycle");
    expect((ring as LassoError).at).toEqual({ line: 1, column: 12, length: 7 });
    oracleSegments["ring_a"] = parseText("vip");
    oracleSegments["ring_b"] = parseText("@ring_a");
    await expectKeys("@ring_b", ["k1", "k4", "k7"]);
  });
});

// ---- SEL.md "Errors" ------------------------------------------------------------------------------

describe("errors (SEL.md 84–90)", () => {
  it("L85–86: 1-based line:column and length in code points; a quoted name's span includes its backticks", async () => {
    await expectError("城市 = 3", "type_mismatch", { at: [1, 1, 6] });
    await expectError("vip AND `城 市` = 'x'", "unknown_tag", { at: [1, 9, 5] });
    await expectError("city = '😀😀' AND `😀` = 'x'", "unknown_tag", { at: [1, 17, 3] });
    await expectError("vip AND\n  nope = 1", "unknown_tag", { at: [2, 3, 4] });
    await expectError("vip AND\r\n\tnope = 1", "unknown_tag", { at: [2, 2, 4] });
    await expectError("vip AND\n  city = '\\q'", "syntax", { at: [2, 11, 2] });
  });

  it("L87–88: unknown_tag names the nearest existing tags", async () => {
    const e = await expectError("cty = 'x'", "unknown_tag", { at: [1, 1, 3] });
    expect(e.message).toContain("city");
    expect(e.details["suggestions"]).toContain("city");
    const f = await expectError("spnd > 3", "unknown_tag");
    expect(f.message).toContain("spend");
  });

  it("L88: syntax errors say what was expected", async () => {
    for (const [text, at] of [
      ["age >", [1, 6, 0]],
      ["age # 3", [1, 5, 1]],
      ["vip AND ~vip", [1, 9, 1]],
      ["city = 'a", [1, 8, 2]],
      ["city = '\\q'", [1, 9, 2]],
      ["age IN (1", [1, 10, 0]],
      ["(vip", [1, 5, 0]],
    ] as const) {
      const e = await expectError(text, "syntax", { at: [...at] as [number, number, number] });
      expect(e.message, text).toMatch(/expected|valid escapes are/);
      expect(e.details["expected"], text).toBeInstanceOf(Array);
      expect((e.details["expected"] as unknown[]).length, text).toBeGreaterThan(0);
    }
  });

  it("L85–86: every error says where, too_large included (the whole text)", async () => {
    const text = `vip OR\ncity = '${"城".repeat(21_846)}'`;
    const e = await expectError(text, "too_large", { at: [1, 1, [...text].length] });
    expect(e.details["limit"]).toBe(65_536);
  });

  it("L88: type_mismatch examples age = 'x', city > 3, interests = 'a' (span: the predicate)", async () => {
    await expectError("age = 'x'", "type_mismatch", { at: [1, 1, 9] });
    await expectError("vip AND city > 3", "type_mismatch", { at: [1, 9, 8] });
    await expectError("interests = 'a'", "type_mismatch", { at: [1, 1, 15] });
    await expectError("interests IN ('a')", "type_mismatch");
    await expectError("interests LIKE 'a'", "type_mismatch");
    await expectError("city HAS 'a'", "type_mismatch");
    await expectError("interests HAS 1", "type_mismatch");
    await expectError("age LIKE '1%'", "type_mismatch");
    await expectError("age IN (1, 'x')", "type_mismatch");
    await expectError("city IN ('a', 3)", "type_mismatch");
    await expectError("city = TRUE", "type_mismatch");
    await expectError("spend = 'x'", "type_mismatch");
    await expectError("t_ms = 5", "type_mismatch");
    await expectError("t_ms = 'yesterday'", "type_mismatch");
    await expectError("t_ms BEFORE 2025", "type_mismatch");
    await expectError("age WITHIN 3 DAYS", "type_mismatch");
    await expectError("city BEFORE '2025-01-01'", "type_mismatch");
    await expectError("age = DATE '2025-01-01'", "type_mismatch");
  });

  it("L89: bad input never changes stored data", async () => {
    await expectError("vip AND", "syntax");
    await expectKeys("vip", ["k1", "k4", "k7"]);
  });
});

// ---- SEL.md "JSON form" ---------------------------------------------------------------------------

describe("JSON form (SEL.md 92–121)", () => {
  it("L95–100: the example tree", async () => {
    const e = {
      and: [
        { in: ["城市", ["上海", "北京"]] },
        { between: ["age", 25, 35] },
        { not: { tag: "vip" } },
        { or: [{ has: ["interests", "sports"] }, { ">=": ["spend", 500] }] },
      ],
    };
    await expectKeys(e, ["k2"]);
  });

  it("L102–118: every node", async () => {
    await expectKeys({ and: [{ tag: "vip" }] }, ["k1", "k4", "k7"]);
    await expectKeys({ or: [{ tag: "vip" }, { "=": ["age", 25] }] }, ["k1", "k2", "k4", "k7"]);
    await expectKeys({ not: { tag: "vip" } }, ALL_BUT("k1", "k4", "k7"));
    await expectKeys({ "=": ["age", 30] }, ["k1"]);
    await expectKeys({ "!=": ["age", 30] }, ["k2", "k4", "k5", "k6", "k7"]);
    await expectKeys({ "<": ["age", 25] }, ["k6", "k7"]);
    await expectKeys({ "<=": ["age", 25] }, ["k2", "k6", "k7"]);
    await expectKeys({ ">": ["age", 35] }, ["k5"]);
    await expectKeys({ ">=": ["age", 35] }, ["k4", "k5"]);
    await expectKeys({ "=": ["vip", false] }, ["k2", "k5"]);
    await expectKeys({ in: ["city", ["上海", "北京"]] }, ["k1", "k2"]);
    await expectKeys({ notIn: ["age", [30, 25]] }, ["k4", "k5", "k6", "k7"]);
    await expectKeys({ between: ["age", 25, 35] }, ["k1", "k2", "k4"]);
    await expectKeys({ notBetween: ["age", 25, 35] }, ["k5", "k6", "k7"]);
    await expectKeys({ isNull: "age" }, ["k3", "k9", "k10", "k11", "k12", "k13", "k14"]);
    await expectKeys({ isNotNull: "interests" }, ["k1", "k2", "k4", "k5", "k6", "k7"]);
    await expectKeys({ has: ["interests", "sports"] }, ["k1", "k5"]);
    await expectKeys({ hasAny: ["interests", ["sports", "music"]] }, ["k1", "k4", "k5", "k7"]);
    await expectKeys({ hasAll: ["interests", ["sports", "music"]] }, ["k1"]);
    await expectKeys({ like: ["city", "上%"] }, ["k1"]);
    await expectKeys({ notLike: ["city", "%a%"] }, ["k1", "k2", "k4", "k5", "k7", "k11", "k12", "k14"]);
    await expectKeys({ within: ["t_ms", 30, "days"] }, ["k1", "k2", "k4"]);
    await expectKeys({ within: ["t_ms", 720, "hours"] }, ["k1", "k2", "k4"]);
    await expectKeys({ within: ["t_ms", 43200, "minutes"] }, ["k1", "k2", "k4"]);
    await expectKeys({ before: ["t_ms", "2025-01-01T00:00:00Z"] }, ["k2", "k4", "k6", "k7"]);
    await expectKeys({ after: ["t_ms", "2025-01-01"] }, ["k5"]);
    await expectKeys({ "=": ["t_ms", "2025-01-01 08:00:00+08:00"] }, ["k1"]);
    await expectKeys({ segment: "vip_women" }, ["k1", "k4"]);
    await expectKeys(true, EXISTING);
    await expectKeys(false, []);
    await expectKeys({ and: [true, { tag: "vip" }] }, ["k1", "k4", "k7"]);
  });

  it("L108: <> is text-only in the JSON form", async () => {
    await expectError({ "<>": ["age", 30] }, "syntax", { path: "" });
  });

  it("L119, L137–138: integers beyond 2^53 as decimal strings; an integer literal may be a JSON number or a decimal string", async () => {
    await expectKeys({ "=": ["big", "9223372036854775807"] }, ["k1"]);
    await expectKeys({ "=": ["big", "9223372036854775806"] }, ["k2"]);
    await expectKeys({ "=": ["ubig", "18446744073709551615"] }, ["k1"]);
    await expectKeys({ between: ["big", "9223372036854775806", "9223372036854775807"] }, ["k1", "k2"]);
    await expectKeys({ in: ["big", ["-9223372036854775808", 0]] }, ["k4", "k5"]);
    await expectKeys({ "=": ["age", "30"] }, ["k1"]);
    await expectKeys({ ">": ["age", "-6"] }, HAS_AGE);
    await expectKeys({ "=": ["spend", "500"] }, ["k2"]);
    await expectKeys({ within: ["t_ms", "30", "days"] }, ["k1", "k2", "k4"]);
    await expectKeys({ "=": ["big", 9007199254740993] }, []); // the JSON number is the double 2^53
  });

  it("L87, L137: errors carry path, pointing at the offending node, not inside it", async () => {
    await expectError({ and: [{ tag: "vip" }, { in: ["nope", ["x"]] }] }, "unknown_tag", { path: "/and/1" });
    await expectError({ and: [{ tag: "vip" }, { or: [{ tag: "vip" }, { "=": ["age", "x"] }] }] }, "type_mismatch", { path: "/and/1/or/1" });
    await expectError({ and: [{ tag: "vip" }, { in: ["city", [null]] }] }, "syntax", { path: "/and/1" });
    await expectError({ and: [{ tag: "vip" }, { in: ["city", "上海"] }] }, "syntax", { path: "/and/1" });
    await expectError({ not: { between: ["age", 1] } }, "syntax", { path: "/not" });
    await expectError({ and: [{ tag: "vip" }, { nope: 1 }] }, "syntax", { path: "/and/1" });
    await expectError({ and: [{ tag: "vip" }, 3] }, "syntax", { path: "/and/1" });
    await expectError({ and: [] }, "syntax", { path: "" });
    await expectError({ "=": ["age", 30], "!=": ["age", 3] }, "syntax", { path: "" });
    await expectError({ or: [{ tag: "vip" }, { tag: "age" }] }, "type_mismatch", { path: "/or/1" });
    await expectError({ or: [{ tag: "vip" }, { segment: "nope" }] }, "unknown_segment", { path: "/or/1" });
    await expectError({ within: ["t_ms", -1, "days"] }, "syntax", { path: "" });
    await expectError({ within: ["t_ms", 1.5, "days"] }, "syntax", { path: "" });
    await expectError({ within: ["t_ms", 1, "weeks"] }, "syntax", { path: "" });
    await expectError({ tag: "城市" }, "type_mismatch", { path: "" });
  });

  it("L120–121: format(parse(text)) parses to the same tree; the JSON form says the same", async () => {
    const texts = [
      "城市 IN ('上海', '北京') AND age BETWEEN 25 AND 35",
      "NOT (vip OR age <> 3) AND city NOT LIKE '50\\\\%'",
      "`in` = 1 OR `acq-channel` = 'a\\'b' OR day = 2",
      "t_ms WITHIN 1 day AND t_ms BEFORE DATE '2025-01-01' AND t_ms AFTER '2024-01-01T00:00:00+08'",
      "interests HAS ANY ('a', 'b') OR interests HAS ALL ('c') OR interests HAS 'd'",
      "@vip_women OR @`vip-w.2` OR big = 9223372036854775807 OR spend > -1.5e-3",
      "city = '\\u{1F600}\\n\\t\"'",
    ];
    for (const t of texts) {
      const tree = stripLocations(parseText(t));
      expect(stripLocations(parseText(format(parseText(t)))), t).toEqual(tree);
      // the JSON form of the same tree selects the same entities
      const viaJson = JSON.parse(JSON.stringify(toJson(parseText(t)))) as object;
      const a = await engine.count({ entity: "u", expr: t, asOf: NOW });
      const b = await engine.count({ entity: "u", expr: viaJson, asOf: NOW });
      expect(b.count, t).toBe(a.count);
    }
  });
});

// ---- SEL.md "Fine print" --------------------------------------------------------------------------

describe("fine print (SEL.md 123–138)", () => {
  it("L124–126: \\u{…} takes 1–6 hex digits naming a scalar value; a lone surrogate is syntax with the escape's span", async () => {
    await expectKeys("city = '\\u{1f600}'", ["k11"]);
    await expectError("city = '\\u{00000041}'", "syntax", { at: [1, 9, 12] });
    await expectError("city = '\\u{110000}'", "syntax", { at: [1, 9, 10] });
    await expectError("city = 'ab\\uD800cd'", "syntax", { at: [1, 11, 6] });
    await expectError("city = 'ab\\uDC00'", "syntax", { at: [1, 11, 6] });
    await expectError("city = '\\u{D800}'", "syntax", { at: [1, 9, 8] });
    await expectError("city = '\\uD800\\u0041'", "syntax", { at: [1, 9, 6] });
  });

  it("L129: bool tags take IS [NOT] NULL; <> is != everywhere", async () => {
    await expectKeys("vip IS NULL", ["k3", "k6", "k9", "k10", "k11", "k12", "k13", "k14"]);
    await expectKeys("vip <> TRUE", ["k2", "k5"]);
    await expectKeys("city <> '上海'", HAS_CITY.filter((k) => k !== "k1"));
  });

  it("L130–132: time literal forms; DATE takes a date only, TIMESTAMP a date with or without a time", async () => {
    for (const s of [
      "2025-01-01", "2025-01-01T00:00", "2025-01-01 00:00", "2025-01-01T00:00:00", "2025-01-01T00:00:00.000",
      "2025-01-01T00:00:00Z", "2025-01-01T08:00:00+08:00", "2025-01-01T08:00+0800", "2025-01-01T08:00+08",
      "2024-12-31T14:30-09:30", "2025-01-01T00:00:00.000000000000Z",
    ]) {
      await expectKeys(`t_ms = TIMESTAMP '${s}'`, ["k1"]);
      await expectKeys(`t_ms = '${s}'`, ["k1"]);
      await expectKeys({ "=": ["t_ms", s] }, ["k1"]);
    }
    await expectError("t_ms = DATE '2025-01-01T00:00'", "syntax", { at: [1, 8, 23] });
    await expectError("t_ms = DATE '2025-01-01 00:00Z'", "syntax");
    await expectError("t_ms = TIMESTAMP '2025-01-01T00'", "syntax", { at: [1, 8, 25] });
    await expectError("t_ms = TIMESTAMP '2025-13-01'", "syntax");
    await expectError("t_ms = TIMESTAMP 'yesterday'", "syntax");
  });

  it("L130: asOf accepts the same forms; a bad asOf is refused", async () => {
    for (const asOf of ["2025-01-01", "2025-01-01T00:00", "2025-01-01 08:00+08:00", "2025-01-01T08:00:00+0800", "2025-01-01T08:00+08"]) {
      await expectKeys("t_ms WITHIN 0 MINUTES", ["k1"], { asOf });
    }
    const e = await engine.count({ entity: "u", expr: "vip", asOf: "yesterday" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LassoError);
  });

  it("L35, L115: only DAY(S) / HOUR(S) / MINUTE(S) are units (no name an object inherits)", async () => {
    for (const unit of ["__proto__", "constructor", "toString", "hasOwnProperty", "WEEKS", "SECONDS"]) {
      await expectError(`t_ms WITHIN 3 ${unit}`, "syntax", { at: [1, 15, unit.length] });
    }
    for (const unit of ["__proto__", "constructor", "toString", "valueOf", "weeks", "seconds", ""]) {
      await expectError({ and: [{ tag: "vip" }, { within: ["t_ms", 1, unit] }] }, "syntax", { path: "/and/1" });
    }
  });

  it("L133: WITHIN -1 and WITHIN 1.5 are syntax errors", async () => {
    await expectError("t_ms WITHIN -1 DAYS", "syntax", { at: [1, 13, 2] });
    await expectError("t_ms WITHIN 1.5 DAYS", "syntax", { at: [1, 13, 3] });
    await expectError("t_ms WITHIN 1e1 DAYS", "syntax");
    await expectKeys("t_ms WITHIN 007 DAYS", ["k1", "k2"]);
  });

  it("L134: segment names are 1–128 letters, digits, _, -, .", async () => {
    await expectError(`@${"s".repeat(129)}`, "syntax");
    await expectError(`@${"s".repeat(128)}`, "unknown_segment");
    await expectError("@`a b`", "syntax");
    const bad = await engine.putSegment({ name: "a b", entity: "u", expr: "vip" }).catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(LassoError);
  });
});

// ---- SEL.md "Errors": bad input of every shape --------------------------------------------------

describe("bad input (SEL.md 85–90)", () => {
  const SEL_CODES = new Set(["syntax", "unknown_tag", "type_mismatch", "unknown_segment", "segment_cycle", "too_deep", "too_large"]);
  const WORDS = [
    "vip", "age", "city", "城市", "interests", "t_ms", "d32", "spend", "score", "big", "ubig", "`in`", "`acq-channel`", "nope",
    "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "HAS", "ANY", "ALL", "WITHIN", "BEFORE", "AFTER", "TRUE",
    "FALSE", "DATE", "TIMESTAMP", "DAYS", "hour", "minutes", "(", ")", ",", "=", "!=", "<>", "<", "<=", ">", ">=", "-", "!",
    "'上海'", "'a-b'", "'%-%'", "'[x]'", "'\\\\'", "'50\\\\%'", "'2025-01-01'", "'2025-01-01T00:00:00.0005+08:00'", "'x'",
    "\"é\"", "'\\u{1F600}'", "'\\uD800'", "0", "-1", "1.5", "30", "1e400", "-9223372036854775809", "18446744073709551616",
    "@vip_women", "@recent", "@nope", "@`elsewhere`", "#", "`", "'", "\n", "😀", "\u3000",
  ];

  it("random token soup: every answer is a count or a SEL error that says where", async () => {
    let seed = 20_251_130;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const seen = new Set<string>();
    for (let i = 0; i < Number(process.env["SEL_SOUP"] ?? 3000); i++) {
      const n = 1 + Math.floor(rand() * 8);
      const text = Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(rand() < 0.8 ? " " : "");
      const r = await engine.count({ entity: "u", expr: text, asOf: NOW }).then(
        () => null,
        (x: unknown) => x,
      );
      if (r === null) continue;
      expect(r, `seed 20251130 #${i}: ${text}`).toBeInstanceOf(LassoError);
      const e = r as LassoError;
      expect(SEL_CODES.has(e.code), `#${i}: ${text} → ${e.code}: ${e.message}`).toBe(true);
      expect(e.at, `#${i}: ${text} → ${e.code}: ${e.message}`).toBeDefined();
      const end = e.at!.column - 1 + e.at!.length;
      const line = text.split("\n")[e.at!.line - 1];
      expect(line, `#${i}: ${text}`).toBeDefined();
      expect(end, `#${i}: ${text} → ${e.code}: ${e.message}`).toBeLessThanOrEqual([...text].length);
      seen.add(e.code);
    }
    expect(seen.has("syntax") && seen.has("type_mismatch") && seen.has("unknown_tag")).toBe(true);
  });

  it("random JSON trees: every answer is a count or a SEL error with a path to a node that exists", async () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const TAGS = ["vip", "age", "city", "interests", "t_ms", "spend", "big", "nope", "in", "acq-channel"];
    const VALUES: unknown[] = [1, -1, 2.5, "x", "30", "9223372036854775807", "2025-01-01", "50\\%", "a-b", "\\", true, null, [], {}, 1e300];
    const KEYS = ["and", "or", "not", "tag", "=", "!=", "<", "<>", "in", "notIn", "between", "notBetween", "isNull", "isNotNull", "has", "hasAny", "hasAll", "like", "notLike", "within", "before", "after", "segment", "bogus"];
    const node = (d: number): unknown => {
      if (d > 3 || rand() < 0.1) return pick([true, false, 3, null, "vip"]);
      const k = pick(KEYS);
      switch (k) {
        case "and":
        case "or":
          return { [k]: Array.from({ length: Math.floor(rand() * 3) + (rand() < 0.1 ? 0 : 1) }, () => node(d + 1)) };
        case "not":
          return { not: node(d + 1) };
        case "tag":
        case "isNull":
        case "isNotNull":
          return { [k]: pick(TAGS) };
        case "segment":
          return { segment: pick(["vip_women", "nope", "elsewhere", "a b"]) };
        case "in":
        case "notIn":
        case "hasAny":
        case "hasAll":
          return { [k]: [pick(TAGS), rand() < 0.8 ? [pick(VALUES), pick(VALUES)] : pick(VALUES)] };
        case "between":
        case "notBetween":
          return { [k]: [pick(TAGS), pick(VALUES), pick(VALUES)] };
        case "within":
          return { within: [pick(TAGS), pick([1, -1, 1.5, "2"]), pick(["days", "hours", "weeks"])] };
        default:
          return { [k]: [pick(TAGS), pick(VALUES)] };
      }
    };
    const at = (root: unknown, path: string): unknown => {
      let cur = root;
      for (const part of path.split("/").slice(1)) cur = (cur as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      return cur;
    };
    for (let i = 0; i < Number(process.env["SEL_SOUP"] ?? 2000); i++) {
      const tree = node(0) as object;
      const r = await engine.count({ entity: "u", expr: tree, asOf: NOW }).then(
        () => null,
        (x: unknown) => x,
      );
      if (r === null) continue;
      const label = `seed 7 #${i}: ${JSON.stringify(tree)}`;
      expect(r, label).toBeInstanceOf(LassoError);
      const e = r as LassoError;
      expect(SEL_CODES.has(e.code), `${label} → ${e.code}: ${e.message}`).toBe(true);
      expect(typeof e.path, `${label} → ${e.code}: ${e.message}`).toBe("string");
      const target = at(tree, e.path!);
      // the path names a node: an object, or a constant / stray value standing where a node goes
      expect(target, `${label} → ${e.path}`).not.toBeUndefined();
      expect(Array.isArray(target), `${label} → ${e.path} points inside a node`).toBe(false);
    }
  });
});

describe("depth through saved segments (SEL.md 50–52, 85)", () => {
  it("a query within the limit that inlines a deep segment is answered, or is too_deep with a place — never a crash", async () => {
    const alternate = (levels: number, leaf: string) => {
      let text = leaf;
      for (let i = 0; i < levels; i++) text = i % 2 === 0 ? `age = 25 OR (${text})` : `city IS NOT NULL AND (${text})`;
      return text;
    };
    await engine.putSegment({ name: "deep60", entity: "u", expr: alternate(60, "vip") });
    oracleSegments["deep60"] = parseText(alternate(60, "vip"));
    await expectKeys(alternate(2, "@deep60"), ["k1", "k2", "k4", "k7"]);
    await engine.putSegment({ name: "deep120", entity: "u", expr: alternate(60, "@deep60") });
    oracleSegments["deep120"] = parseText(alternate(60, "@deep60"));
    const r = await engine.count({ entity: "u", expr: alternate(60, "@deep120"), asOf: NOW }).then(
      (x) => x,
      (x: unknown) => x,
    );
    if (r instanceof LassoError) {
      expect(r.code).toBe("too_deep");
      expect(r.at).toBeDefined();
    } else expect((r as { count: number }).count).toBe(4);
    const j = await engine.count({ entity: "u", expr: toJson(parseText(alternate(60, "@deep120"))) as object, asOf: NOW }).then(
      (x) => x,
      (x: unknown) => x,
    );
    if (j instanceof LassoError) {
      expect(j.code).toBe("too_deep");
      expect(j.path).toBe("");
    } else expect((j as { count: number }).count).toBe(4);
  });
});
