import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ACTIONS, ROLES, ROLE_ACTIONS, authorize, bearerToken, type Action, type Role } from "../../engine/catalog/index.js";
import { cleanupDirs, openCatalog, snapshot, tempDir, who } from "./helpers.js";

afterEach(cleanupDirs);

describe("roles and actions", () => {
  // The documented table, written out independently of ROLE_ACTIONS.
  const TABLE: Record<Role, Action[]> = {
    viewer: ["read"],
    analyst: ["read", "query"],
    loader: ["read", "query", "load"],
    tag_admin: ["read", "query", "manage_tags"],
    reviewer: ["read", "query", "review"],
    admin: ["read", "query", "load", "manage_tags", "review", "admin"],
  };
  it.each(ROLES.flatMap((r) => ACTIONS.map((a) => [r, a] as const)))("%s may %s: as documented", (role, action) => {
    expect(authorize(who("x", role), action)).toBe(TABLE[role].includes(action));
    expect(ROLE_ACTIONS[role].includes(action)).toBe(TABLE[role].includes(action));
  });
  it("unions the actions of several roles; nobody may do anything without a principal", () => {
    const p = who("x", "loader", "reviewer");
    expect(ACTIONS.filter((a) => authorize(p, a))).toEqual(["read", "query", "load", "review"]);
    for (const a of ACTIONS) expect(authorize(null, a)).toBe(false);
  });
});

describe("users and tokens", () => {
  it("open mode until the first user; tokens authenticate, are stored only hashed, and can be revoked", () => {
    const dir = tempDir();
    const cat = openCatalog(dir);
    expect(cat.openMode()).toBe(true);
    expect(cat.authorize(null, "admin")).toBe(true);
    const { user, token } = cat.addUser("alice", ["admin", "reviewer"], null);
    expect(user).toMatchObject({ name: "alice", roles: ["admin", "reviewer"], disabled: false });
    expect(token).toMatch(/^lasso_[A-Za-z0-9_-]{43}$/);
    expect(cat.openMode()).toBe(false);
    expect(cat.authorize(null, "read")).toBe(false);
    expect(cat.authenticate(`Bearer ${token}`)).toEqual({ name: "alice", roles: ["admin", "reviewer"] });
    expect(cat.authenticate(token)).toEqual({ name: "alice", roles: ["admin", "reviewer"] });
    expect(cat.authenticate(`bearer ${token}x`)).toBeNull();
    expect(cat.authenticate(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"))).toBeNull();
    expect(cat.authenticate("")).toBeNull();
    expect(cat.authenticate("Bearer ")).toBeNull();
    expect(cat.authenticate("Basic dXNlcjpwYXNz")).toBeNull();

    // Only the SHA-256 is stored: the token's text appears nowhere in the file.
    cat.close();
    const raw = readFileSync(join(dir, "catalog.db"));
    const wal = (() => {
      try {
        return readFileSync(join(dir, "catalog.db-wal"));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    expect(raw.includes(token)).toBe(false);
    expect(wal.includes(token)).toBe(false);
    const tokens = snapshot(join(dir, "catalog.db"))["api_tokens"] as { token_hash: Buffer; hint: string }[];
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.token_hash).toHaveLength(32);
    expect(token.startsWith(tokens[0]!.hint)).toBe(true);

    const again = openCatalog(dir);
    expect(again.authenticate(token)?.name).toBe("alice");
    const second = again.issueToken("alice", who("alice", "admin"));
    expect(again.authenticate(second.token)?.name).toBe("alice");
    again.revokeToken("alice", second.info.id, who("alice", "admin"));
    expect(again.authenticate(second.token)).toBeNull();
    expect(again.authenticate(token)?.name).toBe("alice");
    expect(again.audit({ user: "alice" }).map((e) => e.action)).toEqual(["token_revoke", "token_issue", "user_add"]);
    expect(JSON.stringify(again.audit({ user: "alice" }))).not.toContain(second.token);
    again.close();
  });

  it("disabled users do not authenticate; roles changes apply at once", () => {
    const cat = openCatalog();
    const admin = cat.addUser("root", ["admin"], null);
    const bob = cat.addUser("bob", ["viewer"], who("root", "admin"));
    expect(cat.authenticate(bob.token)?.roles).toEqual(["viewer"]);
    cat.setUserRoles("bob", ["analyst", "loader"], who("root", "admin"));
    expect(cat.authenticate(bob.token)?.roles).toEqual(["analyst", "loader"]);
    cat.setUserDisabled("bob", true, who("root", "admin"));
    expect(cat.authenticate(bob.token)).toBeNull();
    expect(() => cat.principalFor("bob")).toThrow(expect.objectContaining({ code: "forbidden" }));
    cat.setUserDisabled("bob", false, who("root", "admin"));
    expect(cat.authenticate(bob.token)?.name).toBe("bob");
    expect(cat.authenticate(admin.token)?.name).toBe("root");
    cat.close();
  });

  it("needs the admin permission, validates names and roles, and never locks the admins out", () => {
    const cat = openCatalog();
    cat.addUser("root", ["admin"], null);
    const root = who("root", "admin");
    expect(() => cat.addUser("eve", ["viewer"], who("mallory", "tag_admin"))).toThrow(expect.objectContaining({ code: "forbidden" }));
    expect(() => cat.addUser("eve", ["viewer"], null)).toThrow(expect.objectContaining({ code: "unauthorized" }));
    expect(() => cat.addUser("root", ["viewer"], root)).toThrow(expect.objectContaining({ code: "conflict" }));
    expect(() => cat.addUser("bad name", ["viewer"], root)).toThrow(expect.objectContaining({ code: "bad_request" }));
    expect(() => cat.addUser("x".repeat(65), ["viewer"], root)).toThrow(/at most 64/);
    expect(() => cat.addUser("eve", [], root)).toThrow(/at least one role/);
    expect(() => cat.addUser("eve", ["superuser" as Role], root)).toThrow(/role must be one of/);
    expect(() => cat.setUserRoles("root", ["viewer"], root)).toThrow(/no enabled admin/);
    expect(() => cat.setUserDisabled("root", true, root)).toThrow(/no enabled admin/);
    expect(() => cat.removeUser("root", root)).toThrow(/last user/);
    cat.addUser("second", ["admin"], root);
    cat.setUserDisabled("root", true, root);
    expect(() => cat.removeUser("second", root)).toThrow(/no enabled admin/);
    expect(cat.listUsers().map((u) => [u.name, u.disabled])).toEqual([["root", true], ["second", false]]);
    cat.removeUser("root", who("second", "admin"));
    cat.removeUser("second", who("second", "admin"), { force: true });
    expect(cat.openMode()).toBe(true);
    cat.close();
  });

  it("parses bearer headers strictly", () => {
    expect(bearerToken("Bearer lasso_abc")).toBe("lasso_abc");
    expect(bearerToken("  BEARER   lasso_abc  ")).toBe("lasso_abc");
    expect(bearerToken("Bearer other_abc")).toBeNull();
    expect(bearerToken("Bearer lasso_a lasso_b")).toBeNull();
    expect(bearerToken(`Bearer lasso_${"a".repeat(300)}`)).toBeNull();
  });
});
