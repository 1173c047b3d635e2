/**
 * The reference evaluator: a deliberately naive reading of SEL.md's "Meaning" over plain JS rows.
 * Every engine answer is checked against this, so it trades all speed for being obviously right:
 * one row at a time, one predicate at a time, exact arithmetic (bigint) wherever the contract says exact.
 *
 * It shares nothing with the engine but the AST types: its own literal reading, its own ISO parser
 * (./instant.ts), its own LIKE matcher. Type errors are reported with the contract's codes (as an
 * `OracleError`), so differential tests can compare failures too.
 *
 * Example:
 *   evaluate(ast, rows, { age: { type: "int" } }, { now: 0n }) // → [0, 3, 7]
 */
import type { CompareOp, Expr, Literal, TagType } from "../../engine/expr/ast.js";
import { compareToExact, NS_PER_SECOND, parseInstant, type Exact, type ExactInstant } from "./instant.js";

/**
 * bool → boolean; enum → string; int → bigint; float → number; time → bigint nanoseconds since the epoch
 * (UTC); multi → string[] (`[]` is a value, not null); null / undefined → absent.
 */
export type OracleValue = boolean | string | bigint | number | string[] | null;

export interface OracleRow {
  key: string | bigint;
  /** A deleted entity is in no segment, not even `TRUE` or `x IS NULL`. */
  exists: boolean;
  tags: Record<string, OracleValue | undefined>;
}

export interface OracleSchema {
  [tag: string]: { type: TagType; timeUnit?: "s" | "ms" | "us" | "ns" | "day" };
}

export interface OracleOptions {
  /** Nanoseconds since the epoch: the query's fixed `now` (asOf). */
  now: bigint;
  /** Saved segments by name, for `@name`. */
  segments?: Record<string, Expr>;
}

export type OracleErrorCode = "syntax" | "unknown_tag" | "type_mismatch" | "unknown_segment" | "segment_cycle";

export class OracleError extends Error {
  constructor(
    readonly code: OracleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "OracleError";
  }
}

/** Indices (ascending) of the rows for which `expr` holds. Throws `OracleError` for an ill-typed expression. */
export function evaluate(expr: Expr, rows: readonly OracleRow[], schema: OracleSchema, opts: OracleOptions): number[] {
  const holds = compile(expr, { schema, opts, segmentStack: [] });
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.exists && holds(row)) out.push(i);
  }
  return out;
}

/** The number of matching rows; a convenience for count tests. */
export function countMatches(expr: Expr, rows: readonly OracleRow[], schema: OracleSchema, opts: OracleOptions): number {
  return evaluate(expr, rows, schema, opts).length;
}

type RowTest = (row: OracleRow) => boolean;

interface Context {
  readonly schema: OracleSchema;
  readonly opts: OracleOptions;
  /** Segment names being expanded, outermost first, to detect `@a → … → @a`. */
  readonly segmentStack: readonly string[];
}

/**
 * Turns the tree into a row test once (type checking and literal reading happen here, before any row),
 * so an ill-typed expression fails even over zero rows, as the engine's does.
 * Only existing rows are ever asked, so `NOT e` is simply "not e".
 */
function compile(expr: Expr, ctx: Context): RowTest {
  switch (expr.type) {
    case "and": {
      const parts = expr.args.map((a) => compile(a, ctx));
      return (row) => parts.every((p) => p(row));
    }
    case "or": {
      const parts = expr.args.map((a) => compile(a, ctx));
      return (row) => parts.some((p) => p(row));
    }
    case "not": {
      const inner = compile(expr.arg, ctx);
      return (row) => !inner(row);
    }
    case "const":
      return expr.value ? () => true : () => false;
    case "segment": {
      if (ctx.segmentStack.includes(expr.name)) {
        throw new OracleError("segment_cycle", `segment cycle: ${[...ctx.segmentStack, expr.name].join(" → ")}`);
      }
      // own properties only: a segment named like an Object.prototype member ("constructor") is unknown
      const segments = ctx.opts.segments;
      const saved = segments && Object.hasOwn(segments, expr.name) ? segments[expr.name] : undefined;
      if (saved === undefined) throw new OracleError("unknown_segment", `unknown segment @${expr.name}`);
      return compile(saved, { ...ctx, segmentStack: [...ctx.segmentStack, expr.name] });
    }
    case "tag": {
      const type = tagType(expr.tag, ctx);
      if (type !== "bool") mismatch(`${type} tag ${expr.tag} cannot stand alone (only a bool tag can)`);
      return (row) => read(row, expr.tag, "bool") === true;
    }
    case "null": {
      const type = tagType(expr.tag, ctx);
      return (row) => (read(row, expr.tag, type) === null) !== expr.negated;
    }
    case "cmp":
      return compileCompare(expr.tag, expr.op, expr.value, ctx);
    case "in": {
      if (expr.values.length === 0) mismatch("IN needs at least one value");
      const tests = expr.values.map((v) => compileCompare(expr.tag, "=", v, ctx, "IN"));
      return negatable(expr.tag, expr.negated, ctx, (row) => tests.some((t) => t(row)));
    }
    case "between": {
      const atLeast = compileCompare(expr.tag, ">=", expr.low, ctx, "BETWEEN");
      const atMost = compileCompare(expr.tag, "<=", expr.high, ctx, "BETWEEN");
      // low > high then matches nothing by itself: no value is both ≥ low and ≤ high.
      return negatable(expr.tag, expr.negated, ctx, (row) => atLeast(row) && atMost(row));
    }
    case "like": {
      const type = tagType(expr.tag, ctx);
      if (type !== "enum") mismatch(`LIKE needs an enum tag; ${expr.tag} is ${type}`);
      const pattern = likePattern(expr.pattern);
      return negatable(expr.tag, expr.negated, ctx, (row) => {
        const v = read(row, expr.tag, "enum");
        return v !== null && likeMatches(pattern, v as string);
      });
    }
    case "has": {
      const type = tagType(expr.tag, ctx);
      if (type !== "multi") mismatch(`HAS needs a multi tag; ${expr.tag} is ${type}`);
      const wanted = expr.values.map((lit) => {
        if (lit.kind !== "string") mismatch(`HAS takes strings; got a ${lit.kind} literal`);
        return lit.value;
      });
      if (wanted.length === 0) mismatch("HAS needs at least one value");
      const all = expr.mode === "all";
      return (row) => {
        const list = read(row, expr.tag, "multi") as string[] | null;
        if (list === null) return false;
        return all ? wanted.every((w) => list.includes(w)) : wanted.some((w) => list.includes(w));
      };
    }
    case "within": {
      const type = tagType(expr.tag, ctx);
      if (type !== "time") mismatch(`WITHIN needs a time tag; ${expr.tag} is ${type}`);
      if (expr.amount < 0n) throw new OracleError("syntax", "WITHIN takes a non-negative integer");
      const unitSeconds = { day: 86_400n, hour: 3_600n, minute: 60n }[expr.unit];
      const now = ctx.opts.now;
      const from = now - expr.amount * unitSeconds * NS_PER_SECOND;
      return (row) => {
        const t = read(row, expr.tag, "time") as bigint | null;
        return t !== null && from <= t && t <= now;
      };
    }
    case "before":
    case "after": {
      const type = tagType(expr.tag, ctx);
      if (type !== "time") mismatch(`${expr.type.toUpperCase()} needs a time tag; ${expr.tag} is ${type}`);
      const at = instantOf(expr.value, expr.tag);
      const wantSign = expr.type === "before" ? -1 : 1;
      return (row) => {
        const t = read(row, expr.tag, "time") as bigint | null;
        return t !== null && compareToExact(t, at) === wantSign;
      };
    }
  }
}

/** `x NOT op …` ≡ `x IS NOT NULL AND NOT x op …` (SEL.md); the positive form is returned as is. */
function negatable(tag: string, negated: boolean, ctx: Context, positive: RowTest): RowTest {
  if (!negated) return positive;
  const type = tagType(tag, ctx);
  return (row) => read(row, tag, type) !== null && !positive(row);
}

function tagType(tag: string, ctx: Context): TagType {
  const info = Object.hasOwn(ctx.schema, tag) ? ctx.schema[tag] : undefined;
  if (info === undefined) throw new OracleError("unknown_tag", `unknown tag ${tag}`);
  return info.type;
}

function mismatch(message: string): never {
  throw new OracleError("type_mismatch", message);
}

/**
 * The row's value of `tag` (null when absent), checked against the declared type: a value of the wrong
 * JS type means the test fed the oracle wrong rows, which must not pass silently.
 */
function read(row: OracleRow, tag: string, type: TagType): OracleValue {
  const v = row.tags[tag];
  if (v === undefined || v === null) return null;
  const ok =
    type === "bool" ? typeof v === "boolean"
    : type === "enum" ? typeof v === "string"
    : type === "int" || type === "time" ? typeof v === "bigint"
    : type === "float" ? typeof v === "number"
    : Array.isArray(v) && v.every((s) => typeof s === "string");
  if (!ok) throw new Error(`oracle row ${String(row.key)}: tag ${tag} (${type}) holds ${String(v)} (${typeof v})`);
  return v;
}

// ---- comparisons ---------------------------------------------------------------------------------

function holdsFor(op: CompareOp, sign: -1 | 0 | 1): boolean {
  switch (op) {
    case "=": return sign === 0;
    case "!=": return sign !== 0;
    case "<": return sign < 0;
    case "<=": return sign <= 0;
    case ">": return sign > 0;
    case ">=": return sign >= 0;
  }
}

/** `tag op literal` for every tag type; `what` names the construct in messages (IN, BETWEEN). */
function compileCompare(tag: string, op: CompareOp, lit: Literal, ctx: Context, what = op as string): RowTest {
  const type = tagType(tag, ctx);
  switch (type) {
    case "bool": {
      if (what !== "=" && what !== "!=") mismatch(`${what} on bool tag ${tag}: a bool tag takes only = / != TRUE or FALSE`);
      if (lit.kind !== "bool") mismatch(`bool tag ${tag} compares only with TRUE or FALSE`);
      return (row) => {
        const v = read(row, tag, "bool");
        return v !== null && (v === lit.value) === (op === "=");
      };
    }
    case "enum": {
      if (lit.kind !== "string") mismatch(`enum tag ${tag} compares with strings; got a ${lit.kind} literal`);
      const litBytes = Buffer.from(lit.value, "utf8");
      return (row) => {
        const v = read(row, tag, "enum") as string | null;
        if (v === null) return false;
        // Byte order of UTF-8, not JS's UTF-16 order: they differ above U+FFFF vs U+E000..U+FFFF.
        return holdsFor(op, Buffer.compare(Buffer.from(v, "utf8"), litBytes));
      };
    }
    case "int": {
      const x = exactNumberOf(lit, tag);
      return (row) => {
        const v = read(row, tag, "int") as bigint | null;
        return v !== null && holdsFor(op, compareToExact(v, x));
      };
    }
    case "float": {
      const x = doubleOf(lit, tag);
      return (row) => {
        const v = read(row, tag, "float") as number | null;
        if (v === null) return false;
        // Plain IEEE comparisons, so a NaN value satisfies only `!=`.
        switch (op) {
          case "=": return v === x;
          case "!=": return v !== x;
          case "<": return v < x;
          case "<=": return v <= x;
          case ">": return v > x;
          case ">=": return v >= x;
        }
      };
    }
    case "time": {
      const x = instantOf(lit, tag);
      return (row) => {
        const t = read(row, tag, "time") as bigint | null;
        return t !== null && holdsFor(op, compareToExact(t, x));
      };
    }
    case "multi":
      return mismatch(`multi tag ${tag} takes HAS / HAS ANY / HAS ALL / IS NULL, not ${what}`);
  }
}

const DECIMAL_INTEGER = /^-?\d+$/;
const NUMBER_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A numeric literal exactly, as floor + "strictly more" flag (the same shape as an instant), which is all
 * an integer comparison needs. `30.5` → {30, frac}; `-30.5` → {-31, frac}; `1e3` → {1000}.
 * Beyond ±10^60 the exact magnitude cannot matter against a 64-bit value, so it is clamped there.
 */
export function exactNumber(text: string): Exact | null {
  const m = NUMBER_TEXT.exec(text);
  if (!m) return null;
  const [, sign, whole, fraction = "", expText = "0"] = m;
  const mantissa = BigInt(whole! + fraction);
  if (mantissa === 0n) return { floor: 0n, frac: false };
  const negative = sign === "-";
  const exp = Number(expText) - fraction.length;
  const digits = (whole! + fraction).replace(/^0+/, "").length;
  const CLAMP = 60;
  if (digits + exp > CLAMP) return { floor: negative ? -(10n ** BigInt(CLAMP)) : 10n ** BigInt(CLAMP), frac: false };
  if (exp >= 0) {
    const v = mantissa * 10n ** BigInt(exp);
    return { floor: negative ? -v : v, frac: false };
  }
  if (digits + exp < -2) return { floor: negative ? -1n : 0n, frac: true }; // 0 < |x| < 1
  const den = 10n ** BigInt(-exp);
  const q = mantissa / den;
  const r = mantissa % den;
  if (!negative) return { floor: q, frac: r !== 0n };
  return r === 0n ? { floor: -q, frac: false } : { floor: -q - 1n, frac: true };
}

function exactNumberOf(lit: Literal, tag: string): Exact {
  if (lit.kind === "string") {
    if (!DECIMAL_INTEGER.test(lit.value)) mismatch(`int tag ${tag} compares with numbers; got '${lit.value}'`);
    return { floor: BigInt(lit.value), frac: false };
  }
  if (lit.kind !== "number") mismatch(`int tag ${tag} compares with numbers; got a ${lit.kind} literal`);
  const exact = exactNumber(lit.text);
  if (exact) return exact;
  // A number node whose text is not decimal (built by hand): the double itself is an exact rational.
  if (!Number.isFinite(lit.value)) mismatch(`not a finite number: ${lit.text}`);
  return Number.isInteger(lit.value)
    ? { floor: BigInt(lit.value), frac: false }
    : { floor: BigInt(Math.floor(lit.value)), frac: true };
}

function doubleOf(lit: Literal, tag: string): number {
  if (lit.kind === "string") {
    if (!DECIMAL_INTEGER.test(lit.value)) mismatch(`float tag ${tag} compares with numbers; got '${lit.value}'`);
    return Number(lit.value);
  }
  if (lit.kind !== "number") mismatch(`float tag ${tag} compares with numbers; got a ${lit.kind} literal`);
  return NUMBER_TEXT.test(lit.text) ? Number(lit.text) : lit.value;
}

/** A time literal (`DATE '…'`, `TIMESTAMP '…'`) or a bare ISO string, as an exact instant. */
function instantOf(lit: Literal, tag: string): ExactInstant {
  if (lit.kind === "time") {
    const at = parseInstant(lit.text, lit.form);
    if (!at) throw new OracleError("syntax", `not a valid ${lit.form.toUpperCase()} literal: '${lit.text}'`);
    return at;
  }
  if (lit.kind === "string") {
    const at = parseInstant(lit.value, "any");
    if (!at) mismatch(`time tag ${tag} compares with ISO 8601 times; '${lit.value}' is not one`);
    return at;
  }
  return mismatch(`time tag ${tag} compares with times; got a ${lit.kind} literal`);
}

// ---- LIKE ----------------------------------------------------------------------------------------

type LikeToken = { kind: "any" } | { kind: "one" } | { kind: "char"; cp: string };

/** `%` any run, `_` one code point, `\x` the character x itself; a trailing lone `\` is a syntax error. */
function likePattern(pattern: string): LikeToken[] {
  const cps = [...pattern];
  const out: LikeToken[] = [];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === "\\") {
      if (i + 1 >= cps.length) throw new OracleError("syntax", "LIKE pattern ends in a lone backslash");
      out.push({ kind: "char", cp: cps[++i]! });
    } else if (c === "%") out.push({ kind: "any" });
    else if (c === "_") out.push({ kind: "one" });
    else out.push({ kind: "char", cp: c });
  }
  return out;
}

/** Plain dynamic programming over code points: can[i][j] = pattern[i..] matches text[j..]. */
function likeMatches(pattern: readonly LikeToken[], value: string): boolean {
  const text = [...value];
  let next: boolean[] = new Array<boolean>(text.length + 1).fill(false);
  next[text.length] = true; // empty pattern matches only empty text
  for (let i = pattern.length - 1; i >= 0; i--) {
    const tok = pattern[i]!;
    const cur: boolean[] = new Array<boolean>(text.length + 1).fill(false);
    for (let j = text.length; j >= 0; j--) {
      if (tok.kind === "any") cur[j] = next[j]! || (j < text.length && cur[j + 1]!);
      else if (j < text.length && (tok.kind === "one" || tok.cp === text[j])) cur[j] = next[j + 1]!;
    }
    next = cur;
  }
  return next[0]!;
}
