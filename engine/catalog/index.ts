/** The tag catalog's public surface (see docs/catalog.md). */
export { TagCatalog, CATALOG_FILE, USAGE_FLUSH_MS } from "./tag-catalog.js";
export type { CatalogOpenOptions, LoadedTag, TreeOptions, TreeListing, CategoryListing } from "./tag-catalog.js";
export { ROLE_ACTIONS, LOCAL_PRINCIPAL, authorize, bearerToken } from "./identity.js";
export { TRANSITIONS, findTransition, nextStatuses } from "./lifecycle.js";
export type { TransitionRule, TransitionAction } from "./lifecycle.js";
export { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";
export { resolveDataDir } from "./data-dir.js";
export * from "./types.js";
