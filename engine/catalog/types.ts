/**
 * The tag catalog's vocabulary: attribute domains, lifecycle states, roles and the shapes the catalog
 * hands out. Every enumerated domain is one `as const` array so SQL CHECKs, validation and docs agree.
 */
import type { TagType } from "../expr/ast.js";

export const TAG_TYPES = ["bool", "enum", "int", "float", "time", "multi"] as const satisfies readonly TagType[];

/** `draft → pending_review → published → deprecated → disabled`, and `disabled → published` by review. */
export const TAG_STATUSES = ["draft", "pending_review", "published", "deprecated", "disabled"] as const;
export type TagStatus = (typeof TAG_STATUSES)[number];

/** Data grades, L1 (public inside the company) to L4 (most sensitive). */
export const GRADES = ["L1", "L2", "L3", "L4"] as const;
export type Grade = (typeof GRADES)[number];

export const PRODUCTION_TYPES = ["import", "rule", "sql", "realtime", "model"] as const;
export type ProductionType = (typeof PRODUCTION_TYPES)[number];

export const UPDATE_FREQUENCIES = ["realtime", "hourly", "daily", "weekly", "monthly", "once", "irregular"] as const;
export type UpdateFrequency = (typeof UPDATE_FREQUENCIES)[number];

export const ROLES = ["viewer", "analyst", "tag_admin", "reviewer", "loader", "admin"] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a principal may do. `read` browses the catalog (and rates tags); `query` runs counts and selects;
 * `load` writes entity data; `manage_tags` edits attributes, categories and non-review transitions;
 * `review` approves, rejects and re-enables; `admin` manages users (and may do everything).
 */
export const ACTIONS = ["read", "query", "load", "manage_tags", "review", "admin"] as const;
export type Action = (typeof ACTIONS)[number];

/** Who is acting: an authenticated user (or, in open single-user mode, the implicit `local` admin). */
export interface Principal {
  readonly name: string;
  readonly roles: readonly Role[];
}

/** Entities with a value for a tag, from the store's statistics (never a scan). `undefined`: unknown. */
export type CoverageProvider = (entity: string, tag: string) => number | undefined;

/** Text limits, in Unicode code points. */
export const LIMITS = {
  entity: 128,
  tagName: 128,
  displayName: 128,
  description: 4000,
  dataSource: 500,
  categoryName: 100,
  categoryDescription: 2000,
  reason: 1000,
  comment: 2000,
  userName: 64,
  searchText: 200,
  pageSize: 500,
} as const;

export interface TagRating {
  readonly user: string;
  readonly stars: number;
  readonly comment: string;
  readonly updatedAt: string;
}

/** A tag as lists and search results show it. */
export interface TagView {
  readonly entity: string;
  /** The SEL identifier; unique per entity; fixed by the store column. */
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  readonly type: TagType;
  readonly categoryId: number | null;
  /** Category names from the root down; `[]` when uncategorized. */
  readonly categoryPath: readonly string[];
  readonly updateFrequency: UpdateFrequency;
  readonly dataSource: string;
  readonly grade: Grade;
  readonly productionType: ProductionType;
  readonly owner: string | null;
  readonly status: TagStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Optimistic-concurrency token: every attribute edit must name the version it read. */
  readonly version: number;
  readonly queryCount: number;
  readonly viewCount: number;
  /** Time of the last query that used the tag (views do not count). */
  readonly lastUsedAt: string | null;
  readonly rating: { readonly average: number | null; readonly count: number };
  /** Entities that have the tag, from the coverage provider; null when unknown. */
  readonly coverage: number | null;
}

/** A tag's detail page: the view plus who last changed its status and the most recent ratings. */
export interface TagDetail extends TagView {
  readonly statusChangedBy: string | null;
  readonly statusChangedAt: string | null;
  readonly ratings: readonly TagRating[];
}

/** Editable attributes. `name`, `entity` and `type` belong to the store column and never change here. */
export interface TagPatch {
  displayName?: string;
  description?: string;
  categoryId?: number | null;
  updateFrequency?: UpdateFrequency;
  dataSource?: string;
  grade?: Grade;
  productionType?: ProductionType;
  owner?: string | null;
}

export interface NewTag extends TagPatch {
  entity: string;
  name: string;
  type: TagType;
}

export interface Category {
  readonly id: number;
  readonly parentId: number | null;
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

/** A node of the tag tree with its counts; `children` is cut at the requested depth (then `[]`). */
export interface CategoryNode extends Category {
  /** Tags directly in this category. */
  readonly directTags: number;
  /** Tags in this category and every descendant. */
  readonly totalTags: number;
  readonly children: readonly CategoryNode[];
  /** The node's direct tags, when asked for (with their coverage). */
  readonly tags?: readonly TagView[];
}

export type SortKey =
  | "relevance"
  | "name"
  | "displayName"
  | "createdAt"
  | "updatedAt"
  | "queryCount"
  | "viewCount"
  | "lastUsedAt"
  | "coverage"
  | "rating";
export const SORT_KEYS: readonly SortKey[] = [
  "relevance",
  "name",
  "displayName",
  "createdAt",
  "updatedAt",
  "queryCount",
  "viewCount",
  "lastUsedAt",
  "coverage",
  "rating",
];

/** A tag search: free text plus filters (all ANDed; list-valued filters match any listed value). */
export interface TagQuery {
  /** Fuzzy text over name, display name and description (Chinese and English; typo tolerant). */
  q?: string;
  entity?: string;
  status?: readonly TagStatus[];
  type?: readonly TagType[];
  grade?: readonly Grade[];
  productionType?: readonly ProductionType[];
  updateFrequency?: readonly UpdateFrequency[];
  owner?: string;
  dataSource?: string;
  /** Tags in this category; with `subtree` (default true) also in its descendants. `null`: uncategorized. */
  categoryId?: number | null;
  subtree?: boolean;
  coverageMin?: number;
  coverageMax?: number;
  queryCountMin?: number;
  queryCountMax?: number;
  viewCountMin?: number;
  ratingMin?: number;
  usedSince?: string;
  unusedSince?: string;
  /** Default `relevance` when `q` is given, else `name`. */
  sort?: SortKey;
  order?: "asc" | "desc";
  offset?: number;
  /** Default 50, at most LIMITS.pageSize. */
  limit?: number;
}

export interface TagHit extends TagView {
  /** Relevance score when the query had text (higher is better). */
  readonly score?: number;
}

export interface TagPage {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly items: readonly TagHit[];
}

export interface CatalogStats {
  readonly tags: number;
  readonly categories: number;
  readonly uncategorized: number;
  readonly byEntity: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<TagStatus, number>>;
  readonly byGrade: Readonly<Record<Grade, number>>;
  readonly byProductionType: Readonly<Record<ProductionType, number>>;
  readonly byType: Readonly<Record<TagType, number>>;
  /** Every category with its direct and recursive counts, in tree order. */
  readonly byCategory: readonly { id: number; path: readonly string[]; directTags: number; totalTags: number }[];
}

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly target: "tag" | "category" | "user";
  readonly targetId: number | null;
  readonly entity: string | null;
  readonly name: string;
  /** `create`, `update`, `submit`, `approve`, `reject`, `deprecate`, `disable`, `reenable`, `publish_open_mode`, `move`, `delete`, … */
  readonly action: string;
  readonly fromStatus: TagStatus | null;
  readonly toStatus: TagStatus | null;
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>> | null;
}

export interface AuditQuery {
  /** Tag name (with `entity` when names repeat across entities). */
  tag?: string;
  entity?: string;
  categoryId?: number;
  user?: string;
  actor?: string;
  action?: string;
  /** Entries with id below this (paging backwards from the newest). */
  before?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface UserInfo {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly tokens: readonly TokenInfo[];
}

export interface TokenInfo {
  readonly id: number;
  /** The token's first characters, to tell tokens apart; never enough to use. */
  readonly hint: string;
  readonly createdAt: string;
}
