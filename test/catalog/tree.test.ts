import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CategoryNode, TagCatalog } from "../../engine/catalog/index.js";
import { rng } from "./fixture.js";
import { cleanupDirs, openCatalog, snapshot, tempDir } from "./helpers.js";

let dir: string;
let cat: TagCatalog;
const coverage = new Map<string, number>();

beforeEach(() => {
  dir = tempDir();
  coverage.clear();
  cat = openCatalog(dir, { coverage: (e, t) => coverage.get(`${e}.${t}`) });
});
afterEach(() => {
  cat.close();
  cleanupDirs();
});

const file = () => join(dir, "catalog.db");

function flatten(nodes: readonly CategoryNode[], out: CategoryNode[] = []): CategoryNode[] {
  for (const n of nodes) {
    out.push(n);
    flatten(n.children, out);
  }
  return out;
}

describe("the tag tree", () => {
  it("nests to any depth and counts direct and recursive tags (random trees against a naive oracle)", () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const d = tempDir();
      const c = openCatalog(d);
      try {
        const parents = new Map<number, number | null>();
        const ids: number[] = [];
        for (let i = 0; i < 40; i++) {
          const parentId = ids.length && rand() < 0.8 ? ids[Math.floor(rand() * ids.length)]! : null;
          const id = c.createCategory({ name: `c${i}`, parentId }, null).id;
          parents.set(id, parentId);
          ids.push(id);
        }
        const tags = Array.from({ length: 200 }, (_, i) => ({ name: `tag${i}`, type: "int" as const }));
        c.registerLoadedTags("user", tags, "load");
        const placed = new Map<string, number | null>();
        const groups = new Map<number | null, string[]>();
        for (const t of tags) {
          const cid = rand() < 0.9 ? ids[Math.floor(rand() * ids.length)]! : null;
          placed.set(t.name, cid);
          groups.set(cid, [...(groups.get(cid) ?? []), t.name]);
        }
        for (const [cid, names] of groups) c.moveTags("user", names, cid, null);
        // A few random legal moves, so the oracle also covers re-parenting.
        for (let i = 0; i < 15; i++) {
          const id = ids[Math.floor(rand() * ids.length)]!;
          const target = ids[Math.floor(rand() * ids.length)]!;
          let within = false;
          for (let p: number | null = target; p !== null; p = parents.get(p) ?? null) if (p === id) within = true;
          if (within) continue;
          c.updateCategory(id, { parentId: target }, { actor: null });
          parents.set(id, target);
        }
        const isUnder = (cat: number | null, root: number): boolean => {
          for (let p = cat; p !== null; p = parents.get(p) ?? null) if (p === root) return true;
          return false;
        };
        const nodes = flatten(c.tree().roots);
        expect(nodes.map((n) => n.id).sort((a, b) => a - b), `seed ${seed}`).toEqual([...ids].sort((a, b) => a - b));
        for (const node of nodes) {
          const direct = [...placed.values()].filter((p) => p === node.id).length;
          const total = [...placed.values()].filter((p) => p !== null && isUnder(p, node.id)).length;
          expect([node.id, node.directTags, node.totalTags], `seed ${seed}`).toEqual([node.id, direct, total]);
          expect(node.parentId, `seed ${seed}`).toBe(parents.get(node.id));
        }
        expect(c.tree().uncategorized).toBe([...placed.values()].filter((p) => p === null).length);
      } finally {
        c.close();
      }
    }
  });

  it("creates, renames, moves and lists one category with its path, children and tags with coverage", () => {
    const root = cat.createCategory({ name: "行为", description: "behaviour" }, null);
    const trade = cat.createCategory({ name: "交易", parentId: root.id }, null);
    const visit = cat.createCategory({ name: "访问", parentId: root.id }, null);
    cat.registerLoadedTags("user", [{ name: "orders_30d", type: "int" }, { name: "spend_30d", type: "float" }, { name: "visits_7d", type: "int" }], "l");
    coverage.set("user.orders_30d", 812);
    coverage.set("user.spend_30d", 790);
    cat.moveTags("user", ["orders_30d", "spend_30d"], trade.id, null);
    cat.moveTags("user", ["visits_7d"], visit.id, null);
    const listing = cat.category(trade.id);
    expect(listing.path).toEqual([{ id: root.id, name: "行为" }, { id: trade.id, name: "交易" }]);
    expect(listing.category).toMatchObject({ directTags: 2, totalTags: 2 });
    expect(listing.tags.items.map((t) => [t.name, t.coverage])).toEqual([["orders_30d", 812], ["spend_30d", 790]]);
    expect(cat.tree({ withTags: true }).roots[0]!.children[0]!.tags!.map((t) => t.coverage)).toEqual([812, 790]);

    const renamed = cat.updateCategory(trade.id, { name: "交易 Transactions" }, { actor: null, expectedVersion: 1 });
    expect(renamed).toMatchObject({ name: "交易 Transactions", version: 2 });
    expect(cat.getTag("user", "spend_30d").categoryPath).toEqual(["行为", "交易 Transactions"]);

    cat.updateCategory(visit.id, { parentId: trade.id }, { actor: null });
    expect(cat.category(trade.id).category).toMatchObject({ directTags: 2, totalTags: 3 });
    expect(cat.tree({ depth: 0 }).roots[0]).toMatchObject({ totalTags: 3, children: [] });
    cat.updateCategory(visit.id, { parentId: null }, { actor: null });
    expect(cat.tree().roots.map((r) => r.name)).toEqual(["行为", "访问"]);
    expect(cat.audit({ categoryId: visit.id }).map((e) => e.action)).toEqual(["category_move", "category_move", "category_create"]);
  });

  it("refuses cycles: a category under itself or under its own descendant", () => {
    const a = cat.createCategory({ name: "a" }, null);
    const b = cat.createCategory({ name: "b", parentId: a.id }, null);
    const c = cat.createCategory({ name: "c", parentId: b.id }, null);
    const before = snapshot(file());
    for (const parentId of [a.id, b.id, c.id]) {
      expect(() => cat.updateCategory(a.id, { parentId }, { actor: null })).toThrow(expect.objectContaining({ code: "cycle" }));
    }
    expect(() => cat.updateCategory(b.id, { parentId: c.id }, { actor: null })).toThrow(expect.objectContaining({ code: "cycle" }));
    expect(snapshot(file())).toEqual(before);
    expect(flatten(cat.tree().roots).map((n) => [n.name, n.parentId])).toEqual([["a", null], ["b", a.id], ["c", b.id]]);
  });

  it("deletes only empty categories, or with an explicit moveTo for its tags and children", () => {
    const a = cat.createCategory({ name: "a" }, null);
    const b = cat.createCategory({ name: "b", parentId: a.id }, null);
    const target = cat.createCategory({ name: "target" }, null);
    cat.registerLoadedTags("user", [{ name: "x", type: "bool" }, { name: "y", type: "bool" }], "l");
    cat.moveTags("user", ["x", "y"], a.id, null);
    const before = snapshot(file());
    expect(() => cat.deleteCategory(a.id, { actor: null })).toThrow(
      expect.objectContaining({ code: "conflict", message: expect.stringContaining("2 tags and 1 subcategories") }),
    );
    expect(() => cat.deleteCategory(a.id, { actor: null, moveTo: b.id })).toThrow(expect.objectContaining({ code: "cycle" }));
    expect(() => cat.deleteCategory(a.id, { actor: null, moveTo: 9999 })).toThrow(expect.objectContaining({ code: "not_found" }));
    expect(snapshot(file())).toEqual(before);

    expect(cat.deleteCategory(a.id, { actor: null, moveTo: target.id })).toEqual({ movedTags: 2, movedCategories: 1 });
    expect(cat.category(target.id).category).toMatchObject({ directTags: 2, totalTags: 2, children: [expect.objectContaining({ id: b.id })] });
    expect(cat.getTag("user", "x").categoryPath).toEqual(["target"]);
    expect(() => cat.category(a.id)).toThrow(expect.objectContaining({ code: "not_found" }));
    // Empty: no moveTo needed. To the root: children become roots, tags uncategorized.
    expect(cat.deleteCategory(b.id, { actor: null })).toEqual({ movedTags: 0, movedCategories: 0 });
    expect(cat.deleteCategory(target.id, { actor: null, moveTo: null })).toEqual({ movedTags: 2, movedCategories: 0 });
    expect(cat.tree()).toMatchObject({ roots: [], uncategorized: 2 });
  });

  it("keeps sibling names unique, also when a delete moves children next to a namesake", () => {
    const a = cat.createCategory({ name: "a" }, null);
    cat.createCategory({ name: "dup", parentId: a.id }, null);
    cat.createCategory({ name: "dup" }, null);
    expect(() => cat.createCategory({ name: "dup" }, null)).toThrow(expect.objectContaining({ code: "conflict" }));
    const before = snapshot(file());
    expect(() => cat.deleteCategory(a.id, { actor: null, moveTo: null })).toThrow(expect.objectContaining({ code: "conflict" }));
    expect(snapshot(file())).toEqual(before);
  });

  it("counts per entity when asked", () => {
    const c1 = cat.createCategory({ name: "c1" }, null);
    cat.registerLoadedTags("user", [{ name: "a", type: "int" }], "l");
    cat.registerLoadedTags("store", [{ name: "a", type: "int" }, { name: "b", type: "int" }], "l");
    cat.moveTags("store", ["a", "b"], c1.id, null);
    cat.moveTags("user", ["a"], c1.id, null);
    expect(cat.tree({ entity: "store" })).toMatchObject({ roots: [{ directTags: 2, totalTags: 2 }], totalTags: 2, uncategorized: 0 });
    expect(cat.tree()).toMatchObject({ roots: [{ directTags: 3 }], totalTags: 3 });
  });
});
