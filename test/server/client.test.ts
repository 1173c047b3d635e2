/**
 * The TypeScript client (`lasso/client`) against a real server: WebSocket count / select / cancel and
 * the HTTP helpers, answers checked against the oracle.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LassoClient, LassoClientError } from "../../server/client.js";
import { and, between, cmp, not, tag } from "../oracle/build.js";
import { dataSet, exprText, ipcStreamBytes, oracleKeys, sortedKeys, startServer, until, type DataSet, type Harness } from "./harness.js";

const SEED = Number(process.env["LASSO_TEST_SEED"] ?? 1234);
let h: Harness;
let ds: DataSet;
let client: LassoClient;

beforeAll(async () => {
  console.log(`client.test seed ${SEED} (set LASSO_TEST_SEED to repeat)`);
  h = await startServer();
  ds = dataSet(5000, SEED, "uint32");
  client = new LassoClient(h.base);
  const r = await client.http.load("user", "user_id", ipcStreamBytes(ds.table));
  expect(r).toMatchObject({ entity: "user", rows: 5000, inserted: 5000 });
});
afterAll(async () => {
  await client?.close();
  await h?.close();
});

describe("WebSocket", () => {
  it("counts and selects in agreement with the oracle", async () => {
    const expr = and(between("age", 20, 40), not(tag("churned")));
    const want = oracleKeys(ds, expr);
    expect(await client.count(exprText(expr))).toMatchObject({ count: want.length, total: 5000 });
    const stream = client.select(exprText(expr), { chunk: 128 });
    const chunks: unknown[][] = [];
    for await (const ids of stream) chunks.push(ids);
    expect((await stream.count).count).toBe(want.length);
    expect(chunks.every((c) => c.length <= 128)).toBe(true);
    expect(sortedKeys(chunks.flat() as (string | number)[])).toEqual(sortedKeys(want));
  });

  it("runs requests concurrently on one socket", async () => {
    const exprs = [cmp("spend", ">", 100), cmp("age", "<", 30), tag("churned")];
    const answers = await Promise.all(exprs.map((e) => client.select(exprText(e)).all()));
    answers.forEach((ids, i) => expect(sortedKeys(ids)).toEqual(sortedKeys(oracleKeys(ds, exprs[i]!))));
  });

  it("turns server errors into LassoClientError with the code and place", async () => {
    const e = await client.count("age >").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LassoClientError);
    expect(e).toMatchObject({ code: "syntax", at: { line: 1 } });
    const s = await client.select("nope = 1").all().catch((x: unknown) => x);
    expect(s).toMatchObject({ code: "unknown_tag" });
  });

  it("cancels a running select when the consumer breaks out", async () => {
    const closed = h.engine.closed;
    const stream = client.select("TRUE", { chunk: 10 });
    let seen = 0;
    for await (const ids of stream) {
      seen += ids.length;
      if (seen >= 20) break;
    }
    await until(() => h.engine.closed > closed, "the server to close the selection");
    // The socket is still usable.
    expect((await client.count("TRUE")).count).toBe(5000);
  });

  it("cancels on AbortSignal", async () => {
    h.engine.hold();
    try {
      const ac = new AbortController();
      const p = client.count("TRUE", { signal: ac.signal });
      await until(() => h.engine.waiting === 1, "the query to start");
      ac.abort();
      await expect(p).rejects.toMatchObject({ code: "cancelled" });
    } finally {
      h.engine.release();
    }
  });
});

describe("HTTP", () => {
  it("counts, selects, streams NDJSON and lists the catalog", async () => {
    const expr = cmp("spend", "<=", 50);
    const want = oracleKeys(ds, expr);
    expect((await client.http.count({ expr: exprText(expr) })).count).toBe(want.length);
    const sel = await client.http.select({ expr: exprText(expr) });
    expect(sortedKeys(sel.ids)).toEqual(sortedKeys(want));
    const streamed: (string | number)[] = [];
    for await (const chunk of client.http.selectStream({ expr: exprText(expr) })) streamed.push(...chunk);
    expect(sortedKeys(streamed)).toEqual(sortedKeys(want));
    expect((await client.http.entities()).entities[0]).toMatchObject({ name: "user", keyType: "uint32", rows: 5000 });
    expect((await client.http.tags("user")).tags.map((t) => t.name)).toContain("city");
    expect(await client.http.health()).toMatchObject({ status: "ok" });
  });

  it("manages segments and reports HTTP errors with status and code", async () => {
    const seg = await client.http.putSegment("cheap", { expr: "spend <= 50" });
    expect(seg).toMatchObject({ name: "cheap", entity: "user" });
    expect((await client.http.getSegment("cheap")).count).toBe(oracleKeys(ds, cmp("spend", "<=", 50)).length);
    expect((await client.http.listSegments()).segments.map((s) => s.name)).toEqual(["cheap"]);
    expect(await client.http.deleteSegment("cheap")).toEqual({ deleted: "cheap" });
    await expect(client.http.getSegment("cheap")).rejects.toMatchObject({ status: 404, code: "unknown_segment" });
  });

  it("deletes rows by key", async () => {
    const key = ds.rows[0]!.key;
    const r = await client.http.deleteRows("user", [Number(key)]);
    expect(r).toMatchObject({ deleted: 1, missing: 0 });
    expect((await client.count("TRUE")).count).toBe(4999);
  });

  it("loads a body given as chunks", async () => {
    const small = dataSet(300, SEED + 1);
    const bytes = ipcStreamBytes(small.table);
    async function* chunks() {
      for (let i = 0; i < bytes.byteLength; i += 1000) yield bytes.slice(i, i + 1000);
    }
    expect(await client.http.load("other", "user_id", chunks())).toMatchObject({ entity: "other", rows: 300 });
  });
});
