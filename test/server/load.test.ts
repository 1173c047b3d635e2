/**
 * Bulk loads over HTTP: round trips for every key type and both IPC formats, upserts, every load error,
 * and bodies cut short (dropped connection, short Content-Length) failing the whole load.
 */
import { connect } from "node:net";
import { Table, Utf8, tableFromIPC, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyType } from "../../engine/api.js";
import { cmp, TRUE } from "../oracle/build.js";
import {
  dataSet,
  expectError,
  exprText,
  http,
  ipcFileBytes,
  ipcStreamBytes,
  jsonKey,
  load,
  metric,
  oracleKeys,
  sortedKeys,
  startServer,
  until,
  type Harness,
} from "./harness.js";

const SEED = Number(process.env["LASSO_TEST_SEED"] ?? 7);
let h: Harness;

beforeAll(async () => {
  console.log(`load.test seed ${SEED} (set LASSO_TEST_SEED to repeat)`);
  h = await startServer();
});
afterAll(async () => {
  await h?.close();
});

const ARROW_KEY_TYPE: Record<KeyType, string> = { utf8: "Utf8", int32: "Int32", int64: "Int64", uint32: "Uint32", uint64: "Uint64" };

describe("load round trips", () => {
  for (const keyType of ["utf8", "int32", "int64", "uint32", "uint64"] as const) {
    it(`loads ${keyType} keys and selects them back exactly, in JSON and Arrow`, async () => {
      const ds = dataSet(700, SEED, keyType);
      const entity = `k_${keyType}`;
      const r = await load(h.base, entity, "user_id", ipcStreamBytes(ds.table));
      expect(r.status, r.text).toBe(200);
      expect(r.json()).toMatchObject({ entity, rows: 700, inserted: 700, updated: 0 });

      const expr = cmp("spend", ">", 100);
      const want = oracleKeys(ds, expr);
      const j = (await http(h.base, "POST", "/v1/select", { entity, expr: exprText(expr) })).json();
      expect(j.count).toBe(want.length);
      // 64-bit keys as decimal strings, 32-bit as numbers (API.md).
      for (const k of j.ids) expect(typeof k).toBe(keyType === "int32" || keyType === "uint32" ? "number" : "string");
      expect(sortedKeys(j.ids)).toEqual(sortedKeys(want));

      const res = await fetch(h.base + "/v1/select", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/vnd.apache.arrow.stream" },
        body: JSON.stringify({ entity, expr: exprText(expr), chunk: 64 }),
      });
      const t = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
      expect(String(t.schema.fields[0]!.type)).toBe(ARROW_KEY_TYPE[keyType]);
      const arrowKeys = Array.from(t.getChild("id")!.toArray() as ArrayLike<string | number | bigint>).map((k) =>
        jsonKey(keyType, typeof k === "number" ? BigInt(k) : (k as string | bigint)),
      );
      expect(sortedKeys(arrowKeys)).toEqual(sortedKeys(want));
    });
  }

  it("takes the Arrow IPC file format too", async () => {
    const ds = dataSet(300, SEED + 1);
    const r = await load(h.base, "filefmt", "user_id", ipcFileBytes(ds.table), "application/vnd.apache.arrow.file");
    expect(r.status, r.text).toBe(200);
    const c = (await http(h.base, "POST", "/v1/count", { entity: "filefmt", expr: exprText(TRUE) })).json();
    expect(c.count).toBe(300);
  });

  it("streams a body sent in many small chunks (chunked transfer encoding)", async () => {
    const ds = dataSet(2000, SEED + 2);
    const bytes = ipcStreamBytes(ds.table);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= bytes.byteLength) return c.close();
        c.enqueue(bytes.slice(at, at + 777));
        at += 777;
      },
    });
    const res = await fetch(h.base + "/v1/entities/chunked/load?key=user_id", {
      method: "POST",
      body,
      headers: { "content-type": "application/vnd.apache.arrow.stream" },
      duplex: "half",
    } as RequestInit);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { rows: number }).rows).toBe(2000);
  });

  it("pauses an upload past a high-water mark smaller than a body slab, and loads every byte", async () => {
    // 16 KiB: every pause hands over a partly filled 1 MiB slab, and slabs are reused across the body
    const own = await startServer({ loadHighWaterBytes: 16 << 10 });
    try {
      const ds = dataSet(60_000, SEED + 3);
      for (const format of ["stream", "file"] as const) {
        const bytes = format === "stream" ? ipcStreamBytes(ds.table) : ipcFileBytes(ds.table);
        expect(bytes.byteLength).toBeGreaterThan(2 << 20);
        const entity = `hw_${format}`;
        const r = await load(own.base, entity, "user_id", bytes, `application/vnd.apache.arrow.${format}`);
        expect(r.status, r.text).toBe(200);
        for (const expr of [TRUE, cmp("spend", ">", 100), cmp("age", ">=", 30)]) {
          const got = (await http(own.base, "POST", "/v1/select", { entity, expr: exprText(expr) })).json();
          expect(sortedKeys(got.ids), `${format}: ${exprText(expr)}`).toEqual(sortedKeys(oracleKeys(ds, expr)));
        }
      }
    } finally {
      await own.close();
    }
  });

  it("upserts: known keys overwrite the given tags, new tags are created", async () => {
    const ds = dataSet(50, SEED + 3);
    expect((await load(h.base, "ups", "user_id", ipcStreamBytes(ds.table))).status).toBe(200);
    const keys = ds.rows.slice(0, 10).map((r) => r.key as string).concat(["fresh-1", "fresh-2"]);
    const t = new Table({
      user_id: vectorFromArray(keys, new Utf8()),
      age: vectorFromArray(Int32Array.from(keys.map(() => 999))),
      score: vectorFromArray(Float64Array.from(keys.map((_, i) => i))),
    });
    const r = await load(h.base, "ups", "user_id", ipcStreamBytes(t));
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ rows: 12, inserted: 2, updated: 10, newTags: ["score"] });
    const count = async (expr: string) => (await http(h.base, "POST", "/v1/count", { entity: "ups", expr })).json();
    expect(await count("age = 999")).toMatchObject({ count: 12, total: 52 });
    expect((await count("score >= 0")).count).toBe(12);
    // Tags not in the second load kept their values.
    const churned = ds.rows.filter((r) => r.tags["churned"] === true).length;
    expect((await count("churned")).count).toBe(churned);
  });
});

describe("load errors leave the store as it was", () => {
  let version: number;
  const entity = "guarded";

  beforeAll(async () => {
    const ds = dataSet(100, SEED + 4);
    const r = await load(h.base, entity, "user_id", ipcStreamBytes(ds.table));
    expect(r.status).toBe(200);
    version = r.json().version;
  });

  async function unchanged(): Promise<void> {
    const e = (await http(h.base, "GET", "/v1/entities")).json().entities.find((x: { name: string }) => x.name === entity);
    expect(e).toMatchObject({ rows: 100, version });
  }

  it("415 without an Arrow content type", async () => {
    const bytes = ipcStreamBytes(dataSet(5, 1).table);
    expectError(await load(h.base, entity, "user_id", bytes, "application/octet-stream"), 415, "unsupported_media_type");
    expectError(await load(h.base, entity, "user_id", bytes, "application/json"), 415, "unsupported_media_type");
    await unchanged();
  });

  it("bad_request for a missing ?key or a key column that is not there or of the wrong type", async () => {
    const bytes = ipcStreamBytes(dataSet(5, 1).table);
    expectError(await http(h.base, "POST", `/v1/entities/${entity}/load`, bytes, { "content-type": "application/vnd.apache.arrow.stream" }), 400, "bad_request");
    const e = expectError(await load(h.base, entity, "nope", bytes), 400, "bad_request");
    expect(e.message).toContain("nope");
    expectError(await load(h.base, entity, "spend", bytes), 400, "bad_request");
    await unchanged();
  });

  it("bad_arrow for unreadable bytes", async () => {
    expectError(await load(h.base, entity, "user_id", new TextEncoder().encode("definitely not arrow")), 400, "bad_arrow");
    const bytes = ipcStreamBytes(dataSet(100, 2).table);
    expectError(await load(h.base, entity, "user_id", bytes.slice(0, Math.floor(bytes.byteLength / 2))), 400, "bad_arrow");
    await unchanged();
  });

  it("schema_conflict, duplicate_key and null_key", async () => {
    const conflict = new Table({
      user_id: vectorFromArray(["u1"], new Utf8()),
      age: vectorFromArray(Float64Array.from([1.5])),
    });
    expectError(await load(h.base, entity, "user_id", ipcStreamBytes(conflict)), 409, "schema_conflict");
    const dup = new Table({ user_id: vectorFromArray(["a", "b", "a"], new Utf8()) });
    expectError(await load(h.base, entity, "user_id", ipcStreamBytes(dup)), 400, "duplicate_key");
    const nul = new Table({ user_id: vectorFromArray(["a", null, "c"], new Utf8()) });
    expectError(await load(h.base, entity, "user_id", ipcStreamBytes(nul)), 400, "null_key");
    await unchanged();
  });

  it("a body cut short by a dropped connection fails the whole load", async () => {
    const bytes = ipcStreamBytes(dataSet(20_000, SEED + 5).table);
    // Raw HTTP: declare the full length, send 60% of it, then drop the connection.
    await new Promise<void>((resolve, reject) => {
      const sock = connect(h.server.port, "127.0.0.1", () => {
        sock.write(
          `POST /v1/entities/${entity}/load?key=user_id HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.apache.arrow.stream\r\nContent-Length: ${bytes.byteLength}\r\n\r\n`,
        );
        sock.write(bytes.subarray(0, Math.floor(bytes.byteLength * 0.6)), () => {
          setTimeout(() => {
            sock.destroy();
            resolve();
          }, 100);
        });
      });
      sock.on("error", reject);
    });
    await until(async () => (await metric(h.base, "lasso_loads_in_flight")) === 0, "the cut load to end");
    await unchanged();
  });

  it("a Content-Length of 1e9 or more (which uWebSockets.js 20.30 drops unread) is logged with the fix", async () => {
    const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const own = await startServer({ log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }) });
    try {
      const closed = await new Promise<string>((resolve, reject) => {
        let got = "";
        const sock = connect(own.server.port, "127.0.0.1", () => {
          sock.write(
            `POST /v1/entities/big/load?key=user_id HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.apache.arrow.stream\r\nContent-Length: 1000000000\r\n\r\n`,
          );
          sock.write(new Uint8Array(65536));
        });
        sock.on("data", (d: Buffer) => (got += d.toString()));
        sock.on("close", () => resolve(got));
        sock.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" || e.code === "EPIPE" ? undefined : reject(e)));
      });
      expect(closed).toBe(""); // no answer can be sent: the server dropped the connection
      await until(async () => logs.some((l) => l.level === "warn" && l.msg.includes("Transfer-Encoding: chunked")), "the warning");
      expect(logs.find((l) => l.level === "warn")?.fields).toMatchObject({ entity: "big", contentLength: 1_000_000_000 });
    } finally {
      await own.close();
    }
  });

  it("a streamed body that fails mid-way fails the whole load", async () => {
    const bytes = ipcStreamBytes(dataSet(20_000, SEED + 6).table);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > bytes.byteLength / 2) {
          c.error(new Error("the batch job died"));
          return;
        }
        c.enqueue(bytes.slice(sent, sent + 65536));
        sent += 65536;
      },
    });
    await expect(
      fetch(h.base + `/v1/entities/${entity}/load?key=user_id`, {
        method: "POST",
        body,
        headers: { "content-type": "application/vnd.apache.arrow.stream" },
        duplex: "half",
      } as RequestInit).then((r) => r.text()),
    ).rejects.toThrow();
    await until(async () => (await metric(h.base, "lasso_loads_in_flight")) === 0, "the cut load to end");
    await unchanged();
  });

  it("the store still answers queries after all that", async () => {
    const c = (await http(h.base, "POST", "/v1/count", { entity, expr: "TRUE" })).json();
    expect(c).toMatchObject({ count: 100, total: 100 });
  });
});
