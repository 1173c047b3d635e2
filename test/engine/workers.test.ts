/**
 * Real worker threads: a worker that dies mid-query is replaced, the query it held is answered with a
 * typed error, and later queries get right answers — however many times it happens.
 */
import * as arrow from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LassoEngine } from "../../engine/engine.js";
import { LassoError } from "../../engine/errors.js";
import { chunked } from "./data.js";

let engine: LassoEngine;
const n = 400_000;
beforeAll(async () => {
  engine = await LassoEngine.open({ threads: 2, shardRows: 65_536, splitThreshold: 0 });
  const t = new arrow.Table({ id: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i)), a: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i % 1000)) });
  await engine.load({ entity: "u", key: "id", body: chunked(arrow.tableToIPC(t)) });
});
afterAll(async () => engine.close());

describe("worker pool", () => {
  it("answers a killed worker's query with an error, replaces the worker, and stays right (5 kills)", async () => {
    const pool = (engine as unknown as { pool: { workers: readonly { terminate(): Promise<number> }[] } }).pool;
    for (let round = 0; round < 5; round++) {
      const running = Array.from({ length: 6 }, () => engine.count({ expr: "a < 500 OR a > 990" }));
      await pool.workers[0]!.terminate();
      const results = await Promise.allSettled(running);
      for (const r of results) {
        if (r.status === "fulfilled") expect(r.value.count).toBe(n * 0.509);
        else {
          expect(r.reason).toBeInstanceOf(LassoError);
          expect((r.reason as LassoError).code).toBe("internal");
        }
      }
      // after the replacement, every answer is right again
      for (let i = 0; i < 4; i++) expect((await engine.count({ expr: "a < 500 OR a > 990" })).count).toBe(n * 0.509);
    }
  });

  it("stops a split query on its request's abort or deadline, with the request's error, and answers the next one", async () => {
    const expr = "a < 500 OR a > 990";
    const ac = new AbortController();
    ac.abort();
    await expect(engine.count({ expr, signal: ac.signal })).rejects.toMatchObject({ code: "cancelled" });
    await expect(engine.count({ expr, timeoutMs: 0 })).rejects.toMatchObject({ code: "timeout" });
    // aborted while the workers run: they stop between morsels (or finish first: both are right answers)
    const late = new AbortController();
    const running = engine.count({ expr, signal: late.signal });
    late.abort();
    const r = await Promise.allSettled([running]);
    if (r[0]!.status === "rejected") expect(r[0]!.reason).toMatchObject({ code: "cancelled" });
    else expect(r[0]!.value.count).toBe(n * 0.509);
    expect((await engine.count({ expr })).count).toBe(n * 0.509);
  });
});
