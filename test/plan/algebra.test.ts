/**
 * Set-algebra laws through the whole engine (parse → normalise → plan → kernels), on random seeded
 * expressions: commutativity, identity, complement, De Morgan, absorption, double negation.
 */
import * as arrow from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import type { Expr } from "../../engine/expr/ast.js";
import { toJson } from "../../engine/expr/index.js";
import { openEngine } from "../../engine/index.js";
import { chunked, makeTable, rng } from "../engine/data.js";
import { randomExpr } from "../engine/random-expr.js";

const AS_OF = "2025-01-01T00:00:00Z";
let engine: Engine;
let total = 0;
beforeAll(async () => {
  engine = await openEngine({ threads: 0 });
  await engine.load({ entity: "user", key: "user_id", body: chunked(arrow.tableToIPC(makeTable({ rows: 20_000, seed: 99 }))) });
  total = engine.entities()[0]!.rows;
});
afterAll(async () => engine.close());

const count = async (e: Expr) => (await engine.count({ expr: toJson(e) as object, asOf: AS_OF })).count;
const and = (...args: Expr[]): Expr => ({ type: "and", args });
const or = (...args: Expr[]): Expr => ({ type: "or", args });
const not = (arg: Expr): Expr => ({ type: "not", arg });
const T: Expr = { type: "const", value: true };
const F: Expr = { type: "const", value: false };

describe("algebra laws", () => {
  const seed = 20251130;
  it(`hold for 60 random pairs (seed ${seed})`, async () => {
    const r = rng(seed);
    for (let i = 0; i < 60; i++) {
      const a = randomExpr(r, { maxDepth: 3, segments: [] });
      const b = randomExpr(r, { maxDepth: 3, segments: [] });
      const label = `seed ${seed} pair ${i}`;
      const [ca, cb, cab, cba] = await Promise.all([count(a), count(b), count(and(a, b)), count(and(b, a))]);
      expect(cab, `${label}: a∧b = b∧a`).toBe(cba);
      expect(await count(or(a, b)), `${label}: |a∨b| = |a|+|b|−|a∧b|`).toBe(ca + cb - cab);
      expect(await count(and(a, T)), `${label}: a∧⊤ = a`).toBe(ca);
      expect(await count(or(a, F)), `${label}: a∨⊥ = a`).toBe(ca);
      expect(await count(or(a, not(a))), `${label}: a∨¬a = ⊤`).toBe(total);
      expect(await count(and(a, not(a))), `${label}: a∧¬a = ⊥`).toBe(0);
      expect(await count(not(or(a, b))), `${label}: De Morgan`).toBe(await count(and(not(a), not(b))));
      expect(await count(not(and(a, b))), `${label}: De Morgan`).toBe(await count(or(not(a), not(b))));
      expect(await count(or(a, and(a, b))), `${label}: absorption`).toBe(ca);
      expect(await count(not(not(a))), `${label}: ¬¬a = a`).toBe(ca);
      expect(await count(not(a)), `${label}: |¬a| = total − |a|`).toBe(total - ca);
    }
  });
});
