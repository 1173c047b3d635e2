// Column files reach the disk through O_DIRECT (an aligned staging slot, a slot at a time, the tail rounded
// up and truncated back) or, where the file system refuses it, through the page cache. Both must write the
// same bytes: head, each buffer at its offset with zeros between, trailer, exactly `size` long.
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EncodedFile } from "../../engine/store/persist-arrow.js";
import { writeEncoded } from "../../engine/store/persist-io.js";

const dir = mkdtempSync(join(tmpdir(), "lasso-persist-io-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SLOT = 8 << 20; // persist-io.ts SLOT_BYTES: the cases below straddle it

/** Whether this file system takes O_DIRECT at all, asked of the kernel directly. */
function directSupported(): boolean {
  try {
    closeSync(openSync(join(dir, "probe"), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
}

/** Deterministic bytes (an LCG), different for each seed. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

interface Case {
  name: string;
  head: number;
  /** [gap before the buffer, its length] */
  buffers: [number, number][];
  gapBeforeTrailer: number;
  trailer: number;
}

/** The file laid out as the spec says, built independently of the writer; buffers are views into shared memory at odd offsets (as shard memory is). */
function build(c: Case): { enc: EncodedFile; buffers: Uint8Array[]; expected: Uint8Array } {
  const head = bytes(c.head, 1);
  const offsets: number[] = [];
  let at = c.head;
  for (const [gap, len] of c.buffers) {
    offsets.push(at + gap);
    at += gap + len;
  }
  const trailerAt = at + c.gapBeforeTrailer;
  const size = trailerAt + c.trailer;
  const trailer = bytes(c.trailer, 2);
  const shared = new Uint8Array(new SharedArrayBuffer(c.buffers.reduce((n, [, len]) => n + len, 0) + 7 * c.buffers.length + 7));
  let p = 3;
  const buffers = c.buffers.map(([, len], i) => {
    const view = shared.subarray(p, p + len);
    view.set(bytes(len, 10 + i));
    p += len + 7;
    return view;
  });
  const expected = new Uint8Array(size);
  expected.set(head, 0);
  buffers.forEach((b, i) => expected.set(b, offsets[i]!));
  expected.set(trailer, trailerAt);
  return { enc: { head, trailer, body: c.head, size, offsets }, buffers, expected };
}

const CASES: Case[] = [
  { name: "smaller than one block", head: 13, buffers: [[3, 100]], gapBeforeTrailer: 5, trailer: 17 },
  { name: "exactly one block (4096 bytes)", head: 96, buffers: [[0, 3900]], gapBeforeTrailer: 0, trailer: 100 },
  { name: "no buffers", head: 200, buffers: [], gapBeforeTrailer: 40, trailer: 30 },
  { name: "empty buffers between others", head: 72, buffers: [[8, 0], [0, 5000], [56, 0]], gapBeforeTrailer: 8, trailer: 64 },
  { name: "exactly one slot", head: 64, buffers: [[0, SLOT - 64 - 64]], gapBeforeTrailer: 0, trailer: 64 },
  { name: "one byte past a slot", head: 64, buffers: [[0, SLOT - 64 - 64]], gapBeforeTrailer: 0, trailer: 65 },
  { name: "a buffer across two slot boundaries, gaps across one", head: 1000, buffers: [[24, 3 << 20], [SLOT - (3 << 20) - 500, 2 * SLOT + 11], [13, 1]], gapBeforeTrailer: 9, trailer: 100 },
];

describe("writeEncoded", () => {
  const direct = directSupported();

  for (const c of CASES) {
    it(`writes the same bytes directly and buffered: ${c.name}`, async () => {
      const { enc, buffers, expected } = build(c);
      const a = join(dir, `a-${c.name}`);
      const b = join(dir, `b-${c.name}`);
      // a longer file there before: it must be replaced, not overwritten in place
      writeFileSync(a, bytes(enc.size + 70_000, 9));
      expect(await writeEncoded(a, enc, buffers)).toBe(direct ? "direct" : "buffered");
      expect(await writeEncoded(b, enc, buffers, "buffered")).toBe("buffered");
      const gotA = readFileSync(a);
      const gotB = readFileSync(b);
      expect(gotA.length).toBe(enc.size);
      expect(Buffer.compare(gotA, expected)).toBe(0);
      expect(Buffer.compare(gotB, expected)).toBe(0);
    });
  }

  it("falls back to the page cache where O_DIRECT is refused (a character device)", async () => {
    const { enc, buffers } = build(CASES[0]!);
    const devNull = join(dir, "null");
    symlinkSync("/dev/null", devNull);
    // /dev/null refuses O_DIRECT at open; only the buffered write gets as far as fdatasync, which a
    // character device refuses in turn: that error proves the fallback ran
    await expect(writeEncoded(devNull, enc, buffers)).rejects.toMatchObject({ code: "EINVAL", syscall: "fdatasync" });
  });

  it("reports a full disk as the error it is, not as a refusal", async () => {
    const { enc, buffers } = build(CASES[0]!);
    const full = join(dir, "full");
    symlinkSync("/dev/full", full);
    await expect(writeEncoded(full, enc, buffers)).rejects.toMatchObject({ code: "ENOSPC" });
  });
});
