/**
 * Structural checks of a decoded Arrow record batch before any of it is applied. Arrow JS trusts the
 * IPC metadata: a batch may claim 10^9 rows over a 160-byte body, or offsets past its data, and reading
 * it then yields `undefined`s (garbage rows) or a RangeError. Every length, buffer size and offset the
 * writers will touch is checked here once, so they can index without checks, and lying bytes become
 * `bad_arrow` with no allocation sized by the lie.
 */
import * as arrow from "apache-arrow";
import { LassoError } from "../errors.js";

/** Throws `bad_arrow` naming the column when a batch's buffers do not hold what its metadata claims. */
export function checkBatch(batch: arrow.RecordBatch): void {
  const rows = batch.numRows;
  if (!Number.isSafeInteger(rows) || rows < 0) throw bad("the batch", `claims ${rows} rows`);
  batch.schema.fields.forEach((f, i) => {
    const chunks = batch.getChildAt(i)?.data ?? [];
    let total = 0;
    for (const d of chunks) {
      checkData(d, `column '${f.name}'`);
      total += d.length;
    }
    if (total !== rows) throw bad(`column '${f.name}'`, `has ${total} rows in a batch of ${rows}`);
  });
}

function checkData(d: arrow.Data, where: string): void {
  const end = d.offset + d.length;
  if (!Number.isSafeInteger(d.length) || d.length < 0 || !Number.isSafeInteger(end)) throw bad(where, `claims ${d.length} rows`);
  if (d.nullCount !== 0 && d.nullBitmap && d.nullBitmap.length > 0 && d.nullBitmap.byteLength < Math.ceil(end / 8)) {
    throw bad(where, `validity bitmap of ${d.nullBitmap.byteLength} bytes for ${end} rows`);
  }
  const t = d.type as arrow.DataType;
  if (arrow.DataType.isBool(t)) return need(where, d.values, Math.ceil(end / 8), end);
  if (arrow.DataType.isInt(t) || arrow.DataType.isFloat(t) || arrow.DataType.isDate(t) || arrow.DataType.isTimestamp(t) || arrow.DataType.isDecimal(t)) {
    return need(where, d.values, end * byteWidth(t), end);
  }
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t) || arrow.DataType.isBinary(t)) {
    checkOffsets(d, where, d.values?.byteLength ?? 0);
    return;
  }
  if (arrow.DataType.isList(t)) {
    const child = d.children[0];
    if (!child) throw bad(where, "list without child data");
    checkData(child, `${where} (list items)`);
    checkOffsets(d, where, child.length);
    return;
  }
  if (arrow.DataType.isDictionary(t)) {
    need(where, d.values, end * byteWidth(t.indices), end);
    const dict = d.dictionary;
    if (!dict) throw bad(where, "dictionary column without a dictionary batch");
    for (const dd of dict.data) checkData(dd, `${where} (dictionary)`);
    // indices are range-checked where they are read (ingest.ts mapDictionaryIndices for tags,
    // dictionaryStrings for keys), in the same pass that maps them: a separate pass here cost as much
    return;
  }
  // other types never reach the writers (planColumns refuses them): children are checked for sanity only
  for (const c of d.children) checkData(c, where);
}

function checkOffsets(d: arrow.Data, where: string, limit: number): void {
  const offs = d.valueOffsets as Int32Array | BigInt64Array | undefined;
  const end = d.offset + d.length;
  if (d.length === 0) return;
  if (!offs || offs.length < end + 1) throw bad(where, `${offs?.length ?? 0} offsets for ${end} rows`);
  let badAt = -1;
  if (offs instanceof Int32Array) {
    // the common case, kept free of conversions: one compare per row
    if (offs[d.offset]! < 0) badAt = d.offset;
    for (let i = d.offset + 1; i <= end && badAt < 0; i++) if (offs[i]! < offs[i - 1]!) badAt = i;
  } else {
    if (offs[d.offset]! < 0n) badAt = d.offset;
    for (let i = d.offset + 1; i <= end && badAt < 0; i++) if (offs[i]! < offs[i - 1]!) badAt = i;
  }
  if (badAt >= 0) throw bad(where, `offsets are negative or decrease at row ${badAt - d.offset}`);
  const last = Number(offs[end]!);
  if (last > limit) throw bad(where, `offsets reach ${last}, past the ${limit} values present`);
}

function need(where: string, values: ArrayBufferView | undefined, bytes: number, rows: number): void {
  const have = values?.byteLength ?? 0;
  if (have < bytes) throw bad(where, `${have} bytes of values for ${rows} rows (needs ${bytes})`);
}

function byteWidth(t: arrow.DataType): number {
  if (arrow.DataType.isInt(t)) return t.bitWidth / 8;
  if (arrow.DataType.isFloat(t)) return t.precision === arrow.Precision.HALF ? 2 : t.precision === arrow.Precision.SINGLE ? 4 : 8;
  if (arrow.DataType.isDate(t)) return t.unit === arrow.DateUnit.DAY ? 4 : 8;
  if (arrow.DataType.isTimestamp(t)) return 8;
  if (arrow.DataType.isDecimal(t)) return t.bitWidth / 8;
  return 1;
}

function bad(where: string, what: string): LassoError {
  return new LassoError("bad_arrow", `unreadable Arrow IPC data: ${where} ${what}`);
}
