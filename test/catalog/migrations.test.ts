import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { MIGRATIONS, SCHEMA_VERSION, TagCatalog } from "../../engine/catalog/index.js";
import { migrationChecksum } from "../../engine/catalog/schema.js";
import { cleanupDirs, openCatalog, snapshot, tempDir } from "./helpers.js";

const V1_FIXTURE = readFileSync(new URL("./fixtures/catalog-v1.sql", import.meta.url), "utf8");

function v1File(): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, "catalog.db");
  const db = new Database(file);
  db.exec(V1_FIXTURE);
  db.close();
  return { dir, file };
}

function versions(file: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all() as number[];
  } finally {
    db.close();
  }
}

afterEach(cleanupDirs);

describe("migrations", () => {
  it("build an empty file up to the current version, in WAL mode with foreign keys", () => {
    const dir = tempDir();
    const cat = openCatalog(dir);
    cat.close();
    const file = join(dir, "catalog.db");
    expect(versions(file)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    const db = new Database(file);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(["tags", "categories", "audit_log", "users", "api_tokens", "tag_ratings"]));
    db.close();
    // Opening again applies nothing and changes nothing.
    const before = snapshot(file);
    openCatalog(dir).close();
    expect(snapshot(file)).toEqual(before);
  });

  it("take a v1 file (the frozen fixture) to the current version keeping every tag, category and audit entry", () => {
    const { dir, file } = v1File();
    const before = snapshot(file);
    expect(versions(file)).toEqual([1]);
    const cat = openCatalog(dir);
    expect(versions(file)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    const age = cat.getTag("user", "age");
    expect(age).toMatchObject({ displayName: "年龄", grade: "L2", status: "published", version: 2, categoryPath: ["基础属性"] });
    expect(age).toMatchObject({ queryCount: 0, viewCount: 0, lastUsedAt: null, rating: { average: null, count: 0 } });
    expect(cat.getTag("user", "city").categoryPath).toEqual(["基础属性", "地理位置"]);
    expect(cat.tree().roots.map((r) => [r.name, r.totalTags])).toEqual([["Behaviour", 1], ["基础属性", 2]]);
    // The lifecycle state carries over: deprecated warns, disabled refuses.
    expect(cat.checkQueryTags("user", ["age", "spend_30d"]).warnings).toHaveLength(1);
    expect(() => cat.checkQueryTags("user", ["old_flag"])).toThrow(expect.objectContaining({ code: "tag_disabled" }));
    expect(cat.audit({ tag: "old_flag" })[0]).toMatchObject({ action: "disable", reason: "source retired" });
    // v2 features work on migrated data.
    cat.recordQuery("user", ["age"]);
    cat.rateTag("user", "age", { stars: 4 }, null);
    cat.close();
    const after = snapshot(file);
    expect(after["audit_log"]!.slice(0, before["audit_log"]!.length)).toEqual(before["audit_log"]);
    expect(after["categories"]).toEqual(before["categories"]);
    const reopened = openCatalog(dir);
    expect(reopened.getTag("user", "age")).toMatchObject({ queryCount: 1, rating: { average: 4, count: 1 } });
    reopened.close();
  });

  it("refuse a file from a newer build, and one whose applied migration differs", () => {
    const { dir, file } = v1File();
    const db = new Database(file);
    for (let v = 2; v <= SCHEMA_VERSION; v++) {
      db.prepare("INSERT INTO schema_migrations VALUES (?, ?, 'now')").run(v, migrationChecksum(MIGRATIONS[v - 1]!));
    }
    db.prepare("INSERT INTO schema_migrations VALUES (?, 'x', '2030-01-01T00:00:00Z')").run(1 + SCHEMA_VERSION);
    db.close();
    expect(() => openCatalog(dir)).toThrow(/newer than this build understands/);

    const other = v1File();
    const db2 = new Database(other.file);
    db2.prepare("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1").run();
    db2.close();
    expect(() => TagCatalog.open({ dataDir: other.dir })).toThrow(/migration v1 in the file differs/);
  });

  it("leave the file at the previous version when a migration fails", () => {
    const { dir, file } = v1File();
    // A column v2 adds already exists: v2's ALTER fails, and its transaction rolls back whole.
    const db = new Database(file);
    db.exec("ALTER TABLE tags ADD COLUMN view_count INTEGER");
    db.close();
    const before = snapshot(file);
    expect(() => openCatalog(dir)).toThrow(/duplicate column/);
    expect(versions(file)).toEqual([1]);
    expect(snapshot(file)).toEqual(before);
  });

  it("make the audit log append-only (triggers refuse UPDATE and DELETE)", () => {
    const { dir, file } = v1File();
    openCatalog(dir).close();
    const db = new Database(file);
    expect(() => db.prepare("UPDATE audit_log SET reason = 'x'").run()).toThrow(/append-only/);
    expect(() => db.prepare("DELETE FROM audit_log").run()).toThrow(/append-only/);
    db.close();
  });
});
