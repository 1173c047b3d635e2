/** Small walks over the AST. */
import type { Expr, Literal } from "./ast.js";

/** The same tree without `at`, `path` and `tagAt`, for structural comparison. */
export function stripLocations(e: Expr): Expr {
  const { at: _at, path: _path, ...rest } = e;
  const out: Record<string, unknown> = { ...rest };
  delete out["tagAt"];
  switch (e.type) {
    case "and":
    case "or":
      out["args"] = e.args.map(stripLocations);
      break;
    case "not":
      out["arg"] = stripLocations(e.arg);
      break;
    case "cmp":
    case "before":
    case "after":
      out["value"] = stripLiteral(e.value);
      break;
    case "in":
    case "has":
      out["values"] = e.values.map(stripLiteral);
      break;
    case "between":
      out["low"] = stripLiteral(e.low);
      out["high"] = stripLiteral(e.high);
      break;
    default:
      break;
  }
  return out as unknown as Expr;
}

function stripLiteral(l: Literal): Literal {
  const { at: _at, path: _path, ...rest } = l;
  return rest as Literal;
}

/** Every node, parents before children, without recursion (trees may come from anywhere). */
export function* nodes(e: Expr): Generator<Expr> {
  const stack: Expr[] = [e];
  while (stack.length > 0) {
    const node = stack.pop()!;
    yield node;
    if (node.type === "and" || node.type === "or") {
      for (let i = node.args.length - 1; i >= 0; i--) stack.push(node.args[i]!);
    } else if (node.type === "not") stack.push(node.arg);
  }
}

/** Distinct tag names in order of first appearance. */
export function collectTags(e: Expr): string[] {
  const names = new Set<string>();
  for (const node of nodes(e)) if ("tag" in node) names.add(node.tag);
  return [...names];
}

/** Distinct segments referenced directly (`@name`), in order of first appearance. */
export function collectSegments(e: Expr): string[] {
  const names = new Set<string>();
  for (const node of nodes(e)) if (node.type === "segment") names.add(node.name);
  return [...names];
}
