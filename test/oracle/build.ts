/**
 * Tiny constructors for SEL trees, so tests can state expressions without the parser (and so the
 * oracle's own tests do not depend on it). Literals: `str('上海')`, `num('30.5')`, `bool(true)`,
 * `date('2025-01-01')`, `ts('2025-01-01T08:00:00+08:00')`; a plain JS string / number / boolean passed
 * where a literal is due is converted by `lit`.
 *
 * Example: and(inList('城市', '上海', '北京'), between('age', 25, 35), not(tag('churned')))
 */
import type { CompareOp, Expr, Literal, TimeUnit } from "../../engine/expr/ast.js";
import { exactNumber } from "./evaluate.js";

export type LiteralLike = Literal | string | number | boolean;

export const str = (value: string): Literal => ({ kind: "string", value });
export const bool = (value: boolean): Literal => ({ kind: "bool", value });
export const date = (text: string): Literal => ({ kind: "time", form: "date", text });
export const ts = (text: string): Literal => ({ kind: "time", form: "timestamp", text });

/**
 * A number literal from its source text, as the parser keeps it: `int` is set when the text denotes an
 * integer exactly (`30`, `30.0`, `1e3`) within 64 bits (−2^63 .. 2^64 − 1), else null (`30.5`, `1e400`).
 */
export function num(text: string): Literal {
  const exact = exactNumber(text);
  const int = exact && !exact.frac && exact.floor >= -(2n ** 63n) && exact.floor < 2n ** 64n ? exact.floor : null;
  return { kind: "number", text, value: Number(text), int };
}

export function lit(v: LiteralLike): Literal {
  if (typeof v === "string") return str(v);
  if (typeof v === "number") return num(String(v));
  if (typeof v === "boolean") return bool(v);
  return v;
}

export const TRUE: Expr = { type: "const", value: true };
export const FALSE: Expr = { type: "const", value: false };
export const and = (...args: Expr[]): Expr => ({ type: "and", args });
export const or = (...args: Expr[]): Expr => ({ type: "or", args });
export const not = (arg: Expr): Expr => ({ type: "not", arg });
export const seg = (name: string): Expr => ({ type: "segment", name });
export const tag = (name: string): Expr => ({ type: "tag", tag: name });
export const cmp = (name: string, op: CompareOp, v: LiteralLike): Expr => ({ type: "cmp", tag: name, op, value: lit(v) });
export const inList = (name: string, ...vs: LiteralLike[]): Expr => ({ type: "in", tag: name, negated: false, values: vs.map(lit) });
export const notIn = (name: string, ...vs: LiteralLike[]): Expr => ({ type: "in", tag: name, negated: true, values: vs.map(lit) });
export const between = (name: string, low: LiteralLike, high: LiteralLike): Expr =>
  ({ type: "between", tag: name, negated: false, low: lit(low), high: lit(high) });
export const notBetween = (name: string, low: LiteralLike, high: LiteralLike): Expr =>
  ({ type: "between", tag: name, negated: true, low: lit(low), high: lit(high) });
export const isNull = (name: string): Expr => ({ type: "null", tag: name, negated: false });
export const isNotNull = (name: string): Expr => ({ type: "null", tag: name, negated: true });
export const has = (name: string, v: LiteralLike): Expr => ({ type: "has", tag: name, mode: "one", values: [lit(v)] });
export const hasAny = (name: string, ...vs: LiteralLike[]): Expr => ({ type: "has", tag: name, mode: "any", values: vs.map(lit) });
export const hasAll = (name: string, ...vs: LiteralLike[]): Expr => ({ type: "has", tag: name, mode: "all", values: vs.map(lit) });
/** `pattern` after string unescaping: the SEL text `'50\\%'` is the pattern `50\%`. */
export const like = (name: string, pattern: string): Expr => ({ type: "like", tag: name, negated: false, pattern });
export const notLike = (name: string, pattern: string): Expr => ({ type: "like", tag: name, negated: true, pattern });
export const within = (name: string, amount: number | bigint, unit: TimeUnit): Expr =>
  ({ type: "within", tag: name, amount: BigInt(amount), unit });
export const before = (name: string, v: LiteralLike): Expr => ({ type: "before", tag: name, value: lit(v) });
export const after = (name: string, v: LiteralLike): Expr => ({ type: "after", tag: name, value: lit(v) });
