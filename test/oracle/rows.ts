/**
 * Arrow table → plain oracle rows, following SEL.md's type table, read straight from the Arrow buffers.
 *
 * Example:
 *   const { rows, schema } = tableToRows(tableFromIPC(bytes), "user_id");
 *   evaluate(ast, rows, schema, { now: FIXTURE_NOW_NS });
 */
import * as arrow from "apache-arrow";
import type { TagType } from "../../engine/expr/ast.js";
import type { OracleRow, OracleSchema, OracleValue } from "./evaluate.js";

type TimeUnitName = "s" | "ms" | "us" | "ns" | "day";

const NS_PER: Record<TimeUnitName, bigint> = {
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  ns: 1n,
  day: 86_400_000_000_000n,
};

const ARROW_TIME_UNIT: Record<number, TimeUnitName> = {
  [arrow.TimeUnit.SECOND]: "s",
  [arrow.TimeUnit.MILLISECOND]: "ms",
  [arrow.TimeUnit.MICROSECOND]: "us",
  [arrow.TimeUnit.NANOSECOND]: "ns",
};

function isString(t: arrow.DataType): boolean {
  return arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t);
}

/** The SEL type of an Arrow type (SEL.md's table), or null when it maps to none. */
export function selTypeOf(t: arrow.DataType): { type: TagType; timeUnit?: TimeUnitName } | null {
  if (arrow.DataType.isBool(t)) return { type: "bool" };
  if (isString(t)) return { type: "enum" };
  if (arrow.DataType.isDictionary(t)) return isString(t.dictionary) ? { type: "enum" } : null;
  if (arrow.DataType.isInt(t)) return { type: "int" };
  if (arrow.DataType.isFloat(t)) return t.precision === arrow.Precision.HALF ? null : { type: "float" };
  if (arrow.DataType.isDecimal(t)) return { type: "float" };
  if (arrow.DataType.isDate(t)) return { type: "time", timeUnit: t.unit === arrow.DateUnit.DAY ? "day" : "ms" };
  if (arrow.DataType.isTimestamp(t)) return { type: "time", timeUnit: ARROW_TIME_UNIT[t.unit]! };
  if (arrow.DataType.isList(t)) {
    const child = t.children[0]!.type;
    const ok = isString(child) || (arrow.DataType.isDictionary(child) && isString(child.dictionary));
    return ok ? { type: "multi" } : null;
  }
  return null;
}

/** Every column but `keyColumn` becomes a tag; each table row becomes one existing OracleRow. */
export function tableToRows(table: arrow.Table, keyColumn: string): { rows: OracleRow[]; schema: OracleSchema } {
  const keyField = table.schema.fields.find((f) => f.name === keyColumn);
  if (!keyField) throw new Error(`no key column ${keyColumn}`);
  const keys = columnValues(table.getChild(keyColumn)!, keyField.type);
  const rows: OracleRow[] = keys.map((key, i) => {
    if (key === null) throw new Error(`null key at row ${i}`);
    if (typeof key !== "string" && typeof key !== "bigint") throw new Error(`key column ${keyColumn} is not Utf8 or an integer`);
    return { key, exists: true, tags: {} };
  });
  const schema: OracleSchema = {};
  for (const field of table.schema.fields) {
    if (field.name === keyColumn) continue;
    const sel = selTypeOf(field.type);
    if (!sel) throw new Error(`column ${field.name}: ${String(field.type)} has no SEL type`);
    schema[field.name] = sel;
    const values = columnValues(table.getChild(field.name)!, field.type);
    for (let i = 0; i < rows.length; i++) rows[i]!.tags[field.name] = values[i];
  }
  return { rows, schema };
}

/** One column as oracle values, chunk by chunk. */
function columnValues(vector: arrow.Vector, type: arrow.DataType): OracleValue[] {
  const out: OracleValue[] = [];
  for (const data of vector.data) for (const v of chunkValues(data, type)) out.push(v);
  return out;
}

/**
 * One Data chunk, read from its buffers (Arrow JS's `get` costs microseconds a value and rounds 64-bit
 * times to doubles). Arrow JS slices fixed-width value buffers and offset buffers to the chunk, so index i
 * is local there; bit-packed bools and the bytes of strings / list children stay whole (absolute).
 */
function chunkValues(data: arrow.Data, type: arrow.DataType): OracleValue[] {
  const n = data.length;
  const out: OracleValue[] = new Array<OracleValue>(n);
  let read: (i: number) => OracleValue;
  if (arrow.DataType.isBool(type)) {
    const bits = data.values as Uint8Array;
    read = (i) => ((bits[(data.offset + i) >> 3]! >> ((data.offset + i) & 7)) & 1) === 1;
  } else if (isString(type)) {
    const offsets = data.valueOffsets as Int32Array | BigInt64Array;
    const bytes = data.values as Uint8Array;
    read = (i) => decoder.decode(bytes.subarray(Number(offsets[i]!), Number(offsets[i + 1]!)));
  } else if (arrow.DataType.isDictionary(type)) {
    const dictionary = (data.dictionary as arrow.Vector).data.flatMap((d) => chunkValues(d, type.dictionary));
    const codes = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
    read = (i) => dictionary[Number(codes[i]!)]!;
  } else if (arrow.DataType.isInt(type)) {
    const values = data.values as ArrayLike<number | bigint>;
    read = (i) => BigInt(values[i]!);
  } else if (arrow.DataType.isFloat(type)) {
    const values = data.values as Float32Array | Float64Array;
    read = (i) => values[i]!;
  } else if (arrow.DataType.isDecimal(type)) {
    read = (i) => decimalAt(data as arrow.Data<arrow.Decimal>, i);
  } else if (arrow.DataType.isDate(type)) {
    const values = data.values as Int32Array | BigInt64Array;
    const scale = type.unit === arrow.DateUnit.DAY ? NS_PER.day : NS_PER.ms;
    read = (i) => BigInt(values[i]!) * scale;
  } else if (arrow.DataType.isTimestamp(type)) {
    const values = data.values as BigInt64Array;
    const scale = NS_PER[ARROW_TIME_UNIT[type.unit]!];
    read = (i) => values[i]! * scale;
  } else if (arrow.DataType.isList(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const items = chunkValues(data.children[0]!, type.children[0]!.type);
    read = (i) => {
      // A null inside a list is "no value", not a value: it is left out.
      const list: string[] = [];
      for (let k = offsets[i]!; k < offsets[i + 1]!; k++) if (items[k] !== null) list.push(items[k] as string);
      return list;
    };
  } else {
    throw new Error(`no SEL type for ${String(type)}`);
  }
  for (let i = 0; i < n; i++) out[i] = data.getValid(i) ? read(i) : null;
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A Decimal's unscaled value is a little-endian two's-complement integer of bitWidth bits, in 32-bit words;
 * the float value is unscaled × 10^-scale, rounded once to the nearest double (by Number's own parser).
 */
function decimalAt(data: arrow.Data<arrow.Decimal>, i: number): number {
  const words = data.type.bitWidth / 32;
  const w = (data.values as Uint32Array).subarray(i * words, (i + 1) * words);
  let unscaled = 0n;
  for (let k = words - 1; k >= 0; k--) unscaled = (unscaled << 32n) | BigInt(w[k]!);
  const bits = BigInt(data.type.bitWidth);
  if (unscaled >= 1n << (bits - 1n)) unscaled -= 1n << bits;
  return Number(`${unscaled}e${-data.type.scale}`);
}
