/** Terse constructors for expected (location-free) trees in table-driven tests. */
import type { CompareOp, Expr, Literal, TimeUnit } from "../../engine/expr/ast.js";

export const str = (value: string): Literal => ({ kind: "string", value });
export const bool = (value: boolean): Literal => ({ kind: "bool", value });
export const num = (text: string, value: number, int: bigint | null): Literal => ({ kind: "number", text, value, int });
/** An integer literal written plainly. */
export const int = (n: number | bigint): Literal => ({ kind: "number", text: String(n), value: Number(n), int: BigInt(n) });
export const date = (text: string): Literal => ({ kind: "time", form: "date", text });
export const timestamp = (text: string): Literal => ({ kind: "time", form: "timestamp", text });

export const and = (...args: Expr[]): Expr => ({ type: "and", args });
export const or = (...args: Expr[]): Expr => ({ type: "or", args });
export const not = (arg: Expr): Expr => ({ type: "not", arg });
export const TRUE: Expr = { type: "const", value: true };
export const FALSE: Expr = { type: "const", value: false };
export const seg = (name: string): Expr => ({ type: "segment", name });
export const tag = (t: string): Expr => ({ type: "tag", tag: t });
export const cmp = (t: string, op: CompareOp, value: Literal): Expr => ({ type: "cmp", tag: t, op, value });
export const inList = (t: string, values: Literal[], negated = false): Expr => ({ type: "in", tag: t, negated, values });
export const between = (t: string, low: Literal, high: Literal, negated = false): Expr => ({ type: "between", tag: t, negated, low, high });
export const isNull = (t: string, negated = false): Expr => ({ type: "null", tag: t, negated });
export const has = (t: string, mode: "one" | "any" | "all", values: Literal[]): Expr => ({ type: "has", tag: t, mode, values });
export const like = (t: string, pattern: string, negated = false): Expr => ({ type: "like", tag: t, negated, pattern });
export const within = (t: string, amount: bigint, unit: TimeUnit): Expr => ({ type: "within", tag: t, amount, unit });
export const before = (t: string, value: Literal): Expr => ({ type: "before", tag: t, value });
export const after = (t: string, value: Literal): Expr => ({ type: "after", tag: t, value });
