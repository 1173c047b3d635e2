/**
 * SEL → DuckDB SQL (a WHERE condition), for workload files that give no SQL of their own, and as a
 * cross-check of seg-v1's hand-written SQL in the tests.
 *
 * The table is the one bench/duckdb.ts builds: bool → BOOLEAN, enum → VARCHAR, int → the Arrow width
 * (TINYINT … UBIGINT), float → DOUBLE (the stored value widened exactly, as SEL compares it),
 * time → TIMESTAMP (µs, UTC), multi → VARCHAR[].
 *
 * The condition is TRUE exactly where SEL's expression holds; where it does not, it is FALSE or NULL
 * (WHERE drops both). SQL's AND / OR keep that property; NOT does not, so SEL's `NOT e` becomes
 * `NOT coalesce(e, false)`.
 */
import type { Expr, Literal, TagType } from "../engine/expr/ast.js";
import { parseExpr, parseInstant } from "../engine/expr/index.js";
import { LassoError } from "../engine/errors.js";

export interface SqlContext {
  /** SEL type of each tag. */
  types: Readonly<Record<string, TagType>>;
  /** Saved segments by name (inlined where referenced). */
  segments?: ReadonlyMap<string, string | object>;
  /** `now` (WITHIN), ISO 8601. */
  asOf: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const NS_PER_US = 1000n;
const NS_PER = { day: 86_400_000_000_000n, hour: 3_600_000_000_000n, minute: 60_000_000_000n } as const;

export function selToSql(input: string | object | boolean | Expr, ctx: SqlContext): string {
  const expr = isExpr(input) ? input : parseExpr(input as string | object | boolean);
  return translate(expr, ctx, new Set());
}

function isExpr(x: unknown): x is Expr {
  return typeof x === "object" && x !== null && typeof (x as { type?: unknown }).type === "string";
}

function translate(e: Expr, ctx: SqlContext, visiting: Set<string>): string {
  switch (e.type) {
    case "and":
    case "or":
      return `(${e.args.map((a) => translate(a, ctx, visiting)).join(e.type === "and" ? " AND " : " OR ")})`;
    case "not":
      return `(NOT coalesce(${translate(e.arg, ctx, visiting)}, false))`;
    case "const":
      return e.value ? "TRUE" : "FALSE";
    case "segment": {
      const def = ctx.segments?.get(e.name);
      if (def === undefined) throw new LassoError("unknown_segment", `segment @${e.name} is not defined in the workload`);
      if (visiting.has(e.name)) throw new LassoError("segment_cycle", `segment @${e.name} refers to itself`);
      visiting.add(e.name);
      const sql = translate(parseExpr(def as string | object), ctx, visiting);
      visiting.delete(e.name);
      return `(${sql})`;
    }
    default:
      return predicate(e, ctx);
  }
}

function predicate(e: Exclude<Expr, { type: "and" | "or" | "not" | "const" | "segment" }>, ctx: SqlContext): string {
  const type = ctx.types[e.tag];
  if (type === undefined) throw new LassoError("unknown_tag", `tag ${e.tag} is not in the data`);
  const col = quoteIdent(e.tag);
  switch (e.type) {
    case "tag":
      return `(${col} = TRUE)`;
    case "null":
      return `(${col} IS ${e.negated ? "NOT " : ""}NULL)`;
    case "cmp":
      if (type === "time") return timeCompare(col, e.op, instantNs(e.value));
      return `(${col} ${e.op === "!=" ? "<>" : e.op} ${value(e.value, type)})`;
    case "in":
      return `(${col} ${e.negated ? "NOT " : ""}IN (${e.values.map((v) => value(v, type)).join(", ")}))`;
    case "between": {
      if (type === "time") {
        const inside = `(${timeCompare(col, ">=", instantNs(e.low))} AND ${timeCompare(col, "<=", instantNs(e.high))})`;
        return e.negated ? `(${col} IS NOT NULL AND NOT ${inside})` : inside;
      }
      return `(${col} ${e.negated ? "NOT " : ""}BETWEEN ${value(e.low, type)} AND ${value(e.high, type)})`;
    }
    case "has": {
      // Chains of list_contains: the same sets as list_has_any / list_has_all, and faster in DuckDB.
      const each = e.values.map((v) => `list_contains(${col}, ${quoteString(stringOf(v))})`);
      return each.length === 1 ? each[0]! : `(${each.join(e.mode === "all" ? " AND " : " OR ")})`;
    }
    case "like":
      return `(${col} ${e.negated ? "NOT " : ""}LIKE ${quoteString(likePattern(e.pattern))} ESCAPE '\\')`;
    case "within": {
      const now = parseInstant(ctx.asOf).ns;
      const from = now - e.amount * NS_PER[e.unit];
      return `(${timeCompare(col, ">=", from)} AND ${timeCompare(col, "<=", now)})`;
    }
    case "before":
      return timeCompare(col, "<", instantNs(e.value));
    case "after":
      return timeCompare(col, ">", instantNs(e.value));
  }
}

function stringOf(l: Literal): string {
  if (l.kind === "string") return l.value;
  if (l.kind === "number") return l.text;
  if (l.kind === "bool") return String(l.value);
  return l.text;
}

function value(l: Literal, type: TagType): string {
  switch (l.kind) {
    case "bool":
      return l.value ? "TRUE" : "FALSE";
    case "string":
      // A decimal-integer string stands for a number where the tag is numeric (JSON form, > 2^53).
      return type === "int" || type === "float" ? l.value : quoteString(l.value);
    case "number":
      if (type === "int" && l.int !== null) return l.int.toString();
      return `CAST(${quoteString(String(l.value))} AS DOUBLE)`;
    case "time":
      return quoteString(l.text);
  }
}

function instantNs(l: Literal): bigint {
  if (l.kind === "time" || l.kind === "string") return parseInstant(l.kind === "time" ? l.text : l.value).ns;
  throw new LassoError("type_mismatch", "a time tag compares with a time literal");
}

/**
 * Compares a µs TIMESTAMP column with an instant in ns, exactly: the column holds whole µs, so a bound
 * between two µs is moved to the µs that keeps the same set (t < 1.5 µs ⇔ t < 2 µs ⇔ t ≤ 1 µs).
 */
function timeCompare(col: string, op: string, ns: bigint): string {
  const floor = ns >= 0n ? ns / NS_PER_US : -((-ns + NS_PER_US - 1n) / NS_PER_US);
  const exact = floor * NS_PER_US === ns;
  const ceil = exact ? floor : floor + 1n;
  const ts = (us: bigint) => `make_timestamp(${us.toString()}::BIGINT)`;
  switch (op) {
    case "<": return `(${col} < ${ts(ceil)})`;
    case ">=": return `(${col} >= ${ts(ceil)})`;
    case ">": return `(${col} > ${ts(floor)})`;
    case "<=": return `(${col} <= ${ts(floor)})`;
    case "=": return exact ? `(${col} = ${ts(floor)})` : `(${col} IS NOT NULL AND FALSE)`;
    case "!=": return exact ? `(${col} <> ${ts(floor)})` : `(${col} IS NOT NULL)`;
    default: throw new LassoError("internal", `unknown comparison ${op}`);
  }
}

/**
 * SEL LIKE → DuckDB LIKE with ESCAPE '\': SEL's `\x` matches x for any x, DuckDB's only for %, _ and \,
 * so other escaped characters are written plainly.
 */
function likePattern(p: string): string {
  let out = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "\\" && i + 1 < p.length) {
      const next = p[++i]!;
      out += next === "%" || next === "_" || next === "\\" ? `\\${next}` : next;
    } else out += c;
  }
  return out;
}
