/** A Map-based Catalog for checker tests: tags by name, segments parsed from text or JSON. */
import type { Expr, TagType } from "../../engine/expr/ast.js";
import type { Catalog, SegmentInfo, TagInfo } from "../../engine/expr/catalog.js";
import { parseExpr } from "../../engine/expr/index.js";

export class MapCatalog implements Catalog {
  private readonly tags = new Map<string, TagInfo>();
  private readonly segments = new Map<string, SegmentInfo>();

  constructor(readonly entity: string, tags: Record<string, TagType> = {}) {
    for (const [name, type] of Object.entries(tags)) this.tags.set(name, { name, type });
  }

  tag(name: string): TagInfo | undefined {
    return this.tags.get(name);
  }
  tagNames(): Iterable<string> {
    return this.tags.keys();
  }
  segment(name: string): SegmentInfo | undefined {
    return this.segments.get(name);
  }

  /** Adds a saved segment; `expr` is SEL text or the JSON form. */
  withSegment(name: string, expr: string | object | boolean, entity = this.entity): this {
    const parsed: Expr = parseExpr(expr);
    this.segments.set(name, { name, entity, expr: parsed });
    return this;
  }
}

/** The tags of SEL.md's examples, plus Chinese ones. */
export function userCatalog(): MapCatalog {
  return new MapCatalog("user", {
    churned: "bool",
    high_value: "bool",
    city: "enum",
    gender: "enum",
    level: "enum",
    age: "int",
    orders_90d: "int",
    spend_90d: "float",
    last_order_at: "time",
    signup_date: "time",
    interests: "multi",
    "acq-channel": "enum",
    城市: "enum",
    年龄: "int",
    兴趣: "multi",
    是否流失: "bool",
    最近下单时间: "time",
  });
}
