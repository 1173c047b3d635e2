// Failures around the data directory: a full disk during a load (real ENOSPC from /dev/full), a second
// opener, a stale lock, and damaged files — each with a clear error and nothing half-applied.
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { parquetRequestBody } from "../../server/parquet-load.js";
import { apply, opAt } from "./ops.mjs";
import { fingerprint, tempDir } from "./support.js";

const SIZES = { batchRows: 3000, keySpace: 20_000 };
const SHARD_ROWS = 65_536;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function open(dir: string, logs: string[] = []): Promise<Engine> {
  const e = await openEngine({ dataDir: dir, threads: 0, shardRows: SHARD_ROWS, log: (_l, m) => logs.push(m) });
  cleanups.push(() => e.close());
  return e;
}

function newDir(tag: string): string {
  const d = tempDir(tag);
  cleanups.push(d.remove);
  return d.path;
}

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out.sort();
}

function entityDir(dir: string): string {
  return join(dir, JSON.parse(readFileSync(join(dir, "MANIFEST"), "utf8")).entities[0].dir);
}

describe("a full disk", () => {
  it("fails a load with io_error, leaves store and directory unchanged, and the retry succeeds", async () => {
    const seed = 5;
    const dir = newDir("full");
    let engine = await open(dir);
    for (let step = 0; step < 3; step++) await apply(engine, opAt(seed, step, SIZES));
    const before = await fingerprint(engine);
    const files = listing(dir);
    const next = before.version + 1;
    const op = opAt(seed, 3, SIZES);

    // every file the next version may write fails with ENOSPC
    const traps: string[] = [];
    const ed = entityDir(dir);
    for (let s = 0; s < 2; s++) {
      traps.push(join(ed, `exists.s${s}.v${next}.arrow`));
      for (let t = 0; t < 16; t++) traps.push(join(ed, `t${t}.s${s}.v${next}.arrow`));
    }
    for (const t of traps) symlinkSync("/dev/full", t);
    await expect(apply(engine, op)).rejects.toMatchObject({ code: "io_error", message: expect.stringMatching(/disk is full \(ENOSPC\)/) });
    for (const t of traps) rmSync(t, { force: true });
    expect(listing(dir)).toEqual(files);
    expect(await fingerprint(engine)).toEqual(before);

    // the manifest itself cannot be written
    symlinkSync("/dev/full", join(dir, "MANIFEST.tmp"));
    await expect(apply(engine, op)).rejects.toMatchObject({ code: "io_error" });
    expect(listing(dir)).toEqual(files);
    expect(await fingerprint(engine)).toEqual(before);

    // space again: the same change goes through, and is what a reopen finds
    expect(await apply(engine, op)).toBe(next);
    const after = await fingerprint(engine);
    const memory = await openEngine({ threads: 0, shardRows: SHARD_ROWS });
    for (let step = 0; step <= 3; step++) await apply(memory, opAt(seed, step, SIZES));
    expect(after.checksum).toBe((await fingerprint(memory)).checksum);
    await memory.close();
    await engine.close();
    engine = await open(dir);
    expect(await fingerprint(engine)).toEqual(after);
  });

  it("fails saving a segment with io_error and keeps the old segments", async () => {
    const dir = newDir("segfull");
    let engine = await open(dir);
    await apply(engine, opAt(1, 0, SIZES));
    await engine.putSegment({ name: "a", expr: "flag" });
    symlinkSync("/dev/full", join(dir, "segments.json.tmp"));
    await expect(engine.putSegment({ name: "b", expr: "NOT flag" })).rejects.toMatchObject({ code: "io_error" });
    expect(engine.listSegments().map((s) => s.name)).toEqual(["a"]);
    await engine.close();
    engine = await open(dir);
    expect(engine.listSegments().map((s) => s.name)).toEqual(["a"]);
  });
});

describe("spooled load bodies (Arrow file, Parquet)", () => {
  it("reports a temporary directory that cannot be made as io_error, not as bad input; the store is unchanged", async () => {
    const dir = newDir("spool");
    const engine = await open(dir);
    await apply(engine, opAt(3, 0, SIZES));
    const before = await fingerprint(engine);
    // TMPDIR names a file: no temporary directory can be made under it
    const file = join(dir, "not-a-dir");
    writeFileSync(file, "");
    const saved = process.env["TMPDIR"];
    process.env["TMPDIR"] = file;
    cleanups.push(() => {
      if (saved === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = saved;
    });
    const arrowFile = (async function* () {
      yield new TextEncoder().encode("ARROW1\0\0 and the rest of a file");
    })();
    await expect(engine.load({ entity: "user", key: "user_id", body: arrowFile })).rejects.toMatchObject({ code: "io_error", message: expect.stringMatching(/temporary directory/) });
    const parquet = parquetRequestBody((async function* () {
      yield new TextEncoder().encode("PAR1 and the rest of a file");
    })());
    await expect(engine.load({ entity: "user", key: "user_id", body: parquet })).rejects.toMatchObject({ code: "io_error", message: expect.stringMatching(/temporary directory/) });
    expect(await fingerprint(engine)).toEqual(before);
  });
});

describe("the write lock", () => {
  it("opens a second engine on the same directory read-only: queries work, changes are refused", async () => {
    const dir = newDir("lock");
    const writer = await open(dir);
    await apply(writer, opAt(3, 0, SIZES));
    const logs: string[] = [];
    const reader = await open(dir, logs);
    expect(logs.some((m) => /in use by process \d+: opened read-only/.test(m))).toBe(true);
    expect(await fingerprint(reader)).toEqual(await fingerprint(writer));
    await expect(apply(reader, opAt(3, 1, SIZES))).rejects.toMatchObject({ code: "conflict" });
    await expect(reader.putSegment({ name: "x", expr: "flag" })).rejects.toMatchObject({ code: "conflict" });
    await apply(writer, opAt(3, 1, SIZES));
  });

  it("takes over the lock of a process that is gone", async () => {
    const dir = newDir("stale");
    const gone = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
    writeFileSync(join(dir, "LOCK"), `${gone}\n`);
    writeFileSync(join(dir, `LOCK.${gone}.tmp`), `${gone}\n`); // killed while taking the lock
    const engine = await open(dir);
    expect(existsSync(join(dir, `LOCK.${gone}.tmp`))).toBe(false);
    expect(await apply(engine, opAt(4, 0, SIZES))).toBe(1);
    expect(readFileSync(join(dir, "LOCK"), "utf8").trim()).toBe(String(process.pid));
    await engine.close();
    expect(existsSync(join(dir, "LOCK"))).toBe(false);
  });
});

describe("damaged directories", () => {
  async function filled(tag: string): Promise<string> {
    const dir = newDir(tag);
    const engine = await openEngine({ dataDir: dir, threads: 0, shardRows: SHARD_ROWS });
    for (let step = 0; step < 2; step++) await apply(engine, opAt(8, step, SIZES));
    await engine.close();
    return dir;
  }

  it("names a truncated column file", async () => {
    const dir = await filled("trunc");
    const ed = entityDir(dir);
    const victim = readdirSync(ed).find((f) => /^t\d+\.s0\./.test(f))!;
    truncateSync(join(ed, victim), 100);
    await expect(openEngine({ dataDir: dir, threads: 0 })).rejects.toMatchObject({ code: "io_error", message: expect.stringContaining(victim) });
    // a failed open lets go of the directory
    expect(existsSync(join(dir, "LOCK"))).toBe(false);
  });

  it("names a missing file", async () => {
    const dir = await filled("missing");
    const ed = entityDir(dir);
    const victim = readdirSync(ed).find((f) => f.startsWith("keys."))!;
    rmSync(join(ed, victim));
    await expect(openEngine({ dataDir: dir, threads: 0 })).rejects.toMatchObject({ code: "io_error", message: expect.stringContaining(`${victim} is missing`) });
  });

  it("rejects a damaged or newer MANIFEST", async () => {
    const dir = await filled("manifest");
    const text = readFileSync(join(dir, "MANIFEST"), "utf8");
    writeFileSync(join(dir, "MANIFEST"), text.slice(0, text.length / 2));
    await expect(openEngine({ dataDir: dir, threads: 0 })).rejects.toMatchObject({ code: "io_error", message: expect.stringContaining("damaged") });
    writeFileSync(join(dir, "MANIFEST"), text.replace('"format": 1', '"format": 2'));
    await expect(openEngine({ dataDir: dir, threads: 0 })).rejects.toMatchObject({ code: "io_error", message: expect.stringContaining("format 2") });
    const m = JSON.parse(text);
    m.entities[0].total += 1;
    writeFileSync(join(dir, "MANIFEST"), JSON.stringify(m));
    await expect(openEngine({ dataDir: dir, threads: 0 })).rejects.toMatchObject({ code: "io_error" });
  });

  it("leaves files it did not write alone, and says so", async () => {
    const dir = await filled("strangers");
    const ed = entityDir(dir);
    writeFileSync(join(ed, "notes.txt"), "mine");
    appendFileSync(join(dir, "catalog.db"), "not ours either");
    const logs: string[] = [];
    const engine = await open(dir, logs);
    expect(engine.entities()).toHaveLength(1);
    expect(logs.some((m) => m.includes("did not write"))).toBe(true);
    expect(existsSync(join(ed, "notes.txt"))).toBe(true);
    expect(existsSync(join(dir, "catalog.db"))).toBe(true);
  });
});
