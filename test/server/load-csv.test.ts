/**
 * CSV bulk loads end to end: POST text/csv to a real server on a loopback port (streamed in small chunks),
 * then count; a bad CSV is a 400 naming its line and leaves the store unchanged; media type and query
 * parameter errors; and `lasso load x.csv` as a child process over a data directory on disk.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEngine } from "../../engine/index.js";
import { Rng } from "../../fixtures/prng.js";
import { expectError, http, postStreamed, runLasso, type Harness, startServer } from "./harness.js";

const SEED = Number(process.env["LASSO_TEST_SEED"] ?? 5);

let h: Harness;
beforeAll(async () => {
  console.log(`load-csv.test seed ${SEED} (set LASSO_TEST_SEED to repeat)`);
  h = await startServer();
});
afterAll(async () => {
  await h?.close();
});

const CITIES = ["上海", "北京", "a,b", 'q"uote', "line\nbreak"];

/** A seeded CSV and what its rows hold, for counting without the engine. */
function users(n: number, seed: number) {
  const rng = new Rng(seed, "csv-users");
  const rows: { id: string; age: number | null; city: string | null; vip: boolean | null; tags: string[] | null }[] = [];
  const lines = ["id,age,city,vip,tags,seen_at"];
  for (let i = 0; i < n; i++) {
    const r = {
      id: `u${i}`,
      age: rng.chance(0.1) ? null : 16 + rng.below(60),
      city: rng.chance(0.1) ? null : CITIES[rng.below(CITIES.length)]!,
      vip: rng.chance(0.2) ? null : rng.chance(0.3),
      tags: rng.chance(0.2) ? null : ["x", "y", "z"].filter(() => rng.chance(0.5)),
    };
    rows.push(r);
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    lines.push(
      [r.id, r.age ?? "", r.city === null ? "" : q(r.city), r.vip ?? "", r.tags === null ? "" : q(r.tags.join("|")), `2025-0${1 + (i % 9)}-15T10:00:00+08:00`].join(","),
    );
  }
  return { rows, text: lines.join("\r\n") + "\r\n" };
}

const postCsv = (entity: string, query: string, text: string | Uint8Array, type = "text/csv; charset=utf-8") =>
  postStreamed(`${h.base}/v1/entities/${entity}/load?${query}`, typeof text === "string" ? new TextEncoder().encode(text) : text, type);

const count = async (entity: string, expr: string): Promise<number> => {
  const r = await http(h.base, "POST", "/v1/count", { entity, expr });
  expect(r.status, r.text).toBe(200);
  return r.json().count as number;
};

describe("POST …/load with text/csv", () => {
  it("loads a streamed CSV; counts match the rows", async () => {
    const { rows, text } = users(2500, SEED);
    const r = await postCsv("people", "key=id&types=tags:multi", text);
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ entity: "people", rows: 2500, inserted: 2500, updated: 0 });
    expect(r.json().newTags.sort()).toEqual(["age", "city", "seen_at", "tags", "vip"]);
    expect(await count("people", "age >= 30")).toBe(rows.filter((x) => x.age !== null && x.age >= 30).length);
    expect(await count("people", "city = 'a,b' OR city = 'line\\nbreak'")).toBe(rows.filter((x) => x.city === "a,b" || x.city === "line\nbreak").length);
    expect(await count("people", `city = 'q"uote'`)).toBe(rows.filter((x) => x.city === 'q"uote').length);
    expect(await count("people", "vip")).toBe(rows.filter((x) => x.vip === true).length);
    expect(await count("people", "tags HAS 'y'")).toBe(rows.filter((x) => x.tags?.includes("y")).length);
    expect(await count("people", "tags IS NOT NULL AND NOT tags HAS ANY ('x','y','z')")).toBe(rows.filter((x) => x.tags !== null && x.tags.length === 0).length);
    expect(await count("people", "seen_at BEFORE '2025-02-15T02:00:00Z'")).toBe(rows.filter((_, i) => i % 9 < 1).length);
  });

  it("an update keeps existing tag types (a numeric-looking string stays an enum)", async () => {
    expect((await postCsv("zips", "key=id&types=zip:string", "id,zip\n1,01234\n2,x\n")).status).toBe(200);
    const r = await postCsv("zips", "key=id", "id,zip\n3,00042\n");
    expect(r.status, r.text).toBe(200);
    expect(await count("zips", "zip = '00042'")).toBe(1);
  });

  it("a bad CSV is 400 with its line number; the store is unchanged", async () => {
    const { text } = users(300, SEED + 1);
    const before = await count("people", "TRUE");
    const beforeOld = await count("people", "age >= 30");
    // data row 250 gets a non-integer age; the rows before it would update people
    const lines = text.split("\r\n");
    lines[250] = lines[250]!.replace(/^u(\d+),\d*,/, "u$1,old,");
    const r = await postCsv("people", "key=id&types=tags:multi", lines.join("\r\n"));
    const err = expectError(r, 400, "bad_request");
    // the physical line: quoted city values hold line breaks of their own
    const line = 1 + (lines.slice(0, 250).join("\r\n") + "\r\n").split("\n").length - 1;
    expect(line).toBeGreaterThan(251);
    expect(err.message).toMatch(new RegExp(`line ${line}:`));
    expect(err.message).toMatch(/'age'/);
    expect(err.message).toMatch(/"old"/);
    expect(await count("people", "TRUE")).toBe(before);
    expect(await count("people", "age >= 30")).toBe(beforeOld);
    const ragged = await postCsv("people", "key=id", "id,age\nu1,5\nu2,6,7\n");
    expect(expectError(ragged, 400, "bad_request").message).toMatch(/line 3/);
    const nullKey = await postCsv("people", "key=id", "id,age\nu1,5\n,6\n");
    expectError(nullKey, 400, "null_key");
    expect(await count("people", "TRUE")).toBe(before);
  });

  it("refuses other charsets (415), bad types and CSV parameters on Arrow bodies (400)", async () => {
    expectError(await postCsv("people", "key=id", "id\n1\n", "text/csv; charset=latin1"), 415, "unsupported_media_type");
    const bad = expectError(await postCsv("people", "key=id&types=age:number", "id,age\n1,2\n"), 400, "bad_request");
    expect(bad.message).toMatch(/"age:number"/);
    expectError(await postCsv("people", "key=id&types=age:int", "", "application/vnd.apache.arrow.stream"), 400, "bad_request");
    const other = expectError(await postCsv("people", "key=id", "id\n1\n", "text/plain"), 415, "unsupported_media_type");
    expect(other.message).toMatch(/text\/csv/);
    // no charset is UTF-8; the existing entity's utf8 keys make "1" a string key (inferred, it would be Int64)
    const plain = await postCsv("people", "key=id", "id,x\n1,2\n", "text/csv");
    expect(plain.status, plain.text).toBe(200);
    expect(await count("people", "x = 2")).toBe(1);
  });
});

describe("lasso load FILE.csv", () => {
  it("loads a CSV into a data directory from a child process", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lasso-csv-cli-"));
    try {
      const file = join(dir, "users.csv");
      await writeFile(file, "user_id,age,interests\n10,30,a|b\n11,,\n12,45,b\n");
      const { code, out, err } = await runLasso(["load", file, "--entity", "user", "--key", "user_id", "--types", "interests:multi", "--data", join(dir, "data"), "--quiet"]);
      expect(code, err).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ entity: "user", rows: 3, inserted: 3 });
      const bad = await runLasso(["load", file, "--entity", "user", "--key", "user_id", "--types", "age", "--data", join(dir, "data")]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/"age"/);
      const e = await openEngine({ dataDir: join(dir, "data"), threads: 0 });
      try {
        expect((await e.count({ entity: "user", expr: "interests HAS 'b' AND age > 40" })).count).toBe(1);
        expect(e.entities()[0]!.keyType).toBe("int64");
      } finally {
        await e.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
