/**
 * The tag catalog: the tag tree, tag attributes, search, the reviewed lifecycle, usage counts and
 * identities, kept in `<dataDir>/catalog.db` (SQLite, WAL, foreign keys on, versioned migrations).
 *
 * SQLite is the truth; every tag and category is also mirrored in memory so that the per-query check
 * (`checkQueryTags`), search and tree listings never touch the disk. Writes go to SQLite in one
 * immediate transaction and are applied to the mirror only after commit, so a failed write changes
 * neither. Another process writing the same file (the offline CLI while a server runs) is noticed through
 * `PRAGMA data_version` at the next call, and the mirror catches up incrementally (by row version).
 * The search index (search.ts) is built on the first text search, then kept current with every edit.
 *
 * ```ts
 * const cat = TagCatalog.open({ dataDir: "./data", coverage: (e, t) => store.rowsWithValue(e, t) });
 * cat.registerLoadedTags("user", [{ name: "city", type: "enum" }], "load 2025-01-31");
 * const { warnings } = cat.checkQueryTags("user", ["city"], { includeDrafts: false });
 * cat.recordQuery("user", ["city"]);
 * cat.close();
 * ```
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type BetterSqlite3 from "better-sqlite3";
import type { TagType } from "../expr/ast.js";
import { LassoError } from "../errors.js";
import { authorize, bearerToken, hashToken, LOCAL_PRINCIPAL, newToken, sameHash } from "./identity.js";
import { checkTransition } from "./lifecycle.js";
import { migrate } from "./schema.js";
import { TextIndex } from "./search.js";
import {
  GRADES,
  LIMITS,
  PRODUCTION_TYPES,
  ROLES,
  SORT_KEYS,
  TAG_STATUSES,
  TAG_TYPES,
  UPDATE_FREQUENCIES,
  type Action,
  type AuditEntry,
  type AuditQuery,
  type CatalogStats,
  type Category,
  type CategoryNode,
  type CoverageProvider,
  type Grade,
  type NewTag,
  type Principal,
  type ProductionType,
  type Role,
  type SortKey,
  type TagDetail,
  type TagHit,
  type TagPage,
  type TagPatch,
  type TagQuery,
  type TagRating,
  type TagStatus,
  type TagView,
  type TokenInfo,
  type UpdateFrequency,
  type UserInfo,
} from "./types.js";
import { UsageBuffer } from "./usage.js";
import * as v from "./validate.js";

export const CATALOG_FILE = "catalog.db";
/** Default interval between writes of buffered query/view counts. */
export const USAGE_FLUSH_MS = 5_000;
const DEFAULT_PAGE = 50;
const DEFAULT_AUDIT_PAGE = 100;
const MAX_AUDIT_PAGE = 1000;
const DETAIL_RATINGS = 20;
const PRINCIPAL_CACHE_MAX = 10_000;

export interface CatalogOpenOptions {
  /** Data directory (created when missing); the catalog is `<dataDir>/catalog.db`. */
  dataDir?: string;
  /** An explicit SQLite file instead (or ":memory:"). */
  file?: string;
  /** Entities having each tag, from the store's statistics. */
  coverage?: CoverageProvider;
  /** Milliseconds between writes of buffered usage counts (default 5000); 0: only on flushUsage()/close(). */
  usageFlushMs?: number;
  /** The clock (tests pin it). */
  now?: () => Date;
}

/** Tags a load brings: one per non-key column. */
export interface LoadedTag {
  readonly name: string;
  readonly type: TagType;
}

export interface TreeOptions {
  /** List the subtree under this category instead of the whole forest. */
  rootId?: number;
  /** Levels of children to include (default: all). 1 lists the root(s) with their direct children. */
  depth?: number;
  /** Include each node's direct tags (with coverage). */
  withTags?: boolean;
  /** Count (and list) only this entity's tags. */
  entity?: string;
}

export interface TreeListing {
  readonly roots: readonly CategoryNode[];
  /** Tags in no category (in the whole catalog, or of `entity`). */
  readonly uncategorized: number;
  readonly totalTags: number;
}

export interface CategoryListing {
  readonly category: CategoryNode;
  /** From the root down to this category. */
  readonly path: readonly { id: number; name: string }[];
  /** The category's direct tags, by name. */
  readonly tags: TagPage;
}

interface TagRow {
  id: number;
  entity: string;
  name: string;
  display_name: string;
  description: string;
  type: TagType;
  category_id: number | null;
  update_frequency: UpdateFrequency;
  data_source: string;
  grade: Grade;
  production_type: ProductionType;
  owner: string | null;
  status: TagStatus;
  status_changed_by: string | null;
  status_changed_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
  query_count: number;
  view_count: number;
  last_used_at: string | null;
  rating_count: number;
  rating_sum: number;
}

/** The in-memory mirror of one tag row (plus its dense slot in the text index). */
interface TagRecord {
  readonly id: number;
  readonly slot: number;
  readonly entity: string;
  readonly name: string;
  readonly type: TagType;
  displayName: string;
  description: string;
  categoryId: number | null;
  updateFrequency: UpdateFrequency;
  dataSource: string;
  grade: Grade;
  productionType: ProductionType;
  owner: string | null;
  status: TagStatus;
  statusChangedBy: string | null;
  statusChangedAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  queryCount: number;
  viewCount: number;
  lastUsedAt: string | null;
  ratingCount: number;
  ratingSum: number;
}

interface CategoryRow {
  id: number;
  parent_id: number | null;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  version: number;
}

interface AuditInput {
  actor: string;
  target: "tag" | "category" | "user";
  targetId: number | null;
  entity?: string | null;
  name: string;
  action: string;
  from?: TagStatus | null;
  to?: TagStatus | null;
  reason?: string;
  details?: Record<string, unknown> | null;
}

// Correlated subqueries, not a join on a grouped subquery: SQLite re-evaluated that per row (2 s for
// 100,000 tags); these are two probes of tag_ratings' primary key.
/** Columns of `tags`, in the order the bulk load reads them as arrays (objects cost twice as much per row). */
const TAG_COLUMNS = [
  "id", "entity", "name", "display_name", "description", "type", "category_id", "update_frequency", "data_source",
  "grade", "production_type", "owner", "status", "status_changed_by", "status_changed_at", "created_at", "updated_at",
  "version", "query_count", "view_count", "last_used_at",
] as const;

const TAG_SELECT = `SELECT t.*,
    (SELECT count(*) FROM tag_ratings r WHERE r.tag_id = t.id) AS rating_count,
    (SELECT coalesce(sum(stars), 0) FROM tag_ratings r WHERE r.tag_id = t.id) AS rating_sum
  FROM tags t`;

const PATCH_FIELDS: Readonly<Record<keyof TagPatch, string>> = {
  displayName: "display_name",
  description: "description",
  categoryId: "category_id",
  updateFrequency: "update_frequency",
  dataSource: "data_source",
  grade: "grade",
  productionType: "production_type",
  owner: "owner",
};

export class TagCatalog {
  /** The SQLite file backing this catalog. */
  readonly file: string;
  private readonly db: BetterSqlite3.Database;
  private readonly clock: () => Date;
  private coverageProvider: CoverageProvider | undefined;

  // The mirror.
  private readonly records: TagRecord[] = [];
  private readonly slotOfId = new Map<number, number>();
  private readonly byEntity = new Map<string, Map<string, TagRecord>>();
  /** Direct members of each category (`null`: uncategorized). */
  private readonly members = new Map<number | null, Set<TagRecord>>();
  private categories = new Map<number, Category>();
  private childrenOf = new Map<number | null, number[]>();
  private readonly pathCache = new Map<number, readonly string[]>();
  /** Built on the first text search (it is the slow part of opening a large catalog), then kept current. */
  private readonly text = new TextIndex();
  private textReady = false;
  private readonly usage = new UsageBuffer();
  private readonly principals = new Map<string, Principal>();
  private hasUsers: boolean | null = null;
  private dataVersion = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();
  /** Bumped whenever tag membership or the category tree changes; tree counts are cached per generation. */
  private generation = 0;
  private readonly countCache = new Map<string, { generation: number; counts: TreeCounts }>();

  private readonly stmt: {
    dataVersion: BetterSqlite3.Statement<[], number>;
    tagById: BetterSqlite3.Statement<[number], TagRow>;
    tagByName: BetterSqlite3.Statement<[string, string], TagRow>;
    allTags: BetterSqlite3.Statement<[], unknown[]>;
    allRatings: BetterSqlite3.Statement<[], [number, number, number]>;
    tagCounters: BetterSqlite3.Statement<[], [number, number, number, number, string | null]>;
    insertTag: BetterSqlite3.Statement<unknown[]>;
    audit: BetterSqlite3.Statement<unknown[]>;
    categoryById: BetterSqlite3.Statement<[number], CategoryRow>;
    anyUser: BetterSqlite3.Statement<[], number>;
    userByName: BetterSqlite3.Statement<[string], { id: number; name: string; disabled: number; created_at: string }>;
    rolesOf: BetterSqlite3.Statement<[number], Role>;
    tokenLookup: BetterSqlite3.Statement<[Buffer], { token_hash: Buffer; user_id: number; name: string; disabled: number }>;
    usage: BetterSqlite3.Statement<unknown[]>;
  };

  static open(opts: CatalogOpenOptions): TagCatalog {
    let file: string;
    if (opts.file !== undefined) file = opts.file;
    else if (opts.dataDir !== undefined) {
      mkdirSync(opts.dataDir, { recursive: true });
      file = join(opts.dataDir, CATALOG_FILE);
    } else throw new LassoError("bad_request", "TagCatalog.open needs dataDir or file");
    const db = new Database(file);
    try {
      return new TagCatalog(db, file, opts);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private constructor(db: BetterSqlite3.Database, file: string, opts: CatalogOpenOptions) {
    this.db = db;
    this.file = file;
    this.clock = opts.now ?? (() => new Date());
    this.coverageProvider = opts.coverage;
    if (file !== ":memory:") db.pragma("journal_mode = WAL");
    // FULL: a committed review decision or audit entry survives power loss, not only a process crash.
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db, () => this.nowIso());
    this.stmt = {
      dataVersion: db.prepare<[], number>("PRAGMA data_version").pluck(),
      tagById: db.prepare<[number], TagRow>(`${TAG_SELECT} WHERE t.id = ?`),
      tagByName: db.prepare<[string, string], TagRow>(`${TAG_SELECT} WHERE t.entity = ? AND t.name = ?`),
      allTags: db.prepare<[], unknown[]>(`SELECT ${TAG_COLUMNS.join(", ")} FROM tags ORDER BY id`).raw(),
      allRatings: db.prepare<[], [number, number, number]>("SELECT tag_id, count(*), sum(stars) FROM tag_ratings GROUP BY tag_id").raw(),
      tagCounters: db
        .prepare<[], [number, number, number, number, string | null]>("SELECT id, version, query_count, view_count, last_used_at FROM tags")
        .raw(),
      insertTag: db.prepare(
        `INSERT INTO tags (entity, name, display_name, description, type, category_id, update_frequency, data_source,
           grade, production_type, owner, status, status_changed_by, status_changed_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      audit: db.prepare(
        `INSERT INTO audit_log (at, actor, target, target_id, entity, name, action, from_status, to_status, reason, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      categoryById: db.prepare<[number], CategoryRow>("SELECT * FROM categories WHERE id = ?"),
      anyUser: db.prepare<[], number>("SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1)").pluck(),
      userByName: db.prepare("SELECT id, name, disabled, created_at FROM users WHERE name = ?"),
      rolesOf: db.prepare<[number], Role>("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role").pluck(),
      tokenLookup: db.prepare(
        `SELECT t.token_hash, t.user_id, u.name, u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?`,
      ),
      usage: db.prepare(
        `UPDATE tags SET query_count = query_count + ?, view_count = view_count + ?,
           last_used_at = CASE WHEN ? IS NOT NULL AND (last_used_at IS NULL OR last_used_at < ?) THEN ? ELSE last_used_at END
         WHERE id = ?`,
      ),
    };
    this.dataVersion = this.stmt.dataVersion.get()!;
    this.reloadAll();
    const every = opts.usageFlushMs ?? USAGE_FLUSH_MS;
    if (every > 0) {
      this.timer = setInterval(() => {
        try {
          this.flushUsage();
        } catch {
          // Kept in the buffer; the next flush (or close) retries.
        }
      }, every);
      this.timer.unref();
    }
  }

  /** Writes buffered usage counts and closes the file. Idempotent. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    try {
      this.flushUsage();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }

  setCoverageProvider(provider: CoverageProvider | undefined): void {
    this.coverageProvider = provider;
  }

  // ─── identities ────────────────────────────────────────────────────────────────────────────────

  /** True when no users are configured: every caller acts as the local admin and loads publish at once. */
  openMode(): boolean {
    this.sync();
    if (this.hasUsers === null) this.hasUsers = this.stmt.anyUser.get()! > 0;
    return !this.hasUsers;
  }

  /** The user a bearer token (or `Authorization` header value) belongs to; null when unknown or disabled. */
  authenticate(bearer: string): Principal | null {
    this.sync();
    const token = bearerToken(bearer);
    if (token === null) return null;
    const hash = hashToken(token);
    const key = hash.toString("hex");
    const cached = this.principals.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmt.tokenLookup.get(hash);
    if (!row || !sameHash(row.token_hash, hash) || row.disabled === 1) return null;
    const principal: Principal = Object.freeze({ name: row.name, roles: Object.freeze(this.stmt.rolesOf.all(row.user_id)) });
    // Only valid tokens are cached (random guesses must not grow memory); the cache empties on any user change.
    if (this.principals.size >= PRINCIPAL_CACHE_MAX) this.principals.clear();
    this.principals.set(key, principal);
    return principal;
  }

  /**
   * The principal of a named user, for trusted offline callers (the CLI's `--as NAME`): no token needed.
   * Unknown users are `not_found`, disabled ones `forbidden`.
   */
  principalFor(name: string): Principal {
    this.sync();
    const row = this.stmt.userByName.get(name);
    if (!row) throw new LassoError("not_found", `no user named ${name}`);
    if (row.disabled === 1) throw new LassoError("forbidden", `user ${name} is disabled`);
    return Object.freeze({ name: row.name, roles: Object.freeze(this.stmt.rolesOf.all(row.id)) });
  }

  /** Whether `principal` may do `action` (see ROLE_ACTIONS). In open mode a null principal may do everything. */
  authorize(principal: Principal | null, action: Action): boolean {
    if (principal === null) return this.openMode();
    return authorize(principal, action);
  }

  /** Adds a user and returns its first API token (shown once: only its hash is kept). */
  addUser(name: string, roles: readonly Role[], actor: Principal | null): { user: UserInfo; token: string } {
    const who = this.require(actor, "admin", `add user ${name}`);
    v.userName(name, LIMITS.userName);
    const roleList = checkRoles(roles);
    const now = this.nowIso();
    const token = newToken();
    this.write(() => {
      if (this.stmt.userByName.get(name)) throw new LassoError("conflict", `user ${name} already exists`);
      const id = Number(this.prep("INSERT INTO users (name, created_at) VALUES (?, ?)").run(name, now).lastInsertRowid);
      const addRole = this.prep("INSERT INTO user_roles (user_id, role) VALUES (?, ?)");
      for (const r of roleList) addRole.run(id, r);
      this
        .prep("INSERT INTO api_tokens (user_id, token_hash, hint, created_at) VALUES (?, ?, ?, ?)")
        .run(id, token.hash, token.hint, now);
      this.writeAudit(now, { actor: who.name, target: "user", targetId: id, name, action: "user_add", details: { roles: roleList } });
    });
    this.forgetPrincipals();
    return { user: this.user(name), token: token.token };
  }

  listUsers(): UserInfo[] {
    const names = this.prep("SELECT name FROM users ORDER BY name").pluck().all() as string[];
    return names.map((n) => this.user(n));
  }

  user(name: string): UserInfo {
    const row = this.stmt.userByName.get(name);
    if (!row) throw new LassoError("not_found", `no user named ${name}`);
    const tokens = this
      .prep("SELECT id, hint, created_at AS createdAt FROM api_tokens WHERE user_id = ? ORDER BY id")
      .all(row.id) as TokenInfo[];
    return {
      name: row.name,
      roles: this.stmt.rolesOf.all(row.id),
      disabled: row.disabled === 1,
      createdAt: row.created_at,
      tokens,
    };
  }

  /** Replaces a user's roles. Refused when it would leave enabled users but no enabled admin. */
  setUserRoles(name: string, roles: readonly Role[], actor: Principal | null): UserInfo {
    const who = this.require(actor, "admin", `change the roles of ${name}`);
    const roleList = checkRoles(roles);
    const now = this.nowIso();
    this.write(() => {
      const id = this.userId(name);
      const adminsBefore = this.enabledAdmins();
      const before = this.stmt.rolesOf.all(id);
      this.prep("DELETE FROM user_roles WHERE user_id = ?").run(id);
      const addRole = this.prep("INSERT INTO user_roles (user_id, role) VALUES (?, ?)");
      for (const r of roleList) addRole.run(id, r);
      this.guardAdmins(adminsBefore, `changing the roles of ${name}`);
      this.writeAudit(now, { actor: who.name, target: "user", targetId: id, name, action: "user_roles", details: { from: before, to: roleList } });
    });
    this.forgetPrincipals();
    return this.user(name);
  }

  setUserDisabled(name: string, disabled: boolean, actor: Principal | null): UserInfo {
    const who = this.require(actor, "admin", `${disabled ? "disable" : "enable"} user ${name}`);
    const now = this.nowIso();
    this.write(() => {
      const id = this.userId(name);
      const adminsBefore = this.enabledAdmins();
      this.prep("UPDATE users SET disabled = ? WHERE id = ?").run(disabled ? 1 : 0, id);
      this.guardAdmins(adminsBefore, `disabling ${name}`);
      this.writeAudit(now, { actor: who.name, target: "user", targetId: id, name, action: disabled ? "user_disable" : "user_enable" });
    });
    this.forgetPrincipals();
    return this.user(name);
  }

  /**
   * Removes a user and its tokens (tags it owns keep the name as owner). Removing the last user would
   * return the catalog to open mode, so it needs `force`.
   */
  removeUser(name: string, actor: Principal | null, opts: { force?: boolean } = {}): void {
    const who = this.require(actor, "admin", `remove user ${name}`);
    const now = this.nowIso();
    this.write(() => {
      const id = this.userId(name);
      const adminsBefore = this.enabledAdmins();
      this.prep("DELETE FROM users WHERE id = ?").run(id);
      if (this.stmt.anyUser.get() === 0 && !opts.force) {
        throw new LassoError("conflict", `${name} is the last user; removing it returns the catalog to open mode (pass force)`);
      }
      this.guardAdmins(adminsBefore, `removing ${name}`);
      this.writeAudit(now, { actor: who.name, target: "user", targetId: id, name, action: "user_remove" });
    });
    this.forgetPrincipals();
  }

  /** A new API token for a user (shown once). */
  issueToken(name: string, actor: Principal | null): { token: string; info: TokenInfo } {
    const who = this.require(actor, "admin", `issue a token for ${name}`);
    const now = this.nowIso();
    const token = newToken();
    let info!: TokenInfo;
    this.write(() => {
      const id = this.userId(name);
      const tokenId = Number(
        this
          .prep("INSERT INTO api_tokens (user_id, token_hash, hint, created_at) VALUES (?, ?, ?, ?)")
          .run(id, token.hash, token.hint, now).lastInsertRowid,
      );
      info = { id: tokenId, hint: token.hint, createdAt: now };
      this.writeAudit(now, { actor: who.name, target: "user", targetId: id, name, action: "token_issue", details: { tokenId, hint: token.hint } });
    });
    return { token: token.token, info };
  }

  revokeToken(name: string, tokenId: number, actor: Principal | null): void {
    const who = this.require(actor, "admin", `revoke a token of ${name}`);
    const now = this.nowIso();
    this.write(() => {
      const id = this.userId(name);
      const r = this.prep("DELETE FROM api_tokens WHERE id = ? AND user_id = ?").run(tokenId, id);
      if (r.changes === 0) throw new LassoError("not_found", `user ${name} has no token ${tokenId}`);
      this.writeAudit(now, { actor: who.name, target: "user", targetId: id, name, action: "token_revoke", details: { tokenId } });
    });
    this.forgetPrincipals();
  }

  // ─── the store's side: loads and queries ──────────────────────────────────────────────────────

  /**
   * Throws `schema_conflict` when a loaded column disagrees with its catalogued tag's type; writes nothing.
   * Call it before committing a load, then `registerLoadedTags` after.
   */
  checkLoadedTags(entity: string, tags: readonly LoadedTag[]): void {
    this.sync();
    v.entityName(entity, LIMITS.entity);
    const seen = new Set<string>();
    for (const t of tags) {
      v.tagName(t.name, LIMITS.tagName);
      v.oneOf(`type of tag ${t.name}`, t.type, TAG_TYPES);
      if (seen.has(t.name)) throw new LassoError("bad_request", `tag ${t.name} appears twice in one load`);
      seen.add(t.name);
      const rec = this.byEntity.get(entity)?.get(t.name);
      if (rec && rec.type !== t.type) {
        throw new LassoError(
          "schema_conflict",
          `column ${t.name} is ${t.type} but catalogued tag ${entity}.${t.name} is ${rec.type}`,
          { tag: t.name, expected: rec.type, got: t.type },
        );
      }
    }
  }

  /**
   * Registers the tags a load brought that the catalog does not know yet: status `draft`, production type
   * `import`, data source `source`, owner `actor`. In open mode they are published at once (two audit
   * entries: create, then `publish_open_mode`). Known tags are left alone.
   */
  registerLoadedTags(
    entity: string,
    tags: readonly LoadedTag[],
    source: string,
    actor?: string,
  ): { created: string[]; existing: string[] } {
    this.checkLoadedTags(entity, tags);
    const dataSource = v.text("data source", source, LIMITS.dataSource);
    const owner = actor === undefined ? null : v.userName(actor, LIMITS.userName);
    const known = this.byEntity.get(entity);
    const fresh = tags.filter((t) => !known?.has(t.name));
    const existing = tags.filter((t) => known?.has(t.name)).map((t) => t.name);
    if (fresh.length === 0) return { created: [], existing };
    const now = this.nowIso();
    const ids: number[] = [];
    this.write(() => {
      const open = !this.hasAnyUser();
      const who = actor ?? (open ? LOCAL_PRINCIPAL.name : "load");
      for (const t of fresh) {
        const status: TagStatus = open ? "published" : "draft";
        const id = Number(
          this.stmt.insertTag.run(
            entity, t.name, "", "", t.type, null, "irregular", dataSource, "L1", "import", owner, status, who, now, now, now,
          ).lastInsertRowid,
        );
        ids.push(id);
        this.writeAudit(now, {
          actor: who, target: "tag", targetId: id, entity, name: t.name, action: "create", to: "draft",
          reason: `registered by load (${dataSource})`, details: { type: t.type, source: dataSource },
        });
        if (open) {
          this.writeAudit(now, {
            actor: who, target: "tag", targetId: id, entity, name: t.name, action: "publish_open_mode",
            from: "draft", to: "published", reason: "open single-user mode (no users configured): tags created by loads are published at once",
          });
        }
      }
    });
    this.refreshTags(ids);
    return { created: fresh.map((t) => t.name), existing };
  }

  /**
   * The per-query lifecycle gate (cheap: an in-memory map). Published: fine. Deprecated: a warning.
   * Draft / pending review: `unknown_tag` unless `includeDrafts`. Disabled: `tag_disabled`, always.
   * Tags the catalog does not know pass (the planner reports unknown tags with suggestions).
   */
  checkQueryTags(entity: string, tags: readonly string[], opts: { includeDrafts?: boolean } = {}): { warnings: string[] } {
    this.sync();
    const warnings: string[] = [];
    const byName = this.byEntity.get(entity);
    if (!byName) return { warnings };
    for (const name of tags) {
      const rec = byName.get(name);
      if (!rec) continue;
      switch (rec.status) {
        case "published":
          break;
        case "deprecated":
          warnings.push(`tag ${name} is deprecated (since ${rec.statusChangedAt ?? rec.updatedAt}); it will be disabled`);
          break;
        case "draft":
        case "pending_review":
          if (!opts.includeDrafts) {
            throw new LassoError(
              "unknown_tag",
              `tag ${name} of ${entity} is ${rec.status === "draft" ? "a draft" : "pending review"}, not yet published; ask with includeDrafts to use it`,
              { tag: name, status: rec.status },
            );
          }
          break;
        case "disabled":
          throw new LassoError("tag_disabled", `tag ${name} of ${entity} is disabled and cannot be queried`, { tag: name });
      }
    }
    return { warnings };
  }

  /** Counts one query for each tag (buffered; written every few seconds and on close). */
  recordQuery(entity: string, tags: readonly string[]): void {
    const byName = this.byEntity.get(entity);
    if (!byName) return;
    const at = this.nowIso();
    for (const name of tags) {
      const rec = byName.get(name);
      if (rec) this.usage.query(rec.id, at);
    }
  }

  /** Writes buffered query/view counts now; returns how many tags were updated. */
  flushUsage(): number {
    if (this.closed) return 0;
    const written: [TagRecord, number, number, string | null][] = [];
    const n = this.usage.drain((batch) => {
      written.length = 0;
      this.db
        .transaction(() => {
          for (const [id, p] of batch) {
            this.stmt.usage.run(p.queries, p.views, p.lastUsedAt, p.lastUsedAt, p.lastUsedAt, id);
            const slot = this.slotOfId.get(id);
            if (slot !== undefined) written.push([this.records[slot]!, p.queries, p.views, p.lastUsedAt]);
          }
        })
        .immediate();
    });
    for (const [rec, q, views, last] of written) {
      rec.queryCount += q;
      rec.viewCount += views;
      if (last !== null && (rec.lastUsedAt === null || rec.lastUsedAt < last)) rec.lastUsedAt = last;
    }
    return n;
  }

  /** The lifecycle status of a tag, or undefined when the catalog does not know it. */
  status(entity: string, name: string): TagStatus | undefined {
    this.sync();
    return this.byEntity.get(entity)?.get(name)?.status;
  }

  /** The SEL type of every catalogued tag of an entity, loaded or only declared (an in-memory lookup). */
  tagTypes(entity: string): Map<string, TagType> {
    this.sync();
    const out = new Map<string, TagType>();
    for (const [name, rec] of this.byEntity.get(entity) ?? []) out.set(name, rec.type);
    return out;
  }

  // ─── tags ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Catalogues a tag ahead of its data (a rule, SQL or model tag being designed). It starts as a draft;
   * a later load of its column must match its type.
   */
  createTag(input: NewTag, actor: Principal | null): TagDetail {
    const who = this.require(actor, "manage_tags", `create tag ${String(input.name)}`);
    const entity = v.entityName(input.entity, LIMITS.entity);
    const name = v.tagName(input.name, LIMITS.tagName);
    const type = v.oneOf("type", input.type, TAG_TYPES);
    const patch = this.checkPatch(input);
    const now = this.nowIso();
    let id = 0;
    this.write(() => {
      if (this.stmt.tagByName.get(entity, name)) throw new LassoError("conflict", `tag ${entity}.${name} already exists`);
      if (patch.categoryId != null) this.categoryRow(patch.categoryId);
      id = Number(
        this.stmt.insertTag.run(
          entity, name, patch.displayName ?? "", patch.description ?? "", type, patch.categoryId ?? null,
          patch.updateFrequency ?? "irregular", patch.dataSource ?? "", patch.grade ?? "L1", patch.productionType ?? "import",
          patch.owner === undefined ? who.name : patch.owner, "draft", who.name, now, now, now,
        ).lastInsertRowid,
      );
      this.writeAudit(now, { actor: who.name, target: "tag", targetId: id, entity, name, action: "create", to: "draft", details: { type } });
    });
    this.refreshTags([id]);
    return this.detail(this.record(entity, name));
  }

  /** A tag's detail; `countView` adds one to its view count (buffered like query counts). */
  getTag(entity: string, name: string, opts: { countView?: boolean } = {}): TagDetail {
    this.sync();
    const rec = this.record(entity, name);
    if (opts.countView) this.usage.view(rec.id);
    return this.detail(rec);
  }

  /**
   * Edits attributes. The owner may edit everything but `owner`; `manage_tags` may edit everything.
   * With `expectedVersion`, a tag changed since that version is `version_conflict` and nothing is written.
   */
  updateTag(entity: string, name: string, patch: TagPatch, opts: { actor: Principal | null; expectedVersion?: number }): TagDetail {
    const who = this.actor(opts.actor);
    const checked = this.checkPatch(patch);
    const keys = Object.keys(checked) as (keyof TagPatch)[];
    if (keys.length === 0) throw new LassoError("bad_request", "nothing to change: give at least one attribute");
    const now = this.nowIso();
    let id = 0;
    this.write(() => {
      const row = this.tagRow(entity, name);
      id = row.id;
      const manager = authorize(who, "manage_tags");
      const isOwner = row.owner !== null && row.owner === who.name;
      if (!manager && !(isOwner && !keys.includes("owner"))) {
        throw new LassoError(
          "forbidden",
          isOwner
            ? `changing the owner of tag ${entity}.${name} needs the manage_tags permission`
            : `editing tag ${entity}.${name} needs its owner (${row.owner ?? "none"}) or the manage_tags permission`,
        );
      }
      this.checkVersion(`tag ${entity}.${name}`, row.version, opts.expectedVersion);
      if (checked.categoryId != null) this.categoryRow(checked.categoryId);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const sets: string[] = [];
      const args: unknown[] = [];
      for (const k of keys) {
        const col = PATCH_FIELDS[k];
        const before = (row as unknown as Record<string, unknown>)[col];
        const after = checked[k] ?? null;
        if (before === after) continue;
        changes[k] = { from: before, to: after };
        sets.push(`${col} = ?`);
        args.push(after);
      }
      if (sets.length === 0) return;
      this
        .prep(`UPDATE tags SET ${sets.join(", ")}, updated_at = ?, version = version + 1 WHERE id = ?`)
        .run(...args, now, row.id);
      this.writeAudit(now, { actor: who.name, target: "tag", targetId: row.id, entity, name, action: "update", details: { changes } });
    });
    this.refreshTags([id]);
    return this.detail(this.record(entity, name));
  }

  /** Moves a tag through its lifecycle (see lifecycle.ts for the table and who may do what). */
  transitionTag(
    entity: string,
    name: string,
    to: TagStatus,
    opts: { actor: Principal | null; reason?: string; expectedVersion?: number },
  ): TagDetail {
    const who = this.actor(opts.actor);
    const target = v.oneOf("to", to, TAG_STATUSES);
    const reason = v.text("reason", opts.reason ?? "", LIMITS.reason, { multiline: true });
    const now = this.nowIso();
    let id = 0;
    this.write(() => {
      const row = this.tagRow(entity, name);
      id = row.id;
      this.checkVersion(`tag ${entity}.${name}`, row.version, opts.expectedVersion);
      const rule = checkTransition(
        { entity, name, status: row.status, owner: row.owner, statusChangedBy: row.status_changed_by },
        target,
        who,
        reason,
        this.hasAnyUser(),
      );
      this
        .prep(
          `UPDATE tags SET status = ?, status_changed_by = ?, status_changed_at = ?, updated_at = ?, version = version + 1
           WHERE id = ? AND status = ?`,
        )
        .run(target, who.name, now, now, row.id, row.status);
      this.writeAudit(now, {
        actor: who.name, target: "tag", targetId: row.id, entity, name, action: rule.action, from: row.status, to: target, reason,
      });
    });
    this.refreshTags([id]);
    return this.detail(this.record(entity, name));
  }

  /** One rating per user and tag (1–5 stars, a comment); rating again replaces it. */
  rateTag(entity: string, name: string, rating: { stars: number; comment?: string }, actor: Principal | null): TagDetail {
    const who = this.require(actor, "read", `rate tag ${entity}.${name}`);
    const stars = rating.stars;
    if (typeof stars !== "number" || !Number.isInteger(stars) || stars < 1 || stars > 5) {
      throw new LassoError("bad_request", `stars must be an integer from 1 to 5; got ${JSON.stringify(stars)}`);
    }
    const comment = v.text("comment", rating.comment ?? "", LIMITS.comment, { multiline: true });
    const now = this.nowIso();
    let id = 0;
    this.write(() => {
      id = this.tagRow(entity, name).id;
      this
        .prep(
          `INSERT INTO tag_ratings (tag_id, user_name, stars, comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (tag_id, user_name) DO UPDATE SET stars = excluded.stars, comment = excluded.comment,
             updated_at = excluded.updated_at`,
        )
        .run(id, who.name, stars, comment, now, now);
    });
    this.refreshTags([id]);
    return this.detail(this.record(entity, name));
  }

  removeRating(entity: string, name: string, actor: Principal | null): TagDetail {
    const who = this.require(actor, "read", `remove a rating of ${entity}.${name}`);
    let id = 0;
    this.write(() => {
      id = this.tagRow(entity, name).id;
      const r = this.prep("DELETE FROM tag_ratings WHERE tag_id = ? AND user_name = ?").run(id, who.name);
      if (r.changes === 0) throw new LassoError("not_found", `${who.name} has not rated tag ${entity}.${name}`);
    });
    this.refreshTags([id]);
    return this.detail(this.record(entity, name));
  }

  /** Puts tags into a category (`null`: uncategorized) in one transaction; all names must exist. */
  moveTags(entity: string, names: readonly string[], categoryId: number | null, actor: Principal | null): number {
    const who = this.require(actor, "manage_tags", "move tags");
    if (names.length === 0) return 0;
    const now = this.nowIso();
    const ids: number[] = [];
    this.write(() => {
      if (categoryId !== null) this.categoryRow(categoryId);
      const move = this.prep(
        "UPDATE tags SET category_id = ?, updated_at = ?, version = version + 1 WHERE id = ? AND category_id IS NOT ?",
      );
      for (const name of names) {
        const row = this.tagRow(entity, name);
        if (move.run(categoryId, now, row.id, categoryId).changes === 0) continue;
        ids.push(row.id);
        this.writeAudit(now, {
          actor: who.name, target: "tag", targetId: row.id, entity, name, action: "update",
          details: { changes: { categoryId: { from: row.category_id, to: categoryId } } },
        });
      }
    });
    this.refreshTags(ids);
    return ids.length;
  }

  /** Search and filter tags; sorted and paged. */
  searchTags(query: TagQuery = {}): TagPage {
    this.sync();
    const limit = query.limit ?? DEFAULT_PAGE;
    const offset = query.offset ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > LIMITS.pageSize) {
      throw new LassoError("bad_request", `limit must be an integer from 0 to ${LIMITS.pageSize}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw new LassoError("bad_request", "offset must be a non-negative integer");
    const q = (query.q ?? "").trim();
    if (v.codePoints(q) > LIMITS.searchText) {
      throw new LassoError("bad_request", `search text is longer than ${LIMITS.searchText} characters`);
    }
    const sort: SortKey = query.sort ?? (q !== "" ? "relevance" : "name");
    if (!SORT_KEYS.includes(sort)) throw new LassoError("bad_request", `sort must be one of ${SORT_KEYS.join(", ")}`);
    const accept = this.filterFor(query);
    const effective: SortKey = sort === "relevance" && q === "" ? "name" : sort;
    const keyOf = this.sortKeyOf(effective);
    const desc = (query.order ?? defaultOrder(sort)) === "desc";
    const page = new PageCollector(offset + limit, hitComparator(effective, desc));
    if (q !== "") {
      this.ensureTextIndex();
      this.text.forEachMatch(
        q,
        (slot) => accept(this.records[slot]!),
        (slot, score) => {
          const rec = this.records[slot]!;
          page.offer(rec, score, keyOf(rec));
        },
      );
    } else {
      for (const rec of this.scope(query)) if (accept(rec)) page.offer(rec, 0, keyOf(rec));
    }
    return {
      total: page.total,
      offset,
      limit,
      items: page
        .sorted()
        .slice(offset, offset + limit)
        .map((h): TagHit => (q !== "" ? { ...this.view(h.rec), score: round2(h.score) } : this.view(h.rec))),
    };
  }

  /** Counts by category, status, grade, production type, type and entity. */
  stats(): CatalogStats {
    this.sync();
    const byStatus = zeroes(TAG_STATUSES);
    const byGrade = zeroes(GRADES);
    const byProductionType = zeroes(PRODUCTION_TYPES);
    const byType = zeroes(TAG_TYPES);
    const byEntity: Record<string, number> = {};
    for (const r of this.records) {
      byStatus[r.status]++;
      byGrade[r.grade]++;
      byProductionType[r.productionType]++;
      byType[r.type]++;
      byEntity[r.entity] = (byEntity[r.entity] ?? 0) + 1;
    }
    const counts = this.countTree(undefined);
    const byCategory: { id: number; path: readonly string[]; directTags: number; totalTags: number }[] = [];
    for (const id of this.treeOrder()) {
      byCategory.push({ id, path: this.pathOf(id), directTags: counts.direct.get(id) ?? 0, totalTags: counts.total.get(id) ?? 0 });
    }
    return {
      tags: this.records.length,
      categories: this.categories.size,
      uncategorized: this.members.get(null)?.size ?? 0,
      byEntity,
      byStatus,
      byGrade,
      byProductionType,
      byType,
      byCategory,
    };
  }

  /** Audit entries, newest first. */
  audit(query: AuditQuery = {}): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.tag !== undefined) {
      where.push("target = 'tag' AND name = ?");
      args.push(query.tag);
    }
    if (query.entity !== undefined) {
      where.push("entity = ?");
      args.push(query.entity);
    }
    if (query.categoryId !== undefined) {
      where.push("target = 'category' AND target_id = ?");
      args.push(query.categoryId);
    }
    if (query.user !== undefined) {
      where.push("target = 'user' AND name = ?");
      args.push(query.user);
    }
    if (query.actor !== undefined) {
      where.push("actor = ?");
      args.push(query.actor);
    }
    if (query.action !== undefined) {
      where.push("action = ?");
      args.push(query.action);
    }
    if (query.before !== undefined) {
      where.push("id < ?");
      args.push(query.before);
    }
    const limit = query.limit ?? DEFAULT_AUDIT_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
      throw new LassoError("bad_request", `limit must be an integer from 1 to ${MAX_AUDIT_PAGE}`);
    }
    const rows = this
      .prep(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`)
      .all(...args, limit) as {
      id: number; at: string; actor: string; target: AuditEntry["target"]; target_id: number | null; entity: string | null;
      name: string; action: string; from_status: TagStatus | null; to_status: TagStatus | null; reason: string; details: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      target: r.target,
      targetId: r.target_id,
      entity: r.entity,
      name: r.name,
      action: r.action,
      fromStatus: r.from_status,
      toStatus: r.to_status,
      reason: r.reason,
      details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
    }));
  }

  // ─── the tag tree ──────────────────────────────────────────────────────────────────────────────

  /** The category forest (or one subtree) with direct and recursive tag counts. */
  tree(opts: TreeOptions = {}): TreeListing {
    this.sync();
    const depth = opts.depth ?? Number.POSITIVE_INFINITY;
    if (!(depth >= 0)) throw new LassoError("bad_request", "depth must be a non-negative integer");
    const counts = this.countTree(opts.entity);
    const rootIds = opts.rootId !== undefined ? [this.categoryOrThrow(opts.rootId).id] : (this.childrenOf.get(null) ?? []);
    const roots = rootIds.map((id) => this.node(id, depth, counts, opts));
    let totalTags = 0;
    for (const r of this.records) if (opts.entity === undefined || r.entity === opts.entity) totalTags++;
    return { roots, uncategorized: counts.direct.get(null) ?? 0, totalTags };
  }

  /** One category: its node with direct children, its path, and a page of its direct tags. */
  category(id: number, opts: { entity?: string; offset?: number; limit?: number } = {}): CategoryListing {
    this.sync();
    const cat = this.categoryOrThrow(id);
    const counts = this.countTree(opts.entity);
    const node = this.node(cat.id, 1, counts, {});
    const path: { id: number; name: string }[] = [];
    for (let c: Category | undefined = cat; c; c = c.parentId === null ? undefined : this.categories.get(c.parentId)) {
      path.unshift({ id: c.id, name: c.name });
      if (path.length > this.categories.size) break;
    }
    const tags = this.searchTags({ categoryId: id, subtree: false, entity: opts.entity, offset: opts.offset, limit: opts.limit, sort: "name" });
    return { category: node, path, tags };
  }

  createCategory(input: { name: string; parentId?: number | null; description?: string }, actor: Principal | null): Category {
    const who = this.require(actor, "manage_tags", "create a category");
    const name = v.categoryName(input.name, LIMITS.categoryName);
    const description = v.text("description", input.description ?? "", LIMITS.categoryDescription, { multiline: true });
    const parentId = input.parentId ?? null;
    const now = this.nowIso();
    let id = 0;
    this.write(() => {
      if (parentId !== null) this.categoryRow(parentId);
      this.checkSiblingName(parentId, name, null);
      id = Number(
        this
          .prep("INSERT INTO categories (parent_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
          .run(parentId, name, description, now, now).lastInsertRowid,
      );
      this.writeAudit(now, { actor: who.name, target: "category", targetId: id, name, action: "category_create", details: { parentId } });
    });
    this.addCategoryToMirror(this.categoryRow(id));
    return this.categoryOrThrow(id);
  }

  /** Renames, re-describes or moves a category (`parentId: null` makes it a root). Moves never make cycles. */
  updateCategory(
    id: number,
    patch: { name?: string; parentId?: number | null; description?: string },
    opts: { actor: Principal | null; expectedVersion?: number },
  ): Category {
    const who = this.require(opts.actor, "manage_tags", `change category ${id}`);
    const name = patch.name === undefined ? undefined : v.categoryName(patch.name, LIMITS.categoryName);
    const description =
      patch.description === undefined ? undefined : v.text("description", patch.description, LIMITS.categoryDescription, { multiline: true });
    if (name === undefined && description === undefined && patch.parentId === undefined) {
      throw new LassoError("bad_request", "nothing to change: give name, parentId or description");
    }
    const now = this.nowIso();
    this.write(() => {
      const row = this.categoryRow(id);
      this.checkVersion(`category ${id}`, row.version, opts.expectedVersion);
      const parentId = patch.parentId === undefined ? row.parent_id : patch.parentId;
      if (parentId !== null && parentId !== row.parent_id) {
        this.categoryRow(parentId);
        if (this.isWithin(parentId, id)) {
          throw new LassoError(
            "cycle",
            parentId === id
              ? `category ${id} cannot be its own parent`
              : `category ${parentId} is inside category ${id}; moving ${id} under it would make a cycle`,
            { id, parentId },
          );
        }
      }
      const newName = name ?? row.name;
      if (newName !== row.name || parentId !== row.parent_id) this.checkSiblingName(parentId, newName, id);
      this
        .prep("UPDATE categories SET name = ?, parent_id = ?, description = ?, updated_at = ?, version = version + 1 WHERE id = ?")
        .run(newName, parentId, description ?? row.description, now, id);
      const action = parentId !== row.parent_id ? "category_move" : "category_update";
      this.writeAudit(now, {
        actor: who.name, target: "category", targetId: id, name: newName, action,
        details: { from: { name: row.name, parentId: row.parent_id }, to: { name: newName, parentId } },
      });
    });
    this.reloadCategories();
    return this.categoryOrThrow(id);
  }

  /**
   * Deletes a category. It must be empty (no tags, no subcategories) unless `moveTo` names where its
   * direct tags and subcategories go (`null`: the root level / uncategorized).
   */
  deleteCategory(id: number, opts: { actor: Principal | null; moveTo?: number | null }): { movedTags: number; movedCategories: number } {
    const who = this.require(opts.actor, "manage_tags", `delete category ${id}`);
    const now = this.nowIso();
    let result = { movedTags: 0, movedCategories: 0 };
    const moved: number[] = [];
    this.write(() => {
      const row = this.categoryRow(id);
      const tagIds = this.prep("SELECT id FROM tags WHERE category_id = ?").pluck().all(id) as number[];
      const childIds = this.prep("SELECT id FROM categories WHERE parent_id = ?").pluck().all(id) as number[];
      if (opts.moveTo === undefined) {
        if (tagIds.length > 0 || childIds.length > 0) {
          throw new LassoError(
            "conflict",
            `category ${id} (${row.name}) holds ${tagIds.length} tags and ${childIds.length} subcategories; ` +
              "delete them first or pass moveTo (a category id, or root)",
            { tags: tagIds.length, subcategories: childIds.length },
          );
        }
      } else if (opts.moveTo !== null) {
        this.categoryRow(opts.moveTo);
        if (this.isWithin(opts.moveTo, id)) {
          throw new LassoError("cycle", `moveTo ${opts.moveTo} is category ${id} itself or inside it`, { id, moveTo: opts.moveTo });
        }
      }
      const target = opts.moveTo ?? null;
      const moveChild = this.prep("UPDATE categories SET parent_id = ?, updated_at = ?, version = version + 1 WHERE id = ?");
      for (const c of childIds) {
        const child = this.categoryRow(c);
        this.checkSiblingName(target, child.name, c);
        moveChild.run(target, now, c);
      }
      const moveTag = this.prep("UPDATE tags SET category_id = ?, updated_at = ?, version = version + 1 WHERE id = ?");
      for (const t of tagIds) moveTag.run(target, now, t);
      moved.push(...tagIds);
      this.prep("DELETE FROM categories WHERE id = ?").run(id);
      result = { movedTags: tagIds.length, movedCategories: childIds.length };
      this.writeAudit(now, {
        actor: who.name, target: "category", targetId: id, name: row.name, action: "category_delete",
        details: { parentId: row.parent_id, moveTo: target, ...result },
      });
    });
    this.reloadCategories();
    this.refreshTags(moved);
    return result;
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────────────

  /** A prepared statement per SQL text (preparing costs more than most of these statements run). */
  private prep(sql: string): BetterSqlite3.Statement {
    let st = this.prepared.get(sql);
    if (!st) this.prepared.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private nowIso(): string {
    return this.clock().toISOString();
  }

  private hasAnyUser(): boolean {
    return this.stmt.anyUser.get()! > 0;
  }

  /** The acting principal: given, or the local admin in open mode; else `unauthorized`. */
  private actor(p: Principal | null): Principal {
    if (p) return p;
    if (this.openMode()) return LOCAL_PRINCIPAL;
    throw new LassoError("unauthorized", "this catalog has users: authenticate with an API token");
  }

  private require(p: Principal | null, action: Action, what: string): Principal {
    const who = this.actor(p);
    if (!authorize(who, action)) {
      throw new LassoError("forbidden", `${who.name} may not ${what}: it needs the ${action} permission`, { action });
    }
    return who;
  }

  /** Runs `fn` in one immediate transaction after catching up with other writers. */
  private write(fn: () => void): void {
    if (this.closed) throw new LassoError("internal", "the catalog is closed");
    this.sync();
    this.db.transaction(fn).immediate();
  }

  private writeAudit(at: string, e: AuditInput): void {
    this.stmt.audit.run(
      at, e.actor, e.target, e.targetId, e.entity ?? null, e.name, e.action, e.from ?? null, e.to ?? null, e.reason ?? "",
      e.details ? JSON.stringify(e.details) : null,
    );
  }

  private forgetPrincipals(): void {
    this.principals.clear();
    this.hasUsers = null;
  }

  private userId(name: string): number {
    const row = this.stmt.userByName.get(name);
    if (!row) throw new LassoError("not_found", `no user named ${name}`);
    return row.id;
  }

  private enabledAdmins(): number {
    return this.prep("SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id WHERE u.disabled = 0 AND r.role = 'admin'")
      .pluck()
      .get() as number;
  }

  /**
   * Inside a write: refuse a change that takes the last enabled admin away while users remain (nobody
   * could then manage users over HTTP). Removing every user is open mode again, guarded by `force`.
   */
  private guardAdmins(adminsBefore: number, what: string): void {
    if (adminsBefore === 0 || this.enabledAdmins() > 0 || !this.hasAnyUser()) return;
    throw new LassoError("conflict", `${what} would leave no enabled admin; make another user admin first`);
  }

  private tagRow(entity: string, name: string): TagRow {
    const row = this.stmt.tagByName.get(entity, name);
    if (!row) throw this.noTag(entity, name);
    return row;
  }

  private record(entity: string, name: string): TagRecord {
    const rec = this.byEntity.get(entity)?.get(name);
    if (!rec) throw this.noTag(entity, name);
    return rec;
  }

  private noTag(entity: string, name: string): LassoError {
    return new LassoError("not_found", `no tag ${name} of entity ${entity} in the catalog`, { entity, tag: name });
  }

  private categoryRow(id: number): CategoryRow {
    const row = this.stmt.categoryById.get(id);
    if (!row) throw new LassoError("not_found", `no category ${id}`, { categoryId: id });
    return row;
  }

  private categoryOrThrow(id: number): Category {
    const c = this.categories.get(id);
    if (!c) throw new LassoError("not_found", `no category ${id}`, { categoryId: id });
    return c;
  }

  private checkSiblingName(parentId: number | null, name: string, self: number | null): void {
    const clash = this
      .prep("SELECT id FROM categories WHERE coalesce(parent_id, 0) = coalesce(?, 0) AND name = ? AND id IS NOT ?")
      .pluck()
      .get(parentId, name, self) as number | undefined;
    if (clash !== undefined) {
      throw new LassoError("conflict", `category ${clash} under ${parentId === null ? "the root" : `category ${parentId}`} is already named "${name}"`);
    }
  }

  /** Inside a write: is category `id` equal to `ancestor` or below it? (Walks the stored parents.) */
  private isWithin(id: number, ancestor: number): boolean {
    const parent = this.prep("SELECT parent_id FROM categories WHERE id = ?").pluck();
    let cur: number | null = id;
    for (let steps = 0; cur !== null; steps++) {
      if (cur === ancestor) return true;
      if (steps > 1_000_000) throw new LassoError("internal", "category parents form a loop");
      cur = (parent.get(cur) as number | null | undefined) ?? null;
    }
    return false;
  }

  private checkVersion(what: string, current: number, expected: number | undefined): void {
    if (expected !== undefined && expected !== current) {
      throw new LassoError(
        "version_conflict",
        `${what} was changed by someone else (version ${current}, you edited version ${expected}); reload it and retry`,
        { currentVersion: current },
      );
    }
  }

  private checkPatch(p: TagPatch): TagPatch {
    const out: TagPatch = {};
    if (p.displayName !== undefined) out.displayName = v.text("displayName", p.displayName, LIMITS.displayName);
    if (p.description !== undefined) out.description = v.text("description", p.description, LIMITS.description, { multiline: true });
    if (p.categoryId !== undefined) out.categoryId = p.categoryId === null ? null : v.positiveInt("categoryId", p.categoryId);
    if (p.updateFrequency !== undefined) out.updateFrequency = v.oneOf("updateFrequency", p.updateFrequency, UPDATE_FREQUENCIES);
    if (p.dataSource !== undefined) out.dataSource = v.text("dataSource", p.dataSource, LIMITS.dataSource);
    if (p.grade !== undefined) out.grade = v.oneOf("grade", p.grade, GRADES);
    if (p.productionType !== undefined) out.productionType = v.oneOf("productionType", p.productionType, PRODUCTION_TYPES);
    if (p.owner !== undefined) {
      out.owner = p.owner === null ? null : v.userName(p.owner, LIMITS.userName);
      if (out.owner !== null && this.hasAnyUser() && !this.stmt.userByName.get(out.owner)) {
        throw new LassoError("bad_request", `owner ${out.owner} is not a user`);
      }
    }
    return out;
  }

  // ─── the mirror ────────────────────────────────────────────────────────────────────────────────

  /** Catches up with writes made through other connections (another process on the same file). */
  private sync(): void {
    if (this.closed) throw new LassoError("internal", "the catalog is closed");
    const dv = this.stmt.dataVersion.get()!;
    if (dv === this.dataVersion) return;
    this.dataVersion = dv;
    this.forgetPrincipals();
    this.reloadAll();
  }

  private reloadAll(): void {
    this.reloadCategories();
    const ratings = new Map<number, [number, number]>();
    for (const [id, n, sum] of this.stmt.allRatings.all()) ratings.set(id, [n, sum]);
    if (this.records.length === 0) {
      for (const a of this.stmt.allTags.all()) this.upsertRecord(rowFromArray(a, ratings));
      return;
    }
    // Catching up with another process: read the cheap columns of every row, whole rows only where changed.
    const changed: number[] = [];
    for (const [id, version, queryCount, viewCount, lastUsedAt] of this.stmt.tagCounters.all()) {
      const slot = this.slotOfId.get(id);
      const rec = slot === undefined ? undefined : this.records[slot]!;
      const r = ratings.get(id);
      if (!rec || rec.version !== version) {
        changed.push(id);
        continue;
      }
      rec.queryCount = queryCount;
      rec.viewCount = viewCount;
      rec.lastUsedAt = lastUsedAt;
      rec.ratingCount = r?.[0] ?? 0;
      rec.ratingSum = r?.[1] ?? 0;
    }
    this.refreshTags(changed);
  }

  private reloadCategories(): void {
    const rows = this.prep("SELECT * FROM categories").all() as CategoryRow[];
    // Sorted here, not by SQL: SQLite orders by UTF-8 bytes, JS by UTF-16 units, and addCategoryToMirror uses JS.
    rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    const categories = new Map<number, Category>();
    const childrenOf = new Map<number | null, number[]>();
    for (const r of rows) {
      categories.set(r.id, {
        id: r.id, parentId: r.parent_id, name: r.name, description: r.description,
        createdAt: r.created_at, updatedAt: r.updated_at, version: r.version,
      });
      let list = childrenOf.get(r.parent_id);
      if (!list) childrenOf.set(r.parent_id, (list = []));
      list.push(r.id);
    }
    this.categories = categories;
    this.childrenOf = childrenOf;
    this.pathCache.clear();
    this.generation++;
  }

  /** A new category into the mirror without re-reading them all (children stay ordered by name, id). */
  private addCategoryToMirror(r: CategoryRow): void {
    this.categories.set(r.id, {
      id: r.id, parentId: r.parent_id, name: r.name, description: r.description,
      createdAt: r.created_at, updatedAt: r.updated_at, version: r.version,
    });
    let list = this.childrenOf.get(r.parent_id);
    if (!list) this.childrenOf.set(r.parent_id, (list = []));
    const before = (other: number): boolean => {
      const o = this.categories.get(other)!;
      return o.name < r.name || (o.name === r.name && o.id < r.id);
    };
    let at = list.length;
    while (at > 0 && !before(list[at - 1]!)) at--;
    list.splice(at, 0, r.id);
    this.generation++;
  }

  private refreshTags(ids: readonly number[]): void {
    for (const id of ids) {
      const row = this.stmt.tagById.get(id);
      if (row) this.upsertRecord(row);
    }
  }

  private upsertRecord(row: TagRow): void {
    const slot = this.slotOfId.get(row.id);
    if (slot !== undefined) {
      const rec = this.records[slot]!;
      if (this.textReady && (rec.displayName !== row.display_name || rec.description !== row.description)) {
        this.text.set(slot, { name: rec.name, displayName: row.display_name, description: row.description });
      }
      if (rec.categoryId !== row.category_id) {
        this.members.get(rec.categoryId)?.delete(rec);
        memberSet(this.members, row.category_id).add(rec);
        this.generation++;
      }
      assignRow(rec, row);
      return;
    }
    const rec = { id: row.id, slot: this.records.length, entity: row.entity, name: row.name, type: row.type } as TagRecord;
    assignRow(rec, row);
    this.records.push(rec);
    this.slotOfId.set(rec.id, rec.slot);
    let byName = this.byEntity.get(rec.entity);
    if (!byName) this.byEntity.set(rec.entity, (byName = new Map()));
    byName.set(rec.name, rec);
    memberSet(this.members, rec.categoryId).add(rec);
    this.generation++;
    if (this.textReady) this.text.set(rec.slot, { name: rec.name, displayName: rec.displayName, description: rec.description });
  }

  private ensureTextIndex(): void {
    if (this.textReady) return;
    for (const rec of this.records) this.text.set(rec.slot, { name: rec.name, displayName: rec.displayName, description: rec.description });
    this.textReady = true;
  }

  private coverageOf(rec: TagRecord): number | null {
    if (!this.coverageProvider) return null;
    try {
      const n = this.coverageProvider(rec.entity, rec.name);
      return typeof n === "number" && Number.isFinite(n) ? n : null;
    } catch {
      // The store may not know a catalogued-but-unloaded tag; coverage is then simply unknown.
      return null;
    }
  }

  private pathOf(categoryId: number | null): readonly string[] {
    if (categoryId === null) return [];
    const hit = this.pathCache.get(categoryId);
    if (hit) return hit;
    const names: string[] = [];
    for (let c = this.categories.get(categoryId); c; c = c.parentId === null ? undefined : this.categories.get(c.parentId)) {
      names.unshift(c.name);
      if (names.length > this.categories.size) break;
    }
    const path = Object.freeze(names);
    this.pathCache.set(categoryId, path);
    return path;
  }

  private view(rec: TagRecord): TagView {
    const pending = this.usage.peek(rec.id);
    let lastUsedAt = rec.lastUsedAt;
    if (pending?.lastUsedAt && (lastUsedAt === null || lastUsedAt < pending.lastUsedAt)) lastUsedAt = pending.lastUsedAt;
    return {
      entity: rec.entity,
      name: rec.name,
      displayName: rec.displayName,
      description: rec.description,
      type: rec.type,
      categoryId: rec.categoryId,
      categoryPath: this.pathOf(rec.categoryId),
      updateFrequency: rec.updateFrequency,
      dataSource: rec.dataSource,
      grade: rec.grade,
      productionType: rec.productionType,
      owner: rec.owner,
      status: rec.status,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      version: rec.version,
      queryCount: rec.queryCount + (pending?.queries ?? 0),
      viewCount: rec.viewCount + (pending?.views ?? 0),
      lastUsedAt,
      rating: { average: rec.ratingCount ? round2(rec.ratingSum / rec.ratingCount) : null, count: rec.ratingCount },
      coverage: this.coverageOf(rec),
    };
  }

  private detail(rec: TagRecord): TagDetail {
    const ratings = this
      .prep(
        `SELECT user_name AS user, stars, comment, updated_at AS updatedAt FROM tag_ratings WHERE tag_id = ?
         ORDER BY updated_at DESC, user_name LIMIT ?`,
      )
      .all(rec.id, DETAIL_RATINGS) as TagRating[];
    return { ...this.view(rec), statusChangedBy: rec.statusChangedBy, statusChangedAt: rec.statusChangedAt, ratings };
  }

  private filterFor(q: TagQuery): (r: TagRecord) => boolean {
    const tests: ((r: TagRecord) => boolean)[] = [];
    const inList = <T extends string>(field: string, list: readonly T[] | undefined, allowed: readonly T[], get: (r: TagRecord) => T) => {
      if (list === undefined) return;
      for (const x of list) v.oneOf(field, x, allowed);
      const set = new Set<string>(list);
      tests.push((r) => set.has(get(r)));
    };
    if (q.entity !== undefined) {
      const e = q.entity;
      tests.push((r) => r.entity === e);
    }
    inList("status", q.status, TAG_STATUSES, (r) => r.status);
    inList("type", q.type, TAG_TYPES, (r) => r.type);
    inList("grade", q.grade, GRADES, (r) => r.grade);
    inList("productionType", q.productionType, PRODUCTION_TYPES, (r) => r.productionType);
    inList("updateFrequency", q.updateFrequency, UPDATE_FREQUENCIES, (r) => r.updateFrequency);
    if (q.owner !== undefined) {
      const o = q.owner;
      tests.push((r) => r.owner === o);
    }
    if (q.dataSource !== undefined) {
      const d = q.dataSource;
      tests.push((r) => r.dataSource === d);
    }
    if (q.categoryId !== undefined) {
      if (q.categoryId === null) tests.push((r) => r.categoryId === null);
      else {
        this.categoryOrThrow(q.categoryId);
        const ids = q.subtree === false ? new Set([q.categoryId]) : this.subtreeIds(q.categoryId);
        tests.push((r) => r.categoryId !== null && ids.has(r.categoryId));
      }
    }
    const range = (field: string, min: number | undefined, max: number | undefined, get: (r: TagRecord) => number | null) => {
      if (min !== undefined) v.nonNegativeNumber(field + "Min", min);
      if (max !== undefined) v.nonNegativeNumber(field + "Max", max);
      if (min === undefined && max === undefined) return;
      const lo = min ?? -Infinity;
      const hi = max ?? Infinity;
      tests.push((r) => {
        const x = get(r);
        return x !== null && x >= lo && x <= hi;
      });
    };
    range("coverage", q.coverageMin, q.coverageMax, (r) => this.coverageOf(r));
    range("queryCount", q.queryCountMin, q.queryCountMax, (r) => r.queryCount + (this.usage.peek(r.id)?.queries ?? 0));
    range("viewCount", q.viewCountMin, undefined, (r) => r.viewCount + (this.usage.peek(r.id)?.views ?? 0));
    range("rating", q.ratingMin, undefined, (r) => (r.ratingCount ? r.ratingSum / r.ratingCount : null));
    if (q.usedSince !== undefined) {
      const t = v.instant("usedSince", q.usedSince);
      tests.push((r) => (this.lastUsed(r) ?? "") >= t);
    }
    if (q.unusedSince !== undefined) {
      const t = v.instant("unusedSince", q.unusedSince);
      tests.push((r) => {
        const last = this.lastUsed(r);
        return last === null || last < t;
      });
    }
    return (r) => {
      for (const t of tests) if (!t(r)) return false;
      return true;
    };
  }

  private lastUsed(r: TagRecord): string | null {
    const p = this.usage.peek(r.id)?.lastUsedAt ?? null;
    if (p === null) return r.lastUsedAt;
    return r.lastUsedAt === null || r.lastUsedAt < p ? p : r.lastUsedAt;
  }

  /** The records a listing must look at: a category's members, or an entity's tags, rather than all. */
  private scope(q: TagQuery): Iterable<TagRecord> {
    if (q.categoryId != null && this.categories.has(q.categoryId)) {
      const ids = q.subtree === false ? [q.categoryId] : [...this.subtreeIds(q.categoryId)];
      return ids.flatMap((id) => [...(this.members.get(id) ?? [])]);
    }
    if (q.categoryId === null) return this.members.get(null) ?? [];
    if (q.entity !== undefined) return this.byEntity.get(q.entity)?.values() ?? [];
    return this.records;
  }

  /** The value a sort compares, computed once per hit (not once per comparison). */
  private sortKeyOf(sort: SortKey): (r: TagRecord) => number | string | null {
    switch (sort) {
      case "relevance":
      case "name":
        return () => null;
      case "displayName":
        return (r) => r.displayName;
      case "createdAt":
        return (r) => r.createdAt;
      case "updatedAt":
        return (r) => r.updatedAt;
      case "lastUsedAt":
        return (r) => this.lastUsed(r);
      case "queryCount":
        return (r) => r.queryCount + (this.usage.peek(r.id)?.queries ?? 0);
      case "viewCount":
        return (r) => r.viewCount + (this.usage.peek(r.id)?.views ?? 0);
      case "coverage":
        return (r) => this.coverageOf(r);
      case "rating":
        return (r) => (r.ratingCount ? r.ratingSum / r.ratingCount : null);
    }
  }

  private subtreeIds(root: number): Set<number> {
    const out = new Set<number>();
    const stack = [root];
    while (stack.length) {
      const id = stack.pop()!;
      if (out.has(id)) continue;
      out.add(id);
      for (const c of this.childrenOf.get(id) ?? []) stack.push(c);
    }
    return out;
  }

  /** Categories in depth-first tree order (children by name). */
  private treeOrder(): number[] {
    const out: number[] = [];
    const stack = [...(this.childrenOf.get(null) ?? [])].reverse();
    while (stack.length) {
      const id = stack.pop()!;
      out.push(id);
      const kids = this.childrenOf.get(id);
      if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
    return out;
  }

  private countTree(entity: string | undefined): TreeCounts {
    const hit = this.countCache.get(entity ?? "");
    if (hit && hit.generation === this.generation) return hit.counts;
    const counts = this.computeCounts(entity);
    this.countCache.set(entity ?? "", { generation: this.generation, counts });
    return counts;
  }

  private computeCounts(entity: string | undefined): TreeCounts {
    const direct = new Map<number | null, number>();
    for (const [cat, set] of this.members) {
      if (entity === undefined) direct.set(cat, set.size);
      else {
        let n = 0;
        for (const r of set) if (r.entity === entity) n++;
        direct.set(cat, n);
      }
    }
    const total = new Map<number, number>();
    const order = this.treeOrder();
    for (let i = order.length - 1; i >= 0; i--) {
      const id = order[i]!;
      let n = direct.get(id) ?? 0;
      for (const c of this.childrenOf.get(id) ?? []) n += total.get(c) ?? 0;
      total.set(id, n);
    }
    return { direct, total };
  }

  private node(
    id: number,
    depth: number,
    counts: TreeCounts,
    opts: TreeOptions,
  ): CategoryNode {
    const cat = this.categories.get(id)!;
    const children: CategoryNode[] = [];
    if (depth > 0) for (const c of this.childrenOf.get(id) ?? []) children.push(this.node(c, depth - 1, counts, opts));
    const node: { -readonly [K in keyof CategoryNode]: CategoryNode[K] } = {
      id: cat.id,
      parentId: cat.parentId,
      name: cat.name,
      description: cat.description,
      createdAt: cat.createdAt,
      updatedAt: cat.updatedAt,
      version: cat.version,
      directTags: counts.direct.get(id) ?? 0,
      totalTags: counts.total.get(id) ?? 0,
      children,
    };
    if (!opts.withTags) return node;
    const tags: TagView[] = [];
    for (const r of this.members.get(id) ?? []) if (opts.entity === undefined || r.entity === opts.entity) tags.push(this.view(r));
    tags.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.entity < b.entity ? -1 : 1));
    node.tags = tags;
    return node;
  }
}

/** Direct and recursive tag counts per category (`null`: uncategorized). */
interface TreeCounts {
  readonly direct: Map<number | null, number>;
  readonly total: Map<number, number>;
}

interface Hit {
  readonly rec: TagRecord;
  readonly score: number;
  readonly key: number | string | null;
}

function byName(a: TagRecord, b: TagRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0;
}

/** Relevance: score, then popularity, then the shorter name. Keys: nulls (no coverage, never used) last either way. */
function hitComparator(sort: SortKey, desc: boolean): (a: Hit, b: Hit) => number {
  const sign = desc ? -1 : 1;
  if (sort === "relevance") {
    return (a, b) => b.score - a.score || b.rec.queryCount - a.rec.queryCount || a.rec.name.length - b.rec.name.length || byName(a.rec, b.rec);
  }
  if (sort === "name") return (a, b) => sign * byName(a.rec, b.rec);
  return (a, b) => {
    const x = a.key;
    const y = b.key;
    if (x === null || y === null) return x === y ? byName(a.rec, b.rec) : x === null ? 1 : -1;
    if (x === y) return byName(a.rec, b.rec);
    return sign * (x < y ? -1 : 1);
  };
}

/** Below this many wanted items, a bounded insertion beats sorting everything. */
const TOP_K_MAX = 2000;

/**
 * Keeps the first `k` hits in order as they are offered, and counts them all. A hit is allocated only
 * when it enters the page, so listing 100,000 tags for a page of 50 allocates about 50 objects.
 */
class PageCollector {
  total = 0;
  private readonly items: Hit[] = [];
  private readonly keepAll: boolean;
  // The offered hit, compared before it is worth allocating; `rec` is set before every comparison.
  private readonly probe: { rec: TagRecord; score: number; key: number | string | null } = { rec: undefined as never, score: 0, key: null };

  constructor(
    private readonly k: number,
    private readonly cmp: (a: Hit, b: Hit) => number,
  ) {
    this.keepAll = k > TOP_K_MAX;
  }

  offer(rec: TagRecord, score: number, key: number | string | null): void {
    this.total++;
    if (this.k === 0) return;
    if (this.keepAll) {
      this.items.push({ rec, score, key });
      return;
    }
    const items = this.items;
    const probe = this.probe;
    probe.rec = rec;
    probe.score = score;
    probe.key = key;
    if (items.length === this.k && this.cmp(probe, items[this.k - 1]!) >= 0) return;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(items[mid]!, probe) <= 0) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, { rec, score, key });
    if (items.length > this.k) items.pop();
  }

  sorted(): Hit[] {
    return this.keepAll ? this.items.sort(this.cmp) : this.items;
  }
}

function rowFromArray(a: unknown[], ratings: ReadonlyMap<number, [number, number]>): TagRow {
  // Positions follow TAG_COLUMNS.
  const id = a[0] as number;
  const r = ratings.get(id);
  return {
    id,
    entity: a[1] as string,
    name: a[2] as string,
    display_name: a[3] as string,
    description: a[4] as string,
    type: a[5] as TagType,
    category_id: a[6] as number | null,
    update_frequency: a[7] as UpdateFrequency,
    data_source: a[8] as string,
    grade: a[9] as Grade,
    production_type: a[10] as ProductionType,
    owner: a[11] as string | null,
    status: a[12] as TagStatus,
    status_changed_by: a[13] as string | null,
    status_changed_at: a[14] as string | null,
    created_at: a[15] as string,
    updated_at: a[16] as string,
    version: a[17] as number,
    query_count: a[18] as number,
    view_count: a[19] as number,
    last_used_at: a[20] as string | null,
    rating_count: r?.[0] ?? 0,
    rating_sum: r?.[1] ?? 0,
  };
}

function assignRow(rec: TagRecord, row: TagRow): void {
  rec.displayName = row.display_name;
  rec.description = row.description;
  rec.categoryId = row.category_id;
  rec.updateFrequency = row.update_frequency;
  rec.dataSource = row.data_source;
  rec.grade = row.grade;
  rec.productionType = row.production_type;
  rec.owner = row.owner;
  rec.status = row.status;
  rec.statusChangedBy = row.status_changed_by;
  rec.statusChangedAt = row.status_changed_at;
  rec.createdAt = row.created_at;
  rec.updatedAt = row.updated_at;
  rec.version = row.version;
  rec.queryCount = row.query_count;
  rec.viewCount = row.view_count;
  rec.lastUsedAt = row.last_used_at;
  rec.ratingCount = row.rating_count;
  rec.ratingSum = row.rating_sum;
}

function memberSet(members: Map<number | null, Set<TagRecord>>, id: number | null): Set<TagRecord> {
  let s = members.get(id);
  if (!s) members.set(id, (s = new Set()));
  return s;
}

function checkRoles(roles: readonly Role[]): Role[] {
  if (!Array.isArray(roles) || roles.length === 0) {
    throw new LassoError("bad_request", `give at least one role: ${ROLES.join(", ")}`);
  }
  const out = new Set<Role>();
  for (const r of roles) out.add(v.oneOf("role", r, ROLES));
  return [...out].sort();
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>;
  for (const k of keys) o[k] = 0;
  return o;
}

function defaultOrder(sort: SortKey): "asc" | "desc" {
  return sort === "name" || sort === "displayName" ? "asc" : "desc";
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
