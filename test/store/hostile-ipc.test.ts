// Hostile and broken Arrow IPC bodies against a durable store: each is refused with a clear error
// (bad_arrow / schema_conflict / …), without allocating what the bytes claim, and leaves the store and
// its data directory exactly as they were.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { BufferRegion, FieldNode, Message, RecordBatch as BatchHeader } from "apache-arrow/ipc/metadata/message";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { apply, opAt, pieces } from "./ops.mjs";
import { fingerprint, tempDir, type Fingerprint } from "./support.js";

let dir: ReturnType<typeof tempDir>;
let engine: Engine;
let before: Fingerprint;
let files: string[];

function listing(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of readdirSync(join(dir.path, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out.sort();
}

beforeAll(async () => {
  dir = tempDir("hostile");
  engine = await openEngine({ dataDir: dir.path, threads: 0, shardRows: 65_536 });
  for (let step = 0; step < 3; step++) await apply(engine, opAt(11, step, { batchRows: 2000, keySpace: 5000 }));
  before = await fingerprint(engine);
  files = listing();
});

afterAll(async () => {
  await engine.close();
  dir.remove();
});

/** A valid stream of the entity's own shape: user_id Int64 + a few tags. */
function validStream(rows = 1000): Uint8Array {
  const ids = Array.from({ length: rows }, (_, i) => 2n ** 53n + BigInt(i));
  return arrow.tableToIPC(
    new arrow.Table({
      user_id: arrow.vectorFromArray(ids, new arrow.Int64()),
      score: arrow.vectorFromArray(ids.map((_, i) => i), new arrow.Int32()),
      城市: arrow.vectorFromArray(ids.map((_, i) => `c${i % 7}`), new arrow.Utf8()),
    }),
    "stream",
  );
}

/** A message frame: continuation, length, flatbuffer (padded to 8). */
function frame(fb: Uint8Array): Uint8Array {
  const len = Math.ceil(fb.length / 8) * 8;
  const out = new Uint8Array(8 + len);
  const v = new DataView(out.buffer);
  v.setInt32(0, -1, true);
  v.setInt32(4, len, true);
  out.set(fb, 8);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const SCHEMA = new arrow.Schema([new arrow.Field("user_id", new arrow.Int64(), false), new arrow.Field("score", new arrow.Int32(), true)]);
const EOS = new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0]);

/** A record batch message that claims `rows` rows but carries `bodyBytes` of body. */
function lyingBatch(rows: number, bodyBytes: number, claimedBody = bodyBytes): Uint8Array {
  const header = new BatchHeader(
    rows,
    [new FieldNode(rows, 0), new FieldNode(rows, 0)],
    [new BufferRegion(0, 0), new BufferRegion(0, bodyBytes / 2), new BufferRegion(0, 0), new BufferRegion(bodyBytes / 2, bodyBytes / 2)],
    null,
  );
  return concat(frame(Message.encode(Message.from(header, claimedBody))), new Uint8Array(bodyBytes));
}

function nestedList(depth: number): arrow.DataType {
  let t: arrow.DataType = new arrow.Utf8();
  for (let i = 0; i < depth; i++) t = new arrow.List(new arrow.Field("item", t, true));
  return t;
}

function nestedStruct(depth: number): arrow.DataType {
  let t: arrow.DataType = new arrow.Int32();
  for (let i = 0; i < depth; i++) t = new arrow.Struct([new arrow.Field("s", t, true)]);
  return t;
}

const valid = validStream();
const schemaOnly = frame(Message.encode(Message.from(SCHEMA)));

const CASES: { name: string; body: () => Uint8Array; codes: string[] }[] = [
  { name: "empty body", body: () => new Uint8Array(0), codes: ["bad_arrow"] },
  { name: "wrong magic / not Arrow", body: () => new TextEncoder().encode("NOTARROW" + "x".repeat(200)), codes: ["bad_arrow"] },
  { name: "JSON instead of Arrow", body: () => new TextEncoder().encode('{"user_id": [1, 2, 3]}'), codes: ["bad_arrow"] },
  { name: "cut inside the schema", body: () => valid.subarray(0, 20), codes: ["bad_arrow"] },
  { name: "cut inside the first batch's metadata", body: () => valid.subarray(0, schemaOnly.length + 24), codes: ["bad_arrow"] },
  { name: "cut inside the first batch's body", body: () => valid.subarray(0, valid.length - 300), codes: ["bad_arrow"] },
  { name: "metadata length claiming 2 GiB", body: () => concat(new Uint8Array([255, 255, 255, 255, 0xf8, 0xff, 0xff, 0x7f]), new Uint8Array(64)), codes: ["bad_arrow"] },
  { name: "batch metadata length beyond the body", body: () => concat(schemaOnly, new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0x40]), new Uint8Array(100)), codes: ["bad_arrow"] },
  { name: "body length claiming 1 TB", body: () => concat(schemaOnly, lyingBatch(10, 160, 1e12), EOS), codes: ["bad_arrow"] },
  { name: "10^9 rows claimed over 160 bytes", body: () => concat(schemaOnly, lyingBatch(1e9, 160), EOS), codes: ["bad_arrow"] },
  { name: "2^31 rows claimed", body: () => concat(schemaOnly, lyingBatch(2 ** 31, 160), EOS), codes: ["bad_arrow"] },
  { name: "buffer regions beyond the body", body: () => concat(schemaOnly, lyingBatch(10, 16), EOS), codes: ["bad_arrow"] },
  {
    name: "list nested 200 deep",
    body: () => concat(frame(Message.encode(Message.from(new arrow.Schema([new arrow.Field("user_id", new arrow.Int64(), false), new arrow.Field("deep", nestedList(200), true)])))), EOS),
    codes: ["schema_conflict"],
  },
  {
    name: "struct nested 500 deep",
    body: () => concat(frame(Message.encode(Message.from(new arrow.Schema([new arrow.Field("user_id", new arrow.Int64(), false), new arrow.Field("deep", nestedStruct(500), true)])))), EOS),
    codes: ["schema_conflict"],
  },
  {
    name: "a tag column of a type conflicting with the stored tag",
    body: () => arrow.tableToIPC(new arrow.Table({ user_id: arrow.vectorFromArray([1n], new arrow.Int64()), score: arrow.vectorFromArray([1.5], new arrow.Float64()) }), "stream"),
    codes: ["schema_conflict"],
  },
  {
    name: "a duplicate key after valid rows",
    body: () => arrow.tableToIPC(new arrow.Table({ user_id: arrow.vectorFromArray([7n, 8n, 9n, 7n], new arrow.Int64()), score: arrow.vectorFromArray([1, 2, 3, 4], new arrow.Int32()) }), "stream"),
    codes: ["duplicate_key"],
  },
  {
    name: "a null key",
    body: () => arrow.tableToIPC(new arrow.Table({ user_id: arrow.vectorFromArray([7n, null], new arrow.Int64()) }), "stream"),
    codes: ["null_key"],
  },
  {
    name: "a second valid batch followed by garbage",
    body: () => concat(valid.subarray(0, valid.length - 8), new Uint8Array(64).fill(0x5a)),
    codes: ["bad_arrow"],
  },
];

describe("hostile Arrow IPC bodies", () => {
  for (const c of CASES) {
    it(`refuses ${c.name}`, async () => {
      const heapBefore = process.memoryUsage();
      const err = await engine.load({ entity: "user", key: "user_id", body: pieces(c.body(), 4096) }).then(
        (r) => new Error(`accepted: ${JSON.stringify(r)}`),
        (e: unknown) => e,
      );
      expect(err, String(err)).toMatchObject({ code: expect.toBeOneOf(c.codes) });
      expect((err as Error).message.length).toBeGreaterThan(10);
      const heapAfter = process.memoryUsage();
      // nothing near what the bytes claim was allocated
      expect(heapAfter.arrayBuffers - heapBefore.arrayBuffers).toBeLessThan(256 * 2 ** 20);
      expect(heapAfter.rss - heapBefore.rss).toBeLessThan(512 * 2 ** 20);
      expect(await fingerprint(engine)).toEqual(before);
      expect(listing()).toEqual(files);
    });
  }

  it("still loads a valid body afterwards", async () => {
    const r = await engine.load({ entity: "user", key: "user_id", body: pieces(valid) });
    expect(r.rows).toBe(1000);
  });
});
