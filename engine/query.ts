/**
 * One query's life: parse → check → lower → normalise → order → compile → run, against one store
 * version held from start to end. Shared by count, select and explain.
 */
import type { QueryRequest } from "./api.js";
import { LassoError } from "./errors.js";
import type { Expr } from "./expr/ast.js";
import type { Catalog, SegmentInfo } from "./expr/catalog.js";
import { check, collectSegments, collectTags, nodes, parseExpr } from "./expr/index.js";
import type { Span } from "./errors.js";
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
  /** Every tag the query reads, through saved segments too. */
  readonly tags: readonly string[];
  /** From the lifecycle gate (e.g. deprecated tags). */
  readonly warnings: readonly string[];
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

/**
 * The lifecycle gate between type checking and planning: sees the tags a query reads and may refuse
 * (`tag_disabled`, drafts) or warn (deprecated). The tag catalog provides it.
 */
export type TagGate = (entity: string, tags: readonly string[], includeDrafts: boolean) => { warnings: string[] };

/** Tags read by an expression, following saved segments (cycles were refused by the checker). */
export function tagsRead(expr: Expr, segments: SegmentSource): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (e: Expr) => {
    for (const t of collectTags(e)) out.add(t);
    for (const name of collectSegments(e)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const s = segments.get(name);
      if (s) walk(s.expr);
    }
  };
  walk(expr);
  return [...out];
}

/** Runs the gate; a refusal naming a tag is pointed at that tag's first use in the expression. */
function gated(gate: TagGate, entity: string, tags: readonly string[], includeDrafts: boolean, expr: Expr): string[] {
  try {
    return gate(entity, tags, includeDrafts).warnings;
  } catch (e) {
    if (!(e instanceof LassoError) || typeof e.details["tag"] !== "string" || e.at || e.path !== undefined) throw e;
    const node = [...nodes(expr)].find((n) => "tag" in n && n.tag === e.details["tag"]) as { tagAt?: Span; path?: string } | undefined;
    if (!node) throw e;
    const where = node.tagAt ? { at: node.tagAt } : node.path !== undefined ? { path: node.path } : {};
    throw new LassoError(e.code, e.message, { ...e.details, ...where });
  }
}

export function prepare(store: EntityStore, req: QueryRequest, segments: SegmentSource, gate?: TagGate): PreparedQuery {
  const expr = parseExpr(req.expr as string | object | boolean);
  const now = nowOf(req.asOf);
  const version = store.acquire();
  let plan: PhysicalPlan | undefined;
  try {
    check(expr, catalogOf(version, segments));
    const tags = tagsRead(expr, segments);
    const warnings = gate ? gated(gate, store.name, tags, req.includeDrafts === true, expr) : [];
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
      tags,
      warnings,
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
    throw locate(e, expr);
  }
}

/**
 * SEL.md: every error says where. The planner's own refusals (e.g. `too_deep` once saved segments are
 * inlined) know no place in the text; they point at the whole expression.
 */
function locate(e: unknown, expr: Expr): unknown {
  if (!(e instanceof LassoError) || e.at || e.path !== undefined) return e;
  if (!["too_deep", "unknown_tag", "type_mismatch", "unknown_segment", "segment_cycle", "syntax"].includes(e.code)) return e;
  const where = expr.at ? { at: expr.at } : expr.path !== undefined ? { path: expr.path } : undefined;
  return where ? new LassoError(e.code, e.message, { ...e.details, ...where }) : e;
}
