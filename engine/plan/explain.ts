/**
 * `explain`: the plan as text — the normalised, ordered logical tree with selectivity estimates, the
 * kernel each leaf runs in the first shard, and where the work runs. Stable text: golden-file tested.
 */
import type { PreparedQuery } from "../query.js";
import type { ExecNode } from "../exec/program.js";
import type { LNode } from "./logical.js";
import { estimate } from "./physical.js";
import type { EntityVersion } from "../store/entity.js";
import { format } from "../expr/index.js";

export function explainPlan(q: PreparedQuery, route: string): string {
  const v = q.version;
  const lines: string[] = [];
  lines.push(`query     ${format(q.expr)}`);
  lines.push(`entity    ${v.entity} (version ${v.number}, ${v.total} entities, ${v.shards.length} shard${v.shards.length === 1 ? "" : "s"})`);
  lines.push(`runs on   ${route}`);
  lines.push("logical");
  logical(q.logical, v, 1, lines);
  const first = q.plan.programs[0];
  if (first) {
    lines.push("kernels (shard 0, per 65,536-row morsel)");
    kernels(first.root, 1, lines);
  }
  return lines.join("\n") + "\n";
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.01 ? 3 : 1)}%`;
}

function logical(n: LNode, v: EntityVersion, depth: number, out: string[]): void {
  const pad = "  ".repeat(depth);
  const est = ` ~${pct(estimate(n, v))}`;
  switch (n.k) {
    case "and":
    case "or":
      out.push(`${pad}${n.k.toUpperCase()}${est}`);
      for (const a of n.args) logical(a, v, depth + 1, out);
      return;
    case "not":
      out.push(`${pad}NOT${est}`);
      logical(n.arg, v, depth + 1, out);
      return;
    case "all":
    case "none":
      out.push(`${pad}${n.k.toUpperCase()}`);
      return;
    case "valid":
      out.push(`${pad}${n.tag} IS NOT NULL${est}`);
      return;
    case "true":
      out.push(`${pad}${n.tag} = TRUE${est}`);
      return;
    case "irange":
    case "frange": {
      const meta = v.tags.get(n.tag);
      const unit = meta?.unit ? ` (${meta.unit})` : meta?.unsigned ? " (stored − 2^63)" : "";
      const open = n.k === "irange" ? { lo: n.lo === -(2n ** 63n) || n.lo === -(2n ** 31n), hi: n.hi === 2n ** 63n - 1n || n.hi === 2n ** 31n - 1n } : { lo: n.lo === -Infinity, hi: n.hi === Infinity };
      const text = open.lo && open.hi ? "IS NOT NULL" : open.lo ? `<= ${n.hi}` : open.hi ? `>= ${n.lo}` : n.lo === n.hi ? `= ${n.lo}` : `in [${n.lo}, ${n.hi}]`;
      out.push(`${pad}${n.tag} ${text}${unit}${est}`);
      return;
    }
    case "codes":
    case "has": {
      const dict = v.tags.get(n.tag)?.dict;
      const shown = n.codes.slice(0, 8).map((c) => JSON.stringify(dict?.values[c] ?? c));
      const more = n.codes.length > 8 ? `, … ${n.codes.length - 8} more` : "";
      out.push(`${pad}${n.tag} ${n.k === "codes" ? "IN" : "HAS ANY"} (${shown.join(", ")}${more})${est}`);
      return;
    }
  }
}

function kernels(n: ExecNode, depth: number, out: string[]): void {
  const pad = "  ".repeat(depth);
  switch (n.op) {
    case "and":
      out.push(`${pad}and`);
      for (const a of n.args) kernels(a, depth + 1, out);
      for (const a of n.negs) {
        out.push(`${pad}  andnot`);
        kernels(a, depth + 2, out);
      }
      return;
    case "or":
      out.push(`${pad}or`);
      for (const a of n.args) kernels(a, depth + 1, out);
      return;
    case "not":
      out.push(`${pad}exists andnot`);
      kernels(n.arg, depth + 1, out);
      return;
    case "i32":
    case "i64":
    case "f32":
    case "f64":
      out.push(`${pad}range${n.op.toUpperCase()} [${n.lo}, ${n.hi}]`);
      return;
    case "eq8":
    case "eq16":
      out.push(`${pad}codesEqAny${n.op === "eq8" ? "U8" : "U16"} k=${n.k}`);
      return;
    case "lut8":
    case "lut16":
    case "lut32":
      out.push(`${pad}codesInLut${n.op === "lut8" ? "U8" : n.op === "lut16" ? "U16" : "U32"}`);
      return;
    case "list16":
    case "list32":
      out.push(`${pad}listHasAny${n.op === "list16" ? "U16" : "U32"}`);
      return;
    case "bits":
      out.push(`${pad}bitmapAnd(values, validity)`);
      return;
    case "valid":
      out.push(`${pad}validity`);
      return;
    case "cset":
      out.push(`${pad}containerToBitmap`);
      return;
    case "cunion":
      out.push(`${pad}containerToBitmap ∪ ×${n.dirs.length}`);
      return;
    default:
      out.push(`${pad}${n.op}`);
  }
}
