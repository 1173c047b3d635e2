/**
 * Seeded random SEL expressions over the test schema of ./data.ts: every construct, nesting to a given
 * depth, literals drawn from the data's own values and from edge cases.
 */
import type { Expr, Literal } from "../../engine/expr/ast.js";
import { CITIES, INTERESTS, LEVELS } from "./data.js";

type R = () => number;

const str = (value: string): Literal => ({ kind: "string", value });
function num(text: string): Literal {
  const value = Number(text);
  const m = /^(-?\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  let int: bigint | null = null;
  const frac = m[2] ?? "";
  const exp = Number(m[3] ?? 0);
  const digits = BigInt(m[1]! + frac);
  const shift = exp - frac.length;
  if (shift >= 0) int = digits * 10n ** BigInt(shift);
  else if (digits % 10n ** BigInt(-shift) === 0n) int = digits / 10n ** BigInt(-shift);
  return { kind: "number", text, value, int };
}

export interface GenOptions {
  maxDepth: number;
  segments: string[];
}

export function randomExpr(r: R, opts: GenOptions, depth = 0): Expr {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  if (depth < opts.maxDepth && r() < 0.45) {
    const k = r();
    if (k < 0.4) return { type: "and", args: Array.from({ length: 2 + Math.floor(r() * 3) }, () => randomExpr(r, opts, depth + 1)) };
    if (k < 0.75) return { type: "or", args: Array.from({ length: 2 + Math.floor(r() * 3) }, () => randomExpr(r, opts, depth + 1)) };
    return { type: "not", arg: randomExpr(r, opts, depth + 1) };
  }
  const k = r();
  if (k < 0.02) return { type: "const", value: r() < 0.5 };
  if (k < 0.05 && opts.segments.length > 0) return { type: "segment", name: pick(opts.segments) };
  const tag = pick(["vip", "rare", "flag", "rare_true", "age", "orders", "big", "spend", "score", "城市", "level", "last_order_at", "seen_us", "signup", "interests"]);
  if (r() < 0.08) return { type: "null", tag, negated: r() < 0.5 };
  switch (tag) {
    case "vip":
    case "rare":
    case "flag":
    case "rare_true":
      if (r() < 0.5) return { type: "tag", tag };
      return { type: "cmp", tag, op: pick(["=", "!="] as const), value: { kind: "bool", value: r() < 0.5 } };
    case "age":
    case "orders":
    case "big":
    case "spend":
    case "score":
      return numeric(r, tag);
    case "城市":
    case "level":
      return enumPred(r, tag, tag === "城市" ? CITIES : LEVELS);
    case "interests": {
      const vals = () => Array.from({ length: 1 + Math.floor(r() * 3) }, () => str(r() < 0.9 ? pick(INTERESTS) : "absent"));
      const m = r();
      if (m < 0.4) return { type: "has", tag, mode: "one", values: [str(pick(INTERESTS))] };
      return { type: "has", tag, mode: m < 0.7 ? "any" : "all", values: vals() };
    }
    default:
      return timePred(r, tag);
  }
}

function numberText(r: R, tag: string): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (tag) {
    case "age":
      return pick([String(Math.floor(r() * 110) - 10), `${Math.floor(r() * 100)}.5`, "1e1", "-0", "30.0", "127", "-128", "200"]);
    case "orders":
      return pick([String(Math.floor(r() ** 3 * 5000)), "2147483647", "-2147483648", "2147483648", "1e9", "0.001"]);
    case "big":
      return pick([String(Math.floor((r() - 0.5) * 2e15)), "9223372036854775807", "-9223372036854775808", "9007199254740993", "9223372036854775808", "0", "-1", "1e30"]);
    default:
      return pick([(Math.round(r() * 100000) / 100).toString(), "0", "-0", "0.1", "0.30000000000000004", "1e-300", "1e308", "-5", "2.5", String(Math.fround(r() * 10 - 5))]);
  }
}

function numeric(r: R, tag: string): Expr {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lit = () => num(numberText(r, tag));
  const m = r();
  if (m < 0.5) return { type: "cmp", tag, op: pick(["=", "!=", "<", "<=", ">", ">="] as const), value: lit() };
  if (m < 0.75) return { type: "in", tag, negated: r() < 0.4, values: Array.from({ length: 1 + Math.floor(r() * 4) }, lit) };
  return { type: "between", tag, negated: r() < 0.4, low: lit(), high: lit() };
}

function enumPred(r: R, tag: string, values: readonly string[]): Expr {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lit = () => str(r() < 0.9 ? pick(values) : pick(["absent", "", "上", "L1"]));
  const m = r();
  if (m < 0.35) return { type: "cmp", tag, op: pick(["=", "!=", "<", "<=", ">", ">="] as const), value: lit() };
  if (m < 0.6) return { type: "in", tag, negated: r() < 0.4, values: Array.from({ length: 1 + Math.floor(r() * 20) }, lit) };
  if (m < 0.75) return { type: "between", tag, negated: r() < 0.4, low: lit(), high: lit() };
  const pattern = pick(["上%", "%京", "_", "__", "%", "L1%", "L_", "%0%", "50\\%", "under\\_score", "😀_", "e%", "é", "%a%", "B"]);
  return { type: "like", tag, negated: r() < 0.4, pattern };
}

function timePred(r: R, tag: string): Expr {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const day = () => `2024-${String(1 + Math.floor(r() * 12)).padStart(2, "0")}-${String(1 + Math.floor(r() * 28)).padStart(2, "0")}`;
  const lit = (): Literal => {
    const m = r();
    if (m < 0.3) return { kind: "time", form: "date", text: day() };
    if (m < 0.6) return { kind: "time", form: "timestamp", text: `${day()}T${String(Math.floor(r() * 24)).padStart(2, "0")}:30:15.123456${pick(["", "Z", "+08:00", "-0530", "+01"])}` };
    return str(pick([day(), `${day()} 12:00`, `${day()}T00:00:00.000000001Z`, "2024-12-31T23:59:59.999999999-01:00"]));
  };
  const m = r();
  if (m < 0.3) return { type: "cmp", tag, op: pick(["=", "!=", "<", "<=", ">", ">="] as const), value: lit() };
  if (m < 0.45) return { type: "between", tag, negated: r() < 0.4, low: lit(), high: lit() };
  if (m < 0.6) return { type: "in", tag, negated: r() < 0.4, values: [lit(), lit()] };
  if (m < 0.8) return { type: "within", tag, amount: BigInt(Math.floor(r() * 500)), unit: pick(["day", "hour", "minute"] as const) };
  return { type: pick(["before", "after"] as const), tag, value: lit() };
}
