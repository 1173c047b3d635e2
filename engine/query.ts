/**
 * One query's life: parse → check → lower → normalise → order → compile → run, against one store
 * version held from start to end. Shared by count, select and explain.
 */
import type { QueryRequest } from "./api.js";
import { LassoError } from "./errors.js";
import type { Expr } from "./expr/ast.js";
import type { Catalog, SegmentInfo } from "./expr/catalog.js";
import { check, parseExpr } from "./expr/index.js";
import { parseInstant } from "./expr/time.js";
import { lower, type LNode } from "./plan/logical.js";
import { normalize } from "./plan/normalize.js";
import { compile, order, type PhysicalPlan } from "./plan/physical.js";
import type { EntityStore, EntityVersion } from "./store/entity.js";

export interface SegmentSource {
  get(name: string): { entity: string; expr: Expr } | undefined;
}

export interface PreparedQuery {
  readonly version: EntityVersion;
  readonly expr: Expr;
  readonly logical: LNode;
  readonly plan: PhysicalPlan;
  readonly now: bigint;
  /** Releases the version and the plan's constants. Idempotent. */
  release(): void;
}

export function nowOf(asOf: string | undefined): { ns: bigint; sub: boolean } {
  if (asOf === undefined) return { ns: BigInt(Date.now()) * 1_000_000n, sub: false };
  if (typeof asOf !== "string") throw new LassoError("bad_request", "asOf must be an ISO 8601 time string");
  try {
    const t = parseInstant(asOf);
    return { ns: t.ns, sub: t.sub === true };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new LassoError("bad_request", `asOf ${JSON.stringify(asOf)} is not an ISO 8601 / RFC 3339 time: ${why}`);
  }
}

export function catalogOf(v: EntityVersion, segments: SegmentSource, override?: SegmentInfo): Catalog {
  return {
    entity: v.entity,
    tag: (name) => {
      const m = v.tags.get(name);
      return m ? { name, type: m.type } : undefined;
    },
    tagNames: () => v.tags.keys(),
    segment: (name) => {
      if (override && override.name === name) return override;
      const s = segments.get(name);
      return s ? { name, entity: s.entity, expr: s.expr } : undefined;
    },
  };
}

export function prepare(store: EntityStore, req: QueryRequest, segments: SegmentSource): PreparedQuery {
  const expr = parseExpr(req.expr as string | object | boolean);
  const now = nowOf(req.asOf);
  const version = store.acquire();
  let plan: PhysicalPlan | undefined;
  try {
    check(expr, catalogOf(version, segments));
    const logical = order(
      normalize(lower(expr, { tags: version.tags, now: now.ns, nowSub: now.sub, segment: (n) => segments.get(n)?.expr })),
      version,
    );
    plan = compile(logical, version);
    let released = false;
    const p = plan;
    return {
      version,
      expr,
      logical,
      plan: p,
      now: now.ns,
      release() {
        if (released) return;
        released = true;
        p.free();
        store.release(version);
      },
    };
  } catch (e) {
    plan?.free();
    store.release(version);
    throw e;
  }
}
