// The bulk-load fast paths (engine/store/ingest.ts) against the oracle: dictionary input mapped once per
// batch dictionary (nulls, unused, duplicate and null dictionary entries, every index width), lists (null
// lists, empty lists, null and repeated items) appended in runs and updated out of order, integer columns
// re-encoded mid-load, and keys: a first load in ascending order (no hash probes), one that leaves that
// order mid-load, and duplicates refused either way — with a failed load leaving the store unchanged.
import * as arrow from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { LassoError } from "../../engine/errors.js";
import { parseExpr } from "../../engine/expr/index.js";
import { openEngine } from "../../engine/index.js";
import { countMatches } from "../oracle/evaluate.js";
import { rng } from "./ops.mjs";
import { Model, storeOf } from "./support.js";

const SHARD_ROWS = 65_536;
const NOW_NS = BigInt(Date.parse("2026-01-01T00:00:00Z")) * 1_000_000n;
const KEY_BASE = 2n ** 53n;

const QUERIES = [
  "TRUE",
  "e = 'a'",
  "e IN ('', 'c')",
  "e IS NULL",
  "e != 'b'",
  "e16 = 'b'",
  "e16 IS NULL",
  "e32 IN ('a', 'c')",
  "u = 'x1'",
  "u IS NULL",
  "u IN ('', 'x3')",
  "l HAS 'a'",
  "l HAS ALL ('a', 'b')",
  "l HAS ANY ('c', '')",
  "l IS NULL",
  "l IS NOT NULL AND NOT l HAS ANY ('a', 'b', 'c', '')",
  "lu HAS 'p'",
  "lu HAS ALL ('p', 'q')",
  "lu IS NULL",
  "big > 3000000000",
  "big IS NULL",
  "n > 5",
  "n < -100",
  "n IS NULL",
  "w > 100",
  "w IS NULL",
  "d > 10.5",
  "d < -3",
  "d > 100000000000000",
  "d IS NULL",
  "f",
  "NOT f",
  "f IS NULL",
];

type Rand = ReturnType<typeof rng>;
const DICT = ["a", "b", "a", "", null, "unused", "c"]; // a duplicate, an empty string, a null entry, an unused one
const ITEMS = ["a", "b", "c", "", "a", null]; // list item dictionary: a duplicate and a null entry

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function engine(): Promise<Engine> {
  const e = await openEngine({ threads: 0, shardRows: SHARD_ROWS });
  cleanups.push(() => e.close());
  return e;
}

function validity(valid: boolean[]): { nullBitmap: Uint8Array; nullCount: number } {
  const bits = new Uint8Array((valid.length + 7) >> 3);
  let nulls = 0;
  valid.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  });
  return { nullBitmap: nulls > 0 ? bits : new Uint8Array(0), nullCount: nulls };
}

/** A dictionary column whose indices under nulls hold junk (out of range), as writers may leave them. */
function dictColumn<T extends arrow.Int8 | arrow.Int16 | arrow.Int32>(r: Rand, n: number, indexType: T, id: number, dict: arrow.Vector<arrow.Utf8>, nullRate: number): arrow.Data {
  const valid: boolean[] = [];
  const idx = indexType.bitWidth === 8 ? new Int8Array(n) : indexType.bitWidth === 16 ? new Int16Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const ok = !r.bool(nullRate);
    valid.push(ok);
    idx[i] = ok ? r.int(dict.length) : 99;
  }
  const type = new arrow.Dictionary(new arrow.Utf8(), indexType, id);
  return arrow.makeData({ type, length: n, ...validity(valid), data: idx, dictionary: dict } as arrow.DataProps<arrow.Dictionary>);
}

function listColumn(r: Rand, n: number, items: arrow.Vector<arrow.Utf8>, id: number): arrow.Data {
  const valid: boolean[] = [];
  const offsets = new Int32Array(n + 1);
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    const ok = !r.bool(0.15);
    valid.push(ok);
    // null lists may still span items (Arrow allows it): they must read as null all the same
    const len = r.bool(0.2) ? 0 : r.int(5);
    for (let k = 0; k < len; k++) codes.push(r.int(items.length));
    offsets[i + 1] = codes.length;
  }
  const childType = new arrow.Dictionary(new arrow.Utf8(), new arrow.Int8(), id);
  const child = arrow.makeData({ type: childType, length: codes.length, nullCount: 0, data: Int8Array.from(codes), dictionary: items });
  const type = new arrow.List(new arrow.Field("item", childType, true));
  return arrow.makeData({ type, length: n, ...validity(valid), valueOffsets: offsets, child });
}

/** Decimal128(12, 2) values, mostly small (read without BigInt), some beyond 2^53 (with), some negative. */
function decimalColumn(r: Rand, n: number): arrow.Data {
  const words = new Uint32Array(n * 4);
  const valid: boolean[] = [];
  for (let i = 0; i < n; i++) {
    valid.push(!r.bool(0.1));
    let v = BigInt(r.int(200_000) - 100_000);
    if (r.bool(0.05)) v *= 2n ** 60n + BigInt(r.int(1000));
    const u = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++) words[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
  }
  return arrow.makeData({ type: new arrow.Decimal(2, 12, 128), length: n, ...validity(valid), data: words });
}

interface BatchSpec {
  keys: bigint[];
  /** The Int64 column `n` (else Int8), and UInt64 values ≥ 2^63 in `w`. */
  wide?: boolean;
  /** A fresh dictionary vector for `e` (a replacement dictionary in the stream). */
  newDict?: boolean;
}

const dictVector = arrow.vectorFromArray(DICT, new arrow.Utf8());
const itemsVector = arrow.vectorFromArray(ITEMS, new arrow.Utf8());

function batch(r: Rand, spec: BatchSpec): arrow.RecordBatch {
  const n = spec.keys.length;
  const keyData = arrow.makeData({ type: new arrow.Int64(), length: n, nullCount: 0, data: BigInt64Array.from(spec.keys) });
  const dict = spec.newDict ? arrow.vectorFromArray(["c", null, "b", "zz", "a"], new arrow.Utf8()) : dictVector;
  const str = (p: number) => Array.from({ length: n }, () => (r.bool(p) ? null : r.bool(0.1) ? "" : `x${r.int(5)}`));
  const lu = Array.from({ length: n }, () => (r.bool(0.2) ? null : Array.from({ length: r.int(4) }, () => (r.bool(0.1) ? null : ["p", "q", "s"][r.int(3)]!))));
  const big = Array.from({ length: n }, () => (r.bool(0.1) ? null : r.bool(0.5) ? 4_000_000_000 + r.int(1000) : r.int(1000)));
  const nVals = Array.from({ length: n }, () => (r.bool(0.1) ? null : r.int(250) - 125));
  const w = Array.from({ length: n }, () => (r.bool(0.1) ? null : spec.wide && r.bool(0.5) ? 2n ** 63n + BigInt(r.int(1000)) : BigInt(r.int(1000))));
  const children = [
    keyData,
    dictColumn(r, n, new arrow.Int8(), 1, dict, 0.2),
    dictColumn(r, n, new arrow.Int16(), 2, dictVector, 0.3),
    dictColumn(r, n, new arrow.Int32(), 3, dictVector, 0),
    arrow.vectorFromArray(str(0.2), new arrow.Utf8()).data[0]!,
    listColumn(r, n, itemsVector, 4),
    arrow.vectorFromArray(lu, new arrow.List(new arrow.Field("item", new arrow.Utf8(), true))).data[0]!,
    arrow.vectorFromArray(big, new arrow.Uint32()).data[0]!,
    spec.wide ? arrow.vectorFromArray(nVals.map((v) => (v === null ? null : BigInt(v))), new arrow.Int64()).data[0]! : arrow.vectorFromArray(nVals, new arrow.Int8()).data[0]!,
    arrow.vectorFromArray(w, new arrow.Uint64()).data[0]!,
    decimalColumn(r, n),
    arrow.vectorFromArray(Array.from({ length: n }, () => (r.bool(0.2) ? null : r.bool(0.3))), new arrow.Bool()).data[0]!,
  ];
  const fields = ["user_id", "e", "e16", "e32", "u", "l", "lu", "big", "n", "w", "d", "f"].map((name, i) => new arrow.Field(name, children[i]!.type, name !== "user_id"));
  const schema = new arrow.Schema(fields);
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(fields), length: n, nullCount: 0, children }));
}

function ipc(batches: arrow.RecordBatch[]): Uint8Array {
  const writer = new arrow.RecordBatchStreamWriter();
  for (const b of batches) writer.write(b);
  writer.finish();
  return writer.toUint8Array(true);
}

async function* chunked(bytes: Uint8Array, size = 50_000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function load(e: Engine, model: Model | null, bytes: Uint8Array): Promise<void> {
  await e.load({ entity: "user", key: "user_id", body: chunked(bytes) });
  model?.apply({ kind: "load", ipc: bytes });
}

async function expectOracle(e: Engine, model: Model, seed: number): Promise<void> {
  for (const q of QUERIES) {
    const want = countMatches(parseExpr(q), model.rows, model.schema, { now: NOW_NS });
    expect((await e.count({ entity: "user", expr: q })).count, `seed ${seed}: ${q}`).toBe(want);
  }
}

/** Ascending keys from `from` with gaps of 1–3. */
function ascending(r: Rand, from: bigint, n: number): bigint[] {
  const out: bigint[] = [];
  let k = from;
  for (let i = 0; i < n; i++) out.push((k += BigInt(1 + r.int(3))));
  return out;
}

async function failsWith(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(err).toBeInstanceOf(LassoError);
  expect((err as LassoError).code).toBe(code);
}

describe("bulk-load fast paths", () => {
  it("agrees with the oracle on an ascending first load, upserts in and out of order, and re-encodings", async () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const e = await engine();
      const model = new Model();
      // first load: ascending keys over several batches and across a shard boundary (no hash probes)
      const first = ascending(r, KEY_BASE, 90_000);
      const batches = [first.slice(0, 30_001), first.slice(30_001, 70_003), first.slice(70_003)].map((keys, i) => batch(r, { keys, newDict: i === 2 }));
      await load(e, model, ipc(batches));
      await expectOracle(e, model, seed);
      // upsert: existing keys in order (contiguous runs of old rows), then scattered old and new keys,
      // with `n` widened to Int64 values that still fit i32 and `w` values past 2^63 (re-encoded unsigned)
      const runKeys = first.slice(10_000, 20_000);
      const scattered = Array.from({ length: 8_000 }, () => first[r.int(first.length)]!);
      const fresh = ascending(r, first.at(-1)! + 10n, 3_000);
      const mixed = [...new Set([...scattered, ...fresh])].sort(() => r.float() - 0.5);
      await load(e, model, ipc([batch(r, { keys: runKeys, wide: true }), batch(r, { keys: mixed.filter((k) => k < first[10_000]! || k > first[19_999]!) })]));
      await expectOracle(e, model, seed);
      // a new key after an upsert is found by the hash the first load built
      await failsWith(load(e, null, ipc([batch(r, { keys: [first[5]!, first[5]!] })])), "duplicate_key");
      await expectOracle(e, model, seed);
    }
  });

  it("leaves the ascending path mid-load and still refuses duplicates and finds every key", async () => {
    const r = rng(7);
    const e = await engine();
    const model = new Model();
    const keys = ascending(r, KEY_BASE, 20_000);
    // batch 2 is ascending but starts below batch 1's last key (no overlap), batch 3 is shuffled
    const b1 = keys.slice(0, 5_000).concat(keys.slice(10_000, 12_000));
    const b2 = keys.slice(5_000, 10_000);
    const b3 = keys.slice(12_000).sort(() => r.float() - 0.5);
    await load(e, model, ipc([batch(r, { keys: b1 }), batch(r, { keys: b2 }), batch(r, { keys: b3 })]));
    await expectOracle(e, model, 7);
    expect(storeOf(e, "user").keys.size).toBe(20_000);
    await load(e, model, ipc([batch(r, { keys: keys.slice(0, 4_000).reverse() })]));
    await expectOracle(e, model, 7);
    expect(storeOf(e, "user").current.total).toBe(20_000);
  });

  it("refuses duplicate keys in a first load wherever they are, leaving the store as it was", async () => {
    const r = rng(11);
    const keys = ascending(r, KEY_BASE, 10_000);
    const cases: bigint[][][] = [
      [keys.slice(0, 5_000), keys.slice(5_000, 9_000).concat([keys[4_999]!])], // repeated at the end of a later batch
      [keys.slice(0, 5_000), keys.slice(4_000, 6_000)], // a later batch ascending but overlapping
      [keys.slice(0, 3_000).concat([keys[2_999]!]), keys.slice(3_000)], // equal neighbours in one batch
      [keys.slice(0, 5_000), [keys[0]!]], // the very first key again
    ];
    for (const [i, c] of cases.entries()) {
      const e = await engine();
      await failsWith(load(e, null, ipc(c.map((k) => batch(r, { keys: k })))), "duplicate_key");
      // the failed first load left no entity; the same engine then loads ascending keys again, and the
      // hash it builds answers an upsert of them as updates
      const model = new Model();
      await load(e, model, ipc([batch(r, { keys: keys.slice(0, 6_000) })]));
      expect(storeOf(e, "user").keys.size, `case ${i}`).toBe(6_000);
      await load(e, model, ipc([batch(r, { keys: keys.slice(2_000, 8_000) })]));
      expect(storeOf(e, "user").current.total, `case ${i}`).toBe(8_000);
      await expectOracle(e, model, 11);
    }
  });

  it("loads narrow ascending keys (Int32, UInt32 above 2^31) into an empty entity", async () => {
    for (const [type, keys] of [
      [new arrow.Int32(), [-5, -1, 0, 7, 2_000_000_000]],
      [new arrow.Uint32(), [1, 2, 2_147_483_648, 4_294_967_295]],
    ] as const) {
      const e = await engine();
      const fields = [new arrow.Field("user_id", type, false), new arrow.Field("t", new arrow.Int8(), true)];
      const make = (ks: readonly number[]) => {
        const children = [arrow.vectorFromArray(ks, type).data[0]!, arrow.vectorFromArray(ks.map((_, i) => i), new arrow.Int8()).data[0]!];
        return new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: new arrow.Struct(fields), length: ks.length, nullCount: 0, children }));
      };
      await e.load({ entity: "user", key: "user_id", body: chunked(ipc([make(keys)])) });
      // every key is found again (as an update), and the order of ascent is the type's own
      const res = await e.load({ entity: "user", key: "user_id", body: chunked(ipc([make([...keys].reverse())])) });
      expect(res.inserted).toBe(0);
      expect(res.updated).toBe(keys.length);
    }
  });

  it("interns plain Utf8 and LargeUtf8 values by their bytes: alike at the sampled bytes, non-ASCII, empty, null", async () => {
    // values equal in length, first, middle and last byte but not elsewhere (one quick-lookup slot, told
    // apart by the byte compare), composed and decomposed é, CJK, an astral emoji, the empty string
    const VALUES = ["a1b2c", "a3b4c", "a5b6c", "é", "e\u0301", "城市", "城", "😀", "😀x", "", " ", "x".repeat(300), `${"x".repeat(299)}y`];
    const QS = [...VALUES.map((v) => `s = '${v}'`), ...VALUES.map((v) => `ls = '${v}'`), "s IS NULL", "ls IS NULL", "s IN ('a1b2c', 'a5b6c')", "ls != 'a3b4c'"];
    for (const seed of [21, 22]) {
      const r = rng(seed);
      const e = await engine();
      const model = new Model();
      const make = (keys: bigint[]) => {
        const n = keys.length;
        const vals = () => Array.from({ length: n }, () => (r.bool(0.15) ? null : VALUES[r.int(VALUES.length)]!));
        const children = [
          arrow.makeData({ type: new arrow.Int64(), length: n, nullCount: 0, data: BigInt64Array.from(keys) }),
          arrow.vectorFromArray(vals(), new arrow.Utf8()).data[0]!,
          arrow.vectorFromArray(vals(), new arrow.LargeUtf8()).data[0]!,
        ];
        const fields = ["user_id", "s", "ls"].map((name, i) => new arrow.Field(name, children[i]!.type, name !== "user_id"));
        return new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: new arrow.Struct(fields), length: n, nullCount: 0, children }));
      };
      const keys = ascending(r, KEY_BASE, 12_000);
      // many small batches: values first met in a later batch, and the framing's reused batch buffers
      const bytes = ipc([0, 1000, 1001, 3000, 7000, 9000, 12_000].slice(1).map((end, i, a) => make(keys.slice(i === 0 ? 0 : a[i - 1]!, end))));
      for (const size of [7, 4096, bytes.length]) {
        await e.load({ entity: "user", key: "user_id", body: chunked(bytes, size) });
        model.apply({ kind: "load", ipc: bytes });
        for (const q of QS) {
          const want = countMatches(parseExpr(q), model.rows, model.schema, { now: NOW_NS });
          expect((await e.count({ entity: "user", expr: q })).count, `seed ${seed}, chunks of ${size}: ${q}`).toBe(want);
        }
        // the same bytes again are updates of the same values: no new dictionary entries
        expect(storeOf(e, "user").current.tags.get("s")!.dict!.size, `seed ${seed}`).toBeLessThanOrEqual(VALUES.length);
      }
    }
  });

  it("refuses a valid row whose dictionary index is outside the dictionary, leaving the store as it was", async () => {
    const r = rng(31);
    const e = await engine();
    const model = new Model();
    const keys = ascending(r, KEY_BASE, 4_000);
    await load(e, model, ipc([batch(r, { keys: keys.slice(0, 2_000) })]));
    expect(storeOf(e, "user").current.total).toBe(2_000);
    const before = await e.count({ entity: "user", expr: "e IS NOT NULL" });
    for (const [indexType, bad] of [
      [new arrow.Int8(), 7],
      [new arrow.Int8(), -3],
      [new arrow.Int16(), 300],
      [new arrow.Int32(), 1 << 20],
    ] as const) {
      // two batches of one schema (`e` with this index type): the second has a valid row pointing past
      // the 7-entry dictionary
      const withE = (keys: bigint[], mutate: boolean) => {
        const good = batch(r, { keys });
        const col = dictColumn(r, keys.length, indexType, 1, dictVector, 0.2);
        if (mutate) {
          const nb = col.nullBitmap && col.nullBitmap.length > 0 ? col.nullBitmap : null;
          const at = Array.from({ length: keys.length }, (_, i) => i).find((i) => i >= 300 && (nb === null || (nb[i >> 3]! & (1 << (i & 7))) !== 0))!;
          (col.values as Int8Array | Int16Array | Int32Array)[at] = bad;
        }
        const children = good.schema.fields.map((f, i) => (f.name === "e" ? col : good.getChildAt(i)!.data[0]!));
        const fields = good.schema.fields.map((f) => (f.name === "e" ? new arrow.Field("e", col.type, true) : f));
        return new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: new arrow.Struct(fields), length: keys.length, nullCount: 0, children }));
      };
      const bytes = ipc([withE(keys.slice(2_000, 3_000), false), withE(keys.slice(3_000, 4_000), true)]);
      expect(arrow.tableFromIPC(bytes).numRows, "both batches are in the stream").toBe(2_000);
      await failsWith(load(e, null, bytes), "bad_arrow");
      expect((await e.count({ entity: "user", expr: "e IS NOT NULL" })).count, `index ${bad}`).toBe(before.count);
      expect(storeOf(e, "user").current.total).toBe(2_000);
    }
    await expectOracle(e, model, 31);
  });
});
