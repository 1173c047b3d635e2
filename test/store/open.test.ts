// Opening a data directory serves before its columns are in (persist-open.ts): queries, selects, loads and
// deletes issued while the columns are still arriving agree with the oracle and with an in-memory engine fed
// the same operations. The background reader is held at chosen points with a test hook (no timing).
import { cpSync, readFileSync, readdirSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import type { ColumnLoader } from "../../engine/store/persist-open.js";
import { allowColumns, openHooks } from "../../engine/store/persist-open.js";
import { apply, opAt } from "./ops.mjs";
import { Model, fingerprint, storeOf, tempDir } from "./support.js";

const SHARD_ROWS = 65_536;
const SIZES = { batchRows: 16_000, keySpace: 100_000 };
const SEED = 4242;
const STEPS = 6;

const cleanups: (() => void)[] = [];
afterEach(() => {
  openHooks.columnsAllowed = null;
  openHooks.keyHashHeld = false;
  while (cleanups.length) cleanups.pop()!();
});

function loaderOf(engine: Engine): ColumnLoader {
  return (engine as unknown as { dir: { loader: ColumnLoader } }).dir.loader;
}

async function allIds(engine: Engine): Promise<unknown[]> {
  const sel = await engine.select({ entity: "user", expr: "TRUE", chunk: 10_000 });
  const out: unknown[] = [];
  for await (const c of sel.chunks()) out.push(...c);
  return out;
}

/** A data directory after STEPS operations, the model of it and an in-memory engine fed the same. */
async function filled(tag: string) {
  const d = tempDir(tag);
  cleanups.push(d.remove);
  const model = new Model();
  const memory = await openEngine({ threads: 0, shardRows: SHARD_ROWS });
  const engine = await openEngine({ dataDir: d.path, threads: 0, shardRows: SHARD_ROWS });
  for (let step = 0; step < STEPS; step++) {
    const op = opAt(SEED, step, SIZES);
    await apply(engine, op);
    await apply(memory, op);
    model.apply(op);
  }
  const ids = await allIds(engine);
  const chunks = storeOf(engine, "user").current.shards.reduce((n, s) => n + s.chunks.size, 0);
  await engine.close();
  return { path: d.path, model, memory, ids, chunks };
}

describe("opening while columns arrive", () => {
  it("answers counts, selects, loads and deletes like the oracle at every point of the background reads", async () => {
    const base = await filled("open-lazy");
    expect(base.chunks).toBeGreaterThan(5);
    // nothing in yet, a few chunks in (all in: roundtrip.test.ts)
    for (const allowed of [0, 3]) {
      const model = new Model();
      const memory = await openEngine({ threads: 0, shardRows: SHARD_ROWS });
      for (let step = 0; step < STEPS; step++) {
        const op = opAt(SEED, step, SIZES);
        await apply(memory, op);
        model.apply(op);
      }
      // each round starts from the same directory
      const round = tempDir(`open-lazy-${allowed}`);
      cleanups.push(round.remove);
      cpSync(base.path, round.path, { recursive: true });
      openHooks.columnsAllowed = allowed;
      openHooks.keyHashHeld = true;
      const logs: string[] = [];
      const engine = await openEngine({ dataDir: round.path, threads: 0, log: (_l, m) => logs.push(m) });
      const loader = loaderOf(engine);
      const where = `seed ${SEED}, ${allowed} of ${base.chunks} chunks let in`;
      expect(logs.some((m) => /^serving data directory .* after \d+ ms/.test(m)), where).toBe(true);
      expect(storeOf(engine, "user").keys.hashPending, where).toBe(true);

      expect((await fingerprint(engine)).counts, where).toEqual(model.counts());
      expect(await allIds(engine), where).toEqual(base.ids);
      if (allowed === 0) expect(loader.stats.onDemand, where).toBeGreaterThan(0);

      // a load and a delete finish the key hash and read what they change
      for (let step = STEPS; step < STEPS + 3; step++) {
        const op = opAt(SEED, step, SIZES);
        expect(await apply(engine, op), where).toBe(await apply(memory, op));
        model.apply(op);
      }
      expect(storeOf(engine, "user").keys.hashPending, where).toBe(false);
      expect((await fingerprint(engine)).counts, where).toEqual(model.counts());

      allowColumns(Number.MAX_SAFE_INTEGER);
      await loader.whenDone();
      expect(loader.stats.failed, where).toBe(0);
      const [got, want] = [await fingerprint(engine), await fingerprint(memory)];
      expect(got.checksum, where).toBe(want.checksum);
      expect(got.counts, where).toEqual(want.counts);
      await engine.close();
      await memory.close();
      // and what it wrote on top of a partly read store reopens as the same store
      const again = await openEngine({ dataDir: round.path, threads: 0 });
      expect((await fingerprint(again)).checksum, where).toBe(want.checksum);
      await loaderOf(again).whenDone();
      await again.close();
    }
    await base.memory.close();
  });

  it("closes cleanly while columns are still arriving, and reopens the same store", async () => {
    const base = await filled("open-close");
    const want = await fingerprint(base.memory);
    openHooks.columnsAllowed = 2;
    let engine = await openEngine({ dataDir: base.path, threads: 0 });
    const loader = loaderOf(engine);
    await engine.close();
    await loader.whenDone();
    openHooks.columnsAllowed = null;
    engine = await openEngine({ dataDir: base.path, threads: 0 });
    expect((await fingerprint(engine)).checksum).toBe(want.checksum);
    await engine.close();
    await base.memory.close();
  });

  it("reports a column file that fails after opening as io_error on the query that needs it; the rest serves", async () => {
    const base = await filled("open-damaged");
    const manifest = JSON.parse(readFileSync(join(base.path, "MANIFEST"), "utf8"));
    const e = manifest.entities[0];
    const score = e.tags.find((t: { name: string }) => t.name === "score").id;
    const victim = readdirSync(join(base.path, e.dir)).find((f) => f.startsWith(`t${score}.s0.`))!;
    expect(victim).toBeDefined();
    openHooks.columnsAllowed = 0;
    const logs: string[] = [];
    const engine = await openEngine({ dataDir: base.path, threads: 0, log: (_l, m) => logs.push(m) });
    truncateSync(join(base.path, e.dir, victim), 100);
    await expect(engine.count({ entity: "user", expr: "score > 0" })).rejects.toMatchObject({ code: "io_error", message: expect.stringContaining(victim) });
    // asked again: the same typed error, not a partial answer
    await expect(engine.count({ entity: "user", expr: "score > 0" })).rejects.toMatchObject({ code: "io_error" });
    expect((await engine.count({ entity: "user", expr: "TRUE" })).count).toBe((await base.memory.count({ entity: "user", expr: "TRUE" })).count);
    expect((await engine.count({ entity: "user", expr: "flag" })).count).toBe((await base.memory.count({ entity: "user", expr: "flag" })).count);
    const loader = loaderOf(engine);
    allowColumns(Number.MAX_SAFE_INTEGER);
    await loader.whenDone();
    expect(loader.stats.failed).toBe(1);
    expect(logs.some((m) => m.includes(victim))).toBe(true);
    await engine.close();
    await base.memory.close();
  });
});
