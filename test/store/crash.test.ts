// Crash safety: a child process loading in a loop is killed with SIGKILL (at random moments, and at each
// step of the commit protocol); the reopened store must be exactly one published version — at least the
// last one acknowledged — never a mix, with no garbage left, and agree with the oracle.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { ensureBuilt, runChild } from "./child.js";
import { apply, opAt } from "./ops.mjs";
import { Model, fingerprint, tempDir, type Fingerprint } from "./support.js";

const SIZES = { batchRows: 2000, keySpace: 50_000 };
const SHARD_ROWS = 65_536;

beforeAll(() => ensureBuilt(), 180_000);

/** The store's versions rebuilt in memory from the same ops: version v = ops 0..v-1 applied. */
class Replay {
  private engine: Engine | null = null;
  readonly model = new Model();
  private version = 0;
  constructor(readonly seed: number) {}
  async at(v: number): Promise<Fingerprint | null> {
    this.engine ??= await openEngine({ threads: 0, shardRows: SHARD_ROWS });
    if (v < this.version) throw new Error(`replay cannot go back from ${this.version} to ${v}`);
    while (this.version < v) {
      const op = opAt(this.seed, this.version, SIZES);
      this.model.apply(op);
      this.version = await apply(this.engine, op);
    }
    return v === 0 ? null : fingerprint(this.engine);
  }
  async close(): Promise<void> {
    await this.engine?.close();
  }
}

interface Reopened {
  version: number;
  fp: Fingerprint | null;
  logs: string[];
}

async function reopen(dir: string, logs: string[] = []): Promise<Reopened> {
  const engine = await openEngine({ dataDir: dir, threads: 0, shardRows: SHARD_ROWS, log: (_l, msg) => logs.push(msg) });
  try {
    const info = engine.entities().find((e) => e.name === "user");
    return { version: info?.version ?? 0, fp: info ? await fingerprint(engine) : null, logs };
  } finally {
    await engine.close();
  }
}

/** Every file under entities/ is named by MANIFEST, and no temporary file is left. */
function expectClean(dir: string): void {
  const top = readdirSync(dir);
  expect(top.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  if (!top.includes("MANIFEST")) return;
  const m = JSON.parse(readFileSync(join(dir, "MANIFEST"), "utf8"));
  const dirs = new Set(m.entities.map((e: { dir: string }) => e.dir.split("/")[1]));
  expect(new Set(readdirSync(join(dir, "entities")))).toEqual(dirs);
  for (const e of m.entities) {
    const named = JSON.stringify(e);
    for (const f of readdirSync(join(dir, e.dir))) expect(named.includes(`"${f}"`), `${e.dir}/${f} is not in MANIFEST`).toBe(true);
  }
}

describe("crash safety (SIGKILL of a loading process)", () => {
  it("reopens exactly the last acknowledged version or the one in flight, at random kill times", async () => {
    const base = process.env["LASSO_CRASH_SEED"] ? Number(process.env["LASSO_CRASH_SEED"]) : (Math.random() * 2 ** 31) >>> 0;
    for (let k = 0; k < 3; k++) {
      const seed = (base + k * 7919) >>> 0;
      const dir = tempDir("crash");
      const replay = new Replay(seed);
      const say = (what: string) => `seed ${seed} (LASSO_CRASH_SEED=${base}): ${what}`;
      try {
        // kill, reopen and check, then let a new child continue from there: several crashes per directory
        let delay = 150 + (seed % 500);
        for (let round = 0; round < 2; round++) {
          const run = await runChild(dir.path, { seed, ...SIZES, killAfterMs: delay });
          delay = 100 + ((delay * 7 + 331) % 900);
          expect(run.signal, say(`child ended without being killed: ${run.stderr}`)).toBe("SIGKILL");
          const got = await reopen(dir.path);
          expect(got.version, say(`round ${round}: acknowledged ${run.published}, reopened ${got.version}`)).toBeGreaterThanOrEqual(run.published);
          expect(got.version, say(`round ${round}: reopened a version never started`)).toBeLessThanOrEqual(run.published + 1);
          expect(got.fp, say(`round ${round}, version ${got.version}`)).toEqual(await replay.at(got.version));
          expectClean(dir.path);
        }
        // the oracle over the final version
        const final = await reopen(dir.path);
        await replay.at(final.version);
        if (final.fp) expect(final.fp.counts, say("oracle")).toEqual(replay.model.counts());
      } finally {
        await replay.close();
        dir.remove();
      }
    }
  });

  it("lets another process open consistent versions read-only while the writer keeps loading", async () => {
    const seed = 4242;
    const dir = tempDir("reader");
    const replay = new Replay(seed);
    try {
      const writer = runChild(dir.path, { seed, ...SIZES, killAfterMs: 4000 });
      // wait until the child holds the lock and has published something
      while (!existsSync(join(dir.path, "MANIFEST"))) await new Promise((r) => setTimeout(r, 20));
      const seen: number[] = [];
      let exited = false;
      void writer.then(() => (exited = true));
      while (!exited && seen.length < 6) {
        const logs: string[] = [];
        const got = await reopen(dir.path, logs);
        expect(logs.some((m) => m.includes("opened read-only")) || exited).toBe(true);
        expect(got.fp, `seed ${seed}: version ${got.version} read while writing`).toEqual(await replay.at(got.version));
        seen.push(got.version);
      }
      const run = await writer;
      expect(run.signal).toBe("SIGKILL");
      expect(seen.length).toBeGreaterThan(1);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    } finally {
      await replay.close();
      dir.remove();
    }
  });

  // Each step of the commit protocol, hit deterministically: the 4th change dies at `point`.
  const POINTS = [
    { point: "files-written", expect: 3 },
    { point: "manifest-written", expect: 3 },
    { point: "manifest-renamed", expect: 4 },
    { point: "committed", expect: 4 },
  ];
  for (const p of POINTS) {
    it(`recovers from a crash at '${p.point}'`, async () => {
      const seed = 99;
      const dir = tempDir("point");
      const replay = new Replay(seed);
      try {
        const run = await runChild(dir.path, { seed, ...SIZES, env: { LASSO_CRASH_AT: `${p.point}:4` } });
        expect(run.signal, run.stderr).toBe("SIGKILL");
        expect(run.published).toBe(3);
        const got = await reopen(dir.path);
        expect(got.version).toBe(p.expect);
        expect(got.fp).toEqual(await replay.at(p.expect));
        expect(got.logs.some((m) => /recovered from an interrupted load: removed \d+ files/.test(m)), got.logs.join("\n")).toBe(true);
        expectClean(dir.path);
        // and the directory takes further loads
        const next = await runChild(dir.path, { seed, ...SIZES, env: { LASSO_CRASH_AT: "committed:2" } });
        expect(next.published).toBe(p.expect + 1);
        const again = await reopen(dir.path);
        expect(again.fp).toEqual(await replay.at(again.version));
      } finally {
        await replay.close();
        dir.remove();
      }
    });
  }
});
