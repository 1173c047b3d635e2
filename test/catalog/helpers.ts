/** Shared test plumbing: temp data directories, principals, and table snapshots for no-partial-write checks. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { TagCatalog, type CatalogOpenOptions, type Principal, type Role } from "../../engine/catalog/index.js";

const dirs: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lasso-catalog-"));
  dirs.push(d);
  return d;
}

export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function openCatalog(dir = tempDir(), opts: Omit<CatalogOpenOptions, "dataDir"> = {}): TagCatalog {
  return TagCatalog.open({ dataDir: dir, usageFlushMs: 0, ...opts });
}

export function who(name: string, ...roles: Role[]): Principal {
  return { name, roles };
}

/** Every row of every table (audit, users, tags, …) read through a separate connection. */
export function snapshot(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    const out: Record<string, unknown[]> = {};
    // Every table has at least two columns; ordering by them is stable for WITHOUT ROWID tables too.
    for (const t of tables) out[t] = db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all();
    return out;
  } finally {
    db.close();
  }
}
