/**
 * AST → canonical SEL text: keywords in upper case, single-quoted strings with minimal escapes, tag names
 * backticked only when they must be, numbers as written, and parentheses only where the tree needs them,
 * so `parseText(format(e))` gives back `e`.
 */
import type { Expr, Literal } from "./ast.js";
import { quoteString } from "./literals.js";
import { isPlainIdentifier } from "./names.js";

/** One spelling per unit, plural like the JSON form's "days" (`WITHIN 1 DAY` reads back the same). */
const UNIT_TEXT = { day: "DAYS", hour: "HOURS", minute: "MINUTES" } as const;

/** Example: `format(parseText("not (a and b) or c<>'x'"))` → `NOT (a AND b) OR c != 'x'`. */
export function format(e: Expr): string {
  const node = unwrapSingle(e);
  switch (node.type) {
    case "and":
      // an and/or inside an and needs parentheses: AND binds tighter than OR, and a flat
      // `a AND b AND c` would read back as one node
      return node.args.length === 0 ? "TRUE" : node.args.map((a) => operand(a, (t) => t === "and" || t === "or")).join(" AND ");
    case "or":
      return node.args.length === 0 ? "FALSE" : node.args.map((a) => operand(a, (t) => t === "or")).join(" OR ");
    case "not":
      return `NOT ${operand(node.arg, (t) => t === "and" || t === "or")}`;
    case "const":
      return node.value ? "TRUE" : "FALSE";
    case "segment":
      return `@${node.name}`;
    case "tag":
      return formatName(node.tag);
    case "cmp":
      return `${formatName(node.tag)} ${node.op} ${formatLiteral(node.value)}`;
    case "in":
      return `${formatName(node.tag)} ${node.negated ? "NOT IN" : "IN"} ${list(node.values)}`;
    case "between":
      return (
        `${formatName(node.tag)} ${node.negated ? "NOT BETWEEN" : "BETWEEN"} ` +
        `${formatLiteral(node.low)} AND ${formatLiteral(node.high)}`
      );
    case "null":
      return `${formatName(node.tag)} ${node.negated ? "IS NOT NULL" : "IS NULL"}`;
    case "has":
      if (node.mode === "one" && node.values.length === 1) return `${formatName(node.tag)} HAS ${formatLiteral(node.values[0]!)}`;
      return `${formatName(node.tag)} ${node.mode === "all" ? "HAS ALL" : "HAS ANY"} ${list(node.values)}`;
    case "like":
      return `${formatName(node.tag)} ${node.negated ? "NOT LIKE" : "LIKE"} ${quoteString(node.pattern)}`;
    case "within":
      return `${formatName(node.tag)} WITHIN ${node.amount} ${UNIT_TEXT[node.unit]}`;
    case "before":
    case "after":
      return `${formatName(node.tag)} ${node.type === "before" ? "BEFORE" : "AFTER"} ${formatLiteral(node.value)}`;
  }
}

/** A tag name as SEL text: bare when it is a plain, non-reserved identifier, else in backticks. */
export function formatName(name: string): string {
  return isPlainIdentifier(name) ? name : `\`${name}\``;
}

export function formatLiteral(l: Literal): string {
  switch (l.kind) {
    case "string":
      return quoteString(l.value);
    case "number":
      return l.text;
    case "bool":
      return l.value ? "TRUE" : "FALSE";
    case "time":
      return `${l.form === "date" ? "DATE" : "TIMESTAMP"} ${quoteString(l.text)}`;
  }
}

function operand(e: Expr, needsParens: (type: Expr["type"]) => boolean): string {
  const node = unwrapSingle(e);
  const text = format(node);
  return needsParens(node.type) ? `(${text})` : text;
}

/** Hand-built trees may hold a one-operand and/or; it means its operand (the readers never make one). */
function unwrapSingle(e: Expr): Expr {
  let node = e;
  while ((node.type === "and" || node.type === "or") && node.args.length === 1) node = node.args[0]!;
  return node;
}

function list(values: readonly Literal[]): string {
  return `(${values.map(formatLiteral).join(", ")})`;
}
