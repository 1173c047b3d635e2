/**
 * The SEL syntax tree (../shared/spec/SEL.md). Both the text and the JSON form parse to these nodes;
 * `format` turns them back into canonical text. Nodes are plain readonly data: they cross worker
 * boundaries and are compared structurally in tests (ignore `at` / `path` when comparing).
 *
 * Locations: text-form nodes carry `at` (the node's whole span); JSON-form nodes carry `path`
 * (JSON Pointer of the node). Predicates also carry `tagAt` (the tag name's span, backticks included)
 * so `unknown_tag` can point at the name itself.
 */
import type { Span } from "../errors.js";

export type TagType = "bool" | "enum" | "int" | "float" | "time" | "multi";

export interface Located {
  readonly at?: Span;
  readonly path?: string;
}

/**
 * A literal as written. Numbers keep their source text so integer literals stay exact up to 64 bits
 * (`value` is the nearest double; `int` is set when the literal denotes an integer exactly, e.g.
 * `30`, `-9223372036854775808`, `1e3`, `30.0`; also null past 400 digits, where `value` is ±Infinity).
 * JSON integers beyond 2^53 may arrive as decimal strings:
 * those stay `string` literals and the type checker accepts a decimal-integer string where a number is due.
 */
export type Literal =
  | (Located & { readonly kind: "string"; readonly value: string })
  | (Located & { readonly kind: "number"; readonly text: string; readonly value: number; readonly int: bigint | null })
  | (Located & { readonly kind: "bool"; readonly value: boolean })
  /** `DATE '…'` / `TIMESTAMP '…'`; `text` is the string's content. */
  | (Located & { readonly kind: "time"; readonly form: "date" | "timestamp"; readonly text: string });

export type CompareOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
export type TimeUnit = "day" | "hour" | "minute";

interface TagNode extends Located {
  readonly tag: string;
  readonly tagAt?: Span;
}

export type Expr =
  | (Located & { readonly type: "and"; readonly args: readonly Expr[] })
  | (Located & { readonly type: "or"; readonly args: readonly Expr[] })
  | (Located & { readonly type: "not"; readonly arg: Expr })
  | (Located & { readonly type: "const"; readonly value: boolean })
  | (Located & { readonly type: "segment"; readonly name: string })
  /** A bool tag standing alone: `churned` ≡ `churned = TRUE`. */
  | (TagNode & { readonly type: "tag" })
  | (TagNode & { readonly type: "cmp"; readonly op: CompareOp; readonly value: Literal })
  | (TagNode & { readonly type: "in"; readonly negated: boolean; readonly values: readonly Literal[] })
  | (TagNode & { readonly type: "between"; readonly negated: boolean; readonly low: Literal; readonly high: Literal })
  /** `IS NULL` (negated = false) / `IS NOT NULL` (negated = true). */
  | (TagNode & { readonly type: "null"; readonly negated: boolean })
  /** `HAS v` (mode one, one value), `HAS ANY (…)`, `HAS ALL (…)`. */
  | (TagNode & { readonly type: "has"; readonly mode: "one" | "any" | "all"; readonly values: readonly Literal[] })
  /** `pattern` is the string after string unescaping; LIKE's own `\` escapes are still in it. */
  | (TagNode & { readonly type: "like"; readonly negated: boolean; readonly pattern: string })
  | (TagNode & { readonly type: "within"; readonly amount: bigint; readonly unit: TimeUnit })
  | (TagNode & { readonly type: "before" | "after"; readonly value: Literal });

export type ExprType = Expr["type"];
