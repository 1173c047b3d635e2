/**
 * The engine against the oracle: seeded random expressions over seeded data with nulls and edge values,
 * after inserts, upserts, deletes and a re-inserted deleted key, at sizes around morsel and shard
 * boundaries, on the calling thread and on the worker pool. Counts and exact ID lists must match.
 */
import * as arrow from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import type { Expr } from "../../engine/expr/ast.js";
import { format, toJson } from "../../engine/expr/index.js";
import { openEngine } from "../../engine/index.js";
import { evaluate, type OracleRow, type OracleSchema } from "../oracle/evaluate.js";
import { tableToRows } from "../oracle/rows.js";
import { chunked, makeTable, rng } from "./data.js";
import { randomExpr } from "./random-expr.js";

const AS_OF = "2025-01-01T00:00:00Z";
const NOW_NS = BigInt(Date.parse(AS_OF)) * 1_000_000n;

interface World {
  engine: Engine;
  rows: OracleRow[];
  schema: OracleSchema;
  segments: Record<string, Expr>;
}

async function load(engine: Engine, table: arrow.Table, format: "stream" | "file" = "stream") {
  return engine.load({ entity: "user", key: "user_id", body: chunked(arrow.tableToIPC(table, format), 40_000) });
}

/** Applies an upsert to the oracle's rows exactly as API.md says. */
function upsert(w: World, table: arrow.Table) {
  const { rows, schema } = tableToRows(table, "user_id");
  Object.assign(w.schema, schema);
  const byKey = new Map<string, number>();
  w.rows.forEach((r, i) => r.exists && byKey.set(String(r.key), i));
  for (const r of rows) {
    const at = byKey.get(String(r.key));
    if (at === undefined) w.rows.push({ key: r.key, exists: true, tags: { ...r.tags } });
    else Object.assign(w.rows[at]!.tags, r.tags);
  }
}

async function build(seed: number, rows: number, opts: { threads: number; shardRows: number; splitThreshold?: number }): Promise<World> {
  const engine = await openEngine(opts);
  const w: World = { engine, rows: [], schema: {}, segments: {} };
  const t1 = makeTable({ rows, seed });
  await load(engine, t1, "file");
  upsert(w, t1);
  // an upsert over the second half plus new keys, some columns only
  const t2 = makeTable({ rows: Math.ceil(rows / 3), seed: seed + 1, firstKey: Math.floor(rows / 2), columns: ["vip", "age", "城市", "interests", "spend", "seen_us"] });
  const r2 = await load(engine, t2);
  upsert(w, t2);
  expect(r2.inserted + r2.updated).toBe(t2.numRows);
  // a scattered upsert (keys descending) over old and new keys, every column
  const t3 = makeTable({ rows: Math.ceil(rows / 4), seed: seed + 5, firstKey: Math.floor(rows * 0.9), descending: true });
  await load(engine, t3);
  upsert(w, t3);
  // delete every 7th key, then re-insert one of them (a new entity without old values)
  const dead = w.rows.filter((_, i) => i % 7 === 3).map((r) => String(r.key));
  const del = await engine.deleteRows("user", dead);
  expect(del.deleted).toBe(dead.length);
  for (const r of w.rows) if (dead.includes(String(r.key))) r.exists = false;
  const again = makeTable({ rows: 1, seed: seed + 2, firstKey: Number(dead[0]), columns: ["age"] });
  await load(engine, again);
  w.rows.push({ key: BigInt(dead[0]!), exists: true, tags: tableToRows(again, "user_id").rows[0]!.tags });
  // saved segments, one referring to the other
  const r = rng(seed + 3);
  w.segments["seg_a"] = randomExpr(r, { maxDepth: 2, segments: [] });
  w.segments["seg-b.2"] = { type: "and", args: [{ type: "segment", name: "seg_a" }, randomExpr(r, { maxDepth: 2, segments: [] })] };
  await engine.putSegment({ name: "seg_a", expr: format(w.segments["seg_a"]!) });
  await engine.putSegment({ name: "seg-b.2", expr: toJson(w.segments["seg-b.2"]!) as object });
  return w;
}

async function agree(w: World, seed: number, expressions: number, selectEvery: number) {
  const r = rng(seed);
  const opts = { maxDepth: 6, segments: Object.keys(w.segments) };
  const total = w.rows.filter((x) => x.exists).length;
  for (let i = 0; i < expressions; i++) {
    const e = randomExpr(r, opts);
    const asText = r() < 0.5;
    const input = asText ? format(e) : (toJson(e) as object);
    const want = evaluate(e, w.rows, w.schema, { now: NOW_NS, segments: w.segments });
    const label = `seed ${seed} #${i}: ${format(e)}`;
    const got = await w.engine.count({ entity: "user", expr: input, asOf: AS_OF }).catch((err) => {
      throw new Error(`${label}\n${err}`);
    });
    expect(got.count, label).toBe(want.length);
    expect(got.total, label).toBe(total);
    if (i % selectEvery === 0) {
      const sel = await w.engine.select({ entity: "user", expr: input, asOf: AS_OF, chunk: 1000 });
      const keys: string[] = [];
      for await (const c of sel.chunks()) keys.push(...c.map(String));
      expect(keys, label).toEqual(want.map((j) => String(w.rows[j]!.key)));
    }
  }
}

const worlds: World[] = [];
afterAll(async () => {
  for (const w of worlds) await w.engine.close();
});

describe("engine vs oracle", () => {
  for (const rows of [65_535, 65_536, 65_537]) {
    it(`agrees on ${rows} rows (calling thread, shards of 131,072)`, async () => {
      const seed = 1000 + rows;
      const w = await build(seed, rows, { threads: 0, shardRows: 131_072 });
      worlds.push(w);
      await agree(w, seed, 150, 5);
    });
  }

  it("agrees across shards and on the worker pool (200k rows, shards of 65,536, always split)", async () => {
    const seed = 4242;
    const w = await build(seed, 200_000, { threads: 2, shardRows: 65_536, splitThreshold: 0 });
    worlds.push(w);
    await agree(w, seed, 120, 6);
  });
});
