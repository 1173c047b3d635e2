// A deterministic sequence of store changes (loads and deletes) for the persistence tests. Plain ESM so
// that both vitest (the parent) and a plain `node` child process (the crash tests) produce the very same
// operations from (seed, step): the parent replays them in memory to know every published version.
//
// Loads upsert a random subset of a fixed key space with a random subset of columns: every SEL type,
// several Arrow widths, ~15% nulls, new tags appearing at later steps, an int tag widened from Int32 to
// Int64, a time tag refined from ms to µs, an enum growing past 256 values (1 → 2-byte codes), deletes
// of random keys (some missing), and deleted keys loaded again.
import * as arrow from "apache-arrow";

export const KEY_BASE = 2n ** 53n;

/** mulberry32 */
export function rng(seed) {
  let s = seed >>> 0;
  const u32 = () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    u32,
    float: () => u32() / 2 ** 32,
    int: (n) => Math.floor((u32() / 2 ** 32) * n),
    bool: (p = 0.5) => u32() / 2 ** 32 < p,
  };
}

const CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "Zürich", "São Paulo", "", "a%b"];
const INTERESTS = ["sports", "music", "travel", "美食", "games", "books", "film", "tech"];

/** Column definitions: name, the step from which it appears, and a maker of (type, values). */
const COLUMNS = [
  { name: "flag", from: 0, make: (r, n) => [new arrow.Bool(), vals(r, n, () => r.bool(0.3))] },
  {
    name: "score",
    from: 0,
    // Int32 at first; from step 6 on, some batches carry Int64 values beyond 2^31 (the tag widens)
    make: (r, n, step) =>
      step >= 6 && r.bool(0.5)
        ? [new arrow.Int64(), vals(r, n, () => BigInt(r.int(1 << 30)) * 16n - 2n ** 33n)]
        : [new arrow.Int32(), vals(r, n, () => r.int(2000) - 1000)],
  },
  { name: "amount", from: 0, make: (r, n) => [new arrow.Float64(), vals(r, n, () => Math.round(r.float() * 1e6) / 100)] },
  { name: "ratio", from: 1, make: (r, n) => [new arrow.Float32(), vals(r, n, () => Math.fround(r.float()))] },
  { name: "城市", from: 0, make: (r, n) => [new arrow.Utf8(), vals(r, n, () => CITIES[r.int(CITIES.length)])] },
  {
    name: "sku",
    from: 2,
    // the dictionary grows with the step: past 256 values its codes widen to 2 bytes
    make: (r, n, step) => [new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()), vals(r, n, () => `sku-${r.int(60 * (step + 1))}`)],
  },
  {
    name: "seen_at",
    from: 0,
    // ms at first; µs from step 4 (the tag is re-encoded in µs)
    make: (r, n, step) => [
      new arrow.Timestamp(step >= 4 && r.bool(0.5) ? arrow.TimeUnit.MICROSECOND : arrow.TimeUnit.MILLISECOND, "UTC"),
      vals(r, n, () => 1_700_000_000_000 + r.int(100_000_000) * 1000),
    ],
  },
  { name: "born", from: 1, make: (r, n) => [new arrow.DateDay(), vals(r, n, () => Date.UTC(1950 + r.int(60), r.int(12), 1 + r.int(28)))] },
  {
    name: "interests",
    from: 0,
    make: (r, n) => [
      new arrow.List(new arrow.Field("item", new arrow.Utf8(), true)),
      vals(r, n, () => Array.from({ length: r.int(4) }, () => INTERESTS[r.int(INTERESTS.length)])),
    ],
  },
  { name: "level", from: 3, make: (r, n) => [new arrow.Int16(), vals(r, n, () => r.int(10))] },
  { name: "vip", from: 5, make: (r, n) => [new arrow.Bool(), vals(r, n, () => r.bool(0.1))] },
  // almost always null: the store keeps it in compressed (container) form
  { name: "rare", from: 1, make: (r, n) => [new arrow.Bool(), Array.from({ length: n }, () => (r.bool(0.004) ? r.bool(0.5) : null))] },
];

function vals(r, n, draw) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.bool(0.15) ? null : draw();
  return out;
}

/**
 * The operation of step `step`: `{kind: "load", ipc: Uint8Array, rows}` or `{kind: "delete", keys: string[]}`.
 * Keys are Int64 (`KEY_BASE + k`, k < keySpace), so JSON keys are decimal strings.
 */
export function opAt(seed, step, { batchRows = 2000, keySpace = 6000 } = {}) {
  const r = rng((seed * 0x9e3779b1 + step * 0x85ebca6b) >>> 0);
  if (step > 2 && r.bool(0.2)) {
    const keys = [];
    const n = 1 + r.int(Math.max(1, batchRows / 20));
    for (let i = 0; i < n; i++) keys.push(String(KEY_BASE + BigInt(r.int(keySpace))));
    return { kind: "delete", keys: [...new Set(keys)] };
  }
  // distinct keys: a random window of a random permutation-ish walk over the key space
  const n = Math.min(batchRows, keySpace);
  const picked = new Set();
  while (picked.size < n) picked.add(r.int(keySpace));
  const keyVec = arrow.vectorFromArray([...picked].map((k) => KEY_BASE + BigInt(k)), new arrow.Int64());
  const cols = { user_id: keyVec };
  for (const c of COLUMNS) {
    if (step < c.from) continue;
    if (step > 0 && !r.bool(0.7)) continue;
    const [type, values] = c.make(r, n, step);
    cols[c.name] = arrow.vectorFromArray(values, type);
  }
  const table = new arrow.Table(cols);
  return { kind: "load", ipc: arrow.tableToIPC(table, "stream"), rows: n };
}

/** Feeds IPC bytes to `engine.load` in a few pieces, as a network body would arrive. */
export async function* pieces(bytes, size = 64 * 1024) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

/** Applies one op to an engine (the real API). Returns the new version. */
export async function apply(engine, op, entity = "user") {
  if (op.kind === "load") return (await engine.load({ entity, key: "user_id", body: pieces(op.ipc) })).version;
  return (await engine.deleteRows(entity, op.keys)).version;
}
