// The IPC stream framing in front of apache-arrow's reader (engine/store/ipc-frames.ts): it must hand the
// reader exactly the bytes it was given, one message per chunk, whatever the body's chunking; record
// batches read through it must equal the originals even though their buffers are reused; dictionaries
// (first, replacement) must survive that reuse; lying lengths must fail without allocating by the lie.
// Also the partitioned build of a large integer key hash (engine/store/keys.ts).
import * as arrow from "apache-arrow";
import { describe, expect, it } from "vitest";
import { LassoError } from "../../engine/errors.js";
import { ipcMessages } from "../../engine/store/ipc-frames.js";
import { KeyIndex } from "../../engine/store/keys.js";
import { rng } from "./ops.mjs";

type Rand = ReturnType<typeof rng>;

function makeBatch(r: Rand, n: number, dict: arrow.Vector<arrow.Utf8>): arrow.RecordBatch {
  const idx = Int16Array.from({ length: n }, () => r.int(dict.length));
  const e = arrow.makeData({ type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int16(), 0), length: n, nullCount: 0, data: idx, dictionary: dict });
  const children = [
    arrow.vectorFromArray(Array.from({ length: n }, (_, i) => BigInt(i)), new arrow.Int64()).data[0]!,
    arrow.vectorFromArray(Array.from({ length: n }, () => (r.bool(0.2) ? null : `v${r.int(50)}`)), new arrow.Utf8()).data[0]!,
    e,
    arrow.vectorFromArray(Array.from({ length: n }, () => (r.bool(0.1) ? null : r.float())), new arrow.Float64()).data[0]!,
  ];
  const fields = ["k", "s", "e", "f"].map((name, i) => new arrow.Field(name, children[i]!.type, name !== "k"));
  return new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: new arrow.Struct(fields), length: n, nullCount: 0, children }));
}

function stream(batches: arrow.RecordBatch[], legacy = false): Uint8Array {
  const writer = new arrow.RecordBatchStreamWriter({ writeLegacyIpcFormat: legacy });
  for (const b of batches) writer.write(b);
  writer.finish();
  return writer.toUint8Array(true);
}

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

function rows(b: arrow.RecordBatch): string {
  return JSON.stringify(b.toArray().map((row) => row.toJSON()), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c.slice());
  return out;
}

/** Byte equality without a deep-equal walk (slow over 100+ KB). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe("IPC stream framing", () => {
  const r = rng(5);
  // a dictionary message larger than the batches after it: were it read into a reused buffer, a later
  // batch would overwrite it
  const first = arrow.vectorFromArray(["a", "b", "", "城市", ...Array.from({ length: 3000 }, (_, i) => `entry-${i}-${"x".repeat(20)}`)], new arrow.Utf8());
  const replaced = arrow.vectorFromArray(["z", "😀", "a"], new arrow.Utf8());
  // batches 0–3 under one dictionary, then a replacement dictionary for 4–6 (more batches than the three
  // reused buffers, so every buffer is reused while a dictionary is still in use)
  const batches = [5, 1000, 1, 700, 30, 2, 900].map((n, i) => makeBatch(r, n, i < 4 ? first : replaced));
  const seeds = [false, true].map((legacy) => ({ legacy, bytes: stream(batches, legacy) }));

  for (const { legacy, bytes } of seeds) {
    for (const size of [3, 1000, bytes.length]) {
      it(`passes ${legacy ? "legacy " : ""}streams through byte for byte in chunks of ${size}, one message per chunk`, async () => {
        const out = await collect(ipcMessages(pieces(bytes, size)));
        expect(sameBytes(Buffer.concat(out), bytes)).toBe(true);
        // schema, 2 dictionaries, 7 batches, end marker
        expect(out.length).toBe(1 + 2 + batches.length + 1);
      });
    }

    it(`reads ${legacy ? "legacy " : ""}batches equal to the originals through reused buffers`, async () => {
      for (const size of [7, 65_536]) {
        const reader = await arrow.RecordBatchReader.from(ipcMessages(pieces(bytes, size)));
        await reader.open();
        let i = 0;
        for await (const b of reader) {
          // compared before the next batch is read: its buffers may then be reused
          expect(rows(b), `batch ${i}, chunks of ${size}`).toBe(rows(batches[i]!));
          i++;
        }
        expect(i).toBe(batches.length);
      }
    });
  }

  it("passes bytes after the end-of-stream marker through untouched", async () => {
    const bytes = Buffer.concat([seeds[0]!.bytes, new Uint8Array(64).fill(0x5a)]);
    expect(sameBytes(Buffer.concat(await collect(ipcMessages(pieces(bytes, 100)))), bytes)).toBe(true);
  });

  it("refuses lying lengths with bad_arrow, allocating only what arrived", async () => {
    const bytes = seeds[0]!.bytes;
    // the first record batch message, its body cut short (the stream then ends)
    const msgs = await collect(ipcMessages(pieces(bytes, bytes.length)));
    const cut = Buffer.concat([msgs[0]!, msgs[1]!, msgs[2]!.subarray(0, msgs[2]!.length - 5)]);
    const metaLie = Buffer.concat([msgs[0]!, new Uint8Array([255, 255, 255, 255, 0xf8, 0xff, 0xff, 0x7f]), new Uint8Array(100)]);
    for (const body of [cut, metaLie]) {
      const before = process.memoryUsage().arrayBuffers;
      const err = await collect(ipcMessages(pieces(body, 10))).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LassoError);
      expect((err as LassoError).code).toBe("bad_arrow");
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(128 << 20);
    }
  });
});

describe("integer key hash built partition by partition", () => {
  it("finds every live key and no dead one after a build of over 2^20 rows", () => {
    const r = rng(9);
    const n = (1 << 20) + 12_345;
    const k = new KeyIndex("int64");
    k.reserveRestored(n);
    const words = k.restoreInt(n);
    const lo = new Int32Array(n);
    let v = 0;
    for (let i = 0; i < n; i++) {
      v += 1 + r.int(1000);
      lo[i] = v | 0;
      words[i * 2] = v | 0;
      words[i * 2 + 1] = i & 3; // four high words: keys alike in their low word too
    }
    const dead = (row: number) => row % 97 === 5;
    let live = 0;
    for (let i = 0; i < n; i++) if (!dead(i)) live++;
    k.hashRestored(live, (row) => !dead(row));
    k.buildHash();
    let wrong = 0;
    for (let i = 0; i < n; i++) if (k.findInt(lo[i]!, i & 3) !== (dead(i) ? -1 : i)) wrong++;
    expect(wrong, "seed 9").toBe(0);
    expect(k.findInt(lo[n - 1]! + 1, 0)).toBe(-1);
    expect(k.size).toBe(live);
  });
});
