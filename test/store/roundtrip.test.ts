// Close and reopen a data directory: the reopened store equals the one closed (checksum of every column,
// tag summary, query counts), agrees with the oracle, and keeps accepting changes that persist too.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import { openEngine } from "../../engine/index.js";
import { apply, opAt } from "./ops.mjs";
import { Model, QUERIES, fingerprint, storeOf, tempDir } from "./support.js";

const SHARD_ROWS = 65_536;
const SIZES = { batchRows: 16_000, keySpace: 100_000 }; // > 1 shard of 65,536 rows

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function dir(tag: string): string {
  const d = tempDir(tag);
  cleanups.push(d.remove);
  return d.path;
}

describe("data directory round trip", () => {
  it("reopens exactly the store it closed, and keeps persisting after that", async () => {
    const seed = 1234;
    const path = dir("roundtrip");
    const model = new Model();
    const memory = await openEngine({ threads: 0, shardRows: SHARD_ROWS });
    let engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS });
    let step = 0;
    for (; step < 10; step++) {
      const op = opAt(seed, step, SIZES);
      const v = await apply(engine, op);
      expect(await apply(memory, op)).toBe(v);
      model.apply(op);
    }
    await engine.putSegment({ name: "music_lovers", entity: "user", expr: "interests HAS 'music'", description: "Musik" });
    const before = await fingerprint(engine);
    expect(before.counts, `seed ${seed}`).toEqual(model.counts());
    expect(storeOf(engine, "user").current.shards.length).toBeGreaterThan(1);
    const ids = await allIds(engine);
    await engine.close();

    engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS });
    expect(await fingerprint(engine)).toEqual(before);
    expect(await allIds(engine)).toEqual(ids);
    expect(storeOf(engine, "user").current.shards.map((s) => Boolean(s.chunks.get("rare")?.sparse))).toContain(true);
    expect(engine.getSegment("music_lovers")?.description).toBe("Musik");
    expect((await engine.count({ expr: "@music_lovers" })).count).toBe(before.counts[QUERIES.indexOf("interests HAS 'music'")]);

    // more changes after a restore: incremental files on top of restored ones
    for (; step < 14; step++) {
      const op = opAt(seed, step, SIZES);
      await apply(engine, op);
      await apply(memory, op);
      model.apply(op);
    }
    expect((await fingerprint(engine)).checksum).toBe((await fingerprint(memory)).checksum);
    const after = await fingerprint(engine);
    expect(after.counts).toEqual(model.counts());
    await engine.close();
    engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS });
    expect(await fingerprint(engine)).toEqual(after);
    await engine.close();
    await memory.close();

    // only files the manifest names remain
    const manifest = JSON.parse(readFileSync(join(path, "MANIFEST"), "utf8"));
    const e = manifest.entities[0];
    const named = new Set<string>([
      ...e.keys.map((k: { file: string }) => k.file),
      ...e.tags.flatMap((t: { dict?: { file: string }[] }) => (t.dict ?? []).map((d) => d.file)),
      ...e.shards.flatMap((s: { exists: { file: string }; chunks: { file: string }[] }) => [s.exists.file, ...s.chunks.map((c) => c.file)]),
    ]);
    expect(new Set(readdirSync(join(path, e.dir)))).toEqual(named);
    // the rare bool tag was held in container form, written dense and re-compressed on open
    const rare = e.tags.find((t: { name: string }) => t.name === "rare").id;
    expect(e.shards.flatMap((s: { chunks: { tag: number; sparse?: boolean }[] }) => s.chunks).filter((c: { tag: number; sparse?: boolean }) => c.tag === rare && c.sparse)).not.toHaveLength(0);
  });

  it("uses the data directory's shard size over the engine's", async () => {
    const path = dir("shards");
    let engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS });
    for (let step = 0; step < 3; step++) await apply(engine, opAt(7, step, SIZES));
    const before = await fingerprint(engine);
    await engine.close();
    engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS * 4 });
    expect(storeOf(engine, "user").shardRows).toBe(SHARD_ROWS);
    expect(await fingerprint(engine)).toEqual(before);
    await engine.close();
  });

  it("round-trips utf8 and 32-bit keys, several entities, empty loads and a store with every row deleted", async () => {
    const path = dir("keys");
    let engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS });
    const names = ["ä", "𝄞 key", "", "x".repeat(300), "北京-1"];
    await engine.load({ entity: "device", key: "id", body: ipc({ id: arrow.vectorFromArray(names, new arrow.Utf8()), on: arrow.vectorFromArray([true, false, null, true, true]) }) });
    await engine.load({ entity: "shop", key: "id", body: ipc({ id: arrow.vectorFromArray([-5, 0, 2 ** 31 - 1], new arrow.Int32()), n: arrow.vectorFromArray([1, 2, 3], new arrow.Int8()) }) });
    await engine.load({ entity: "u32", key: "id", body: ipc({ id: arrow.vectorFromArray([0, 2 ** 32 - 1], new arrow.Uint32()) }) });
    await engine.load({ entity: "u64", key: "id", body: ipc({ id: arrow.vectorFromArray([0n, 2n ** 64n - 1n], new arrow.Uint64()), f: arrow.vectorFromArray([1.5, null], new arrow.Float64()) }) });
    await engine.load({ entity: "empty", key: "id", body: ipc({ id: arrow.vectorFromArray([], new arrow.Utf8()), t: arrow.vectorFromArray([], new arrow.Utf8()) }) });
    await engine.deleteRows("shop", [-5, 0, 2 ** 31 - 1]);
    await engine.load({ entity: "shop", key: "id", body: ipc({ id: arrow.vectorFromArray([0], new arrow.Int32()) }) });
    const before = new Map<string, unknown>();
    for (const e of engine.entities()) before.set(e.name, { info: e, fp: await fingerprint(engine, e.name), ids: await allIds(engine, e.name) });
    await engine.close();

    engine = await openEngine({ dataDir: path, threads: 0 });
    expect(engine.entities().map((e) => e.name).sort()).toEqual([...before.keys()].sort());
    for (const e of engine.entities()) {
      expect({ info: e, fp: await fingerprint(engine, e.name), ids: await allIds(engine, e.name) }, e.name).toEqual(before.get(e.name));
    }
    expect(await allIds(engine, "device")).toEqual(names);
    expect(await allIds(engine, "u64")).toEqual(["0", "18446744073709551615"]);
    // the shop's re-added key 0 is a new entity with no old tag values
    expect((await engine.count({ entity: "shop", expr: "n IS NULL" })).count).toBe(1);
    // deleted keys stay deleted, reloaded ones are findable and updatable
    await engine.load({ entity: "shop", key: "id", body: ipc({ id: arrow.vectorFromArray([0, -5], new arrow.Int32()), n: arrow.vectorFromArray([9, 8], new arrow.Int8()) }) });
    expect(engine.entities().find((e) => e.name === "shop")?.rows).toBe(2);
    await engine.close();
  });

  it("writes chunk files that Arrow itself reads back as the loaded values", async () => {
    const path = dir("arrow");
    const engine = await openEngine({ dataDir: path, threads: 0, shardRows: SHARD_ROWS });
    await engine.load({
      entity: "user",
      key: "id",
      body: ipc({
        id: arrow.vectorFromArray(["a", "b", "c"], new arrow.Utf8()),
        age: arrow.vectorFromArray([30, null, 41], new arrow.Int32()),
        city: arrow.vectorFromArray(["上海", "北京", null], new arrow.Utf8()),
        tags: arrow.vectorFromArray([["x", "y"], null, []], new arrow.List(new arrow.Field("item", new arrow.Utf8(), true))),
        at: arrow.vectorFromArray([Date.UTC(2024, 0, 1), null, 0], new arrow.TimestampMillisecond()),
      }),
    });
    await engine.close();
    const manifest = JSON.parse(readFileSync(join(path, "MANIFEST"), "utf8"));
    const e = manifest.entities[0];
    const read = (file: string) => arrow.tableFromIPC(readFileSync(join(path, e.dir, file)));
    const tag = (name: string) => e.tags.find((t: { name: string }) => t.name === name);
    const chunkOf = (name: string) => e.shards[0].chunks.find((c: { tag: number }) => c.tag === tag(name).id).file;

    const age = read(chunkOf("age"));
    expect(age.numRows).toBe(SHARD_ROWS);
    expect(String(age.getChild("age")!.type)).toBe("Int32");
    expect([0, 1, 2, 3].map((i) => age.getChild("age")!.get(i))).toEqual([30, null, 41, null]);
    expect(age.getChild("age")!.nullCount).toBe(SHARD_ROWS - 2);

    const at = read(chunkOf("at")).getChild("at")!;
    expect(String(at.type)).toBe("Timestamp<MILLISECOND, UTC>");
    expect([0, 1, 2].map((i) => at.get(i))).toEqual([Date.UTC(2024, 0, 1), null, 0]);

    const dict = tag("city").dict.map((d: { file: string }) => read(d.file).getChild("city")!.toArray()).flat();
    const codes = read(chunkOf("city")).getChild("city")!;
    expect([0, 1, 2].map((i) => (codes.get(i) === null ? null : dict[codes.get(i)]))).toEqual(["上海", "北京", null]);

    const lists = read(chunkOf("tags")).getChild("tags")!;
    const tagDict = tag("tags").dict.map((d: { file: string }) => read(d.file).getChild("tags")!.toArray()).flat();
    expect([0, 1, 2].map((i) => (lists.get(i) === null ? null : [...lists.get(i)].map((c: number) => tagDict[c])))).toEqual([["x", "y"], null, []]);

    const keys = read(e.keys[0].file).getChild("key")!;
    expect(keys.toArray()).toEqual(["a", "b", "c"]);
    const exists = read(e.shards[0].exists.file).getChild("exists")!;
    expect([0, 1, 2, 3].map((i) => exists.get(i))).toEqual([true, true, true, false]);
    expect(existsSync(join(path, "segments.json"))).toBe(false);
  });
});

function ipc(cols: Record<string, arrow.Vector>): AsyncIterable<Uint8Array> {
  const bytes = arrow.tableToIPC(new arrow.Table(cols), "stream");
  return (async function* () {
    yield bytes;
  })();
}

async function allIds(engine: Awaited<ReturnType<typeof openEngine>>, entity = "user"): Promise<unknown[]> {
  const sel = await engine.select({ entity, expr: "TRUE" });
  const out: unknown[] = [];
  for await (const chunk of sel.chunks()) out.push(...chunk);
  return out;
}
