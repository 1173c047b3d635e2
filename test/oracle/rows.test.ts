/**
 * tableToRows over a hand-made Arrow table of every SEL type, with the expected oracle values written out
 * by hand; also sliced and multi-batch tables (chunk offsets), and types that have no SEL type.
 */
import * as arrow from "apache-arrow";
import { describe, expect, it } from "vitest";
import type { OracleRow } from "./evaluate.js";
import { selTypeOf, tableToRows } from "./rows.js";

const validity = (...bits: number[]): Uint8Array => {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => (out[i >> 3]! |= b << (i & 7)));
  return out;
};

function handTable(): arrow.Table {
  const v = <T extends arrow.DataType>(d: arrow.Data<T>): arrow.Vector<T> => new arrow.Vector([d]);
  const nb = validity(1, 1, 0); // third row null
  const decimal = new Uint32Array(12);
  decimal.set([12345, 0, 0, 0], 0); // 123.45
  decimal.set([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], 4); // -0.01
  const dictValues = arrow.vectorFromArray(["x", "y", "上海"], new arrow.Utf8());
  const listDictChild = arrow.makeData({
    type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int8(), 900),
    length: 3, nullCount: 0, data: Int8Array.of(0, 2, 0), dictionary: dictValues,
  });
  return new arrow.Table({
    id: arrow.vectorFromArray(["a", "b", "c"], new arrow.Utf8()),
    b: arrow.vectorFromArray([true, null, false], new arrow.Bool()),
    s: arrow.vectorFromArray(["上海", null, ""], new arrow.Utf8()),
    ls: arrow.vectorFromArray(["x", "y", null], new arrow.LargeUtf8()),
    d8: arrow.vectorFromArray(["p", "q", null], new arrow.Dictionary(new arrow.Utf8(), new arrow.Int8())),
    i8: arrow.vectorFromArray([-128, null, 127], new arrow.Int8()),
    u8: arrow.vectorFromArray([255, 0, null], new arrow.Uint8()),
    i32: arrow.vectorFromArray([-2147483648, 7, null], new arrow.Int32()),
    u32: arrow.vectorFromArray([4294967295, 0, null], new arrow.Uint32()),
    i64: v(arrow.makeData({ type: new arrow.Int64(), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n) })),
    u64: v(arrow.makeData({ type: new arrow.Uint64(), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigUint64Array.of(2n ** 64n - 1n, 9007199254740993n, 0n) })),
    f32: arrow.vectorFromArray([0.1, null, -0], new arrow.Float32()),
    f64: arrow.vectorFromArray([1.5, 1e300, null], new arrow.Float64()),
    dec: v(arrow.makeData({ type: new arrow.Decimal(2, 12, 128), length: 3, nullCount: 1, nullBitmap: nb, data: decimal })),
    day: v(arrow.makeData({ type: new arrow.DateDay(), length: 3, nullCount: 1, nullBitmap: nb, data: Int32Array.of(0, -1, 0) })),
    dms: v(arrow.makeData({ type: new arrow.DateMillisecond(), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigInt64Array.of(86_400_000n, 0n, 0n) })),
    ts_s: v(arrow.makeData({ type: new arrow.TimestampSecond("UTC"), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigInt64Array.of(1n, -1n, 0n) })),
    ts_ms: v(arrow.makeData({ type: new arrow.TimestampMillisecond("Asia/Shanghai"), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigInt64Array.of(1_767_225_600_000n, 1n, 0n) })),
    ts_us: v(arrow.makeData({ type: new arrow.TimestampMicrosecond(), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigInt64Array.of(1_767_225_600_000_001n, -1n, 0n) })),
    ts_ns: v(arrow.makeData({ type: new arrow.TimestampNanosecond(), length: 3, nullCount: 1, nullBitmap: nb,
      data: BigInt64Array.of(1_767_225_600_000_000_001n, 2n ** 62n, 0n) })),
    lu: arrow.vectorFromArray([["a", "b"], [], null], new arrow.List(new arrow.Field("item", new arrow.Utf8(), true))),
    ld: v(arrow.makeData({
      type: new arrow.List(new arrow.Field("item", listDictChild.type, true)),
      length: 3, nullCount: 1, nullBitmap: validity(1, 0, 1), valueOffsets: Int32Array.of(0, 1, 1, 3), child: listDictChild,
    })),
  });
}

// Worked out by hand from the buffers above.
const expected: OracleRow[] = [
  {
    key: "a", exists: true,
    tags: {
      b: true, s: "上海", ls: "x", d8: "p", i8: -128n, u8: 255n, i32: -2147483648n, u32: 4294967295n,
      i64: -9223372036854775808n, u64: 18446744073709551615n, f32: Math.fround(0.1), f64: 1.5, dec: 123.45,
      day: 0n, dms: 86_400_000_000_000n, ts_s: 1_000_000_000n, ts_ms: 1_767_225_600_000_000_000n,
      ts_us: 1_767_225_600_000_001_000n, ts_ns: 1_767_225_600_000_000_001n, lu: ["a", "b"], ld: ["x"],
    },
  },
  {
    key: "b", exists: true,
    tags: {
      b: null, s: null, ls: "y", d8: "q", i8: null, u8: 0n, i32: 7n, u32: 0n, i64: 9223372036854775807n,
      u64: 9007199254740993n, f32: null, f64: 1e300, dec: -0.01, day: -86_400_000_000_000n, dms: 0n,
      ts_s: -1_000_000_000n, ts_ms: 1_000_000n, ts_us: -1_000n, ts_ns: 4611686018427387904n, lu: [], ld: null,
    },
  },
  {
    key: "c", exists: true,
    tags: {
      b: false, s: "", ls: null, d8: null, i8: 127n, u8: null, i32: null, u32: null, i64: null, u64: null, f32: -0,
      f64: null, dec: null, day: null, dms: null, ts_s: null, ts_ms: null, ts_us: null, ts_ns: null, lu: null,
      ld: ["上海", "x"],
    },
  },
];

describe("tableToRows", () => {
  it("reads every SEL type exactly", () => {
    const { rows, schema } = tableToRows(handTable(), "id");
    expect(rows).toEqual(expected);
    expect(Object.is(rows[2]!.tags.f32, -0)).toBe(true);
    expect(schema).toEqual({
      b: { type: "bool" }, s: { type: "enum" }, ls: { type: "enum" }, d8: { type: "enum" },
      i8: { type: "int" }, u8: { type: "int" }, i32: { type: "int" }, u32: { type: "int" }, i64: { type: "int" }, u64: { type: "int" },
      f32: { type: "float" }, f64: { type: "float" }, dec: { type: "float" },
      day: { type: "time", timeUnit: "day" }, dms: { type: "time", timeUnit: "ms" }, ts_s: { type: "time", timeUnit: "s" },
      ts_ms: { type: "time", timeUnit: "ms" }, ts_us: { type: "time", timeUnit: "us" }, ts_ns: { type: "time", timeUnit: "ns" },
      lu: { type: "multi" }, ld: { type: "multi" },
    });
  });

  it("reads sliced tables (buffers at an offset)", () => {
    const { rows } = tableToRows(handTable().slice(1, 3), "id");
    expect(rows).toEqual(expected.slice(1));
  });

  it("reads multi-batch tables", () => {
    const t = handTable();
    const twice = new arrow.Table([...t.batches, ...t.slice(1).batches]);
    const { rows } = tableToRows(twice, "id");
    expect(rows).toEqual([...expected, ...expected.slice(1)]);
  });

  it("integer keys become bigints", () => {
    const t = new arrow.Table({ k: arrow.vectorFromArray([5, -1], new arrow.Int32()), x: arrow.vectorFromArray([true, false]) });
    expect(tableToRows(t, "k").rows.map((r) => r.key)).toEqual([5n, -1n]);
  });

  it("refuses columns with no SEL type, a missing key, null keys", () => {
    const bin = new arrow.Table({ k: arrow.vectorFromArray(["a"]), x: arrow.vectorFromArray([new Uint8Array([1])], new arrow.Binary()) });
    expect(() => tableToRows(bin, "k")).toThrow(/no SEL type/);
    expect(() => tableToRows(bin, "nope")).toThrow(/no key column/);
    const nullKey = new arrow.Table({ k: arrow.vectorFromArray(["a", null], new arrow.Utf8()) });
    expect(() => tableToRows(nullKey, "k")).toThrow(/null key/);
    expect(selTypeOf(new arrow.Float16())).toBeNull();
    expect(selTypeOf(new arrow.List(new arrow.Field("item", new arrow.Int32(), true)))).toBeNull();
    expect(selTypeOf(new arrow.Dictionary(new arrow.Int32(), new arrow.Int8()))).toBeNull();
  });
});
