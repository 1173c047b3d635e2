/**
 * The SEL front end (../../shared/spec/SEL.md): text and JSON readers, the canonical formatter, the
 * type checker. Everything user-facing fails with a LassoError carrying `at` (text) or `path` (JSON).
 *
 *   const e = parseExpr("城市 IN ('上海', '北京') AND NOT churned");
 *   check(e, catalog);            // unknown_tag, type_mismatch, unknown_segment, segment_cycle
 *   format(e);                    // "城市 IN ('上海', '北京') AND NOT churned"
 *   toJson(e);                    // {"and": [{"in": ["城市", ["上海", "北京"]]}, {"not": {"tag": "churned"}}]}
 */
import type { Expr } from "./ast.js";
import type { ParseOptions } from "./limits.js";
import { parseJson } from "./json.js";
import { parseText } from "./parser.js";

export type { CompareOp, Expr, ExprType, Literal, TagType, TimeUnit } from "./ast.js";
export type { Catalog, SegmentInfo, TagInfo } from "./catalog.js";
export { check, type CheckOptions } from "./check.js";
export { format, formatLiteral, formatName } from "./format.js";
export { parseJson, toJson } from "./json.js";
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, type ParseOptions } from "./limits.js";
export { numberValue } from "./literals.js";
export { isPlainIdentifier, RESERVED_WORDS } from "./names.js";
export { parseText } from "./parser.js";
export { suggestNames } from "./suggest.js";
export { parseInstant, type Instant } from "./time.js";
export { collectSegments, collectTags, nodes, stripLocations } from "./tree.js";

/** A string is SEL text; an object or a boolean is the JSON form (already `JSON.parse`d). */
export function parseExpr(input: string | object | boolean, opts?: ParseOptions): Expr {
  return typeof input === "string" ? parseText(input, opts) : parseJson(input, opts);
}
