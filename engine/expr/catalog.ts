/**
 * The narrow view of tags and segments that parsing, type checking and planning see. The planner never
 * touches storage through this: it learns names, types and enum dictionaries only.
 */
import type { Expr, TagType } from "./ast.js";

export interface TagInfo {
  readonly name: string;
  readonly type: TagType;
}

export interface SegmentInfo {
  readonly name: string;
  readonly entity: string;
  /** The saved expression, parsed. */
  readonly expr: Expr;
}

export interface Catalog {
  /** The entity the expression is evaluated for. */
  readonly entity: string;
  tag(name: string): TagInfo | undefined;
  /** Every tag name of the entity, for "did you mean" suggestions. */
  tagNames(): Iterable<string>;
  /** A saved segment by name (of any entity: a segment of another entity is `type_mismatch`). */
  segment(name: string): SegmentInfo | undefined;
}
