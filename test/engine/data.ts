/**
 * Seeded test tables with every SEL type, several Arrow widths, nulls everywhere and edge values
 * (INT64 extremes, ±0, ±Inf, NaN, astral and Chinese strings, empty and duplicate list items).
 */
import * as arrow from "apache-arrow";

export function rng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "a", "B", "é", "e\u0301", "😀x", "ｚ", "50%", "under_score"];
export const INTERESTS = ["sports", "music", "travel", "food", "games", "art", "科技", "读书"];
export const LEVELS = Array.from({ length: 300 }, (_, i) => `L${i}`); // > 256 values: u16 codes
export const DAY_MS = 86_400_000;
export const BASE_MS = Date.UTC(2025, 0, 1);

export interface TableSpec {
  rows: number;
  seed: number;
  /** First key (keys are firstKey, firstKey+1, … shuffled by nothing: row order = key order). */
  firstKey?: number;
  /** Only these columns (besides the key). */
  columns?: string[];
  /** Keys in descending order: rows land scattered, not as one contiguous run. */
  descending?: boolean;
}

const I64_EDGES = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n];
const F64_EDGES = [0, -0, Infinity, -Infinity, NaN, 1e-300, 0.1, 0.30000000000000004];

export function makeTable(spec: TableSpec): arrow.Table {
  const r = rng(spec.seed);
  const n = spec.rows;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = <T>(p: number, f: () => T): T | null => (r() < p ? null : f());
  const first = BigInt(spec.firstKey ?? 1);
  const cols: Record<string, arrow.Vector> = {
    user_id: arrow.makeVector(BigInt64Array.from({ length: n }, (_, i) => first + BigInt(spec.descending ? n - 1 - i : i))),
  };
  const want = (c: string) => !spec.columns || spec.columns.includes(c);
  if (want("vip")) cols["vip"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.2, () => r() < 0.3)), new arrow.Bool());
  if (want("rare")) cols["rare"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.9, () => r() < 0.01)), new arrow.Bool());
  // sparse flags: stored in container form (mostly null / mostly false with a few true)
  if (want("flag")) cols["flag"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.995, () => r() < 0.8)), new arrow.Bool());
  if (want("rare_true")) cols["rare_true"] = arrow.vectorFromArray(Array.from({ length: n }, () => r() < 0.002), new arrow.Bool());
  if (want("age")) cols["age"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.1, () => Math.floor(r() * 100) - 5)), new arrow.Int8());
  if (want("orders")) cols["orders"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.3, () => Math.floor(r() ** 3 * 5000))), new arrow.Int32());
  if (want("big")) {
    cols["big"] = arrow.vectorFromArray(
      Array.from({ length: n }, () => maybe(0.2, () => (r() < 0.05 ? pick(I64_EDGES) : BigInt(Math.floor((r() - 0.5) * 2e15))))),
      new arrow.Int64(),
    );
  }
  if (want("spend")) {
    cols["spend"] = arrow.vectorFromArray(
      Array.from({ length: n }, () => maybe(0.25, () => (r() < 0.05 ? pick(F64_EDGES) : Math.round(r() * 100000) / 100))),
      new arrow.Float64(),
    );
  }
  if (want("score")) cols["score"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.2, () => Math.fround(r() * 10 - 5))), new arrow.Float32());
  if (want("城市")) {
    cols["城市"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.15, () => pick(CITIES))), new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()));
  }
  if (want("level")) cols["level"] = arrow.vectorFromArray(Array.from({ length: n }, () => maybe(0.1, () => pick(LEVELS))), new arrow.Utf8());
  if (want("last_order_at")) {
    cols["last_order_at"] = arrow.vectorFromArray(
      Array.from({ length: n }, () => maybe(0.2, () => new Date(BASE_MS - Math.floor(r() * 400 * DAY_MS)))),
      new arrow.TimestampMillisecond(),
    );
  }
  if (want("seen_us")) {
    // microsecond timestamps: values are bigint µs
    const v = Array.from({ length: n }, () => maybe(0.3, () => BigInt(BASE_MS) * 1000n - BigInt(Math.floor(r() * 10 * DAY_MS * 1000))));
    cols["seen_us"] = arrow.makeVector({
      type: new arrow.TimestampMicrosecond(),
      length: n,
      nullCount: v.filter((x) => x === null).length,
      nullBitmap: bitmapOf(v.map((x) => x !== null)),
      data: BigInt64Array.from(v, (x) => x ?? 0n),
    } as never);
  }
  if (want("signup")) {
    const days = Array.from({ length: n }, () => maybe(0.1, () => Math.floor(BASE_MS / DAY_MS) - Math.floor(r() * 2000)));
    cols["signup"] = arrow.makeVector({
      type: new arrow.DateDay(),
      length: n,
      nullCount: days.filter((x) => x === null).length,
      nullBitmap: bitmapOf(days.map((x) => x !== null)),
      data: Int32Array.from(days, (x) => x ?? 0),
    } as never);
  }
  if (want("interests")) {
    cols["interests"] = arrow.vectorFromArray(
      Array.from({ length: n }, () =>
        maybe(0.15, () => {
          const k = Math.floor(r() * 5);
          return Array.from({ length: k }, () => pick(INTERESTS));
        }),
      ),
      new arrow.List(new arrow.Field("item", new arrow.Utf8(), true)),
    );
  }
  return new arrow.Table(cols);
}

function bitmapOf(bits: boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8) + 8);
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

export async function* chunked(bytes: Uint8Array, size = 1 << 16): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}
