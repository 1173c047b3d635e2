/**
 * Golden files for `explain` (DataFusion's explain.slt pattern): the plan text for a table of queries.
 * Regenerate only on purpose: `UPDATE_GOLDEN=1 npx vitest run --config test/vitest.config.ts test/plan`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as arrow from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { chunked, makeTable } from "../engine/data.js";

const GOLDEN = fileURLToPath(new URL("./golden/", import.meta.url));
const CASES: Record<string, string> = {
  "single-bool": "vip",
  "enum-in-small": "城市 IN ('上海', '北京')",
  "enum-in-large-u16": "level IN ('L1','L2','L3','L4','L5','L6','L7','L8','L9','L10','L11','L12','L13','L14','L15','L16','L17')",
  "int-between": "age BETWEEN 25 AND 35",
  "int-not-in": "age NOT IN (1, 2, 3)",
  "float-strict": "spend > 100.5",
  "time-within": "last_order_at WITHIN 30 DAYS",
  "multi-has-all": "interests HAS ALL ('sports', 'music')",
  "de-morgan": "NOT (vip OR age < 18)",
  "contradiction": "age > 10 AND age < 5",
  "tautology": "vip OR NOT vip",
  "range-merge": "age >= 18 AND age <= 65 AND age != 30",
  "like": "城市 LIKE '上%' OR 城市 IS NULL",
  "sparse-flag": "flag AND NOT rare_true",
  "absent-value": "城市 = 'nowhere'",
};

let engine: Engine;
beforeAll(async () => {
  engine = await openEngine({ threads: 0 });
  const t = makeTable({ rows: 70_000, seed: 7 });
  await engine.load({ entity: "user", key: "user_id", body: chunked(arrow.tableToIPC(t)) });
});
afterAll(async () => engine.close());

describe("explain golden files", () => {
  for (const [name, expr] of Object.entries(CASES)) {
    it(name, async () => {
      const text = await engine.explain({ expr, asOf: "2025-01-01T00:00:00Z" });
      const file = `${GOLDEN}${name}.txt`;
      if (process.env["UPDATE_GOLDEN"] || !existsSync(file)) {
        if (!process.env["UPDATE_GOLDEN"] && process.env["CI"]) throw new Error(`golden file ${name}.txt is missing`);
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, "utf8"));
    });
  }
});
