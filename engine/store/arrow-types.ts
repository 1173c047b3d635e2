/**
 * Arrow types → SEL tag types and storage forms (SEL.md's type table), and key column types (API.md).
 * This is the edge where loads are validated: anything that maps to no SEL type is `schema_conflict`.
 */
import * as arrow from "apache-arrow";
import type { KeyType } from "../api.js";
import type { TagType } from "../expr/ast.js";
import type { TimeUnit, ValueForm } from "./tags.js";

export interface ColumnKind {
  type: TagType;
  /** The storage form a NEW tag takes for this column. */
  form: ValueForm;
  unit?: TimeUnit;
}

const TS_UNITS: TimeUnit[] = ["s", "ms", "us", "ns"];

/** The SEL type of an Arrow column, or null when it has none. */
export function columnKind(t: arrow.DataType): ColumnKind | null {
  if (arrow.DataType.isBool(t)) return { type: "bool", form: "bool" };
  if (arrow.DataType.isInt(t)) {
    const narrow = t.bitWidth < 32 || (t.bitWidth === 32 && t.isSigned);
    return { type: "int", form: narrow ? "i32" : "i64" };
  }
  if (arrow.DataType.isFloat(t)) return { type: "float", form: t.precision === arrow.Precision.DOUBLE ? "f64" : "f32" };
  if (arrow.DataType.isDecimal(t)) return { type: "float", form: "f64" };
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) return { type: "enum", form: "codes" };
  if (arrow.DataType.isDictionary(t)) {
    const v = t.dictionary;
    if (arrow.DataType.isUtf8(v) || arrow.DataType.isLargeUtf8(v)) return { type: "enum", form: "codes" };
    return null;
  }
  if (arrow.DataType.isDate(t)) {
    return t.unit === arrow.DateUnit.DAY ? { type: "time", form: "i32", unit: "day" } : { type: "time", form: "i64", unit: "ms" };
  }
  if (arrow.DataType.isTimestamp(t)) return { type: "time", form: "i64", unit: TS_UNITS[t.unit]! };
  if (arrow.DataType.isList(t)) {
    const item = t.children[0]?.type;
    if (!item) return null;
    const ok =
      arrow.DataType.isUtf8(item) ||
      arrow.DataType.isLargeUtf8(item) ||
      (arrow.DataType.isDictionary(item) && (arrow.DataType.isUtf8(item.dictionary) || arrow.DataType.isLargeUtf8(item.dictionary)));
    return ok ? { type: "multi", form: "list" } : null;
  }
  return null;
}

export function keyTypeOf(t: arrow.DataType): KeyType | null {
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) return "utf8";
  // dictionary-encoded strings are strings (Arrow writers often dictionary-encode repeated text)
  if (arrow.DataType.isDictionary(t) && (arrow.DataType.isUtf8(t.dictionary) || arrow.DataType.isLargeUtf8(t.dictionary))) return "utf8";
  if (arrow.DataType.isInt(t)) {
    if (t.bitWidth === 32) return t.isSigned ? "int32" : "uint32";
    if (t.bitWidth === 64) return t.isSigned ? "int64" : "uint64";
  }
  return null;
}

/** Whether keys of type `incoming` can be loaded into an entity keyed by `entity` without loss. */
export function keyTypeFits(entity: KeyType, incoming: KeyType): boolean {
  if (entity === incoming) return true;
  if (entity === "int64") return incoming === "int32" || incoming === "uint32";
  if (entity === "uint64") return incoming === "uint32";
  return false;
}

/** The finer of two time units (the one with fewer nanoseconds per tick). */
export function finerUnit(a: TimeUnit, b: TimeUnit): TimeUnit {
  const order: TimeUnit[] = ["day", "s", "ms", "us", "ns"];
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}
