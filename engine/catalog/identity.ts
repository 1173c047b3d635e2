/**
 * Roles, actions and API tokens. Tokens are `lasso_` + 43 base64url characters (32 random bytes); only
 * their SHA-256 is stored, so a stolen catalog.db yields no usable token. Lookups go by hash (the hash of
 * a random secret reveals nothing through index timing) and the match is confirmed with a constant-time
 * compare.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Action, Principal, Role } from "./types.js";

/**
 * The role → action table (docs/catalog.md repeats it). A user holds one or more roles and may do the
 * union of their actions.
 *
 * | role      | read | query | load | manage_tags | review | admin |
 * |-----------|------|-------|------|-------------|--------|-------|
 * | viewer    |  ✓   |       |      |             |        |       |
 * | analyst   |  ✓   |  ✓    |      |             |        |       |
 * | loader    |  ✓   |  ✓    |  ✓   |             |        |       |
 * | tag_admin |  ✓   |  ✓    |      |     ✓       |        |       |
 * | reviewer  |  ✓   |  ✓    |      |             |   ✓    |       |
 * | admin     |  ✓   |  ✓    |  ✓   |     ✓       |   ✓    |   ✓   |
 */
export const ROLE_ACTIONS: Readonly<Record<Role, readonly Action[]>> = {
  viewer: ["read"],
  analyst: ["read", "query"],
  loader: ["read", "query", "load"],
  tag_admin: ["read", "query", "manage_tags"],
  reviewer: ["read", "query", "review"],
  admin: ["read", "query", "load", "manage_tags", "review", "admin"],
};

/** The implicit principal of open single-user mode (no users configured): may do everything. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({ name: "local", roles: Object.freeze(["admin"] as Role[]) });

export function authorize(principal: Principal | null, action: Action): boolean {
  if (principal === null) return false;
  for (const role of principal.roles) if (ROLE_ACTIONS[role].includes(action)) return true;
  return false;
}

export const TOKEN_PREFIX = "lasso_";
const TOKEN_BYTES = 32;
const TOKEN_HINT_CHARS = TOKEN_PREFIX.length + 6;

export function newToken(): { token: string; hash: Buffer; hint: string } {
  const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString("base64url");
  return { token, hash: hashToken(token), hint: token.slice(0, TOKEN_HINT_CHARS) };
}

export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Constant-time equality of two token hashes. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Accepts a bare token or an `Authorization` header value (`Bearer <token>`, any case). */
export function bearerToken(header: string): string | null {
  const m = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(header);
  const token = m?.[1];
  if (token === undefined || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  return token;
}
