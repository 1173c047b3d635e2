/**
 * The catalog's SQLite schema as an ordered list of migrations. Migration i (0-based) takes the file
 * from schema version i to i + 1; `schema_migrations` records each applied version with the SHA-256 of
 * its text, so an edited old migration or a file from a newer build is refused instead of half-understood.
 *
 * Rules for adding one: append, never edit (the checksum would refuse every existing file); one migration
 * runs in one transaction together with its `schema_migrations` row, so a failed migration leaves the
 * file at the previous version.
 */
import { createHash } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import { LassoError } from "../errors.js";

export const MIGRATIONS: readonly string[] = [
  `-- v1: categories, tags, the append-only audit log
CREATE TABLE categories (
  id          INTEGER PRIMARY KEY,
  parent_id   INTEGER REFERENCES categories(id),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX categories_sibling_name ON categories (coalesce(parent_id, 0), name);
CREATE INDEX categories_parent ON categories (parent_id);

CREATE TABLE tags (
  id                INTEGER PRIMARY KEY,
  entity            TEXT NOT NULL CHECK (length(entity) BETWEEN 1 AND 128),
  name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  display_name      TEXT NOT NULL DEFAULT '',
  description       TEXT NOT NULL DEFAULT '',
  type              TEXT NOT NULL CHECK (type IN ('bool','enum','int','float','time','multi')),
  category_id       INTEGER REFERENCES categories(id),
  update_frequency  TEXT NOT NULL DEFAULT 'irregular'
                    CHECK (update_frequency IN ('realtime','hourly','daily','weekly','monthly','once','irregular')),
  data_source       TEXT NOT NULL DEFAULT '',
  grade             TEXT NOT NULL DEFAULT 'L1' CHECK (grade IN ('L1','L2','L3','L4')),
  production_type   TEXT NOT NULL CHECK (production_type IN ('import','rule','sql','realtime','model')),
  owner             TEXT,
  status            TEXT NOT NULL
                    CHECK (status IN ('draft','pending_review','published','deprecated','disabled')),
  status_changed_by TEXT,
  status_changed_at TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  version           INTEGER NOT NULL DEFAULT 1,
  UNIQUE (entity, name)
);
CREATE INDEX tags_category ON tags (category_id);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  target      TEXT NOT NULL CHECK (target IN ('tag','category','user')),
  target_id   INTEGER,
  entity      TEXT,
  name        TEXT NOT NULL,
  action      TEXT NOT NULL,
  from_status TEXT,
  to_status   TEXT,
  reason      TEXT NOT NULL DEFAULT '',
  details     TEXT
);
CREATE INDEX audit_log_target ON audit_log (target, target_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`,
  `-- v2: identities and API tokens, usage counters, ratings
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at TEXT NOT NULL
);
CREATE TABLE user_roles (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role    TEXT NOT NULL CHECK (role IN ('viewer','analyst','tag_admin','reviewer','loader','admin')),
  PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE TABLE api_tokens (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  hint       TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

ALTER TABLE tags ADD COLUMN query_count  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tags ADD COLUMN view_count   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tags ADD COLUMN last_used_at TEXT;

CREATE TABLE tag_ratings (
  tag_id     INTEGER NOT NULL REFERENCES tags(id),
  user_name  TEXT NOT NULL,
  stars      INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  comment    TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tag_id, user_name)
) WITHOUT ROWID;
`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrationChecksum(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

interface AppliedRow {
  version: number;
  checksum: string;
}

/**
 * Brings `db` to SCHEMA_VERSION. Returns the versions applied now (empty when already current).
 * Throws `internal` for a file from a newer build or one whose applied migrations differ from ours.
 */
export function migrate(db: BetterSqlite3.Database, now: () => string): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const applied = db.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version").all() as AppliedRow[];
  for (const [i, row] of applied.entries()) {
    if (row.version !== i + 1) {
      throw new LassoError("internal", `catalog schema_migrations is not contiguous: expected version ${i + 1}, found ${row.version}`);
    }
    const sql = MIGRATIONS[i];
    if (sql === undefined) {
      throw new LassoError(
        "internal",
        `catalog.db is at schema version ${applied.length}, newer than this build understands (${SCHEMA_VERSION}): upgrade Lasso`,
      );
    }
    if (row.checksum !== migrationChecksum(sql)) {
      throw new LassoError("internal", `catalog migration v${row.version} in the file differs from this build's; refusing to open`);
    }
  }
  const done: number[] = [];
  const insert = db.prepare("INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)");
  for (let v = applied.length + 1; v <= SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v - 1]!;
    db.transaction(() => {
      db.exec(sql);
      insert.run(v, migrationChecksum(sql), now());
    }).immediate();
    done.push(v);
  }
  if (done.length > 0) {
    // Foreign keys are checked per statement inside a migration only when enabled; verify the result once.
    const bad = db.prepare("PRAGMA foreign_key_check").all();
    if (bad.length > 0) throw new LassoError("internal", `catalog migration left ${bad.length} foreign-key violations`);
  }
  return done;
}
