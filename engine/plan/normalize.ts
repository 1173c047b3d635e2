/**
 * Logical rewrites, all set-algebra identities over existing entities (property-tested in test/plan):
 *   flatten          and(a, and(b, c)) → and(a, b, c)
 *   constants        and(…, none) → none, and(all, x) → x, or(…, all) → all, not(all) → none …
 *   NOT push-down    not(and(a, b)) → or(not a, not b); not(or(a, b)) → and(not a, not b); not(not a) → a
 *   merge            and of ranges on one tag → their intersection; or/and of code sets on one tag → ∪ / ∩
 *   contradictions   and(x, not x) → none; or(x, not x) → all; duplicate children dropped
 *   implied          and(x IS NOT NULL, x < 5) → x < 5
 * After normalisation `not` only wraps leaves, which the executor runs as one ANDNOT.
 */
import { ALL, NONE, type LNode } from "./logical.js";

export function normalize(n: LNode): LNode {
  switch (n.k) {
    case "not":
      return negate(normalize(n.arg));
    case "and":
    case "or":
      return combine(n.k, n.args.map(normalize));
    default:
      return n;
  }
}

function negate(n: LNode): LNode {
  switch (n.k) {
    case "all":
      return NONE;
    case "none":
      return ALL;
    case "not":
      return n.arg;
    case "and":
      return combine("or", n.args.map(negate));
    case "or":
      return combine("and", n.args.map(negate));
    default:
      return { k: "not", arg: n };
  }
}

function combine(k: "and" | "or", input: readonly LNode[]): LNode {
  const absorbing = k === "and" ? "none" : "all";
  const identity = k === "and" ? "all" : "none";
  const flat: LNode[] = [];
  for (const a of input) {
    if (a.k === absorbing) return a;
    if (a.k === identity) continue;
    if (a.k === k) flat.push(...a.args);
    else flat.push(a);
  }
  let merged = mergeSameTag(k, flat);
  if (merged === null) return k === "and" ? NONE : ALL;
  if (k === "and") merged = dropImpliedValid(merged);
  // duplicates and x / not x pairs
  const seen = new Map<string, LNode>();
  for (const a of merged) {
    if (a.k === absorbing) return a;
    if (a.k === identity) continue;
    seen.set(keyOf(a), a);
  }
  for (const key of seen.keys()) {
    if (seen.has(`!${key}`)) return k === "and" ? NONE : ALL;
  }
  const args = [...seen.values()];
  if (args.length === 0) return k === "and" ? ALL : NONE;
  if (args.length === 1) return args[0]!;
  return { k, args };
}

/**
 * Merges leaves on the same tag: in AND, integer/float ranges intersect and code sets intersect;
 * in OR, code sets unite. Returns null when the AND is a contradiction.
 */
function mergeSameTag(k: "and" | "or", args: LNode[]): LNode[] | null {
  const out: LNode[] = [];
  const ranges = new Map<string, number>();
  for (const a of args) {
    if (a.k !== "irange" && a.k !== "frange" && a.k !== "codes") {
      out.push(a);
      continue;
    }
    const key = `${a.k}:${a.tag}`;
    const at = ranges.get(key);
    if (at === undefined) {
      ranges.set(key, out.length);
      out.push(a);
      continue;
    }
    const prev = out[at]!;
    if (a.k === "codes" && prev.k === "codes") {
      const codes = k === "and" ? prev.codes.filter((c) => a.codes.includes(c)) : [...new Set([...prev.codes, ...a.codes])].sort((x, y) => x - y);
      if (codes.length === 0) {
        if (k === "and") return null;
        continue;
      }
      out[at] = { k: "codes", tag: a.tag, codes };
    } else if (k === "and" && a.k === "irange" && prev.k === "irange") {
      const lo = a.lo > prev.lo ? a.lo : prev.lo;
      const hi = a.hi < prev.hi ? a.hi : prev.hi;
      if (lo > hi) return null;
      out[at] = { k: "irange", tag: a.tag, lo, hi };
    } else if (k === "and" && a.k === "frange" && prev.k === "frange") {
      const lo = Math.max(a.lo, prev.lo);
      const hi = Math.min(a.hi, prev.hi);
      if (lo > hi) return null;
      out[at] = { k: "frange", tag: a.tag, lo, hi };
    } else out.push(a);
  }
  return out;
}

/** In an AND, `t IS NOT NULL` is implied by any positive leaf on t (leaves hold only where t has a value). */
function dropImpliedValid(args: LNode[]): LNode[] {
  const positive = new Set<string>();
  for (const a of args) if (a.k === "irange" || a.k === "frange" || a.k === "codes" || a.k === "has" || a.k === "true") positive.add(a.tag);
  return args.filter((a) => !(a.k === "valid" && positive.has(a.tag)));
}

/** A structural key: equal keys ⇔ equal sub-plans. */
export function keyOf(n: LNode): string {
  switch (n.k) {
    case "all":
    case "none":
      return n.k;
    case "not":
      return `!${keyOf(n.arg)}`;
    case "and":
    case "or":
      return `${n.k}(${n.args.map(keyOf).sort().join(",")})`;
    case "valid":
    case "true":
      return `${n.k}:${n.tag}`;
    case "irange":
    case "frange":
      return `${n.k}:${n.tag}:${n.lo}:${n.hi}`;
    case "codes":
    case "has":
      return `${n.k}:${n.tag}:${n.codes.join(".")}`;
  }
}
