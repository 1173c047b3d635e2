/**
 * WebSocket protocol (API.md), from outside: a real server and the `ws` client, msgpack frames,
 * answers checked against the oracle.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Expr } from "../../engine/expr/ast.js";
import { and, between, cmp, hasAll, inList, not, or, tag } from "../oracle/build.js";
import { AS_OF, dataSet, exprJson, exprText, ipcStreamBytes, load, oracleKeys, sortedKeys, startServer, WsClient, type DataSet, type Harness } from "./harness.js";

const SEED = Number(process.env["LASSO_TEST_SEED"] ?? 99);
const N = 4000;
let h: Harness;
let ds: DataSet;
let c: WsClient;

beforeAll(async () => {
  console.log(`ws.test seed ${SEED} (set LASSO_TEST_SEED to repeat)`);
  h = await startServer({ maxInFlightPerSocket: 3 });
  ds = dataSet(N, SEED, "int64");
  expect((await load(h.base, "user", "user_id", ipcStreamBytes(ds.table))).status).toBe(200);
  c = await WsClient.open(h.wsUrl);
});
afterAll(async () => {
  await c?.close();
  await h?.close();
});

const QUERIES: Record<string, Expr> = {
  "range and enum": and(between("age", 30, 50), inList("city", "深圳", "杭州")),
  "not churned or rich": or(not(tag("churned")), cmp("spend", ">=", 800)),
  "has all": hasAll("interests", "travel", "food"),
};

describe("count", () => {
  for (const [name, expr] of Object.entries(QUERIES)) {
    it(`agrees with the oracle: ${name}`, async () => {
      const want = oracleKeys(ds, expr).length;
      c.send({ id: name, op: "count", entity: "user", expr: exprText(expr), asOf: AS_OF });
      c.send({ id: name + "/json", op: "count", entity: "user", expr: exprJson(expr) });
      // Entity omitted: the store has one entity.
      c.send({ id: name + "/noentity", op: "count", expr: exprText(expr) });
      for (const id of [name, name + "/json", name + "/noentity"]) {
        const f = await c.next((x) => x.id === id);
        expect(f).toMatchObject({ id, type: "count", count: want, total: N, tookMs: expect.any(Number) });
      }
    });
  }
});

describe("msgpack integers", () => {
  it("takes 64-bit encoded integers inside a JSON-form expression", async () => {
    // msgpackr packs bigints as int64: the server must read them as the numbers they are.
    c.send({ id: "big", op: "count", entity: "user", expr: { between: ["age", 25n, 35n] }, limit: 5n });
    expect((await c.next((x) => x.id === "big")).count).toBe(oracleKeys(ds, between("age", 25, 35)).length);
    c.send({ id: "huge", op: "count", entity: "user", expr: { "<": ["age", 2n ** 62n] } });
    expect((await c.next((x) => x.id === "huge")).count).toBe(oracleKeys(ds, cmp("age", "<", "4611686018427387904")).length);
  });
});

describe("select", () => {
  it("sends count, then ids chunks with seq from 0, then done; every match once", async () => {
    const expr = QUERIES["not churned or rich"]!;
    const want = oracleKeys(ds, expr);
    c.send({ id: 41, op: "select", entity: "user", expr: exprText(expr), chunk: 100 });
    const frames = await c.collect(41);
    expect(frames[0]).toMatchObject({ id: 41, type: "count", count: want.length, total: N });
    const chunks = frames.slice(1, -1);
    chunks.forEach((f, i) => {
      expect(f).toMatchObject({ id: 41, type: "ids", seq: i });
      expect(f.ids.length).toBeLessThanOrEqual(100);
      if (i < chunks.length - 1) expect(f.ids.length).toBe(100);
    });
    expect(frames.at(-1)).toMatchObject({ id: 41, type: "done", count: want.length, tookMs: expect.any(Number) });
    const ids = chunks.flatMap((f) => f.ids);
    // Int64 keys travel as decimal strings.
    for (const k of ids) expect(typeof k).toBe("string");
    expect(sortedKeys(ids)).toEqual(sortedKeys(want));
  });

  it("defaults chunk to 65,536 and honours limit (count stays the full number)", async () => {
    const expr = not(tag("churned"));
    const want = oracleKeys(ds, expr);
    c.send({ id: "all", op: "select", entity: "user", expr: exprText(expr) });
    const frames = await c.collect("all");
    expect(frames.filter((f) => f.type === "ids")).toHaveLength(1);
    c.send({ id: "lim", op: "select", entity: "user", expr: exprText(expr), limit: 7, chunk: 3 });
    const lim = await c.collect("lim");
    expect(lim[0].count).toBe(want.length);
    expect(lim.filter((f) => f.type === "ids").map((f) => f.ids.length)).toEqual([3, 3, 1]);
    c.send({ id: "zero", op: "select", entity: "user", expr: exprText(expr), limit: 0 });
    const zero = await c.collect("zero");
    expect(zero.map((f) => f.type)).toEqual(["count", "done"]);
    expect(zero[1].count).toBe(want.length);
  });

  it("runs many requests at once on one socket, matched by id", async () => {
    const ids = ["p1", "p2", "p3"];
    const exprs = Object.values(QUERIES);
    ids.forEach((id, i) => c.send({ id, op: "select", entity: "user", expr: exprText(exprs[i]!), chunk: 50 }));
    const results = await Promise.all(ids.map((id) => c.collect(id)));
    results.forEach((frames, i) => {
      const got = frames.filter((f) => f.type === "ids").flatMap((f) => f.ids);
      expect(sortedKeys(got)).toEqual(sortedKeys(oracleKeys(ds, exprs[i]!)));
    });
  });
});

describe("ids", () => {
  it("echoes string, integer, negative, zero and 64-bit ids as given", async () => {
    const ids: unknown[] = ["x", "", 0, -5, 2 ** 40, 2n ** 62n, -(2n ** 62n), "ключ-键"];
    for (const id of ids) c.send({ id, op: "count", entity: "user", expr: "churned" });
    for (const id of ids) {
      const f = await c.next((x) => x.id === id);
      expect(f.type).toBe("count");
      expect(typeof f.id).toBe(typeof id);
    }
  });

  it("refuses a second request with the id of a running one", async () => {
    h.engine.hold();
    try {
      c.send({ id: "dup", op: "count", entity: "user", expr: "churned" });
      await waitFor(() => h.engine.waiting === 1);
      c.send({ id: "dup", op: "count", entity: "user", expr: "churned" });
      const e = await c.next((x) => x.id === "dup");
      expect(e).toMatchObject({ type: "error", error: { code: "bad_request" } });
    } finally {
      h.engine.release();
    }
    expect(await c.next((x) => x.id === "dup")).toMatchObject({ type: "count" });
  });
});

describe("errors keep the socket open", () => {
  it("reports expression and entity errors on the request's id", async () => {
    c.send({ id: 1, op: "count", entity: "user", expr: "age >" });
    const e = await c.next((x) => x.id === 1);
    expect(e).toMatchObject({ type: "error", error: { code: "syntax", at: { line: 1 } } });
    c.send({ id: 2, op: "select", entity: "user", expr: { "=": ["age", "x"] } });
    expect(await c.next((x) => x.id === 2)).toMatchObject({ type: "error", error: { code: "type_mismatch", path: "" } });
    c.send({ id: 3, op: "count", entity: "nobody", expr: "churned" });
    expect(await c.next((x) => x.id === 3)).toMatchObject({ type: "error", error: { code: "unknown_entity" } });
    c.send({ id: 4, op: "count", entity: "user", expr: "@nope" });
    expect(await c.next((x) => x.id === 4)).toMatchObject({ type: "error", error: { code: "unknown_segment" } });
    c.send({ id: 5, op: "count", entity: "user", expr: "churned" });
    expect(await c.next((x) => x.id === 5)).toMatchObject({ type: "count" });
  });

  it("answers frames without op, with an unknown op or wrong fields on their id", async () => {
    c.send({ id: "a", expr: "churned" });
    expect(await c.next((x) => x.id === "a")).toMatchObject({ type: "error", error: { code: "bad_request" } });
    c.send({ id: "b", op: "drop_table" });
    expect(await c.next((x) => x.id === "b")).toMatchObject({ type: "error", error: { code: "bad_request" } });
    c.send({ id: "c", op: "select", entity: "user", expr: "churned", chunk: 0 });
    const e = await c.next((x) => x.id === "c");
    expect(e.error.message).toContain('"chunk"');
    c.send({ id: "d", op: "count", entity: "user", expr: 12 });
    expect((await c.next((x) => x.id === "d")).error.message).toContain('"expr"');
    c.send({ id: "e", op: "cancel" });
    expect((await c.next((x) => x.id === "e")).error.message).toContain('"target"');
  });

  it("answers unreadable frames with id null: not msgpack, not a map, no id, a bad id, text", async () => {
    const bad: (Uint8Array | string)[] = [
      new Uint8Array([0xc1]),
      new Uint8Array([0x92, 0x01]), // an array header promising 2 items, with 1
      new Uint8Array([0x81, 0xa1, 0x78, 0x01, 0xff]), // one map then trailing junk
      new Uint8Array([0x93, 1, 2, 3]), // an array, not a map
      new Uint8Array([0x81, 0xa2, 0x6f, 0x70, 0xa5, 0x63, 0x6f, 0x75, 0x6e, 0x74]), // {op:"count"}, no id
      "{\"id\":1,\"op\":\"count\"}", // a text frame
    ];
    for (const b of bad) c.sendRaw(b);
    c.send({ id: 1.5, op: "count", expr: "churned" });
    c.send({ id: { nested: 1 }, op: "count", expr: "churned" });
    for (let i = 0; i < bad.length + 2; i++) {
      const f = await c.next((x) => x.id === null);
      expect(f).toMatchObject({ type: "error", error: { code: "bad_request", message: expect.any(String) } });
    }
    c.send({ id: "alive", op: "count", entity: "user", expr: "churned" });
    expect(await c.next((x) => x.id === "alive")).toMatchObject({ type: "count" });
  });
});

describe("cancel", () => {
  it("ends the target with cancelled and sends nothing of its own", async () => {
    h.engine.hold();
    try {
      c.send({ id: "slow", op: "select", entity: "user", expr: "churned" });
      await waitFor(() => h.engine.waiting === 1);
      c.send({ id: "stop", op: "cancel", target: "slow" });
      expect(await c.next((x) => x.id === "slow")).toEqual({ id: "slow", type: "cancelled" });
    } finally {
      h.engine.release();
    }
    // A cancel of something unknown or finished is silent too: the next frame on the socket is the count.
    c.send({ id: "stop2", op: "cancel", target: "never-was" });
    c.send({ id: "after", op: "count", entity: "user", expr: "churned" });
    expect(await c.next()).toMatchObject({ id: "after", type: "count" });
    expect(c.frames.filter((f) => f.id === "stop" || f.id === "stop2")).toEqual([]);
  });

  it("cancels by integer id", async () => {
    h.engine.hold();
    try {
      c.send({ id: 77, op: "count", entity: "user", expr: "churned" });
      await waitFor(() => h.engine.waiting === 1);
      c.send({ id: 78, op: "cancel", target: 77 });
      expect(await c.next((x) => x.id === 77)).toEqual({ id: 77, type: "cancelled" });
    } finally {
      h.engine.release();
    }
  });
});

describe("limits", () => {
  it("answers overloaded past the per-socket limit, on that request only", async () => {
    h.engine.hold();
    try {
      for (const id of ["o1", "o2", "o3", "o4"]) c.send({ id, op: "count", entity: "user", expr: "churned" });
      expect(await c.next((x) => x.id === "o4")).toMatchObject({ type: "error", error: { code: "overloaded" } });
      // Another socket is not affected.
      const other = await WsClient.open(h.wsUrl);
      other.send({ id: 1, op: "count", entity: "user", expr: "churned" });
      await waitFor(() => h.engine.waiting === 4);
      h.engine.release();
      expect(await other.next((x) => x.id === 1)).toMatchObject({ type: "count" });
      await other.close();
    } finally {
      h.engine.release();
    }
    for (const id of ["o1", "o2", "o3"]) expect(await c.next((x) => x.id === id)).toMatchObject({ type: "count" });
  });

  it("answers timeout when a request runs past its timeoutMs", async () => {
    h.engine.hold();
    try {
      c.send({ id: "t", op: "select", entity: "user", expr: "churned", timeoutMs: 50 });
      expect(await c.next((x) => x.id === "t")).toMatchObject({ type: "error", error: { code: "timeout" } });
    } finally {
      h.engine.release();
    }
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition never held");
}
