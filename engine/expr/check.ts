/**
 * Type checking and segment resolution (SEL.md "Types of tags", "Meaning", "Errors"): every tag exists,
 * every operator fits its tag's type and every literal fits the operator; every `@segment` exists, is of
 * the same entity, checks in turn, and no chain of references comes back to where it started.
 */
import { LassoError, type ErrorDetails } from "../errors.js";
import type { Expr, Literal, TagType } from "./ast.js";
import type { Catalog } from "./catalog.js";
import { formatLiteral } from "./format.js";
import { truncate } from "./lexer.js";
import { DECIMAL_INTEGER, likePatternEndsInLoneBackslash } from "./literals.js";
import { suggestNames } from "./suggest.js";
import { parseInstant } from "./time.js";
import { nodes } from "./tree.js";

export interface CheckOptions {
  /**
   * The name the expression is about to be saved under: a reference back to it, directly or through
   * other segments, is a `segment_cycle` (the catalog still holds the old definition, or none).
   */
  readonly segmentName?: string;
}

/**
 * Example: `check(parseText("age = 'x'"), catalog)` throws `type_mismatch` at 1:1 (length 9).
 * Throws LassoError: unknown_tag, type_mismatch, unknown_segment, segment_cycle.
 */
export function check(expr: Expr, catalog: Catalog, opts: CheckOptions = {}): void {
  interface Frame {
    readonly name: string | undefined;
    readonly refs: readonly SegmentRef[];
    next: number;
    /** The reference in the checked expression that this chain started from. */
    readonly via?: Expr;
  }
  const done = new Set<string>();
  /** Names on the stack → their frame index, for cycle detection in O(1). */
  const open = new Map<string, number>();
  const stack: Frame[] = [{ name: opts.segmentName, refs: checkTree(expr, catalog), next: 0 }];
  if (opts.segmentName !== undefined) open.set(opts.segmentName, 0);
  // names from the checked expression's reference down to the current frame (built only for messages)
  const chainTo = (name: string): string[] => [...stack.slice(1).map((f) => f.name!), name];
  const arrows = (names: readonly string[]): string => {
    const shown = names.length > 12 ? [...names.slice(0, 8), "…", ...names.slice(-3)] : names;
    return shown.map((n) => (n === "…" ? n : `@${n}`)).join(" → ");
  };
  // Depth-first over references with an explicit stack: a long chain of saved segments must not
  // exhaust the call stack, and a segment reached twice (a diamond) is checked once.
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.refs.length) {
      stack.pop();
      if (top.name !== undefined) {
        open.delete(top.name);
        done.add(top.name);
      }
      continue;
    }
    const ref = top.refs[top.next++]!;
    const via = stack.length === 1 ? ref.node : stack[1]!.via!;
    const inChain = () => (stack.length > 1 ? `in ${arrows(chainTo(ref.name).slice(0, -1))}: ` : "");

    const back = open.get(ref.name);
    if (back !== undefined) {
      const cycle = [...stack.slice(back).map((f) => f.name!), ref.name];
      throw new LassoError("segment_cycle", `segment cycle: ${arrows(cycle)}`, { ...where(via), cycle });
    }
    if (done.has(ref.name)) continue;

    const segment = catalog.segment(ref.name);
    if (!segment) {
      throw new LassoError("unknown_segment", `${inChain()}unknown segment '@${ref.name}'`, {
        ...where(via),
        segment: ref.name,
      });
    }
    if (segment.entity !== catalog.entity) {
      throw new LassoError(
        "type_mismatch",
        `${inChain()}segment '@${ref.name}' selects ${segment.entity} entities, not ${catalog.entity}`,
        { ...where(via), segment: ref.name, entity: segment.entity },
      );
    }
    let refs: SegmentRef[];
    try {
      refs = checkTree(segment.expr, catalog);
    } catch (e) {
      if (!(e instanceof LassoError)) throw e;
      const path = chainTo(ref.name);
      throw new LassoError(e.code, `in ${arrows(path)}: ${e.message}`, { ...e.details, ...where(via), segments: path });
    }
    open.set(ref.name, stack.length);
    stack.push({ name: ref.name, refs, next: 0, via });
  }
}

interface SegmentRef {
  readonly name: string;
  readonly node: Expr;
}

/** Checks one tree's predicates; returns its segment references in reading order. */
function checkTree(expr: Expr, catalog: Catalog): SegmentRef[] {
  const refs: SegmentRef[] = [];
  for (const node of nodes(expr)) {
    switch (node.type) {
      case "and":
      case "or":
      case "not":
      case "const":
        break;
      case "segment":
        refs.push({ name: node.name, node });
        break;
      default:
        checkPredicate(node, catalog);
    }
  }
  return refs;
}

type Predicate = Extract<Expr, { tag: string }>;

function checkPredicate(p: Predicate, catalog: Catalog): void {
  const info = catalog.tag(p.tag);
  if (!info) {
    const suggestions = suggestNames(p.tag, catalog.tagNames());
    const hint = suggestions.length > 0 ? `; did you mean ${orList(suggestions.map((s) => `'${s}'`))}?` : "";
    const at = p.tagAt ?? p.at;
    throw new LassoError("unknown_tag", `unknown tag '${truncate(p.tag)}' for ${catalog.entity}${hint}`, {
      ...(at ? { at } : p.path !== undefined ? { path: p.path } : {}),
      tag: p.tag,
      suggestions,
    });
  }
  if (p.type === "like" && likePatternEndsInLoneBackslash(p.pattern)) {
    // the readers refuse this already; a hand-built tree gets the same answer
    throw new LassoError("syntax", "LIKE pattern ends with an escape character '\\' that escapes nothing", where(p));
  }
  const problem = predicateProblem(p, info.type);
  if (problem) {
    throw new LassoError(
      "type_mismatch",
      `'${truncate(p.tag)}' is ${article(info.type)} ${info.type} tag: ${problem}. ${ALLOWED[info.type]}`,
      { ...where(p), tag: p.tag, tagType: info.type },
    );
  }
}

const ALLOWED: Readonly<Record<TagType, string>> = {
  bool: "A bool tag stands alone (churned), or takes = TRUE, = FALSE, != TRUE, != FALSE, IS [NOT] NULL",
  enum: "An enum tag takes = != < <= > >= [NOT] IN [NOT] BETWEEN with strings, [NOT] LIKE, IS [NOT] NULL",
  int: "An int tag takes = != < <= > >= [NOT] IN [NOT] BETWEEN with numbers, IS [NOT] NULL",
  float: "A float tag takes = != < <= > >= [NOT] IN [NOT] BETWEEN with numbers, IS [NOT] NULL",
  time:
    "A time tag takes = != < <= > >= [NOT] IN [NOT] BETWEEN with DATE '…' / TIMESTAMP '…' or ISO 8601 strings, " +
    "WITHIN n DAYS|HOURS|MINUTES, BEFORE, AFTER, IS [NOT] NULL",
  multi: "A multi tag takes HAS, HAS ANY (…), HAS ALL (…) with strings, IS [NOT] NULL",
};

const NEEDS: Readonly<Record<TagType, string>> = {
  bool: "TRUE or FALSE",
  enum: "a string",
  int: "a number",
  float: "a number",
  time: "a date/time (DATE '…', TIMESTAMP '…' or an ISO 8601 string)",
  multi: "a string",
};

/** What is wrong with a predicate on a tag of this type, or undefined when it fits. */
function predicateProblem(p: Predicate, type: TagType): string | undefined {
  switch (p.type) {
    case "null":
      return undefined;
    case "tag":
      return type === "bool" ? undefined : "only a bool tag stands alone as a condition";
    case "cmp":
      if (type === "multi") return `'${p.op}' does not apply to a list of values`;
      if (type === "bool" && p.op !== "=" && p.op !== "!=") return `'${p.op}' does not apply to true/false`;
      return valuesProblem([p.value], type, `'${p.op}'`);
    case "in":
    case "between": {
      const op = `${p.negated ? "NOT " : ""}${p.type === "in" ? "IN" : "BETWEEN"}`;
      if (type === "bool" || type === "multi") return `${op} does not apply`;
      return valuesProblem(p.type === "in" ? p.values : [p.low, p.high], type, op);
    }
    case "has": {
      const op = p.mode === "one" ? "HAS" : p.mode === "any" ? "HAS ANY" : "HAS ALL";
      if (type !== "multi") return `${op} applies to multi tags only`;
      return valuesProblem(p.values, type, op);
    }
    case "like":
      return type === "enum" ? undefined : `${p.negated ? "NOT LIKE" : "LIKE"} applies to enum tags only`;
    case "within":
      return type === "time" ? undefined : "WITHIN applies to time tags only";
    case "before":
    case "after": {
      const op = p.type === "before" ? "BEFORE" : "AFTER";
      if (type !== "time") return `${op} applies to time tags only`;
      return valuesProblem([p.value], type, op);
    }
  }
}

function valuesProblem(values: readonly Literal[], type: TagType, op: string): string | undefined {
  for (const v of values) {
    if (!fits(v, type)) {
      const extra = type === "time" && v.kind === "string" ? ", which is not an ISO 8601 date/time" : "";
      return `${op} needs ${NEEDS[type]}, found ${describeLiteral(v)}${extra}`;
    }
  }
  return undefined;
}

function fits(v: Literal, type: TagType): boolean {
  switch (type) {
    case "bool":
      return v.kind === "bool";
    case "enum":
    case "multi":
      return v.kind === "string";
    case "int":
    case "float":
      return v.kind === "number" || (v.kind === "string" && DECIMAL_INTEGER.test(v.value));
    case "time":
      if (v.kind === "time") return isInstant(v.text);
      return v.kind === "string" && isInstant(v.value);
  }
}

function isInstant(text: string): boolean {
  try {
    parseInstant(text);
    return true;
  } catch {
    return false;
  }
}

function describeLiteral(v: Literal): string {
  const text = truncate(formatLiteral(v));
  switch (v.kind) {
    case "string":
      return `the string ${text}`;
    case "number":
      return `the number ${text}`;
    case "bool":
      return text;
    case "time":
      return `the date/time ${text}`;
  }
}

function where(node: Expr): ErrorDetails {
  if (node.at) return { at: node.at };
  if (node.path !== undefined) return { path: node.path };
  return {};
}

function article(type: TagType): string {
  return type === "enum" || type === "int" ? "an" : "a";
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}
