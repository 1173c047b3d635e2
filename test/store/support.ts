// Shared pieces of the persistence tests: temp directories, a store fingerprint (query counts + tag
// summary + a checksum of every column), and a plain-JS model of the store fed by the same operations,
// which the oracle (test/oracle/evaluate.ts) answers queries over.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import type { Engine, TagSummary } from "../../engine/api.js";
import { LassoError } from "../../engine/errors.js";
import { parseExpr } from "../../engine/expr/index.js";
import type { EntityStore } from "../../engine/store/entity.js";
import { checksumVersion } from "../../engine/store/persist-check.js";
import { OracleError, countMatches, type OracleRow, type OracleSchema } from "../oracle/evaluate.js";
import { tableToRows } from "../oracle/rows.js";

export const AS_OF = "2026-01-01T00:00:00Z";
const AS_OF_NS = BigInt(Date.parse(AS_OF)) * 1_000_000n;

/** Queries over the ops.mjs columns: every SEL type, nulls, negation. */
export const QUERIES: readonly string[] = [
  "TRUE",
  "flag",
  "NOT flag",
  "flag IS NULL",
  "score > 0",
  "score BETWEEN -100 AND 100",
  "score > 3000000000 OR score < -3000000000",
  "score IS NOT NULL",
  "amount < 5000",
  "amount IS NULL",
  "ratio >= 0.5",
  "城市 IN ('上海', '北京')",
  "城市 = ''",
  "城市 LIKE 'S%'",
  "城市 != '深圳'",
  "sku IN ('sku-1', 'sku-300', 'sku-42')",
  "sku > 'sku-5'",
  "seen_at AFTER '2023-12-01T00:00:00Z'",
  "seen_at IS NULL",
  "born BEFORE DATE '1980-01-01'",
  "interests HAS 'music'",
  "interests HAS ALL ('sports', 'music')",
  "interests IS NOT NULL",
  "level >= 5",
  "vip",
  "rare",
  "rare IS NOT NULL AND NOT rare",
  "NOT (flag OR score < 0) AND interests HAS ANY ('美食', 'tech')",
];

export function tempDir(tag: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `lasso-${tag}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The engine's store of an entity (tests reach past the public API to checksum columns). */
export function storeOf(engine: Engine, entity: string): EntityStore {
  const stores = (engine as unknown as { stores: Map<string, EntityStore> }).stores;
  const s = stores.get(entity);
  if (!s) throw new Error(`no entity ${entity}`);
  return s;
}

export interface Fingerprint {
  version: number;
  total: number;
  checksum: string;
  tags: TagSummary[];
  /** Count per query, or the error code. */
  counts: (number | string)[];
}

export async function fingerprint(engine: Engine, entity = "user"): Promise<Fingerprint> {
  const store = storeOf(engine, entity);
  const v = store.current;
  const counts: (number | string)[] = [];
  for (const q of QUERIES) {
    try {
      counts.push((await engine.count({ entity, expr: q, asOf: AS_OF })).count);
    } catch (e) {
      if (!(e instanceof LassoError)) throw e;
      counts.push(e.code);
    }
  }
  return { version: v.number, total: v.total, checksum: checksumVersion(v), tags: engine.tags(entity), counts };
}

/** The store as plain rows, changed by the same operations as the engine. */
export class Model {
  readonly rows: OracleRow[] = [];
  readonly schema: OracleSchema = {};
  private readonly live = new Map<bigint, OracleRow>();

  apply(op: { kind: "load"; ipc: Uint8Array } | { kind: "delete"; keys: string[] }): void {
    if (op.kind === "delete") {
      for (const k of op.keys) {
        const row = this.live.get(BigInt(k));
        if (!row) continue;
        row.exists = false;
        this.live.delete(BigInt(k));
      }
      return;
    }
    const { rows, schema } = tableToRows(arrow.tableFromIPC(op.ipc), "user_id");
    for (const [name, t] of Object.entries(schema)) this.schema[name] = t;
    for (const r of rows) {
      const key = r.key as bigint;
      const row = this.live.get(key);
      if (row) Object.assign(row.tags, r.tags);
      else {
        this.live.set(key, r);
        this.rows.push(r);
      }
    }
  }

  /** Oracle counts of QUERIES (error code when the oracle rejects the query, e.g. an unknown tag). */
  counts(): (number | string)[] {
    return QUERIES.map((q) => {
      try {
        return countMatches(parseExpr(q), this.rows, this.schema, { now: AS_OF_NS });
      } catch (e) {
        if (e instanceof OracleError) return e.code;
        throw e;
      }
    });
  }
}
