/**
 * KeyBatch writes keys straight to bytes; every encoding must decode to exactly the JSON encoding of
 * API.md (which KeyIndex.jsonKey gives and BigInt decides independently here).
 */
import { tableFromIPC, RecordBatchStreamWriter, Table, makeData, RecordBatch, Schema, Struct, Field, Int64 } from "apache-arrow";
import { Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { KeyTextFormat, KeyType } from "../../engine/api.js";
import { KeyBatch } from "../../engine/store/key-batch.js";
import { KeyIndex, parseIntKey } from "../../engine/store/keys.js";
import { keyColumn } from "../../server/http/select-stream.js";
import { Rng } from "../../fixtures/prng.js";

const RANGES: Record<Exclude<KeyType, "utf8">, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Edge values of a type: its ends, zero, ±1, powers of ten and two and their neighbours. */
function edges(type: Exclude<KeyType, "utf8">): bigint[] {
  const [min, max] = RANGES[type];
  const out = new Set<bigint>([min, max, 0n, 1n, -1n, min + 1n, max - 1n]);
  for (let e = 0n; e <= 20n; e++) for (const d of [-1n, 0n, 1n]) out.add(10n ** e + d).add(-(10n ** e) + d);
  for (let e = 0n; e <= 64n; e++) for (const d of [-1n, 0n, 1n]) out.add(2n ** e + d).add(-(2n ** e) + d);
  return [...out].filter((v) => v >= min && v <= max);
}

function randomValues(type: Exclude<KeyType, "utf8">, n: number, seed: number): bigint[] {
  const rng = new Rng(seed, "key-batch");
  const [min, max] = RANGES[type];
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    // random bit lengths, so every digit count is covered
    const bits = BigInt(1 + (rng.u32() % 64));
    const raw = BigInt(rng.u32()) * 2n ** 32n + BigInt(rng.u32());
    const magnitude = raw % 2n ** bits;
    const v = min < 0n && rng.u32() % 2 === 0 ? -magnitude : magnitude;
    out.push(v < min ? min : v > max ? max : v);
  }
  return out;
}

function jsonOf(type: KeyType, v: bigint): string | number {
  return type === "int64" || type === "uint64" ? v.toString() : Number(v);
}

function indexOf(type: Exclude<KeyType, "utf8">, values: bigint[]): KeyIndex {
  const index = new KeyIndex(type);
  for (const v of values) {
    const { lo, hi } = parseIntKey(type, v.toString());
    index.appendInt(lo, hi);
  }
  return index;
}

const decoder = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint" });
const utf8 = new TextDecoder();

function expectEncodings(batch: KeyBatch, expected: (string | number)[]): void {
  expect(batch.keys()).toEqual(expected);
  expect(decoder.unpack(batch.msgpack())).toEqual(expected);
  const prefix = Uint8Array.of(1, 2, 3);
  expect(Buffer.from(batch.msgpack(prefix))).toEqual(Buffer.concat([prefix, batch.msgpack()]));
  const formats: KeyTextFormat[] = ["json", "ndjson", "csv", "lines"];
  for (const f of formats) {
    const first = utf8.decode(batch.text(f, true));
    const later = utf8.decode(batch.text(f, false));
    switch (f) {
      case "json":
        expect(JSON.parse(`[${first}]`)).toEqual(expected);
        expect(later).toBe(expected.length > 0 ? `,${first}` : "");
        break;
      case "ndjson":
        expect(first.split("\n").slice(0, -1).map((l) => JSON.parse(l))).toEqual(expected);
        break;
      case "csv":
        expect(first).toBe(expected.map((k) => csv(String(k)) + "\r\n").join(""));
        break;
      case "lines":
        expect(first).toBe(expected.map((k) => String(k) + "\n").join(""));
        break;
    }
  }
}

function csv(s: string): string {
  // RFC 4180 quoting, and the empty key quoted so its record is not a blank line
  return s === "" || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

describe("KeyBatch encodings", () => {
  for (const type of ["int32", "uint32", "int64", "uint64"] as const) {
    it(`${type}: edge and random values in every encoding`, () => {
      const seed = 7 + type.length;
      const values = [...edges(type), ...randomValues(type, 5000, seed)];
      const index = indexOf(type, values);
      // every row, then a scattered subset in ascending order
      const all = Uint32Array.from(values.keys());
      expectEncodings(new KeyBatch(index, all), values.map((v) => jsonOf(type, v)));
      const some = all.filter((r) => r % 3 === 1);
      expectEncodings(new KeyBatch(index, some), [...some].map((r) => jsonOf(type, values[r]!)));
      expectEncodings(new KeyBatch(index, new Uint32Array(0)), []);
    });
  }

  it("utf8: JSON escaping, CSV quoting and multi-byte text", () => {
    const keys = ["plain", 'quo"te', "com,ma", "line\nbreak", "cr\rlf", "中文键", "emoji 😀", "\u0000ctl", "x".repeat(40), "y".repeat(300), ""];
    const index = new KeyIndex("utf8");
    for (const k of keys) index.appendStr(k);
    expectEncodings(new KeyBatch(index, Uint32Array.from(keys.keys())), keys);
  });

  it("msgpack arrays of 15, 16, 65,535 and 65,536 keys use the right headers", () => {
    const values = Array.from({ length: 65_536 }, (_, i) => BigInt(i) * 1_000_003n - 2n ** 40n);
    const index = indexOf("int64", values);
    for (const n of [15, 16, 65_535, 65_536]) {
      const rows = Uint32Array.from({ length: n }, (_, i) => i);
      expect(decoder.unpack(new KeyBatch(index, rows).msgpack())).toEqual(values.slice(0, n).map(String));
    }
  });

  it("a chunk larger than one kernel call (64K keys) is written in several calls, seamlessly", () => {
    const values = Array.from({ length: 140_000 }, (_, i) => 2n ** 53n + BigInt(i) * 3n);
    const index = indexOf("uint64", values);
    const batch = new KeyBatch(index, Uint32Array.from(values.keys()));
    const expected = values.map(String);
    expect(JSON.parse(`[0${utf8.decode(batch.text("json", false))}]`).slice(1)).toEqual(expected);
    expect(utf8.decode(batch.text("csv", true))).toBe(expected.map((k) => `${k}\r\n`).join(""));
    expect(decoder.unpack(batch.msgpack())).toEqual(expected);
  });

  it("the Arrow column reinterprets (lo, hi) words as the exact 64-bit values", () => {
    const values = [...edges("int64"), ...randomValues("int64", 1000, 3)];
    const index = indexOf("int64", values);
    const batch = new KeyBatch(index, Uint32Array.from(values.keys()));
    const schema = new Schema([new Field("id", new Int64(), false)]);
    const rb = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.length, children: [keyColumn(batch)] }));
    const table = tableFromIPC(RecordBatchStreamWriter.writeAll(new Table([rb])).toUint8Array(true));
    expect([...table.getChild("id")!].map((v) => BigInt(v as bigint))).toEqual(values);
  });
});
