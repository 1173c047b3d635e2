// BodyStream (server/http/body.ts) against a scripted uWS response: bytes come in uWS-sized pieces, are
// handed out in reused slabs, and every byte reaches the consumer in order, including bytes that arrive
// after the upload was paused (uWS may deliver what it had already read).
import { describe, expect, it } from "vitest";
import type { Exchange } from "../../server/http/exchange.js";
import { BodyStream } from "../../server/http/body.js";

/** A stand-in for the Exchange: the test calls `deliver` as uWS would call onData. */
function scripted(contentLength?: number) {
  let onData: ((chunk: ArrayBuffer, isLast: boolean) => void) | undefined;
  const state = { paused: false, pauses: 0 };
  const ex = {
    headers: contentLength === undefined ? {} : { "content-length": String(contentLength) },
    ended: false,
    onAbort: () => {},
    raw: {
      onData: (cb: (chunk: ArrayBuffer, isLast: boolean) => void) => (onData = cb),
      pause: () => {
        state.paused = true;
        state.pauses++;
      },
      resume: () => (state.paused = false),
    },
  } as unknown as Exchange;
  // uWS reclaims a chunk's memory when the callback returns: the stream must copy it, so scribble after
  const deliver = (bytes: Uint8Array, isLast = false) => {
    const ab = bytes.slice().buffer;
    onData!(ab, isLast);
    new Uint8Array(ab).fill(0xee);
  };
  return { ex, deliver, state };
}

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

async function drain(body: BodyStream, onChunk?: () => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of body) {
    parts.push(c.slice());
    onChunk?.();
  }
  return Buffer.concat(parts);
}

describe("BodyStream", () => {
  it("hands every byte over in order across slab boundaries, reusing slabs", async () => {
    const bytes = pattern(5 * (1 << 20) + 12345, 1);
    const { ex, deliver } = scripted(bytes.length);
    const body = new BodyStream(ex, 64 << 20);
    for (let at = 0; at < bytes.length; at += 65536) deliver(bytes.subarray(at, Math.min(bytes.length, at + 65536)), at + 65536 >= bytes.length);
    expect(Buffer.from(await drain(body)).equals(Buffer.from(bytes))).toBe(true);
    expect(body.fullyRead).toBe(true);
  });

  it("bytes that arrive while paused reach a consumer that has read everything else", async () => {
    const first = pattern(20 << 10, 2);
    const late = pattern(64 << 10, 3);
    const rest = pattern(10 << 10, 4);
    const { ex, deliver, state } = scripted();
    const body = new BodyStream(ex, 16 << 10);
    deliver(first); // past the high-water mark: pauses
    expect(state.paused).toBe(true);
    deliver(late); // already read by uWS before the pause took effect
    let resumed = false;
    const got = drain(body, () => {
      // once the consumer has caught up, the upload resumes and the rest arrives
      if (!state.paused && !resumed) {
        resumed = true;
        setImmediate(() => deliver(rest, true));
      }
    });
    expect(Buffer.from(await got).equals(Buffer.concat([first, late, rest]))).toBe(true);
  });

  it("gives a waiting consumer what has arrived without waiting for a full slab", async () => {
    const { ex, deliver } = scripted();
    const body = new BodyStream(ex, 8 << 20);
    const it = body[Symbol.asyncIterator]();
    const next = it.next();
    deliver(pattern(100, 5));
    const r = await next;
    expect(r.done).toBe(false);
    expect(Array.from(r.value as Uint8Array)).toEqual(Array.from(pattern(100, 5)));
    deliver(new Uint8Array(0), true);
    expect((await it.next()).done).toBe(true);
  });

  it("fails a body shorter than its Content-Length with the code it was given (bad_arrow by default)", async () => {
    for (const code of [undefined, "bad_request"] as const) {
      const { ex, deliver } = scripted(1000);
      const body = code ? new BodyStream(ex, 8 << 20, code) : new BodyStream(ex, 8 << 20);
      deliver(pattern(600, 6), true);
      await expect(drain(body)).rejects.toMatchObject({ code: code ?? "bad_arrow", message: expect.stringContaining("600 bytes, Content-Length said 1000") });
    }
  });
});
