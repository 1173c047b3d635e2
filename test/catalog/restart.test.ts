import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TagCatalog } from "../../engine/catalog/index.js";
import { UsageBuffer } from "../../engine/catalog/usage.js";
import { fixtureTags, loadFixture } from "./fixture.js";
import { cleanupDirs, openCatalog, snapshot, tempDir, who } from "./helpers.js";

afterEach(cleanupDirs);

function queryCount(dir: string, name: string): number {
  const db = new Database(join(dir, "catalog.db"), { readonly: true });
  try {
    return db.prepare("SELECT query_count FROM tags WHERE entity = 'user' AND name = ?").pluck().get(name) as number;
  } finally {
    db.close();
  }
}

describe("restart", () => {
  it("keeps categories, attributes, lifecycle, audit, users, tokens, ratings and usage", () => {
    const dir = tempDir();
    const tags = fixtureTags().slice(0, 60);
    const cat = openCatalog(dir);
    loadFixture(cat, tags);
    const { token } = cat.addUser("ada", ["admin"], null);
    const ada = who("ada", "admin");
    cat.addUser("rex", ["reviewer"], ada);
    cat.transitionTag("user", "age", "deprecated", { actor: ada, reason: "use birthday" });
    cat.registerLoadedTags("user", [{ name: "new_one", type: "float" }], "nightly", "ada");
    cat.transitionTag("user", "new_one", "pending_review", { actor: ada });
    cat.rateTag("user", "city", { stars: 4, comment: "好用" }, ada);
    cat.rateTag("user", "city", { stars: 2, comment: "stale" }, who("rex", "reviewer"));
    for (let i = 0; i < 3; i++) cat.recordQuery("user", ["city", "gender"]);
    cat.getTag("user", "city", { countView: true });
    const before = {
      tree: cat.tree(),
      search: cat.searchTags({ q: "城市", limit: 10 }),
      page: cat.searchTags({ limit: 500 }),
      stats: cat.stats(),
      audit: cat.audit({ limit: 1000 }),
      users: cat.listUsers(),
      city: cat.getTag("user", "city"),
    };
    expect(before.city).toMatchObject({ queryCount: 3, viewCount: 1, rating: { average: 3, count: 2 } });
    cat.close(); // flushes the buffered usage

    const again = openCatalog(dir);
    expect(again.tree()).toEqual(before.tree);
    expect(again.searchTags({ q: "城市", limit: 10 })).toEqual(before.search);
    expect(again.searchTags({ limit: 500 })).toEqual(before.page);
    expect(again.stats()).toEqual(before.stats);
    expect(again.audit({ limit: 1000 })).toEqual(before.audit);
    expect(again.listUsers()).toEqual(before.users);
    expect(again.getTag("user", "city")).toEqual(before.city);
    expect(again.authenticate(token)?.name).toBe("ada");
    expect(again.status("user", "new_one")).toBe("pending_review");
    expect(again.checkQueryTags("user", ["age"]).warnings).toHaveLength(1);
    expect(again.openMode()).toBe(false);
    again.close();
  });
});

describe("usage counts", () => {
  it("are buffered in memory, not written per query, and flushed in batches", () => {
    const dir = tempDir();
    const cat = openCatalog(dir, { now: () => new Date("2025-03-01T12:00:00Z") });
    cat.registerLoadedTags("user", [{ name: "a", type: "int" }, { name: "b", type: "int" }], "l");
    for (let i = 0; i < 1000; i++) cat.recordQuery("user", ["a", "b", "not_catalogued"]);
    cat.recordQuery("other_entity", ["a"]);
    expect(queryCount(dir, "a")).toBe(0);
    expect(cat.getTag("user", "a")).toMatchObject({ queryCount: 1000, lastUsedAt: "2025-03-01T12:00:00.000Z" });
    expect(cat.flushUsage()).toBe(2);
    expect(queryCount(dir, "a")).toBe(1000);
    expect(cat.flushUsage()).toBe(0);
    cat.getTag("user", "a", { countView: true });
    cat.getTag("user", "a", { countView: true });
    cat.getTag("user", "a");
    expect(cat.getTag("user", "a")).toMatchObject({ queryCount: 1000, viewCount: 2 });
    cat.close();
    const again = openCatalog(dir);
    expect(again.getTag("user", "a")).toMatchObject({ queryCount: 1000, viewCount: 2 });
    again.close();
  });

  it("are flushed by the timer", async () => {
    const dir = tempDir();
    const cat = TagCatalog.open({ dataDir: dir, usageFlushMs: 20 });
    cat.registerLoadedTags("user", [{ name: "a", type: "int" }], "l");
    cat.recordQuery("user", ["a"]);
    await vi.waitFor(() => expect(queryCount(dir, "a")).toBe(1), { timeout: 5000, interval: 20 });
    cat.close();
  });

  it("survive a failed write (kept for the next flush)", () => {
    const buf = new UsageBuffer();
    buf.query(1, "2025-01-01T00:00:00.000Z");
    buf.query(1, "2025-01-02T00:00:00.000Z");
    buf.view(2);
    expect(() =>
      buf.drain(() => {
        throw new Error("SQLITE_BUSY");
      }),
    ).toThrow("SQLITE_BUSY");
    buf.query(1, "2025-01-01T12:00:00.000Z");
    const seen: [number, number, number, string | null][] = [];
    buf.drain((batch) => {
      for (const [id, p] of batch) seen.push([id, p.queries, p.views, p.lastUsedAt]);
    });
    expect(seen).toEqual([
      [1, 3, 0, "2025-01-02T00:00:00.000Z"],
      [2, 0, 1, null],
    ]);
    expect(buf.size).toBe(0);
  });
});

describe("two processes on one file (a server and the offline CLI)", () => {
  it("each sees the other's writes at its next call", () => {
    const dir = tempDir();
    const server = openCatalog(dir);
    const cli = openCatalog(dir);
    server.registerLoadedTags("user", [{ name: "age", type: "int" }], "load");
    expect(cli.status("user", "age")).toBe("published");
    cli.transitionTag("user", "age", "deprecated", { actor: null, reason: "moving to birthday" });
    expect(server.checkQueryTags("user", ["age"]).warnings).toHaveLength(1);
    cli.updateTag("user", "age", { displayName: "年龄" }, { actor: null });
    expect(server.searchTags({ q: "年龄" }).items.map((t) => t.name)).toEqual(["age"]);
    const { token } = cli.addUser("ada", ["admin"], null);
    expect(server.openMode()).toBe(false);
    expect(server.authenticate(token)?.name).toBe("ada");
    server.recordQuery("user", ["age"]);
    server.flushUsage();
    expect(cli.getTag("user", "age").queryCount).toBe(1);
    // An edit based on a stale version is refused, whoever made the newer one.
    const seen = server.getTag("user", "age").version;
    cli.updateTag("user", "age", { grade: "L2" }, { actor: who("ada", "admin") });
    expect(() => server.updateTag("user", "age", { grade: "L3" }, { actor: who("ada", "admin"), expectedVersion: seen })).toThrow(
      expect.objectContaining({ code: "version_conflict" }),
    );
    expect(server.getTag("user", "age").grade).toBe("L2");
    server.close();
    cli.close();
    expect(snapshot(join(dir, "catalog.db"))["tags"]).toHaveLength(1);
  });
});
