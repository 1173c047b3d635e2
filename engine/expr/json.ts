/**
 * The JSON form (SEL.md "JSON form"): one key names the node. `parseJson` takes an already
 * `JSON.parse`d value; every error carries `path`, the JSON Pointer of the offending node.
 */
import { LassoError } from "../errors.js";
import type { CompareOp, Expr, Literal, TimeUnit } from "./ast.js";
import { isStackOverflow, resolveLimits, type ParseOptions } from "./limits.js";
import { likePatternEndsInLoneBackslash, NON_NEGATIVE_INTEGER, numberValue } from "./literals.js";
import { hasLoneSurrogate, segmentNameProblem, tagNameProblem, unitOf } from "./names.js";

const COMPARE_KEYS: readonly CompareOp[] = ["=", "!=", "<", "<=", ">", ">="];
const UNIT_NAMES: Readonly<Record<TimeUnit, string>> = { day: "days", hour: "hours", minute: "minutes" };
const NODE_KEYS = [
  "and", "or", "not", "tag", ...COMPARE_KEYS, "in", "notIn", "between", "notBetween", "isNull", "isNotNull",
  "has", "hasAny", "hasAll", "like", "notLike", "within", "before", "after", "segment",
];

/**
 * Example: `parseJson({"and": [{"in": ["city", ["上海"]]}, {"not": {"tag": "churned"}}]})`.
 * A one-operand `and` / `or` is its operand. Throws LassoError `syntax` / `too_deep` with `path`.
 */
export function parseJson(value: unknown, opts?: ParseOptions): Expr {
  const { maxDepth } = resolveLimits(opts);
  try {
    return new JsonReader(maxDepth).node(value, "", 0);
  } catch (e) {
    if (isStackOverflow(e)) throw new LassoError("too_deep", "expression nests too deeply to read", { path: "", limit: maxDepth });
    throw e;
  }
}

class JsonReader {
  constructor(private readonly maxDepth: number) {}

  node(v: unknown, path: string, depth: number): Expr {
    if (v === true || v === false) return { type: "const", value: v, path };
    if (!isPlainObject(v)) {
      throw bad(path, `expected a node such as {"=": ["age", 30]}, or true / false, found ${describe(v)}`, ["a node"]);
    }
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      const found = keys.length === 0 ? "none" : `${keys.length}: ${keys.slice(0, 5).map((k) => JSON.stringify(k)).join(", ")}`;
      throw bad(path, `a node has exactly one key naming it, found ${found}`, NODE_KEYS);
    }
    const key = keys[0]!;
    const arg = v[key];
    const at = `${path}/${escapePointer(key)}`;
    switch (key) {
      case "and":
      case "or": {
        if (!Array.isArray(arg) || arg.length === 0) {
          throw bad(path, `"${key}" takes an array of one or more nodes, found ${describe(arg)}`, ["an array of nodes"]);
        }
        if (depth + 1 > this.maxDepth) throw tooDeep(`${at}/0`, this.maxDepth);
        const args = arg.map((item, i) => this.node(item, `${at}/${i}`, depth + 1));
        if (args.length === 1) return args[0]!;
        return key === "and" ? { type: "and", args, path } : { type: "or", args, path };
      }
      case "not": {
        if (depth + 1 > this.maxDepth) throw tooDeep(at, this.maxDepth);
        return { type: "not", arg: this.node(arg, at, depth + 1), path };
      }
      case "tag":
        return { type: "tag", tag: tagName(arg, path, key), path };
      case "isNull":
      case "isNotNull":
        return { type: "null", negated: key === "isNotNull", tag: tagName(arg, path, key), path };
      case "segment": {
        if (typeof arg !== "string") throw bad(path, `"segment" takes a segment name, found ${describe(arg)}`, ["a segment name"]);
        const problem = segmentNameProblem(arg);
        if (problem) throw bad(path, `invalid segment name: ${problem}`, ["a segment name"]);
        return { type: "segment", name: arg, path };
      }
      case "in":
      case "notIn":
      case "hasAny":
      case "hasAll": {
        const [tagArg, list] = tuple(arg, 2, path, key, "[tag, [value, …]]");
        if (!Array.isArray(list) || list.length === 0) {
          const message = `"${key}" takes [tag, [value, …]] with one or more values, found ${describe(list)} as the list`;
          throw bad(path, message, ["a non-empty array of values"]);
        }
        const tag = tagName(tagArg, path, key);
        const values = list.map((x) => literal(x, path, key));
        if (key === "in" || key === "notIn") return { type: "in", negated: key === "notIn", tag, values, path };
        return { type: "has", mode: key === "hasAny" ? "any" : "all", tag, values, path };
      }
      case "between":
      case "notBetween": {
        const [tagArg, low, high] = tuple(arg, 3, path, key, "[tag, low, high]");
        return {
          type: "between",
          negated: key === "notBetween",
          tag: tagName(tagArg, path, key),
          low: literal(low, path, key),
          high: literal(high, path, key),
          path,
        };
      }
      case "has": {
        const [tagArg, value] = tuple(arg, 2, path, key, "[tag, value]");
        return { type: "has", mode: "one", tag: tagName(tagArg, path, key), values: [literal(value, path, key)], path };
      }
      case "like":
      case "notLike": {
        const [tagArg, pattern] = tuple(arg, 2, path, key, "[tag, pattern]");
        if (typeof pattern !== "string") throw bad(path, `"${key}" takes a string pattern, found ${describe(pattern)}`, ["a string"]);
        if (hasLoneSurrogate(pattern)) throw bad(path, "the pattern is not valid Unicode (an unpaired surrogate)", ["a string"]);
        if (likePatternEndsInLoneBackslash(pattern)) {
          const message = "LIKE pattern ends with an escape character '\\' that escapes nothing (to match a backslash the pattern needs \\\\)";
          throw bad(path, message, ["a LIKE pattern"]);
        }
        return { type: "like", negated: key === "notLike", tag: tagName(tagArg, path, key), pattern, path };
      }
      case "within": {
        const [tagArg, amount, unit] = tuple(arg, 3, path, key, '[tag, n, "days" | "hours" | "minutes"]');
        let n: bigint;
        if (typeof amount === "number" && Number.isInteger(amount) && amount >= 0) n = BigInt(amount);
        else if (typeof amount === "string" && NON_NEGATIVE_INTEGER.test(amount)) n = BigInt(amount);
        else throw bad(path, `"within" takes a non-negative whole number, found ${describe(amount)}`, ["a whole number"]);
        const u = typeof unit === "string" ? unitOf(unit) : undefined;
        if (!u) {
          throw bad(path, `"within" takes the unit "days", "hours" or "minutes", found ${describe(unit)}`, ["days", "hours", "minutes"]);
        }
        return { type: "within", tag: tagName(tagArg, path, key), amount: n, unit: u, path };
      }
      case "before":
      case "after": {
        const [tagArg, value] = tuple(arg, 2, path, key, "[tag, ISO 8601 string]");
        return { type: key, tag: tagName(tagArg, path, key), value: literal(value, path, key), path };
      }
      default: {
        if ((COMPARE_KEYS as readonly string[]).includes(key)) {
          const [tagArg, value] = tuple(arg, 2, path, key, "[tag, value]");
          return { type: "cmp", op: key as CompareOp, tag: tagName(tagArg, path, key), value: literal(value, path, key), path };
        }
        const hint = key === "<>" ? ' ("<>" is text-only: use "!=")' : "";
        throw bad(path, `unknown node ${JSON.stringify(key)}${hint}; nodes are ${NODE_KEYS.join(" ")}`, NODE_KEYS);
      }
    }
  }
}

function tuple(arg: unknown, n: number, path: string, key: string, shape: string): unknown[] {
  if (!Array.isArray(arg) || arg.length !== n) throw bad(path, `"${key}" takes ${shape}, found ${describe(arg)}`, [shape]);
  return arg;
}

function tagName(v: unknown, path: string, key: string): string {
  if (typeof v !== "string") throw bad(path, `"${key}" needs a tag name (a string), found ${describe(v)}`, ["a tag name"]);
  const problem = tagNameProblem(v);
  if (problem) throw bad(path, problem, ["a tag name"]);
  return v;
}

function literal(v: unknown, path: string, key: string): Literal {
  if (typeof v === "string") {
    if (hasLoneSurrogate(v)) throw bad(path, "a string value is not valid Unicode (an unpaired surrogate)", ["a string"]);
    return { kind: "string", value: v };
  }
  if (typeof v === "boolean") return { kind: "bool", value: v };
  if (typeof v === "number" && Number.isFinite(v)) {
    const text = String(v);
    const { value, int } = numberValue(text);
    return { kind: "number", text, value, int };
  }
  const hint = v === null ? " (test for null with isNull / isNotNull)" : "";
  const message = `"${key}" takes values that are strings, numbers or booleans, found ${describe(v)}${hint}`;
  throw bad(path, message, ["a string", "a number", "a boolean"]);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 39)}…` : v)}`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v;
}

function bad(path: string, message: string, expected: readonly string[]): LassoError {
  return new LassoError("syntax", `${message} (at ${path === "" ? "the root" : path})`, { path, expected: [...expected] });
}

function tooDeep(path: string, maxDepth: number): LassoError {
  return new LassoError("too_deep", `expression nests deeper than ${maxDepth} levels (at ${path})`, { path, limit: maxDepth });
}

// ---- AST → JSON ----

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The JSON form of a tree. Numbers are JSON numbers, except integers that a double cannot hold, which
 * become decimal strings so they stay exact; time literals become their ISO string. `parseJson(toJson(e))` equals `e`
 * wherever the JSON form can say the same (see the tests for the exact scope).
 */
export function toJson(e: Expr): unknown {
  switch (e.type) {
    case "and":
    case "or":
      return { [e.type]: e.args.map(toJson) };
    case "not":
      return { not: toJson(e.arg) };
    case "const":
      return e.value;
    case "segment":
      return { segment: e.name };
    case "tag":
      return { tag: e.tag };
    case "cmp":
      return { [e.op]: [e.tag, literalJson(e.value)] };
    case "in":
      return { [e.negated ? "notIn" : "in"]: [e.tag, e.values.map(literalJson)] };
    case "between":
      return { [e.negated ? "notBetween" : "between"]: [e.tag, literalJson(e.low), literalJson(e.high)] };
    case "null":
      return { [e.negated ? "isNotNull" : "isNull"]: e.tag };
    case "has":
      if (e.mode === "one" && e.values.length === 1) return { has: [e.tag, literalJson(e.values[0]!)] };
      return { [e.mode === "all" ? "hasAll" : "hasAny"]: [e.tag, e.values.map(literalJson)] };
    case "like":
      return { [e.negated ? "notLike" : "like"]: [e.tag, e.pattern] };
    case "within":
      return { within: [e.tag, e.amount <= MAX_SAFE ? Number(e.amount) : e.amount.toString(), UNIT_NAMES[e.unit]] };
    case "before":
    case "after":
      return { [e.type]: [e.tag, literalJson(e.value)] };
  }
}

function literalJson(l: Literal): string | number | boolean {
  switch (l.kind) {
    case "string":
    case "bool":
      return l.value;
    case "time":
      return l.text;
    case "number": {
      // canonical text (what String(n) prints) reads back as the very same literal
      if (String(l.value) === l.text) return l.value;
      if (l.int !== null) {
        const safe = l.int >= -MAX_SAFE && l.int <= MAX_SAFE;
        return safe ? Number(l.int) : l.int.toString();
      }
      // a non-integer travels as the nearest double, which is how float tags compare it anyway;
      // JSON has no Infinity: a literal past the double range keeps its text
      return Number.isFinite(l.value) ? l.value : l.text;
    }
  }
}
