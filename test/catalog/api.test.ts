import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ErrorCode } from "../../engine/errors.js";
import { isLassoError } from "../../engine/errors.js";
import type { Principal, TagCatalog } from "../../engine/catalog/index.js";
import { handleCatalog, type CatalogResponse } from "../../server/catalog-api.js";
import { cleanupDirs, openCatalog, snapshot, tempDir } from "./helpers.js";

let dir: string;
let cat: TagCatalog;

beforeEach(() => {
  dir = tempDir();
  cat = openCatalog(dir, { coverage: (_e, t) => (t === "city" ? 4242 : undefined) });
  cat.registerLoadedTags("user", [{ name: "city", type: "enum" }, { name: "age", type: "int" }, { name: "a/b", type: "bool" }], "first load");
});
afterEach(() => {
  cat.close();
  cleanupDirs();
});

function call(method: string, path: string, opts: { body?: unknown; query?: string; principal?: Principal | null } = {}): CatalogResponse {
  return handleCatalog(cat, {
    method,
    path,
    query: new URLSearchParams(opts.query ?? ""),
    body: opts.body,
    principal: opts.principal ?? null,
  });
}

function fails(code: ErrorCode, method: string, path: string, opts: Parameters<typeof call>[2] = {}): string {
  const before = snapshot(join(dir, "catalog.db"));
  try {
    call(method, path, opts);
  } catch (e) {
    if (!isLassoError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    expect(snapshot(join(dir, "catalog.db")), "no partial write").toEqual(before);
    return e.message;
  }
  throw new Error(`${method} ${path} did not fail (expected ${code})`);
}

describe("catalog HTTP handler (open mode)", () => {
  it("walks the tree endpoints", () => {
    const root = call("POST", "/categories", { body: { name: "基础属性", description: "demographics" } });
    expect(root.status).toBe(201);
    const rootId = (root.body as { id: number }).id;
    const geo = call("POST", "/categories", { body: { name: "地理", parentId: rootId } }).body as { id: number; version: number };
    expect(call("POST", "/tags/move", { body: { entity: "user", names: ["city"], categoryId: geo.id } }).body).toEqual({ moved: 1 });
    const tree = call("GET", "/tree", { query: "tags=1" }).body as { roots: { totalTags: number; children: { tags: { name: string; coverage: number }[] }[] }[]; uncategorized: number };
    expect(tree.roots[0]!.totalTags).toBe(1);
    expect(tree.roots[0]!.children[0]!.tags).toEqual([expect.objectContaining({ name: "city", coverage: 4242 })]);
    expect(tree.uncategorized).toBe(2);
    const one = call("GET", `/categories/${geo.id}`).body as { path: { name: string }[]; tags: { total: number } };
    expect(one.path.map((p) => p.name)).toEqual(["基础属性", "地理"]);
    expect(one.tags.total).toBe(1);
    const renamed = call("PATCH", `/categories/${geo.id}`, { body: { name: "地理位置", version: geo.version } });
    expect(renamed.body).toMatchObject({ name: "地理位置", version: 2 });
    fails("version_conflict", "PATCH", `/categories/${geo.id}`, { body: { name: "x", version: 1 } });
    fails("bad_request", "PATCH", `/categories/${geo.id}`, { body: { name: "x" } });
    fails("cycle", "PATCH", `/categories/${rootId}`, { body: { parentId: geo.id, version: 1 } });
    fails("conflict", "DELETE", `/categories/${rootId}`);
    expect(call("DELETE", `/categories/${rootId}`, { query: "moveTo=root" }).body).toEqual({ deleted: rootId, movedTags: 0, movedCategories: 1 });
    expect(call("GET", "/tree", { query: "depth=0" }).body).toMatchObject({ roots: [{ name: "地理位置", children: [] }] });
  });

  it("walks the tag endpoints", () => {
    const page = call("GET", "/tags", { query: "q=city&status=published,deprecated&sort=relevance&limit=5" }).body as { total: number; items: { name: string }[] };
    expect(page.items[0]!.name).toBe("city");
    const detail = call("GET", "/tags/user/city").body as { version: number; viewCount: number; coverage: number };
    expect(detail).toMatchObject({ viewCount: 1, coverage: 4242 });
    expect((call("GET", "/tags/user/city").body as { viewCount: number }).viewCount).toBe(2);
    const patched = call("PATCH", "/tags/user/city", { body: { displayName: "城市", grade: "L2", version: detail.version } });
    expect(patched.body).toMatchObject({ displayName: "城市", grade: "L2", version: detail.version + 1 });
    fails("version_conflict", "PATCH", "/tags/user/city", { body: { displayName: "x", version: detail.version } });
    expect(fails("bad_request", "PATCH", "/tags/user/city", { body: { name: "town", version: 2 } })).toMatch(/belong to its store column/);
    fails("bad_request", "PATCH", "/tags/user/city", { body: { type: "int", version: 2 } });
    fails("bad_request", "PATCH", "/tags/user/city", { body: { grade: "L9", version: 2 } });
    expect(call("GET", "/tags/user/a%2Fb").body).toMatchObject({ name: "a/b" });

    const t = call("POST", "/tags/user/age/transitions", { body: { to: "deprecated", reason: "use birthday" } });
    expect(t.body).toMatchObject({ status: "deprecated", statusChangedBy: "local" });
    fails("invalid_transition", "POST", "/tags/user/age/transitions", { body: { to: "draft", reason: "x" } });
    fails("bad_request", "POST", "/tags/user/age/transitions", { body: { to: "retired" } });
    expect(call("PUT", "/tags/user/city/rating", { body: { stars: 5, comment: "准确" } }).body).toMatchObject({
      rating: { average: 5, count: 1 },
      ratings: [{ user: "local", stars: 5, comment: "准确" }],
    });
    fails("bad_request", "PUT", "/tags/user/city/rating", { body: { stars: 6 } });
    fails("bad_request", "PUT", "/tags/user/city/rating", { body: { stars: 2.5 } });
    expect(call("DELETE", "/tags/user/city/rating").body).toMatchObject({ rating: { average: null, count: 0 } });
    const created = call("POST", "/tags", { body: { entity: "user", name: "vip_score", type: "float", productionType: "model", displayName: "VIP分" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "draft", productionType: "model", owner: "local" });
    fails("conflict", "POST", "/tags", { body: { entity: "user", name: "vip_score", type: "float" } });

    const stats = call("GET", "/stats").body as { tags: number; byStatus: Record<string, number> };
    expect(stats.tags).toBe(4);
    expect(stats.byStatus).toMatchObject({ published: 2, deprecated: 1, draft: 1 });
    const audit = call("GET", "/audit", { query: "tag=age&entity=user" }).body as { entries: { action: string }[] };
    expect(audit.entries.map((e) => e.action)).toEqual(["deprecate", "publish_open_mode", "create"]);
    expect(call("GET", "/me").body).toMatchObject({ name: "local", openMode: true });
  });

  it("answers bad requests with clear errors and no writes", () => {
    fails("not_found", "GET", "/tags/user/nope");
    fails("not_found", "GET", "/tags/nobody/city");
    fails("not_found", "GET", "/categories/12345");
    fails("not_found", "PATCH", "/categories/12345", { body: { name: "x", version: 1 } });
    fails("not_found", "DELETE", "/categories/12345");
    fails("not_found", "POST", "/tags/move", { body: { entity: "user", names: ["city", "ghost"], categoryId: null } });
    fails("not_found", "GET", "/nothing-here");
    fails("method_not_allowed", "DELETE", "/tree");
    fails("bad_request", "GET", "/categories/abc");
    fails("bad_request", "GET", "/categories/0");
    fails("bad_request", "GET", "/tags", { query: "sort=popularity" });
    fails("bad_request", "GET", "/tags", { query: "limit=-1" });
    fails("bad_request", "GET", "/tags", { query: "status=live" });
    fails("bad_request", "GET", "/tags", { query: "colour=red" });
    fails("bad_request", "GET", "/tags/user/%E0%A4%A");
    fails("bad_request", "POST", "/categories", { body: "not an object" });
    fails("bad_request", "POST", "/categories", { body: [1, 2] });
    fails("bad_request", "POST", "/categories", { body: { name: "" } });
    fails("bad_request", "POST", "/categories", { body: { name: "x".repeat(101) } });
    fails("bad_request", "POST", "/categories", { body: { name: "ok", parentId: "1" } });
    fails("bad_request", "POST", "/categories", { body: { name: "bad\u0000name" } });
    fails("bad_request", "POST", "/tags", { body: { entity: "user", name: "x".repeat(129), type: "int" } });
    fails("bad_request", "POST", "/tags", { body: { entity: "user", name: "has`backtick", type: "int" } });
    fails("bad_request", "POST", "/tags", { body: { entity: "us er", name: "ok", type: "int" } });
    fails("bad_request", "POST", "/tags", { body: { entity: "user", name: "ok", type: "string" } });
    fails("bad_request", "PATCH", "/tags/user/city", { body: { description: "x".repeat(4001), version: 1 } });
    fails("bad_request", "PATCH", "/tags/user/city", { body: { categoryId: -3, version: 1 } });
    fails("not_found", "PATCH", "/tags/user/city", { body: { categoryId: 777, version: 1 } });
    fails("bad_request", "PATCH", "/tags/user/city", { body: { version: 1 } });
  });

  it("stores SQL-like text as text", () => {
    const evil = "x'); DROP TABLE tags; --";
    const c = call("POST", "/categories", { body: { name: evil } }).body as { id: number; name: string };
    expect(c.name).toBe(evil);
    const r = call("PATCH", "/tags/user/city", { body: { description: evil, displayName: "1 OR 1=1", version: 1 } });
    expect(r.body).toMatchObject({ description: evil });
    const tagName = "a' OR '1'='1";
    call("POST", "/tags", { body: { entity: "user", name: tagName, type: "bool" } });
    expect(call("GET", `/tags/user/${encodeURIComponent(tagName)}`).body).toMatchObject({ name: tagName });
    fails("not_found", "GET", `/tags/user/${encodeURIComponent("city' --")}`);
    expect((call("GET", "/stats").body as { tags: number }).tags).toBe(4);
    expect((call("GET", "/tags", { query: `q=${encodeURIComponent("DROP TABLE")}` }).body as { total: number }).total).toBe(1);
  });
});

describe("catalog HTTP handler (multi-user mode)", () => {
  let tokens: Record<string, string>;
  const as = (name: string) => cat.authenticate(`Bearer ${tokens[name]}`);
  beforeEach(() => {
    tokens = {};
    const first = call("POST", "/users", { body: { name: "ada", roles: ["admin"] } });
    expect(first.status).toBe(201);
    tokens["ada"] = (first.body as { token: string }).token;
    for (const [name, role] of [["olivia", "analyst"], ["rita", "reviewer"], ["vic", "viewer"], ["tom", "tag_admin"]] as const) {
      const r = call("POST", "/users", { body: { name, roles: [role] }, principal: as("ada") });
      tokens[name] = (r.body as { token: string }).token;
    }
  });

  it("needs a token, and the right role", () => {
    fails("unauthorized", "GET", "/tree");
    fails("unauthorized", "GET", "/tags");
    expect(call("GET", "/tree", { principal: as("vic") }).status).toBe(200);
    fails("forbidden", "POST", "/categories", { body: { name: "x" }, principal: as("vic") });
    fails("forbidden", "PATCH", "/tags/user/city", { body: { grade: "L2", version: 1 }, principal: as("olivia") });
    fails("forbidden", "GET", "/users", { principal: as("tom") });
    expect(call("POST", "/categories", { body: { name: "x" }, principal: as("tom") }).status).toBe(201);
    expect(call("GET", "/me", { principal: as("rita") }).body).toEqual({
      name: "rita",
      roles: ["reviewer"],
      openMode: false,
      actions: ["read", "query", "review"],
    });
  });

  it("runs the review flow with four eyes", () => {
    call("PATCH", "/tags/user/age", { body: { owner: "olivia", version: 1 }, principal: as("tom") });
    // Loads in open mode published age; take a new tag through review instead.
    cat.registerLoadedTags("user", [{ name: "ltv", type: "float" }], "nightly", "olivia");
    const path = "/tags/user/ltv/transitions";
    fails("forbidden", "POST", path, { body: { to: "pending_review" }, principal: as("rita") });
    expect(call("POST", path, { body: { to: "pending_review" }, principal: as("olivia") }).body).toMatchObject({ status: "pending_review" });
    fails("forbidden", "POST", path, { body: { to: "published" }, principal: as("olivia") });
    fails("forbidden", "POST", path, { body: { to: "published" }, principal: as("tom") });
    expect(call("POST", path, { body: { to: "published" }, principal: as("rita") }).body).toMatchObject({ status: "published", statusChangedBy: "rita" });
    const entries = (call("GET", "/audit", { query: "tag=ltv", principal: as("vic") }).body as { entries: { action: string; actor: string }[] }).entries;
    expect(entries.map((e) => [e.action, e.actor])).toEqual([["approve", "rita"], ["submit", "olivia"], ["create", "olivia"]]);
    // The owner edits the description, but may not hand the tag to someone else.
    const v = (call("GET", "/tags/user/ltv", { principal: as("olivia") }).body as { version: number }).version;
    expect(call("PATCH", "/tags/user/ltv", { body: { description: "终身价值", version: v }, principal: as("olivia") }).status).toBe(200);
    fails("forbidden", "PATCH", "/tags/user/ltv", { body: { owner: "vic", version: v + 1 }, principal: as("olivia") });
    fails("bad_request", "PATCH", "/tags/user/ltv", { body: { owner: "nobody", version: v + 1 }, principal: as("tom") });
  });

  it("manages users and tokens", () => {
    const admin = as("ada");
    expect((call("GET", "/users", { principal: admin }).body as { users: unknown[] }).users).toHaveLength(5);
    expect(call("PATCH", "/users/vic", { body: { roles: ["analyst"] }, principal: admin }).body).toMatchObject({ roles: ["analyst"] });
    expect(as("vic")?.roles).toEqual(["analyst"]);
    const t = call("POST", "/users/vic/tokens", { principal: admin });
    expect(t.status).toBe(201);
    const { token, info } = t.body as { token: string; info: { id: number } };
    expect(cat.authenticate(token)?.name).toBe("vic");
    call("DELETE", `/users/vic/tokens/${info.id}`, { principal: admin });
    expect(cat.authenticate(token)).toBeNull();
    call("PATCH", "/users/vic", { body: { disabled: true }, principal: admin });
    expect(as("vic")).toBeNull();
    fails("conflict", "PATCH", "/users/ada", { body: { disabled: true }, principal: admin });
    fails("conflict", "POST", "/users", { body: { name: "vic", roles: ["viewer"] }, principal: admin });
    fails("bad_request", "POST", "/users", { body: { name: "zed", roles: ["root"] }, principal: admin });
    fails("not_found", "DELETE", "/users/nobody", { principal: admin });
    expect(call("DELETE", "/users/vic", { principal: admin }).body).toEqual({ deleted: "vic" });
    fails("conflict", "DELETE", "/users/ada", { principal: admin });
  });
});
