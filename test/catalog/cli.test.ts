import { afterEach, describe, expect, it, vi } from "vitest";
import { command as categories } from "../../server/commands/categories.js";
import { command as tags } from "../../server/commands/tags.js";
import { command as users } from "../../server/commands/users.js";
import type { Command } from "../../server/commands/command.js";
import { cleanupDirs, openCatalog, tempDir } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
  cleanupDirs();
});

async function run(cmd: Command, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await cmd.run(argv);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

describe("lasso users / categories / tags (offline)", () => {
  it("have --help and reject bad flags with exit code 2", async () => {
    for (const cmd of [users, categories, tags]) {
      const help = await run(cmd, ["--help"]);
      expect(help.code).toBe(0);
      expect(help.out).toContain(`lasso ${cmd.name}`);
      expect(cmd.usage).toContain("--data DIR");
      const bad = await run(cmd, ["--no-such-flag"]);
      expect(bad.code).toBe(2);
      expect((await run(cmd, [])).code).toBe(2);
      expect((await run(cmd, ["frobnicate"])).code).toBe(2);
    }
  });

  it("run a whole session: tree, tags, users, review", async () => {
    const data = tempDir();
    const seed = openCatalog(data);
    seed.registerLoadedTags("user", [{ name: "city", type: "enum" }, { name: "age", type: "int" }], "demo load");
    seed.close();
    const d = ["--data", data];

    const added = await run(categories, ["add", "基础属性", ...d]);
    expect(added).toMatchObject({ code: 0, out: "added category 基础属性 [1]\n" });
    expect((await run(categories, ["add", "地理", "--parent", "1", ...d])).code).toBe(0);
    expect((await run(tags, ["move", "user", "city", "--category", "2", ...d])).out).toBe("moved 1 tag\n");
    expect((await run(tags, ["set", "user", "city", "--display-name", "城市", "--grade", "L2", ...d])).code).toBe(0);
    const tree = await run(categories, ["tree", ...d]);
    expect(tree.out).toBe("基础属性  [1]  0 direct, 1 total\n  地理  [2]  1 direct, 1 total\n(uncategorized: 1; tags: 2)\n");
    const cycle = await run(categories, ["move", "1", "--parent", "2", ...d]);
    expect(cycle.code).toBe(1);
    expect(cycle.err).toMatch(/^lasso categories: cycle: /);
    const found = await run(tags, ["search", "城市", "--json", ...d]);
    expect(JSON.parse(found.out)).toMatchObject({ total: 1, items: [{ name: "city", grade: "L2", categoryPath: ["基础属性", "地理"] }] });

    // The first user: the token alone on stdout, the explanation on stderr.
    const ada = await run(users, ["add", "ada", "--role", "admin", ...d]);
    expect(ada.code).toBe(0);
    expect(ada.out).toMatch(/^lasso_[A-Za-z0-9_-]{43}\n$/);
    expect(ada.err).toMatch(/shown only this once/);
    expect(ada.err).toMatch(/multi-user mode/);
    await run(users, ["add", "rita", "--role", "reviewer", ...d]);
    const list = await run(users, ["list", ...d]);
    expect(list.out).toMatch(/^ada\tadmin\tenabled\ttokens: 1:lasso_/);
    expect(list.out).not.toContain(ada.out.trim());

    // Multi-user mode: changes name who acts, whose roles and the review rules apply.
    const anonymous = await run(tags, ["deprecate", "user", "age", "--reason", "old", ...d]);
    expect(anonymous.code).toBe(2);
    expect(anonymous.err).toMatch(/--as USER/);
    expect((await run(tags, ["create", "user", "ltv", "--type", "float", "--as", "ada", ...d])).code).toBe(0);
    expect((await run(tags, ["submit", "user", "ltv", "--as", "ada", ...d])).out).toBe("user.ltv is now pending_review\n");
    const self = await run(tags, ["approve", "user", "ltv", "--as", "ada", ...d]);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/forbidden: ada submitted tag/);
    expect((await run(tags, ["approve", "user", "ltv", "--as", "rita", ...d])).out).toBe("user.ltv is now published\n");
    expect((await run(tags, ["transition", "user", "ltv", "--to", "draft", "--as", "rita", "--reason", "x", ...d])).code).toBe(1);
    const audit = await run(tags, ["audit", "--tag", "ltv", ...d]);
    expect(audit.out.trim().split("\n").map((l) => l.split("  ").slice(1, 3))).toEqual([
      ["rita", "approve"],
      ["ada", "submit"],
      ["ada", "create"],
    ]);
    const show = await run(tags, ["show", "user", "city", ...d]);
    expect(show.out).toContain("category           基础属性 / 地理 [2]");
    const stats = await run(tags, ["stats", "--json", ...d]);
    expect(JSON.parse(stats.out)).toMatchObject({ tags: 3, byStatus: { published: 3 } });

    expect((await run(categories, ["rm", "1", "--as", "ada", ...d])).code).toBe(1);
    expect((await run(categories, ["rm", "1", "--move-to", "root", "--as", "ada", ...d])).out).toBe(
      "deleted category 1 (moved 0 tags, 1 subcategories)\n",
    );
    expect((await run(users, ["rm", "ada", ...d])).code).toBe(1); // the last admin
    expect((await run(users, ["rm", "rita", ...d])).out).toBe("removed user rita\n");
    const token = await run(users, ["token", "ada", ...d]);
    expect(token.out).toMatch(/^lasso_/);
    const again = openCatalog(data);
    expect(again.authenticate(token.out.trim())?.name).toBe("ada");
    expect(again.authenticate(ada.out.trim())?.name).toBe("ada");
    again.close();
  });

  it("reads LASSO_DATA when --data is absent", async () => {
    const data = tempDir();
    vi.stubEnv("LASSO_DATA", data);
    try {
      expect((await run(categories, ["add", "x"])).code).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
    const c = openCatalog(data);
    expect(c.tree().roots.map((r) => r.name)).toEqual(["x"]);
    c.close();
  });
});
