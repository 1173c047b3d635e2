/**
 * Parquet bulk loads end to end. DuckDB (an independent writer and reader) writes Parquet files with
 * several row groups, compression, nulls and every SEL type; Lasso loads them (engine, HTTP with
 * application/vnd.apache.parquet streamed in pieces, and `lasso load x.parquet` as a child process), and
 * every count must equal DuckDB's SQL over the same file. Bad Parquet is a 400 that leaves the store as it was.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { fileChunks } from "../../engine/store/file-chunks.js";
import { parquetFileBody, parquetRequestBody } from "../../server/parquet-load.js";
import { http, postStreamed, runLasso, type Harness, startServer, until } from "./harness.js";

const dir = mkdtempSync(join(tmpdir(), "lasso-parquet-"));

/**
 * Users i in [from, to): pseudo-random columns of every SEL type from DuckDB's hash, with nulls, a
 * DECIMAL, a LIST<VARCHAR> (null, empty and filled) and Chinese values.
 */
function usersSql(from: number, to: number, key = "i"): string {
  const h = (k: number) => `(hash(i * 17 + ${k}) % 1000000007)::BIGINT`;
  return `SELECT ${key} AS user_id,
    CASE WHEN ${h(1)} % 10 = 0 THEN NULL ELSE ${h(2)} % 3 = 0 END AS vip,
    CASE WHEN ${h(3)} % 8 = 0 THEN NULL ELSE (${h(4)} % 90)::INTEGER END AS age,
    CAST((${h(5)} % 1000000) / 100 AS DECIMAL(12, 2)) AS spend,
    CASE WHEN ${h(6)} % 9 = 0 THEN NULL ELSE (${h(7)} % 20000)::DOUBLE / 7 END AS score,
    CASE WHEN ${h(8)} % 6 = 0 THEN NULL ELSE ['北京', '上海', '广州', '深圳', 'a''b'][1 + ${h(9)} % 5] END AS city,
    TIMESTAMP '2024-01-01' + to_seconds((${h(10)} % 31536000)::BIGINT) AS last_order_at,
    CASE WHEN ${h(11)} % 7 = 0 THEN NULL ELSE DATE '1970-01-01' + (${h(12)} % 20000)::INTEGER END AS born,
    CASE ${h(13)} % 5 WHEN 0 THEN NULL WHEN 1 THEN []::VARCHAR[]
      ELSE list_slice(['music', 'sports', '美食', 'tech'], 1 + ${h(14)} % 2, 2 + ${h(15)} % 3) END AS interests,
    (${h(16)} % 5)::TINYINT AS level
  FROM range(${from}, ${to}) t(i)`;
}

/** SEL and the same question in SQL (wrapped as `coalesce((sql), false)`: SEL's null never matches). */
const QUESTIONS: [string, string][] = [
  ["TRUE", "true"],
  ["vip", "vip"],
  ["NOT vip", "NOT coalesce(vip, false)"],
  ["vip IS NULL", "vip IS NULL"],
  ["age BETWEEN 20 AND 40", "age BETWEEN 20 AND 40"],
  ["age >= 50 AND vip = FALSE", "age >= 50 AND vip = false"],
  ["spend > 5000.5", "spend > 5000.5"],
  ["spend <= 12.34", "spend <= 12.34"],
  ["score < 100", "score < 100"],
  ["city IN ('北京', '上海')", "city IN ('北京', '上海')"],
  ["city = 'a\\'b'", "city = 'a''b'"],
  ["city != '广州'", "city != '广州'"],
  ["NOT city = '广州'", "NOT coalesce(city = '广州', false)"],
  ["city LIKE '%州'", "city LIKE '%州'"],
  ["last_order_at AFTER '2024-07-01T00:00:00Z'", "last_order_at > TIMESTAMP '2024-07-01 00:00:00'"],
  ["born BEFORE DATE '1990-01-01'", "born < DATE '1990-01-01'"],
  ["born IS NULL OR level = 0", "born IS NULL OR level = 0"],
  ["interests HAS '美食'", "list_contains(interests, '美食')"],
  ["interests HAS ALL ('music', 'sports')", "list_contains(interests, 'music') AND list_contains(interests, 'sports')"],
  ["interests IS NOT NULL AND NOT interests HAS ANY ('music', 'tech')", "interests IS NOT NULL AND NOT (list_contains(interests, 'music') OR list_contains(interests, 'tech'))"],
  ["level IN (1, 3) AND (vip OR age < 18)", "level IN (1, 3) AND (coalesce(vip, false) OR coalesce(age < 18, false))"],
];

let db: DuckDBInstance;
let sql: DuckDBConnection;
let h: Harness;

beforeAll(async () => {
  db = await DuckDBInstance.create(":memory:");
  sql = await db.connect();
  h = await startServer();
});
afterAll(async () => {
  await h?.close();
  sql?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

async function writeParquet(name: string, query: string, options = "ROW_GROUP_SIZE 7000, COMPRESSION zstd"): Promise<string> {
  const path = join(dir, name);
  await sql.run(`COPY (${query}) TO '${path}' (FORMAT parquet, ${options})`);
  return path;
}

/** DuckDB's count over a Parquet file for one question. */
async function duckCount(path: string, where: string): Promise<number> {
  const r = await sql.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${path}') WHERE coalesce((${where}), false)`);
  return r.getRowObjects()[0]!["n"] as number;
}

async function expectAgreement(count: (expr: string) => Promise<number>, path: string): Promise<void> {
  for (const [sel, where] of QUESTIONS) expect(await count(sel), sel).toBe(await duckCount(path, where));
}

describe("Parquet into the engine", () => {
  it("loads a multi-row-group, compressed file with every SEL type; every count equals DuckDB's", async () => {
    const path = await writeParquet("users.parquet", usersSql(0, 30_000));
    const engine = await openEngine({ threads: 0 });
    try {
      const r = await engine.load({ entity: "user", key: "user_id", body: parquetFileBody(path) });
      expect(r).toMatchObject({ rows: 30_000, inserted: 30_000, updated: 0 });
      expect(new Set(r.newTags)).toEqual(new Set(["vip", "age", "spend", "score", "city", "last_order_at", "born", "interests", "level"]));
      const types = Object.fromEntries(engine.tags("user").map((t) => [t.name, t.type]));
      expect(types).toEqual({ vip: "bool", age: "int", spend: "float", score: "float", city: "enum", last_order_at: "time", born: "time", interests: "multi", level: "int" });
      await expectAgreement(async (expr) => (await engine.count({ entity: "user", expr })).count, path);
      // row groups are decoded on several threads at once; entities still arrive in file order
      const sel = await engine.select({ entity: "user", expr: "TRUE" });
      const keys: string[] = [];
      for await (const chunk of sel.chunks()) for (const k of chunk) keys.push(String(k));
      const inFile = (await sql.runAndReadAll(`SELECT user_id::VARCHAR AS k FROM read_parquet('${path}')`)).getRowObjects().map((r) => r["k"] as string);
      expect(keys).toEqual(inFile);
    } finally {
      await engine.close();
    }
  });

  it("upserts from Parquet like from Arrow: known keys overwrite the given tags, new keys add entities", async () => {
    const first = await writeParquet("first.parquet", usersSql(0, 10_000), "ROW_GROUP_SIZE 3000, COMPRESSION snappy");
    // keys 5000..14999 again, with other values (another hash) for two tags only
    const second = await writeParquet(
      "second.parquet",
      `SELECT i AS user_id, (hash(i * 31) % 90)::INTEGER AS age, ['x', 'y'][1 + (hash(i * 37) % 2)::BIGINT] AS city FROM range(5000, 15000) t(i)`,
      "COMPRESSION gzip",
    );
    const merged = await writeParquet(
      "merged.parquet",
      `SELECT coalesce(s.user_id, f.user_id) AS user_id, f.vip, coalesce(s.age, CASE WHEN s.user_id IS NULL THEN f.age END) AS age, f.spend, f.score,
         CASE WHEN s.user_id IS NULL THEN f.city ELSE s.city END AS city, f.last_order_at, f.born, f.interests, f.level
       FROM read_parquet('${first}') f FULL OUTER JOIN read_parquet('${second}') s ON f.user_id = s.user_id`,
    );
    const engine = await openEngine({ threads: 0 });
    try {
      await engine.load({ entity: "user", key: "user_id", body: parquetFileBody(first) });
      const r = await engine.load({ entity: "user", key: "user_id", body: parquetFileBody(second) });
      expect(r).toMatchObject({ rows: 10_000, inserted: 5000, updated: 5000 });
      await expectAgreement(async (expr) => (await engine.count({ entity: "user", expr })).count, merged);
    } finally {
      await engine.close();
    }
  });

  it("loads a file with no rows (the schema still creates the tags) and Utf8 keys", async () => {
    const empty = await writeParquet("empty.parquet", `${usersSql(0, 10)} LIMIT 0`);
    const keyed = await writeParquet("keyed.parquet", usersSql(0, 2000, "'u' || i"));
    const engine = await openEngine({ threads: 0 });
    try {
      expect(await engine.load({ entity: "user", key: "user_id", body: parquetFileBody(empty) })).toMatchObject({ rows: 0, inserted: 0 });
      expect(engine.tags("user").map((t) => t.name)).toContain("interests");
      const r = await engine.load({ entity: "other", key: "user_id", body: parquetFileBody(keyed) });
      expect(r).toMatchObject({ rows: 2000, inserted: 2000 });
      await expectAgreement(async (expr) => (await engine.count({ entity: "other", expr })).count, keyed);
    } finally {
      await engine.close();
    }
  });

  it("reads every compression DuckDB writes", async () => {
    const engine = await openEngine({ threads: 0 });
    try {
      for (const codec of ["snappy", "gzip", "zstd", "brotli", "lz4", "lz4_raw", "uncompressed"]) {
        const path = await writeParquet(`codec-${codec}.parquet`, usersSql(0, 3000), `ROW_GROUP_SIZE 1000, COMPRESSION ${codec}`);
        const r = await engine.load({ entity: codec, key: "user_id", body: parquetFileBody(path) });
        expect(r.rows, codec).toBe(3000);
        expect((await engine.count({ entity: codec, expr: "interests HAS 'tech' OR city = '深圳'" })).count, codec).toBe(
          await duckCount(path, "list_contains(interests, 'tech') OR city = '深圳'"),
        );
      }
    } finally {
      await engine.close();
    }
  });

  it("a failed load stops its decoder thread and removes its spool file", async () => {
    const path = await writeParquet("leak.parquet", usersSql(0, 200_000), "ROW_GROUP_SIZE 20000");
    const spools = join(dir, "spools");
    mkdirSync(spools);
    const saved = process.env["TMPDIR"];
    process.env["TMPDIR"] = spools;
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === "MessagePort").length;
    const engine = await openEngine({ threads: 0 });
    try {
      await engine.load({ entity: "user", key: "user_id", body: parquetFileBody(await writeParquet("first.parquet", usersSql(0, 10))) });
      const before = ports();
      const cancel = new AbortController();
      const failing = [
        // the key column is missing: fails on the schema, the decoder has batches in flight
        () => engine.load({ entity: "user", key: "nope", body: parquetRequestBody(fileChunks(path)) }),
        // age arrives as a string: a schema conflict
        async () => engine.load({ entity: "user", key: "user_id", body: parquetRequestBody(fileChunks(await writeParquet("conflict.parquet", "SELECT i AS user_id, 'x' AS age FROM range(5) t(i)"))) }),
        // cancelled after the first batch
        () => engine.load({ entity: "user", key: "user_id", signal: cancel.signal, onProgress: () => cancel.abort(), body: parquetRequestBody(fileChunks(path)) }),
      ];
      for (const load of failing) await expect(load()).rejects.toBeInstanceOf(Error);
      await until(() => ports() === before && readdirSync(spools).length === 0, "decoders to stop and spools to go");
    } finally {
      if (saved === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = saved;
      await engine.close();
    }
  });

  it("refuses columns outside SEL's types with schema_conflict naming the column; the store is unchanged", async () => {
    const engine = await openEngine({ threads: 0 });
    try {
      await engine.load({ entity: "user", key: "user_id", body: parquetFileBody(await writeParquet("base.parquet", usersSql(0, 100))) });
      const cases = { at: "TIME '10:00:00'", blob: "'\\x01'::BLOB", id: "uuid()", pair: "{'a': 1}", counts: "[1, 2]", span: "INTERVAL 1 DAY" };
      for (const [name, expr] of Object.entries(cases)) {
        const path = await writeParquet(`type-${name}.parquet`, `SELECT i AS user_id, ${expr} AS ${name} FROM range(50, 150) t(i)`);
        await expect(engine.load({ entity: "user", key: "user_id", body: parquetFileBody(path) }), name).rejects.toMatchObject({
          code: "schema_conflict",
          message: expect.stringContaining(`'${name}'`),
        });
      }
      expect((await engine.count({ entity: "user", expr: "TRUE" })).count).toBe(100);
    } finally {
      await engine.close();
    }
  });
});

const post = (entity: string, query: string, bytes: Uint8Array, type: string) =>
  postStreamed(`${h.base}/v1/entities/${entity}/load?${query}`, bytes, type, 4099);

describe("POST …/load with application/vnd.apache.parquet", () => {
  const count = async (entity: string, expr: string): Promise<number> => {
    const r = await http(h.base, "POST", "/v1/count", { entity, expr });
    expect(r.status, r.text).toBe(200);
    return r.json().count as number;
  };

  it("loads a streamed Parquet body; counts equal DuckDB's over the file", async () => {
    const path = await writeParquet("http.parquet", usersSql(100, 12_100));
    const r = await post("pq", "key=user_id", readFileSync(path), "application/vnd.apache.parquet");
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ entity: "pq", rows: 12_000, inserted: 12_000 });
    await expectAgreement((expr) => count("pq", expr), path);
  });

  it("refuses damaged Parquet with 400 and leaves the store as it was", async () => {
    const good = readFileSync(await writeParquet("dmg.parquet", usersSql(0, 5000)));
    const before = await count("pq", "TRUE");
    const truncated = good.subarray(0, good.length - 100);
    // the footer length points before the start of the file
    const lying = Buffer.from(good);
    lying.writeInt32LE(0x7fffffff, lying.length - 8);
    // a valid footer over scrambled pages: parquet-wasm panics on these (a Wasm trap inside its stream,
    // thrown where no promise catches it), which must end its thread only, not the load or the server
    const scrambled = Buffer.from(good);
    const footer = good.readInt32LE(good.length - 8);
    for (let i = 200; i < scrambled.length - footer - 8; i += 7) scrambled[i] ^= 0x5a;
    const cases: [string, Uint8Array][] = [
      ["truncated", truncated],
      ["lying footer length", lying],
      ["scrambled pages", scrambled],
      ["not Parquet", new TextEncoder().encode("user_id,age\n1,2\n")],
      ["empty", new Uint8Array(0)],
    ];
    for (const [what, bytes] of cases) {
      const r = await post("pq", "key=user_id", bytes, "application/vnd.apache.parquet");
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect(r.json().error.code, what).toBe("bad_request");
      expect(r.json().error.message, what).toMatch(/Parquet/);
    }
    // the server is still up and the store unchanged
    expect(await count("pq", "TRUE")).toBe(before);
  });

  it("says so when a Parquet file is sent as Arrow", async () => {
    const bytes = readFileSync(await writeParquet("as-arrow.parquet", usersSql(0, 10)));
    const r = await post("pq", "key=user_id", bytes, "application/vnd.apache.arrow.stream");
    expect(r.status).toBe(400);
    expect(r.json().error).toMatchObject({ code: "bad_arrow", message: expect.stringMatching(/application\/vnd\.apache\.parquet/) });
  });
});

describe("lasso load FILE.parquet", () => {
  it("loads a Parquet file into a data directory from a child process; a reopened store agrees with DuckDB", async () => {
    const path = await writeParquet("cli.parquet", usersSql(0, 8000));
    const data = join(dir, "cli-data");
    const { code, out, err } = await runLasso(["load", path, "--entity", "user", "--key", "user_id", "--data", data, "--quiet"]);
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ entity: "user", rows: 8000, inserted: 8000 });
    // --format parquet for a name without the extension; CSV options are refused for it
    const renamed = join(dir, "users.bin");
    writeFileSync(renamed, readFileSync(path));
    const again = await runLasso(["load", renamed, "--format", "parquet", "--entity", "user", "--key", "user_id", "--data", data, "--quiet"]);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ rows: 8000, inserted: 0, updated: 8000 });
    const bad = await runLasso(["load", path, "--entity", "user", "--key", "user_id", "--types", "age:int", "--data", data]);
    expect(bad.code).toBe(2);
    // a failed load ends the process (its decoder thread must not keep it alive)
    const wrongKey = await runLasso(["load", path, "--entity", "user", "--key", "nope", "--data", data, "--quiet"]);
    expect(wrongKey.code).not.toBe(0);
    expect(wrongKey.err).toMatch(/nope/);
    const engine: Engine = await openEngine({ dataDir: data, threads: 0 });
    try {
      await expectAgreement(async (expr) => (await engine.count({ entity: "user", expr })).count, path);
    } finally {
      await engine.close();
    }
  });
});
