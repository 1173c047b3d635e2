/**
 * Load semantics (API.md "Bulk load") on the in-memory engine: upsert rules, errors with their codes,
 * all-or-nothing failure, type widening, and large single-batch loads that grow shard memory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { LassoError } from "../../engine/errors.js";
import { chunked } from "./data.js";

let engine: Engine;
afterEach(async () => {
  await engine?.close();
});

function ipc(cols: Record<string, arrow.Vector>, format: "stream" | "file" = "stream"): AsyncGenerator<Uint8Array> {
  return chunked(arrow.tableToIPC(new arrow.Table(cols), format), 1 << 14);
}
const ints = (xs: (number | null)[], t: arrow.DataType = new arrow.Int32()) => arrow.vectorFromArray(xs, t);
const strs = (xs: (string | null)[]) => arrow.vectorFromArray(xs, new arrow.Utf8());
const count = async (expr: string) => (await engine.count({ entity: "u", expr })).count;
const ids = async (expr: string) => {
  const s = await engine.select({ entity: "u", expr });
  const out: (string | number)[] = [];
  for await (const c of s.chunks()) out.push(...c);
  return out;
};
async function fails(p: Promise<unknown>, code: string): Promise<LassoError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(LassoError);
  expect((e as LassoError).code).toBe(code);
  return e as LassoError;
}

describe("load", () => {
  it("inserts, then upserts only the given tags; a null clears a tag", async () => {
    engine = await openEngine({ threads: 0 });
    const r1 = await engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["a", "b", "c"]), age: ints([10, 20, 30]), city: strs(["上海", "北京", null]) }) });
    expect(r1).toMatchObject({ entity: "u", rows: 3, inserted: 3, updated: 0, newTags: ["age", "city"], version: 1 });
    const r2 = await engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["c", "d"]), city: strs(["深圳", null]), vip: arrow.vectorFromArray([true, false]) }) });
    expect(r2).toMatchObject({ rows: 2, inserted: 1, updated: 1, newTags: ["vip"], version: 2 });
    expect(await ids("age IS NOT NULL")).toEqual(["a", "b", "c"]); // c kept its age
    expect(await ids("city = '深圳'")).toEqual(["c"]);
    expect(await ids("city IS NULL")).toEqual(["d"]);
    const r3 = await engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["a"]), age: ints([null]) }) });
    expect(r3.updated).toBe(1);
    expect(await ids("age IS NULL")).toEqual(["a", "d"]);
    // one entity in one shard memory, whose size covers the tag data
    const st = engine.stats();
    expect(st).toMatchObject({ entities: 1, rows: 4, tags: 3, shards: 1 });
    expect(st.wasmMemoryBytes).toBeGreaterThanOrEqual(st.bytes);
    expect(st.bytes).toBeGreaterThan(0);
  });

  it("names entities in any script (as the catalog does), durably, and refuses other names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lasso-entity-names-"));
    try {
      engine = await openEngine({ threads: 0, dataDir: dir });
      for (const name of ["用户", "utilisateur.é", "user_2-v1"]) {
        await engine.load({ entity: name, key: "id", body: ipc({ id: strs(["a", "b"]), age: ints([1, 2]) }) });
      }
      for (const bad of ["", "a b", "x/y", "..\u0000", "a".repeat(129), "用".repeat(70)]) {
        await fails(engine.load({ entity: bad, key: "id", body: ipc({ id: strs(["a"]) }) }), "bad_request");
      }
      await engine.close();
      engine = await openEngine({ threads: 0, dataDir: dir });
      expect(engine.entities().map((e) => e.name).sort()).toEqual(["user_2-v1", "utilisateur.é", "用户"]);
      expect((await engine.count({ entity: "用户", expr: "age >= 2" })).count).toBe(1);
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps key types: Int32 keys are numbers, Int64 keys decimal strings", async () => {
    engine = await openEngine({ threads: 0 });
    await engine.load({ entity: "u", key: "id", body: ipc({ id: ints([5, -7]), x: ints([1, 2]) }) });
    expect(await ids("TRUE")).toEqual([5, -7]);
    await engine.load({ entity: "w", key: "id", body: ipc({ id: arrow.vectorFromArray([2n ** 62n, -1n], new arrow.Int64()), x: ints([1, 2]) }) });
    const s = await engine.select({ entity: "w", expr: "x >= 1" });
    const keys: unknown[] = [];
    for await (const c of s.chunks()) keys.push(...c);
    expect(keys).toEqual([String(2n ** 62n), "-1"]);
  });

  it("rejects bad loads with their codes and leaves the store unchanged", async () => {
    engine = await openEngine({ threads: 0 });
    await engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["a", "b"]), age: ints([1, 2]) }) });
    const before = engine.entities()[0];
    await fails(engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["c", "c"]), age: ints([1, 2]) }) }), "duplicate_key");
    await fails(engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["c", null]), age: ints([1, 2]) }) }), "null_key");
    await fails(engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["z"]), age: arrow.vectorFromArray([1.5], new arrow.Float64()) }) }), "schema_conflict");
    await fails(engine.load({ entity: "u", key: "nope", body: ipc({ id: strs(["z"]) }) }), "bad_request");
    await fails(engine.load({ entity: "u", key: "id", body: ipc({ id: arrow.vectorFromArray([1.5], new arrow.Float64()) }) }), "bad_request");
    await fails(engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["z"]), t: arrow.vectorFromArray([1], new arrow.TimeMillisecond()) }) }), "schema_conflict");
    await fails(engine.load({ entity: "u", key: "id", body: chunked(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])) }), "bad_arrow");
    const full = arrow.tableToIPC(new arrow.Table({ id: strs(["x", "y"]), age: ints([5, 6]) }));
    await fails(engine.load({ entity: "u", key: "id", body: chunked(full.subarray(0, full.length - 40)) }), "bad_arrow");
    // a duplicate found only in the second batch: the first batch must not stay applied
    const twoBatches = new arrow.Table([
      new arrow.Table({ id: strs(["p", "q"]), age: ints([7, 8]) }).batches[0]!,
      new arrow.Table({ id: strs(["r", "p"]), age: ints([9, 9]) }).batches[0]!,
    ]);
    await fails(engine.load({ entity: "u", key: "id", body: chunked(arrow.tableToIPC(twoBatches)) }), "duplicate_key");
    expect(engine.entities()[0]).toEqual(before);
    expect(await ids("TRUE")).toEqual(["a", "b"]);
    expect(await count("age = 7")).toBe(0);
  });

  it("widens int, float, time and code widths across loads", async () => {
    engine = await openEngine({ threads: 0 });
    const levels = Array.from({ length: 300 }, (_, i) => `v${i}`);
    await engine.load({
      entity: "u",
      key: "id",
      body: ipc({
        id: ints([1, 2]),
        n: ints([1, 2]),
        f: arrow.vectorFromArray([0.5, 1.5], new arrow.Float32()),
        d: arrow.vectorFromArray([new Date(Date.UTC(2024, 0, 1)), null], new arrow.DateMillisecond()),
        e: strs(["v0", "v1"]),
      }),
    });
    await engine.load({
      entity: "u",
      key: "id",
      body: ipc({
        id: ints([3, ...Array.from({ length: 299 }, (_, i) => 10 + i)]),
        n: arrow.vectorFromArray([2n ** 40n, ...Array.from({ length: 299 }, () => 0n)], new arrow.Int64()),
        f: arrow.vectorFromArray([0.1, ...Array.from({ length: 299 }, () => 0)], new arrow.Float64()),
        e: strs(levels.slice(0, 300)),
      }),
    });
    expect(await count(`n = ${2n ** 40n}`)).toBe(1);
    expect(await count("n = 1")).toBe(1);
    expect(await count("f = 0.1")).toBe(1);
    expect(await count("f = 0.5")).toBe(1);
    expect(await count("d = DATE '2024-01-01'")).toBe(1);
    expect(await count("e = 'v299'")).toBe(1);
    expect(await count("e = 'v1'")).toBe(2);
  });

  it("holds the whole UInt64 range in an int tag, and refuses values spanning more than 64 bits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lasso-u64-"));
    try {
      engine = await openEngine({ threads: 0, dataDir: dir });
      const max = 2n ** 64n - 1n;
      await engine.load({ entity: "u", key: "id", body: ipc({ id: ints([1, 2, 3]), n: arrow.vectorFromArray([5n, 2n ** 62n, null], new arrow.Uint64()) }) });
      await engine.load({ entity: "u", key: "id", body: ipc({ id: ints([4, 5, 6]), n: arrow.vectorFromArray([2n ** 63n, max, 0n], new arrow.Uint64()) }) });
      await engine.load({ entity: "u", key: "id", body: ipc({ id: ints([7]), n: ints([42]) }) });
      const check = async () => {
        expect(await count(`n = ${max}`)).toBe(1);
        expect(await count(`n >= ${2n ** 63n}`)).toBe(2);
        expect(await count(`n < ${2n ** 63n}`)).toBe(4);
        expect(await count(`n BETWEEN 5 AND ${2n ** 63n}`)).toBe(4);
        expect(await count(`n IN (0, 42, ${max}, -1)`)).toBe(3);
        expect(await count("n > -5")).toBe(6);
        expect(await count(`n > ${max}`)).toBe(0);
        expect(await ids("n IS NULL")).toEqual([3]);
      };
      await check();
      await fails(engine.load({ entity: "u", key: "id", body: ipc({ id: ints([8]), n: ints([-1]) }) }), "schema_conflict");
      await engine.close();
      engine = await openEngine({ threads: 0, dataDir: dir });
      await check();
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a deleted key loaded again is a new entity with no old values", async () => {
    engine = await openEngine({ threads: 0 });
    await engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["a", "b"]), age: ints([1, 2]), city: strs(["x", "y"]) }) });
    const d = await engine.deleteRows("u", ["a", "zz"]);
    expect(d).toMatchObject({ deleted: 1, missing: 1 });
    expect(await ids("TRUE")).toEqual(["b"]);
    await engine.load({ entity: "u", key: "id", body: ipc({ id: strs(["a"]), age: ints([5]) }) });
    expect(await ids("city IS NULL")).toEqual(["a"]);
    expect(await ids("age >= 1")).toEqual(["b", "a"]);
  });

  it("answers HAS on multi tags with many distinct values (list kernel, no postings)", async () => {
    engine = await openEngine({ threads: 0 });
    const n = 20_000;
    const lists = Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : [`v${i % 5000}`, `v${(i * 7) % 5003}`, "common"]));
    await engine.load({
      entity: "u",
      key: "id",
      body: ipc({ id: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i)), m: arrow.vectorFromArray(lists, new arrow.List(new arrow.Field("item", new arrow.Utf8(), true))) }),
    });
    const want = (f: (l: string[]) => boolean) => lists.filter((l) => l !== null && f(l)).length;
    expect(await count("m HAS 'v42'")).toBe(want((l) => l.includes("v42")));
    expect(await count("m HAS ANY ('v1', 'v4999', 'nope')")).toBe(want((l) => l.includes("v1") || l.includes("v4999")));
    expect(await count("m HAS ALL ('common', 'v7')")).toBe(want((l) => l.includes("v7")));
    expect(await count("m IS NULL")).toBe(lists.filter((l) => l === null).length);
    expect(await count("NOT m HAS 'common'")).toBe(lists.filter((l) => l === null).length);
  });

  it("compares times exactly, whatever the literal's precision", async () => {
    engine = await openEngine({ threads: 0 });
    const base = Date.UTC(2025, 0, 1);
    await engine.load({
      entity: "u",
      key: "id",
      body: ipc({
        id: ints([1, 2, 3]),
        ms: arrow.vectorFromArray([new Date(base), new Date(base + 1), null], new arrow.TimestampMillisecond()),
        day: arrow.makeVector(arrow.makeData({ type: new arrow.DateDay(), length: 3, data: Int32Array.from([base / 86_400_000, base / 86_400_000 - 1, 0]) })),
      }),
    });
    expect(await count("ms = '2025-01-01T00:00:00.000Z'")).toBe(1);
    expect(await count("ms = '2025-01-01T00:00:00.0005Z'")).toBe(0);
    expect(await count("ms > '2025-01-01T00:00:00.0000000001Z'")).toBe(1);
    expect(await count("ms >= '2025-01-01T00:00:00.0000000001Z'")).toBe(1);
    expect(await count("ms < '2025-01-01T00:00:00.0000000001Z'")).toBe(1);
    expect(await count("ms <= '2025-01-01T00:00:00.001Z'")).toBe(2);
    expect(await count("ms < TIMESTAMP '2025-01-01 08:00:00.001+08:00'")).toBe(1);
    expect(await count("ms BETWEEN '2024-12-31T23:59:59.9999999999Z' AND '2025-01-01T00:00:00.0009999999999Z'")).toBe(1);
    expect(await count("day = DATE '2025-01-01'")).toBe(1);
    expect(await count("day < '2025-01-01T00:00:00.000000001Z'")).toBe(3); // 2025-01-01, 2024-12-31, 1970-01-01
    expect(await count("day AFTER '2024-12-31T12:00Z'")).toBe(1);
    expect(await engine.count({ entity: "u", expr: "ms WITHIN 1 MINUTE", asOf: "2025-01-01T00:00:59.9999999999Z" }).then((r) => r.count)).toBe(2);
    expect(await engine.count({ entity: "u", expr: "ms WITHIN 1 MINUTE", asOf: "2025-01-01T00:01:00.0010000001Z" }).then((r) => r.count)).toBe(0);
  });

  it("writes bitmaps that sit above 256 MiB in a shard memory (bit offsets past 2^31)", async () => {
    engine = await openEngine({ threads: 0, shardRows: 1 << 20 });
    const n = 1 << 20;
    const wide = Float64Array.from({ length: n }, (_, i) => i);
    const cols: Record<string, arrow.Vector> = { id: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i)) };
    // 36 float columns × 8 MiB put the later chunks' bitmaps past 256 MiB
    for (let c = 0; c < 36; c++) cols[`f${c}`] = arrow.makeVector(wide.slice()); // the Arrow JS writer mis-sizes a body whose columns share one buffer
    const bits = new Uint8Array(n / 8).fill(0b01010101);
    cols["flag"] = arrow.makeVector(arrow.makeData({ type: new arrow.Bool(), length: n, data: bits }));
    cols["maybe"] = arrow.makeVector(arrow.makeData({ type: new arrow.Int32(), length: n, nullCount: n / 2, nullBitmap: bits.slice(), data: Int32Array.from({ length: n }, (_, i) => i % 10) }));
    await engine.load({ entity: "u", key: "id", body: ipc(cols) });
    expect(await count("flag")).toBe(n / 2);
    expect(await count("maybe IS NULL")).toBe(n / 2);
    expect(await count("maybe = 4")).toBe(Math.floor((n - 5) / 10) + 1); // even rows are valid, i % 10 = 4
    expect(await count("f35 >= 1048000")).toBe(n - 1_048_000);
  });

  for (const rows of [600_000, 1_100_000]) {
    it(`loads ${rows} rows in one batch (shard memory grows mid-load)`, async () => {
      engine = await openEngine({ threads: 0, shardRows: 1 << 20 });
      const n = rows;
      await engine.load({
        entity: "u",
        key: "id",
        body: ipc({ id: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i)), a: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i % 100)) }, "file"),
      });
      expect(await count("a IS NOT NULL")).toBe(n);
      expect(await count("a < 50")).toBe(n / 2);
      const all = await ids("a = 99");
      expect(all.length).toBe(n / 100);
      expect(all.at(-1)).toBe(n - 1);
    });
  }
});
