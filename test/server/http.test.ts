/**
 * HTTP contract (API.md), from outside: a real server, real fetch, answers checked against the oracle.
 */
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Expr } from "../../engine/expr/ast.js";
import { and, between, cmp, FALSE, has, hasAny, inList, isNull, not, or, seg, tag, TRUE, within } from "../oracle/build.js";
import {
  AS_OF,
  dataSet,
  expectError,
  exprJson,
  exprText,
  http,
  ipcStreamBytes,
  load,
  metric,
  oracleKeys,
  parseCsv,
  sortedKeys,
  startServer,
  type DataSet,
  type Harness,
} from "./harness.js";

const SEED = Number(process.env["LASSO_TEST_SEED"] ?? 20251130);
const N = 3000;

let h: Harness;
let ds: DataSet;

beforeAll(async () => {
  console.log(`http.test seed ${SEED} (set LASSO_TEST_SEED to repeat)`);
  h = await startServer({ maxInFlight: 2, queryTimeoutMs: 30_000 });
  ds = dataSet(N, SEED);
  const r = await load(h.base, "user", "user_id", ipcStreamBytes(ds.table));
  expect(r.status, r.text).toBe(200);
});

afterAll(async () => {
  await h?.close();
});

const QUERIES: Record<string, Expr> = {
  "age range and city": and(between("age", 25, 35), inList("city", "上海", "北京")),
  "churned or big spender": or(tag("churned"), cmp("spend", ">", 500)),
  "NOT includes nulls": not(cmp("city", "=", "上海")),
  "!= excludes nulls": cmp("city", "!=", "上海"),
  "multi any": hasAny("interests", "sports", "music"),
  "multi one": has("interests", "food"),
  "null test": isNull("age"),
  "within days at asOf": within("last_order_at", 30, "day"),
  everything: TRUE,
  nothing: FALSE,
};

describe("POST /v1/count", () => {
  it("answers the load reply with every field of API.md", async () => {
    // A fresh entity so the numbers are known exactly.
    const small = dataSet(10, SEED + 1);
    const r = await load(h.base, "tiny", "user_id", ipcStreamBytes(small.table));
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ entity: "tiny", rows: 10, inserted: 10, updated: 0, version: expect.any(Number), tookMs: expect.any(Number) });
    expect([...body.newTags].sort()).toEqual(["age", "churned", "city", "interests", "last_order_at", "spend"]);
  });

  for (const [name, expr] of Object.entries(QUERIES)) {
    it(`agrees with the oracle, text and JSON form: ${name}`, async () => {
      const want = oracleKeys(ds, expr).length;
      for (const form of [exprText(expr), exprJson(expr)]) {
        const r = await http(h.base, "POST", "/v1/count", { entity: "user", expr: form, asOf: AS_OF });
        expect(r.status, r.text).toBe(200);
        expect(r.json()).toMatchObject({ count: want, total: N, tookMs: expect.any(Number) });
      }
    });
  }

  it("takes the JSON literals true / false as expressions", async () => {
    expect((await http(h.base, "POST", "/v1/count", { entity: "user", expr: true })).json().count).toBe(N);
    expect((await http(h.base, "POST", "/v1/count", { entity: "user", expr: false })).json().count).toBe(0);
  });

  it("accepts a charset parameter and any case of the media type", async () => {
    const r = await http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned" }, { "content-type": "Application/JSON; charset=UTF-8" });
    expect(r.status, r.text).toBe(200);
  });

  it("refuses bodies that are not application/json with 415", async () => {
    expectError(await http(h.base, "POST", "/v1/count", { expr: "churned" }, { "content-type": "text/plain" }), 415, "unsupported_media_type");
    expectError(await http(h.base, "POST", "/v1/count", { expr: "churned" }, { "content-type": "application/json; charset=latin1" }), 415, "unsupported_media_type");
    const res = await fetch(h.base + "/v1/count", { method: "POST", body: new Uint8Array([123, 125]) });
    expect(res.status).toBe(415);
  });

  it("reports bad JSON, invalid UTF-8 and an empty body as bad_json", async () => {
    expectError(await http(h.base, "POST", "/v1/count", '{"expr": '), 400, "bad_json");
    expectError(await http(h.base, "POST", "/v1/count", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 400, "bad_json");
    expectError(await http(h.base, "POST", "/v1/count", ""), 400, "bad_json");
  });

  it("reports wrong shapes as bad_request naming the field", async () => {
    for (const body of ["[1,2]", "42", '"churned"', "null"]) {
      expectError(await http(h.base, "POST", "/v1/count", body), 400, "bad_request");
    }
    const cases: [unknown, string][] = [
      [{ entity: "user" }, "expr"],
      [{ entity: "user", expr: 5 }, "expr"],
      [{ entity: "user", expr: ["churned"] }, "expr"],
      [{ entity: "user", expr: null }, "expr"],
      [{ entity: 7, expr: "churned" }, "entity"],
      [{ entity: "user", expr: "churned", asOf: 1 }, "asOf"],
      [{ entity: "user", expr: "churned", timeoutMs: -5 }, "timeoutMs"],
    ];
    for (const [body, field] of cases) {
      const e = expectError(await http(h.base, "POST", "/v1/count", body), 400, "bad_request");
      expect(e.message).toContain(`"${field}"`);
    }
  });

  it("passes the engine's expression errors through with their place", async () => {
    const syntax = expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: "age >" }), 400, "syntax");
    expect(syntax.at).toMatchObject({ line: 1, column: expect.any(Number), length: expect.any(Number) });
    const unknown = expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: "agee > 3" }), 400, "unknown_tag");
    expect(unknown.at).toMatchObject({ line: 1, column: 1, length: 4 });
    expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: "age = 'x'" }), 400, "type_mismatch");
    const jsonForm = expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: { and: [{ tag: "churned" }, { "=": ["age", "x"] }] } }), 400, "type_mismatch");
    expect(jsonForm.path).toBe("/and/1");
    expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: "@nope" }), 404, "unknown_segment");
    expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: "(".repeat(5000) + "churned" + ")".repeat(5000) }), 400, "too_deep");
    expectError(await http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned OR ".repeat(7000) + "churned" }), 400, "too_large");
    expectError(await http(h.base, "POST", "/v1/count", { entity: "nobody", expr: "churned" }), 404, "unknown_entity");
  });

  it("refuses a body over the limit with 413 and stays up", async () => {
    const big = JSON.stringify({ entity: "user", expr: "churned", pad: "x".repeat(1_100_000) });
    expectError(await http(h.base, "POST", "/v1/count", big), 413, "payload_too_large");
    expect((await http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned" })).status).toBe(200);
  });
});

describe("POST /v1/select", () => {
  const body = (expr: Expr, extra: object = {}) => ({ entity: "user", expr: exprText(expr), asOf: AS_OF, ...extra });

  for (const [name, expr] of Object.entries(QUERIES)) {
    it(`returns every match once (JSON): ${name}`, async () => {
      const want = oracleKeys(ds, expr);
      const r = await http(h.base, "POST", "/v1/select", body(expr));
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      const got = r.json();
      expect(Object.keys(got)).toEqual(["count", "ids"]);
      expect(got.count).toBe(want.length);
      expect(sortedKeys(got.ids)).toEqual(sortedKeys(want));
    });
  }

  it("honours limit, and limit 0 gives the count alone", async () => {
    const expr = tag("churned");
    const want = new Set(oracleKeys(ds, expr));
    const r = (await http(h.base, "POST", "/v1/select", body(expr, { limit: 10 }))).json();
    expect(r.count).toBe(want.size);
    expect(r.ids).toHaveLength(10);
    expect(new Set(r.ids).size).toBe(10);
    for (const k of r.ids) expect(want.has(k)).toBe(true);
    const zero = (await http(h.base, "POST", "/v1/select", body(expr, { limit: 0 }))).json();
    expect(zero).toEqual({ count: want.size, ids: [] });
    expectError(await http(h.base, "POST", "/v1/select", body(expr, { limit: -1 })), 400, "bad_request");
    expectError(await http(h.base, "POST", "/v1/select", body(expr, { limit: 1.5 })), 400, "bad_request");
  });

  it("streams NDJSON, one JSON key a line", async () => {
    const expr = QUERIES["age range and city"]!;
    const r = await http(h.base, "POST", "/v1/select", body(expr), { accept: "application/x-ndjson" });
    expect(r.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(r.text.endsWith("\n")).toBe(true);
    const keys = r.text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    expect(sortedKeys(keys)).toEqual(sortedKeys(oracleKeys(ds, expr)));
    expect(r.headers.get("x-lasso-count")).toBe(String(keys.length));
  });

  it("streams CSV per RFC 4180 with header id (quotes, commas and newlines in keys)", async () => {
    const expr = TRUE;
    const r = await http(h.base, "POST", "/v1/select", body(expr), { accept: "text/csv" });
    expect(r.headers.get("content-type")).toMatch(/^text\/csv/);
    const keys = parseCsv(r.text);
    expect(keys[0]).toEqual(["id"]);
    const ids = keys.slice(1).map((row) => {
      expect(row).toHaveLength(1);
      return row[0]!;
    });
    expect(ids.some((k) => k.includes('"') && k.includes(",") && k.includes("\n"))).toBe(true);
    expect(ids.sort()).toEqual((oracleKeys(ds, expr) as string[]).slice().sort());
  });

  it("streams Arrow IPC with one Utf8 column id", async () => {
    const expr = QUERIES["churned or big spender"]!;
    const res = await fetch(h.base + "/v1/select", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/vnd.apache.arrow.stream" },
      body: JSON.stringify(body(expr, { chunk: 100 })),
    });
    expect(res.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
    const t = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    expect(t.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([["id", "Utf8"]]);
    expect(t.batches.length).toBeGreaterThan(1);
    expect(sortedKeys(t.getChild("id")!.toArray() as string[])).toEqual(sortedKeys(oracleKeys(ds, expr)));
  });

  it("answers an empty select in every format (Arrow: a schema-only stream)", async () => {
    const json = await http(h.base, "POST", "/v1/select", body(FALSE));
    expect(json.json()).toEqual({ count: 0, ids: [] });
    expect((await http(h.base, "POST", "/v1/select", body(FALSE), { accept: "application/x-ndjson" })).text).toBe("");
    expect((await http(h.base, "POST", "/v1/select", body(FALSE), { accept: "text/csv" })).text).toBe("id\r\n");
    const res = await fetch(h.base + "/v1/select", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/vnd.apache.arrow.stream" },
      body: JSON.stringify(body(FALSE)),
    });
    const t = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => f.name)).toEqual(["id"]);
  });

  it("negotiates Accept by q-value and falls back to JSON", async () => {
    const accept = (a: string) => http(h.base, "POST", "/v1/select", body(FALSE), { accept: a }).then((r) => r.headers.get("content-type") ?? "");
    expect(await accept("text/csv;q=0.5, application/x-ndjson")).toMatch(/x-ndjson/);
    expect(await accept("application/x-ndjson;q=0.1, text/csv;q=0.9")).toMatch(/text\/csv/);
    expect(await accept("*/*")).toMatch(/application\/json/);
    expect(await accept("image/png")).toMatch(/application\/json/);
    // media types named like Object members are just unknown types
    for (const a of ["constructor", "__proto__", "toString, text/csv;q=0.1"]) {
      const r = await http(h.base, "POST", "/v1/select", body(FALSE), { accept: a });
      expect(r.status, a).toBe(200);
    }
    expect(await accept("toString, text/csv;q=0.1")).toMatch(/text\/csv/);
  });
});

describe("segments", () => {
  it("creates (201), replaces (200), counts, lists and deletes; refuses cycles and deleting a referenced one", async () => {
    const young = between("age", 18, 30);
    let r = await http(h.base, "PUT", "/v1/segments/young", { entity: "user", expr: exprText(young), description: "18–30" });
    expect(r.status, r.text).toBe(201);
    expect(r.json()).toMatchObject({ name: "young", entity: "user", expr: expect.any(String), description: "18–30" });
    const younger = between("age", 18, 25);
    r = await http(h.base, "PUT", "/v1/segments/young", { entity: "user", expr: exprJson(younger) });
    expect(r.status, r.text).toBe(200);

    r = await http(h.base, "PUT", "/v1/segments/young_churned", { entity: "user", expr: "@young AND churned" });
    expect(r.status, r.text).toBe(201);

    r = await http(h.base, "GET", "/v1/segments/young");
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ name: "young", count: oracleKeys(ds, younger).length, total: N });

    const segments = { young: younger, young_churned: and(seg("young"), tag("churned")) };
    const c = await http(h.base, "POST", "/v1/count", { entity: "user", expr: "@young_churned" });
    expect(c.json().count).toBe(oracleKeys(ds, seg("young_churned"), segments).length);

    const list = (await http(h.base, "GET", "/v1/segments")).json();
    expect(list.segments.map((s: { name: string }) => s.name).sort()).toEqual(["young", "young_churned"]);

    expectError(await http(h.base, "PUT", "/v1/segments/young", { entity: "user", expr: "@young_churned" }), 400, "segment_cycle");
    const inUse = expectError(await http(h.base, "DELETE", "/v1/segments/young"), 409, "segment_in_use");
    expect(inUse.message).toContain("young_churned");

    expect((await http(h.base, "DELETE", "/v1/segments/young_churned")).status).toBe(200);
    expect((await http(h.base, "DELETE", "/v1/segments/young")).status).toBe(200);
    expectError(await http(h.base, "GET", "/v1/segments/young"), 404, "unknown_segment");
    expectError(await http(h.base, "DELETE", "/v1/segments/young"), 404, "unknown_segment");
  });

  it("checks the expression before storing it", async () => {
    expectError(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user", expr: "age >" }), 400, "syntax");
    expectError(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user", expr: "nope" }), 400, "unknown_tag");
    expectError(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user" }), 400, "bad_request");
    expectError(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user", expr: "churned" }, { "content-type": "text/plain" }), 415, "unsupported_media_type");
    expectError(await http(h.base, "GET", "/v1/segments/bad"), 404, "unknown_segment");
  });
});

describe("catalog, deletes, health and metrics", () => {
  it("lists entities and tags with counts that agree with the data", async () => {
    const e = (await http(h.base, "GET", "/v1/entities")).json();
    expect(e.entities).toContainEqual(expect.objectContaining({ name: "user", keyType: "utf8", rows: N }));
    const t = (await http(h.base, "GET", "/v1/entities/user/tags")).json();
    const byName = Object.fromEntries(t.tags.map((x: { name: string }) => [x.name, x]));
    expect(byName["age"]).toMatchObject({ type: "int", rowsWithValue: ds.rows.filter((r) => r.tags["age"] !== null).length });
    expect(byName["city"].type).toBe("enum");
    expect(byName["interests"].type).toBe("multi");
    expectError(await http(h.base, "GET", "/v1/entities/nobody/tags"), 404, "unknown_entity");
    expectError(await http(h.base, "GET", "/v1/entities/user/tags?values=x"), 400, "bad_request");
  });

  it("deletes rows by key and reports the missing ones", async () => {
    const victim = dataSet(20, SEED + 2);
    expect((await load(h.base, "victim", "user_id", ipcStreamBytes(victim.table))).status).toBe(200);
    const keys = victim.rows.slice(0, 3).map((r) => r.key as string);
    const r = await http(h.base, "DELETE", "/v1/entities/victim/rows", { keys: [...keys, "no-such-key"] });
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ entity: "victim", deleted: 3, missing: 1 });
    expect((await http(h.base, "POST", "/v1/count", { entity: "victim", expr: true })).json()).toMatchObject({ count: 17, total: 17 });
    expectError(await http(h.base, "DELETE", "/v1/entities/victim/rows", { keys: "u1" }), 400, "bad_request");
    expectError(await http(h.base, "DELETE", "/v1/entities/victim/rows", { keys: [{}] }), 400, "bad_request");
    expectError(await http(h.base, "DELETE", "/v1/entities/nobody/rows", { keys: ["x"] }), 404, "unknown_entity");
  });

  it("answers /healthz and /metrics", async () => {
    const hz = await http(h.base, "GET", "/healthz");
    expect(hz.status).toBe(200);
    expect(hz.json().status).toBe("ok");
    const m = await http(h.base, "GET", "/metrics");
    expect(m.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(m.text).toMatch(/^lasso_http_requests_total\{method="POST",route="\/v1\/count",status="200"\} \d+$/m);
    expect(m.text).toMatch(/^lasso_http_request_duration_seconds_bucket\{route="\/v1\/select",le="\+Inf"\} \d+$/m);
    expect(await metric(h.base, "lasso_queries_in_flight")).toBe(0);
    expect(await metric(h.base, "lasso_store_rows")).toBeGreaterThanOrEqual(N);
  });

  it("answers unknown routes 404 and wrong methods 405 with Allow", async () => {
    expectError(await http(h.base, "GET", "/v2/count"), 404, "not_found");
    expectError(await http(h.base, "GET", "/v1/entities/user/nothing"), 404, "not_found");
    const r = await http(h.base, "GET", "/v1/count");
    expectError(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("POST");
    expectError(await http(h.base, "PATCH", "/v1/segments/x", {}), 405, "method_not_allowed");
  });
});

describe("limits", () => {
  it("answers overloaded (503, Retry-After) past maxInFlight, and serves again after", async () => {
    h.engine.hold();
    try {
      const held = [1, 2].map(() => http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned" }));
      await waitFor(() => h.engine.waiting === 2);
      const r = await http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned" });
      expectError(r, 503, "overloaded");
      expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
      h.engine.release();
      for (const p of held) expect((await p).status).toBe(200);
    } finally {
      h.engine.release();
    }
    expect((await http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned" })).status).toBe(200);
  });

  it("answers timeout (408) when a query runs past timeoutMs", async () => {
    h.engine.hold();
    try {
      const r = await http(h.base, "POST", "/v1/count", { entity: "user", expr: "churned", timeoutMs: 50 });
      expectError(r, 408, "timeout");
      const s = await http(h.base, "POST", "/v1/select", { entity: "user", expr: "churned", timeoutMs: 50 });
      expectError(s, 408, "timeout");
    } finally {
      h.engine.release();
    }
    expect(await metric(h.base, "lasso_queries_in_flight")).toBe(0);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition never held");
}

