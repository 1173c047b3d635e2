// A load body may reuse one chunk buffer (LoadRequest.body; fileChunks does): the load must be done with
// each chunk before it asks for the next. Bodies here scribble over their buffer on every step, so any
// byte the load kept past a chunk would be garbage, and the stores must still equal a fresh-chunk load.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { FILE_CHUNK_BYTES, fileChunks } from "../../engine/store/file-chunks.js";
import { chunked, makeTable } from "../engine/data.js";

const dir = mkdtempSync(join(tmpdir(), "lasso-chunks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * `bytes` in pieces of the given sizes (the last size repeats), all views of one buffer that is
 * overwritten with 0xAA at each step.
 */
async function* scribbling(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(Math.max(...sizes));
  for (let at = 0, k = 0; at < bytes.length; k++) {
    buf.fill(0xaa);
    const n = Math.min(sizes[Math.min(k, sizes.length - 1)]!, bytes.length - at);
    buf.set(bytes.subarray(at, at + n));
    at += n;
    yield buf.subarray(0, n);
  }
  buf.fill(0xaa);
}

const EXPRS = [
  "vip", "age BETWEEN 10 AND 40", "城市 IN ('上海', '北京')", "level = 'L7'", "interests HAS ANY ('music', '读书')",
  "spend > 100", "last_order_at IS NULL", "NOT vip AND orders >= 3",
];

async function answers(e: Engine): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const expr of EXPRS) {
    const s = await e.select({ entity: "u", expr });
    const keys: (string | number)[] = [];
    for await (const c of s.chunks()) keys.push(...c);
    out.push({ expr, keys });
  }
  return out;
}

describe("load bodies that reuse their chunk buffer", () => {
  const table = makeTable({ rows: 5000, seed: 11 });
  // several record batches (and a dictionary message) per body
  const batched = new arrow.Table(table.batches.flatMap((b) => [b.slice(0, 2000), b.slice(2000, 3500), b.slice(3500)]));

  for (const format of ["stream", "file"] as const) {
    it(`${format} format: any chunk size gives the store a fresh-chunk load gives`, async () => {
      const bytes = arrow.tableToIPC(batched, format);
      const reference = await openEngine({ threads: 0 });
      let want: unknown[];
      try {
        await reference.load({ entity: "u", key: "user_id", body: chunked(bytes) });
        want = await answers(reference);
      } finally {
        await reference.close();
      }
      // a file body is spooled a chunk at a time: tiny chunks only at its start (the magic is read there)
      const cases = format === "stream" ? [[1], [3], [7], [8], [9], [4099], [1 << 16]] : [[3, 2, 1, 4099], [7, 1 << 16], [1 << 16]];
      for (const sizes of cases) {
        const e = await openEngine({ threads: 0 });
        try {
          const r = await e.load({ entity: "u", key: "user_id", body: scribbling(bytes, sizes) });
          expect(r.rows, `chunks of ${sizes}`).toBe(5000);
          expect(await answers(e), `chunks of ${sizes}`).toEqual(want);
        } finally {
          await e.close();
        }
      }
    });
  }

  it("fileChunks reads a file in order into one buffer and reports the bytes so far", async () => {
    const bytes = Uint8Array.from({ length: 2 * FILE_CHUNK_BYTES + 12345 }, (_, i) => (i * 7919) & 0xff);
    const path = join(dir, "body.bin");
    writeFileSync(path, bytes);
    const totals: number[] = [];
    const copies: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const c of fileChunks(path, (t) => totals.push(t))) {
      copies.push(c.slice());
      buffers.add(c.buffer);
    }
    expect(Buffer.concat(copies).equals(Buffer.from(bytes))).toBe(true);
    expect(totals).toEqual([FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES, bytes.length]);
    expect(buffers.size).toBe(1);
  });

  it("loads a file through fileChunks", async () => {
    const path = join(dir, "t.arrows");
    writeFileSync(path, arrow.tableToIPC(batched, "stream"));
    const e = await openEngine({ threads: 0 });
    try {
      expect((await e.load({ entity: "u", key: "user_id", body: fileChunks(path) })).rows).toBe(5000);
      expect((await e.count({ entity: "u", expr: "TRUE" })).count).toBe(5000);
    } finally {
      await e.close();
    }
  });
});
