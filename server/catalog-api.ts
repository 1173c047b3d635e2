/**
 * `/v1/catalog/*` as a framework-independent handler: the server decodes the request (JSON body,
 * query string, bearer token → principal) and calls `handleCatalog`; this file checks shapes and maps
 * routes to the catalog. Every failure is a LassoError (the server turns it into `{error: {...}}`).
 *
 * ```ts
 * const principal = cat.authenticate(req.getHeader("authorization"));
 * const { status, body } = handleCatalog(cat, { method: "GET", path: "/tags", query, body: undefined, principal });
 * ```
 * Paths are as received (percent-encoded); each segment is decoded here, so a tag named `a/b` is
 * `/tags/user/a%2Fb`. Endpoints and examples: docs/catalog.md.
 */
import { LassoError } from "../engine/errors.js";
import type { TagType } from "../engine/expr/ast.js";
import {
  GRADES,
  PRODUCTION_TYPES,
  ROLES,
  SORT_KEYS,
  TAG_STATUSES,
  TAG_TYPES,
  UPDATE_FREQUENCIES,
  ACTIONS,
  type Action,
  type Principal,
  type Role,
  type SortKey,
  type TagCatalog,
  type TagPatch,
  type TagQuery,
  type TagStatus,
} from "../engine/catalog/index.js";

export interface CatalogRequest {
  method: string;
  /** The path after `/v1/catalog`, e.g. `/tags/user/city`. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  principal: Principal | null;
}

export interface CatalogResponse {
  status: number;
  body: unknown;
}

type Params = readonly string[];
type Handler = (cat: TagCatalog, req: CatalogRequest, params: Params, actor: Principal | null) => CatalogResponse;

interface Route {
  readonly method: string;
  /** Segments; `:x` matches any one segment. */
  readonly pattern: readonly string[];
  /** The permission checked before the handler runs (writes are also checked, in detail, by the catalog). */
  readonly needs: Action;
  readonly query?: readonly string[];
  readonly run: Handler;
}

const TAG_QUERY_PARAMS = [
  "q", "entity", "status", "type", "grade", "productionType", "updateFrequency", "owner", "dataSource", "category",
  "subtree", "coverageMin", "coverageMax", "queryCountMin", "queryCountMax", "viewCountMin", "ratingMin", "usedSince",
  "unusedSince", "sort", "order", "offset", "limit",
] as const;

const TAG_PATCH_FIELDS: Readonly<Record<keyof TagPatch, "string" | "nullableString" | "category">> = {
  displayName: "string",
  description: "string",
  categoryId: "category",
  updateFrequency: "string",
  dataSource: "string",
  grade: "string",
  productionType: "string",
  owner: "nullableString",
};
const STORE_FIELDS = ["name", "entity", "type"];

const ok = (body: unknown): CatalogResponse => ({ status: 200, body });
const created = (body: unknown): CatalogResponse => ({ status: 201, body });

const ROUTES: readonly Route[] = [
  {
    method: "GET", pattern: ["me"], needs: "read",
    run: (cat, _req, _p, actor) => {
      const who = actor ?? { name: "local", roles: ["admin"] as Role[] };
      return ok({ name: who.name, roles: who.roles, openMode: cat.openMode(), actions: ACTIONS.filter((a) => cat.authorize(actor, a)) });
    },
  },
  {
    method: "GET", pattern: ["tree"], needs: "read", query: ["root", "depth", "tags", "entity"],
    run: (cat, req) =>
      ok(
        cat.tree({
          rootId: intParam(req.query, "root"),
          depth: intParam(req.query, "depth"),
          withTags: boolParam(req.query, "tags"),
          entity: req.query.get("entity") ?? undefined,
        }),
      ),
  },
  {
    method: "GET", pattern: ["categories", ":id"], needs: "read", query: ["entity", "offset", "limit"],
    run: (cat, req, [id]) =>
      ok(
        cat.category(idParam(id!), {
          entity: req.query.get("entity") ?? undefined,
          offset: intParam(req.query, "offset"),
          limit: intParam(req.query, "limit"),
        }),
      ),
  },
  {
    method: "POST", pattern: ["categories"], needs: "manage_tags",
    run: (cat, req, _p, actor) => {
      const b = fields(req.body, ["name", "parentId", "description"]);
      return created(
        cat.createCategory({ name: str(b, "name", true)!, parentId: categoryRef(b, "parentId"), description: str(b, "description") }, actor),
      );
    },
  },
  {
    method: "PATCH", pattern: ["categories", ":id"], needs: "manage_tags",
    run: (cat, req, [id], actor) => {
      const b = fields(req.body, ["name", "parentId", "description", "version"]);
      const patch: { name?: string; parentId?: number | null; description?: string } = {};
      const name = str(b, "name");
      if (name !== undefined) patch.name = name;
      if ("parentId" in b) patch.parentId = categoryRef(b, "parentId") ?? null;
      const description = str(b, "description");
      if (description !== undefined) patch.description = description;
      return ok(cat.updateCategory(idParam(id!), patch, { actor, expectedVersion: version(b, true) }));
    },
  },
  {
    method: "DELETE", pattern: ["categories", ":id"], needs: "manage_tags", query: ["moveTo"],
    run: (cat, req, [id], actor) => {
      const raw = req.query.get("moveTo");
      const moveTo = raw === null ? undefined : raw === "root" ? null : idParam(raw, "moveTo");
      const categoryId = idParam(id!);
      return ok({ deleted: categoryId, ...cat.deleteCategory(categoryId, { actor, moveTo }) });
    },
  },
  {
    method: "GET", pattern: ["tags"], needs: "read", query: TAG_QUERY_PARAMS,
    run: (cat, req) => ok(cat.searchTags(tagQuery(req.query))),
  },
  {
    method: "POST", pattern: ["tags"], needs: "manage_tags",
    run: (cat, req, _p, actor) => {
      const b = fields(req.body, ["entity", "name", "type", ...Object.keys(TAG_PATCH_FIELDS)]);
      const patch = tagPatch(b);
      return created(cat.createTag({ ...patch, entity: str(b, "entity", true)!, name: str(b, "name", true)!, type: str(b, "type", true) as TagType }, actor));
    },
  },
  {
    method: "POST", pattern: ["tags", "move"], needs: "manage_tags",
    run: (cat, req, _p, actor) => {
      const b = fields(req.body, ["entity", "names", "categoryId"]);
      const names = b["names"];
      if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
        throw new LassoError("bad_request", "names must be an array of tag names");
      }
      if (!("categoryId" in b)) throw new LassoError("bad_request", "categoryId is required (a category id, or null for uncategorized)");
      return ok({ moved: cat.moveTags(str(b, "entity", true)!, names as string[], categoryRef(b, "categoryId") ?? null, actor) });
    },
  },
  {
    method: "GET", pattern: ["tags", ":entity", ":name"], needs: "read",
    run: (cat, _req, [entity, name]) => ok(cat.getTag(entity!, name!, { countView: true })),
  },
  {
    method: "PATCH", pattern: ["tags", ":entity", ":name"], needs: "read",
    run: (cat, req, [entity, name], actor) => {
      const b = fields(req.body, [...Object.keys(TAG_PATCH_FIELDS), "version"], STORE_FIELDS);
      return ok(cat.updateTag(entity!, name!, tagPatch(b), { actor, expectedVersion: version(b, true) }));
    },
  },
  {
    method: "POST", pattern: ["tags", ":entity", ":name", "transitions"], needs: "read",
    run: (cat, req, [entity, name], actor) => {
      const b = fields(req.body, ["to", "reason", "version"]);
      const to = str(b, "to", true)!;
      if (!(TAG_STATUSES as readonly string[]).includes(to)) {
        throw new LassoError("bad_request", `to must be one of ${TAG_STATUSES.join(", ")}; got ${JSON.stringify(to)}`);
      }
      return ok(cat.transitionTag(entity!, name!, to as TagStatus, { actor, reason: str(b, "reason"), expectedVersion: version(b, false) }));
    },
  },
  {
    method: "PUT", pattern: ["tags", ":entity", ":name", "rating"], needs: "read",
    run: (cat, req, [entity, name], actor) => {
      const b = fields(req.body, ["stars", "comment"]);
      if (!("stars" in b)) throw new LassoError("bad_request", "stars is required (1 to 5)");
      return ok(cat.rateTag(entity!, name!, { stars: b["stars"] as number, comment: str(b, "comment") }, actor));
    },
  },
  {
    method: "DELETE", pattern: ["tags", ":entity", ":name", "rating"], needs: "read",
    run: (cat, _req, [entity, name], actor) => ok(cat.removeRating(entity!, name!, actor)),
  },
  { method: "GET", pattern: ["stats"], needs: "read", run: (cat) => ok(cat.stats()) },
  {
    method: "GET", pattern: ["audit"], needs: "read", query: ["tag", "entity", "category", "user", "actor", "action", "before", "limit"],
    run: (cat, req) =>
      ok({
        entries: cat.audit({
          tag: req.query.get("tag") ?? undefined,
          entity: req.query.get("entity") ?? undefined,
          categoryId: intParam(req.query, "category"),
          user: req.query.get("user") ?? undefined,
          actor: req.query.get("actor") ?? undefined,
          action: req.query.get("action") ?? undefined,
          before: intParam(req.query, "before"),
          limit: intParam(req.query, "limit"),
        }),
      }),
  },
  { method: "GET", pattern: ["users"], needs: "admin", run: (cat) => ok({ users: cat.listUsers() }) },
  {
    method: "POST", pattern: ["users"], needs: "admin",
    run: (cat, req, _p, actor) => {
      const b = fields(req.body, ["name", "roles"]);
      return created(cat.addUser(str(b, "name", true)!, roles(b), actor));
    },
  },
  { method: "GET", pattern: ["users", ":name"], needs: "admin", run: (cat, _req, [name]) => ok(cat.user(name!)) },
  {
    method: "PATCH", pattern: ["users", ":name"], needs: "admin",
    run: (cat, req, [name], actor) => {
      const b = fields(req.body, ["roles", "disabled"]);
      if (!("roles" in b) && !("disabled" in b)) throw new LassoError("bad_request", "nothing to change: give roles or disabled");
      if ("disabled" in b && typeof b["disabled"] !== "boolean") throw new LassoError("bad_request", "disabled must be true or false");
      // Roles first, then the flag: each is its own transaction and refuses a change that locks admins out.
      let user = cat.user(name!);
      if ("roles" in b) user = cat.setUserRoles(name!, roles(b), actor);
      if ("disabled" in b) user = cat.setUserDisabled(name!, b["disabled"] as boolean, actor);
      return ok(user);
    },
  },
  {
    method: "DELETE", pattern: ["users", ":name"], needs: "admin",
    run: (cat, _req, [name], actor) => {
      cat.removeUser(name!, actor);
      return ok({ deleted: name });
    },
  },
  {
    method: "POST", pattern: ["users", ":name", "tokens"], needs: "admin",
    run: (cat, _req, [name], actor) => created(cat.issueToken(name!, actor)),
  },
  {
    method: "DELETE", pattern: ["users", ":name", "tokens", ":id"], needs: "admin",
    run: (cat, _req, [name, id], actor) => {
      cat.revokeToken(name!, idParam(id!, "token id"), actor);
      return ok({ revoked: Number(id) });
    },
  },
];

export function handleCatalog(cat: TagCatalog, req: CatalogRequest): CatalogResponse {
  const segments = splitPath(req.path);
  const method = req.method.toUpperCase();
  let pathMatched = false;
  for (const route of ROUTES) {
    const params = match(route.pattern, segments);
    if (params === null) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const actor = req.principal;
    if (actor === null && !cat.openMode()) {
      throw new LassoError("unauthorized", "this catalog has users: send Authorization: Bearer <token>");
    }
    if (!cat.authorize(actor, route.needs)) {
      throw new LassoError("forbidden", `${actor?.name ?? "anonymous"} may not ${method} /v1/catalog${req.path}: it needs the ${route.needs} permission`);
    }
    checkQueryNames(req.query, route.query ?? []);
    return route.run(cat, req, params, actor);
  }
  if (pathMatched) {
    const allowed = ROUTES.filter((r) => match(r.pattern, segments) !== null).map((r) => r.method);
    throw new LassoError("method_not_allowed", `${method} is not supported on /v1/catalog${req.path}; use ${allowed.join(", ")}`, { allowed });
  }
  throw new LassoError("not_found", `no catalog endpoint /v1/catalog${req.path}`);
}

function splitPath(path: string): string[] {
  const parts = path.split("?")[0]!.split("/").filter((s) => s !== "");
  return parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new LassoError("bad_request", `path segment ${JSON.stringify(p)} is not valid percent-encoding`);
    }
  });
}

function match(pattern: readonly string[], segments: readonly string[]): string[] | null {
  if (pattern.length !== segments.length) return null;
  // Literal segments win over parameters: /tags/move is the move endpoint, not a tag of entity "move".
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(":")) params.push(segments[i]!);
    else if (p !== segments[i]) return null;
  }
  return params;
}

function checkQueryNames(query: URLSearchParams, allowed: readonly string[]): void {
  for (const key of new Set(query.keys())) {
    if (!allowed.includes(key)) {
      throw new LassoError(
        "bad_request",
        `unknown query parameter ${key}${allowed.length ? `; this endpoint takes ${allowed.join(", ")}` : "; this endpoint takes none"}`,
      );
    }
  }
}

function fields(body: unknown, allowed: readonly string[], fixed: readonly string[] = []): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new LassoError("bad_request", "the body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (fixed.includes(key)) {
      throw new LassoError("bad_request", `${key} cannot change: a tag's name, entity and type belong to its store column`);
    }
    if (!allowed.includes(key)) throw new LassoError("bad_request", `unknown field ${key}; allowed: ${allowed.join(", ")}`);
  }
  return b;
}

function str(b: Record<string, unknown>, key: string, required = false): string | undefined {
  const x = b[key];
  if (x === undefined) {
    if (required) throw new LassoError("bad_request", `${key} is required`);
    return undefined;
  }
  if (typeof x !== "string") throw new LassoError("bad_request", `${key} must be a string`);
  return x;
}

function categoryRef(b: Record<string, unknown>, key: string): number | null | undefined {
  const x = b[key];
  if (x === undefined || x === null) return x as null | undefined;
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 1) {
    throw new LassoError("bad_request", `${key} must be a category id (a positive integer) or null`);
  }
  return x;
}

function version(b: Record<string, unknown>, required: boolean): number | undefined {
  const x = b["version"];
  if (x === undefined) {
    if (required) {
      throw new LassoError("bad_request", "version is required: send the version you read, so a concurrent edit is detected (409 version_conflict)");
    }
    return undefined;
  }
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 1) throw new LassoError("bad_request", "version must be a positive integer");
  return x;
}

function roles(b: Record<string, unknown>): Role[] {
  const r = b["roles"];
  if (!Array.isArray(r) || r.length === 0 || r.some((x) => !(ROLES as readonly unknown[]).includes(x))) {
    throw new LassoError("bad_request", `roles must be a non-empty array of ${ROLES.join(", ")}`);
  }
  return r as Role[];
}

function tagPatch(b: Record<string, unknown>): TagPatch {
  const patch: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(TAG_PATCH_FIELDS)) {
    if (!(key in b)) continue;
    const x = b[key];
    if (kind === "category") patch[key] = categoryRef(b, key) ?? null;
    else if (kind === "nullableString" && x === null) patch[key] = null;
    else patch[key] = str(b, key);
  }
  return patch as TagPatch;
}

function idParam(raw: string, what = "id"): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new LassoError("bad_request", `${what} must be a positive integer; got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function intParam(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new LassoError("bad_request", `${key} must be a non-negative integer; got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function numParam(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new LassoError("bad_request", `${key} must be a number; got ${JSON.stringify(raw)}`);
  return n;
}

function boolParam(q: URLSearchParams, key: string): boolean | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  if (raw === "1" || raw === "true") return true;
  if (raw === "0" || raw === "false") return false;
  throw new LassoError("bad_request", `${key} must be true/false or 1/0; got ${JSON.stringify(raw)}`);
}

/** `status=a,b` and `status=a&status=b` both mean either. */
function listParam<T extends string>(q: URLSearchParams, key: string, allowed: readonly T[]): T[] | undefined {
  const raw = q.getAll(key);
  if (raw.length === 0) return undefined;
  const out: T[] = [];
  for (const part of raw.flatMap((r) => r.split(","))) {
    const x = part.trim();
    if (!(allowed as readonly string[]).includes(x)) {
      throw new LassoError("bad_request", `${key} must be among ${allowed.join(", ")}; got ${JSON.stringify(x)}`);
    }
    out.push(x as T);
  }
  return out;
}

function tagQuery(q: URLSearchParams): TagQuery {
  const query: TagQuery = {};
  const set = <K extends keyof TagQuery>(k: K, x: TagQuery[K] | undefined) => {
    if (x !== undefined) query[k] = x;
  };
  set("q", q.get("q") ?? undefined);
  set("entity", q.get("entity") ?? undefined);
  set("status", listParam(q, "status", TAG_STATUSES));
  set("type", listParam(q, "type", TAG_TYPES));
  set("grade", listParam(q, "grade", GRADES));
  set("productionType", listParam(q, "productionType", PRODUCTION_TYPES));
  set("updateFrequency", listParam(q, "updateFrequency", UPDATE_FREQUENCIES));
  set("owner", q.get("owner") ?? undefined);
  set("dataSource", q.get("dataSource") ?? undefined);
  const category = q.get("category");
  if (category !== null) query.categoryId = category === "none" ? null : idParam(category, "category");
  set("subtree", boolParam(q, "subtree"));
  set("coverageMin", numParam(q, "coverageMin"));
  set("coverageMax", numParam(q, "coverageMax"));
  set("queryCountMin", numParam(q, "queryCountMin"));
  set("queryCountMax", numParam(q, "queryCountMax"));
  set("viewCountMin", numParam(q, "viewCountMin"));
  set("ratingMin", numParam(q, "ratingMin"));
  set("usedSince", q.get("usedSince") ?? undefined);
  set("unusedSince", q.get("unusedSince") ?? undefined);
  const sort = q.get("sort");
  if (sort !== null) {
    if (!SORT_KEYS.includes(sort as SortKey)) throw new LassoError("bad_request", `sort must be one of ${SORT_KEYS.join(", ")}`);
    query.sort = sort as SortKey;
  }
  const order = q.get("order");
  if (order !== null) {
    if (order !== "asc" && order !== "desc") throw new LassoError("bad_request", "order must be asc or desc");
    query.order = order;
  }
  set("offset", intParam(q, "offset"));
  set("limit", intParam(q, "limit"));
  return query;
}
