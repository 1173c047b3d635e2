/**
 * SEL AST → logical plan: every predicate resolved against the tag's storage (dictionary codes, exact
 * integer/time bounds in the tag's unit, float bounds), segment references inlined, `now` fixed.
 *
 * The logical plan has set semantics over existing entities: leaves are "rows where the tag has a value
 * and the condition holds"; `not` is the complement among existing entities (SEL.md "Meaning").
 */
import type { CompareOp, Expr, Literal } from "../expr/ast.js";
import { LassoError } from "../errors.js";
import { parseInstant } from "../expr/time.js";
import { compareUtf8, U64_BIAS, UNIT_NS, type TagMeta } from "../store/tags.js";
import { ceilDiv, floatBounds, floorDiv, intBounds, rationalOf, toF32Range, type FloatRange, type IntRange, type Rational } from "./bounds.js";

export type LNode =
  | { readonly k: "all" }
  | { readonly k: "none" }
  | { readonly k: "and"; readonly args: readonly LNode[] }
  | { readonly k: "or"; readonly args: readonly LNode[] }
  | { readonly k: "not"; readonly arg: LNode }
  /** Tag has a value (IS NOT NULL). */
  | { readonly k: "valid"; readonly tag: string }
  /** Bool tag is true. */
  | { readonly k: "true"; readonly tag: string }
  /** Integer-stored tag (int, time) within inclusive bounds in stored units. */
  | { readonly k: "irange"; readonly tag: string; readonly lo: bigint; readonly hi: bigint }
  /** Float-stored tag within inclusive bounds (already adjusted to float32 for f32 columns). */
  | { readonly k: "frange"; readonly tag: string; readonly lo: number; readonly hi: number }
  /** Enum tag's code is one of `codes` (sorted, non-empty). */
  | { readonly k: "codes"; readonly tag: string; readonly codes: readonly number[] }
  /** Multi tag contains at least one of `codes` (sorted, non-empty). */
  | { readonly k: "has"; readonly tag: string; readonly codes: readonly number[] };

export const ALL: LNode = { k: "all" };
export const NONE: LNode = { k: "none" };

export interface LowerContext {
  tags: ReadonlyMap<string, TagMeta>;
  /** `now` in ns since the epoch (floor, when `nowSub`: asOf had digits past nanoseconds). */
  now: bigint;
  nowSub?: boolean;
  /** The saved segment's parsed expression (already checked for cycles by the type checker). */
  segment(name: string): Expr | undefined;
}

const I32: IntRange = { lo: -(2n ** 31n), hi: 2n ** 31n - 1n };
const I64: IntRange = { lo: -(2n ** 63n), hi: 2n ** 63n - 1n };
const UNIT_WITHIN_NS = { day: 86_400n * 1_000_000_000n, hour: 3_600n * 1_000_000_000n, minute: 60n * 1_000_000_000n };

export function lower(e: Expr, ctx: LowerContext): LNode {
  // iterative depth is bounded by the parser's depth limit; segments add at most their own depth
  switch (e.type) {
    case "const":
      return e.value ? ALL : NONE;
    case "and":
      return { k: "and", args: e.args.map((a) => lower(a, ctx)) };
    case "or":
      return { k: "or", args: e.args.map((a) => lower(a, ctx)) };
    case "not":
      return { k: "not", arg: lower(e.arg, ctx) };
    case "segment": {
      const seg = ctx.segment(e.name);
      if (!seg) throw new LassoError("unknown_segment", `segment '@${e.name}' does not exist`, locOf(e));
      return lower(seg, ctx);
    }
    default:
      return lowerPredicate(e, meta(ctx, e.tag, e), ctx);
  }
}

function meta(ctx: LowerContext, tag: string, e: Expr): TagMeta {
  const m = ctx.tags.get(tag);
  if (!m) throw new LassoError("unknown_tag", `unknown tag '${tag}'`, locOf(e));
  return m;
}

function locOf(e: { at?: { line: number; column: number; length: number }; path?: string }) {
  return e.at ? { at: e.at } : e.path !== undefined ? { path: e.path } : {};
}

const valid = (tag: string): LNode => ({ k: "valid", tag });
const and = (...args: LNode[]): LNode => ({ k: "and", args });
const or = (args: LNode[]): LNode => ({ k: "or", args });
const not = (arg: LNode): LNode => ({ k: "not", arg });
/** `x NOT …` ≡ `x IS NOT NULL AND NOT x …` (SEL.md). */
const validAndNot = (tag: string, n: LNode): LNode => and(valid(tag), not(n));

function lowerPredicate(e: Exclude<Expr, { type: "and" | "or" | "not" | "const" | "segment" }>, m: TagMeta, ctx: LowerContext): LNode {
  const tag = m.name;
  switch (e.type) {
    case "null":
      return e.negated ? valid(tag) : not(valid(tag));
    case "tag":
      return { k: "true", tag };
    case "cmp":
      if (e.op === "!=") return validAndNot(tag, compare(m, "=", e.value, ctx));
      return compare(m, e.op, e.value, ctx);
    case "in": {
      const inSet = m.type === "enum" ? enumCodes(m, e.values) : or(e.values.map((v) => compare(m, "=", v, ctx)));
      return e.negated ? validAndNot(tag, inSet) : inSet;
    }
    case "between": {
      const b = between(m, e.low, e.high, ctx);
      return e.negated ? validAndNot(tag, b) : b;
    }
    case "like": {
      const l = like(m, e.pattern);
      return e.negated ? validAndNot(tag, l) : l;
    }
    case "has": {
      const codes = e.values.map((v) => m.dict!.code(stringOf(v)));
      if (e.mode === "all") {
        if (codes.some((c) => c < 0)) return NONE;
        return and(...codes.map((c): LNode => ({ k: "has", tag, codes: [c] })));
      }
      return hasNode(tag, codes);
    }
    case "within": {
      const span = e.amount * UNIT_WITHIN_NS[e.unit];
      // with a sub-nanosecond asOf, now − span lies just above an integer nanosecond
      return timeRange(m, { lo: ctx.now - span + (ctx.nowSub ? 1n : 0n), hi: ctx.now });
    }
    case "before":
      return compare(m, "<", e.value, ctx);
    case "after":
      return compare(m, ">", e.value, ctx);
  }
}

function stringOf(l: Literal): string {
  if (l.kind === "string") return l.value;
  if (l.kind === "time") return l.text;
  if (l.kind === "number") return l.text;
  return String(l.value);
}

function hasNode(tag: string, codes: number[]): LNode {
  const present = [...new Set(codes.filter((c) => c >= 0))].sort((a, b) => a - b);
  return present.length === 0 ? NONE : { k: "has", tag, codes: present };
}

function codesNode(tag: string, codes: number[]): LNode {
  const present = [...new Set(codes.filter((c) => c >= 0))].sort((a, b) => a - b);
  return present.length === 0 ? NONE : { k: "codes", tag, codes: present };
}

function enumCodes(m: TagMeta, values: readonly Literal[]): LNode {
  return codesNode(m.name, values.map((v) => m.dict!.code(stringOf(v))));
}

/** `v op literal` for op in = < <= > >= (`!=` is lowered as NOT =). */
function compare(m: TagMeta, op: Exclude<CompareOp, "!=">, lit: Literal, ctx: LowerContext): LNode {
  switch (m.type) {
    case "bool": {
      const want = lit.kind === "bool" ? lit.value : String(stringOf(lit)).toLowerCase() === "true";
      return want ? { k: "true", tag: m.name } : validAndNot(m.name, { k: "true", tag: m.name });
    }
    case "enum": {
      const s = stringOf(lit);
      if (op === "=") return codesNode(m.name, [m.dict!.code(s)]);
      const codes: number[] = [];
      m.dict!.values.forEach((v, c) => {
        const r = compareUtf8(v, s);
        if ((op === "<" && r < 0) || (op === "<=" && r <= 0) || (op === ">" && r > 0) || (op === ">=" && r >= 0)) codes.push(c);
      });
      return codesNode(m.name, codes);
    }
    case "int":
      return intRange(m, intBounds(op, numberOf(lit), limits(m).lo, limits(m).hi));
    case "float":
      return floatRange(m, floatBounds(op, doubleOf(lit)));
    case "time": {
      const t = instantOf(lit);
      if (t.sub && op === "=") return NONE;
      return timeRange(m, instantBounds(op, t));
    }
    default:
      throw new LassoError("type_mismatch", `tag '${m.name}' (${m.type}) cannot be compared with ${op}`);
  }
}

function between(m: TagMeta, low: Literal, high: Literal, ctx: LowerContext): LNode {
  if (m.type === "enum") {
    const a = stringOf(low);
    const b = stringOf(high);
    const codes: number[] = [];
    m.dict!.values.forEach((v, c) => {
      if (compareUtf8(v, a) >= 0 && compareUtf8(v, b) <= 0) codes.push(c);
    });
    return codesNode(m.name, codes);
  }
  if (m.type === "int") {
    const lim = limits(m);
    const a = intBounds(">=", numberOf(low), lim.lo, lim.hi);
    const b = intBounds("<=", numberOf(high), lim.lo, lim.hi);
    if (!a || !b) return NONE;
    return intRange(m, a.lo > b.hi ? null : { lo: a.lo, hi: b.hi });
  }
  if (m.type === "float") {
    const lo = doubleOf(low);
    const hi = doubleOf(high);
    return floatRange(m, lo > hi || Number.isNaN(lo) || Number.isNaN(hi) ? null : { lo, hi });
  }
  if (m.type === "time") {
    const a = instantOf(low);
    const b = instantOf(high);
    // exact: t ≥ a (a just above a.ns when sub) and t ≤ b
    const lo = a.sub ? a.ns + 1n : a.ns;
    return timeRange(m, lo > b.ns ? null : { lo, hi: b.ns });
  }
  void ctx;
  throw new LassoError("type_mismatch", `BETWEEN does not apply to ${m.type} tag '${m.name}'`);
}

const U64: IntRange = { lo: 0n, hi: 2n ** 64n - 1n };

/** The values a tag can hold (bounds are clamped to these). */
function limits(m: TagMeta): IntRange {
  return m.unsigned ? U64 : m.form === "i32" ? I32 : I64;
}

function numberOf(l: Literal): Rational {
  const text = l.kind === "number" ? l.text : l.kind === "string" ? l.value : null;
  const r = text === null ? null : rationalOf(text);
  if (!r) throw new LassoError("type_mismatch", `${JSON.stringify(text ?? (l as { value?: unknown }).value)} is not a number`);
  return r;
}

function doubleOf(l: Literal): number {
  if (l.kind === "number") return l.value;
  if (l.kind === "string" && rationalOf(l.value)) return Number(l.value);
  throw new LassoError("type_mismatch", `${JSON.stringify(stringOf(l))} is not a number`);
}

function instantOf(l: Literal): { ns: bigint; sub: boolean } {
  if (l.kind === "time" || l.kind === "string") {
    const text = l.kind === "time" ? l.text : l.value;
    try {
      const t = parseInstant(text);
      return { ns: t.ns, sub: t.sub === true };
    } catch {
      throw new LassoError("type_mismatch", `${JSON.stringify(text)} is not an ISO 8601 time`);
    }
  }
  throw new LassoError("type_mismatch", `a time tag compares with time literals, not ${l.kind}`);
}

/** Bounds over instants for `t op x`, x = ns (+ a sub-nanosecond part when `sub`: then x is never hit exactly). */
function instantBounds(op: Exclude<CompareOp, "!=">, x: { ns: bigint; sub: boolean }): { lo: bigint | null; hi: bigint | null; strictLo?: boolean; strictHi?: boolean } {
  const ns = x.ns;
  if (x.sub) {
    if (op === "<" || op === "<=") return { lo: null, hi: ns };
    if (op === ">" || op === ">=") return { lo: ns + 1n, hi: null };
  }
  switch (op) {
    case "=":
      return { lo: ns, hi: ns };
    case "<":
      return { lo: null, hi: ns, strictHi: true };
    case "<=":
      return { lo: null, hi: ns };
    case ">":
      return { lo: ns, hi: null, strictLo: true };
    case ">=":
      return { lo: ns, hi: null };
  }
}

/** Instant bounds (ns) → stored-unit bounds, exactly: t·f ≥ lo ⇔ t ≥ ceil(lo/f), t·f ≤ hi ⇔ t ≤ floor(hi/f). */
function timeRange(m: TagMeta, b: { lo: bigint | null; hi: bigint | null; strictLo?: boolean; strictHi?: boolean } | null): LNode {
  if (!b) return NONE;
  const f = UNIT_NS[m.unit!];
  const lim = limits(m);
  let lo = lim.lo;
  let hi = lim.hi;
  if (b.lo !== null) lo = b.strictLo ? floorDiv(b.lo, f) + 1n : ceilDiv(b.lo, f);
  if (b.hi !== null) hi = b.strictHi ? ceilDiv(b.hi, f) - 1n : floorDiv(b.hi, f);
  if (lo < lim.lo) lo = lim.lo;
  if (hi > lim.hi) hi = lim.hi;
  return lo > hi ? NONE : { k: "irange", tag: m.name, lo, hi };
}

/** Value bounds → stored bounds (unsigned tags store value − 2^63). */
function intRange(m: TagMeta, r: IntRange | null): LNode {
  if (!r) return NONE;
  const bias = m.unsigned ? U64_BIAS : 0n;
  return { k: "irange", tag: m.name, lo: r.lo - bias, hi: r.hi - bias };
}

function floatRange(m: TagMeta, r: FloatRange | null): LNode {
  const rr = r && m.form === "f32" ? toF32Range(r) : r;
  return rr ? { k: "frange", tag: m.name, lo: rr.lo, hi: rr.hi } : NONE;
}

/** LIKE over the dictionary: `%` any run of code points, `_` one, `\x` a literal x (SEL.md). */
function like(m: TagMeta, pattern: string): LNode {
  const re = likeRegExp(pattern);
  const codes: number[] = [];
  m.dict!.values.forEach((v, c) => {
    if (re.test(v)) codes.push(c);
  });
  return codesNode(m.name, codes);
}

export function likeRegExp(pattern: string): RegExp {
  let src = "";
  const cps = Array.from(pattern);
  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i]!;
    if (ch === "\\") {
      const next = cps[++i];
      if (next === undefined) throw new LassoError("syntax", "LIKE pattern ends in a lone backslash");
      src += escapeRe(next);
    } else if (ch === "%") src += "[^]*";
    else if (ch === "_") src += ".";
    else src += escapeRe(ch);
  }
  return new RegExp(`^${src}$`, "su");
}

/**
 * Escapes exactly the regular-expression syntax characters: under the `u` flag an identity escape of
 * anything else (`\-`, `\,`) is itself a SyntaxError, so a pattern such as 'a-b' must not get one.
 */
function escapeRe(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}
