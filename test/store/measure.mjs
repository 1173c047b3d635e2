// Durable load and open times of the standard fixture, beside the raw disk write speed of the same bytes
// measured in the same run. Not a test (timings belong to benchmarks); run after `npm run build`:
//
//   node test/store/measure.mjs [rows=1000000] [upsertRows=rows/10] [schema=standard|narrow] [shardRows=4194304]
//   LASSO_MEASURE_CACHE=/tmp/lasso-measure node test/store/measure.mjs 10000000   (keeps and reuses the fixture there)
//
// Prints one JSON object. The data directory and fixture go to a temp directory that is removed after.
import { closeSync, constants, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { open } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as arrow from "apache-arrow";
import { fileChunks, openEngine } from "../../dist/engine/index.js";
import { generateBatches, KEY_COLUMN } from "../../dist/fixtures/generate.js";
import { ipcStream } from "../../dist/server/arrow-ipc.js";

const rows = Number(process.argv[2] ?? 1_000_000);
const upsertRows = Number(process.argv[3] ?? Math.round(rows / 10));
const schema = process.argv[4] ?? "standard";
const shardRows = Number(process.argv[5] ?? 4_194_304);
/** The engine's own account of each save (persist.ts logs "saved version N"). */
const saves = [];
const log = (_level, msg, f) => {
  if (msg.startsWith("saved version")) saves.push(f);
  if (msg.startsWith("opened")) resident?.(f);
};
/** Resolved by the log line saying every column is in (persist-open.ts reads them after the store serves). */
let resident = null;
const work = mkdtempSync(join(tmpdir(), "lasso-measure-"));
const ms = (t) => Math.round(performance.now() - t);
/**
 * Collects garbage now. A closed engine's shard memories (GBs at 10M rows) are freed only when V8 collects
 * them: without this the durable load ran beside the two in-memory loads' dead memories and took 1.5× as long.
 */
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc");
/** CPU time of this process (all its threads) since `c`: wall time alone is noise on a shared machine. */
const cpuMs = (c) => {
  const u = process.cpuUsage(c);
  return Math.round((u.user + u.system) / 1000);
};

async function writeStream(path, batches) {
  const fd = openSync(path, "w");
  for await (const bytes of ipcStream(batches)) writeSync(fd, bytes);
  closeSync(fd);
}

function dirBytes(dir) {
  let n = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    n += d.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

/**
 * Flushes every dirty page to disk first, so that a timed write does not also pay for the writeback
 * of what came before it (a raw write right after the 3.5 GB load ran at 40% of its speed otherwise).
 */
function settleDisk() {
  execFileSync("sync");
}

/**
 * Raw disk speed for `bytes`, three ways, with nothing else to do: one file in 32 MiB writes and one
 * fdatasync; `files` equal files, four at a time, each fdatasync'ed (how the store writes); and the same
 * files through O_DIRECT from page-aligned memory (as the store writes them where the file system allows,
 * persist-io.ts). On this VM the second ran up to 5× faster than the first (the kernel throttles one
 * writer as dirty pages pile up; the virtual disk serves parallel requests), and the third costs almost no
 * CPU; all are reported, and the load is compared with each and with the fastest.
 */
async function rawWrite(bytes, files) {
  // random bytes: a constant block may be compressed or deduplicated below the file system
  const block = randomFillSync(Buffer.alloc(32 << 20));
  settleDisk();
  let t = performance.now();
  const path = join(work, "raw.bin");
  const fd = openSync(path, "w");
  for (let done = 0; done < bytes; done += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - done));
  fdatasyncSync(fd);
  closeSync(fd);
  const single = ms(t);
  rmSync(path);

  const many = await writeFiles(bytes, files, 0, () => block);
  // O_DIRECT wants aligned addresses: a Wasm memory's base is page-aligned, a Buffer's is malloc's choice
  const aligned = pageAligned(block.length);
  aligned.set(block);
  const direct = await writeFiles(bytes, files, constants.O_DIRECT, () => aligned);
  return { single, many, direct };
}

/** Zeroed memory at a page-aligned address (O_DIRECT's condition). */
function pageAligned(n) {
  const pages = Math.ceil(n / 65536);
  return new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, n);
}

/**
 * `bytes` as `files` files of whole 4 KiB blocks (O_DIRECT takes only those), four at a time, each
 * fdatasync'ed; `source(file, at, n)` gives the bytes of each write, of at most 32 MiB. Returns ms.
 */
async function writeFiles(bytes, files, flags, source) {
  const step = 32 << 20;
  settleDisk();
  const t = performance.now();
  const each = Math.ceil(bytes / files / 4096) * 4096;
  let next = 0;
  const writer = async () => {
    for (let i = next++; i < files; i = next++) {
      const fh = await open(join(work, `raw-${i}.bin`), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | flags, 0o644);
      for (let at = 0; at < each; at += step) {
        const n = Math.min(step, each - at);
        await fh.write(source(i * each, at, n), 0, n, at);
      }
      await fh.datasync();
      await fh.close();
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  const took = ms(t);
  for (let i = 0; i < files; i++) rmSync(join(work, `raw-${i}.bin`));
  return took;
}

/**
 * The least any load of this input must do, with no decoding at all: read the input file into fresh
 * memory (as ingest fills fresh shard memory) and write that memory out as the store's files, through
 * O_DIRECT. Its time beside the raw write bounds the ratio a real load can reach on this machine.
 */
async function copyOnlyLoad(input, bytes, files) {
  settleDisk();
  const t = performance.now();
  const each = Math.ceil(bytes / files / 4096) * 4096;
  const memory = pageAligned(each * files);
  let at = 0;
  for await (const chunk of fileChunks(input)) {
    const n = Math.min(chunk.length, memory.length - at);
    memory.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
    at += n;
    if (at === memory.length) break;
  }
  const readMs = ms(t);
  const writeMs = await writeFiles(bytes, files, constants.O_DIRECT, (base, off, n) => memory.subarray(base + off, base + off + n));
  return { ms: readMs + writeMs, readIntoFreshMemoryMs: readMs, writeMs };
}

try {
  // LASSO_MEASURE_CACHE: a directory where the fixture (as an IPC stream) is kept across runs, named by
  // its schema, rows and seed so that a run never reuses another size's file (written when missing)
  const cache = process.env.LASSO_MEASURE_CACHE;
  if (cache) mkdirSync(cache, { recursive: true });
  const fixture = join(cache ?? work, `fixture-${schema}-${rows}-s1.arrows`);
  let t = performance.now();
  if (!existsSync(fixture)) {
    // under another name first: an interrupted run must not leave a partial fixture to be reused
    await writeStream(`${fixture}.tmp-${process.pid}`, generateBatches({ rows, seed: 1, schema }));
    renameSync(`${fixture}.tmp-${process.pid}`, fixture);
    process.stderr.write(`fixture written in ${ms(t)} ms\n`);
  }
  // the upsert: the first upsertRows keys (existing), 10 tag columns, new values (another seed)
  const upsert = join(work, "upsert.arrows");
  const picked = [];
  const keySource = generateBatches({ rows: upsertRows, seed: 1, schema });
  await writeStream(
    upsert,
    (function* () {
      for (const b of generateBatches({ rows: upsertRows, seed: 2, schema })) {
        const keys = keySource.next().value.getChild(KEY_COLUMN);
        const names = b.schema.fields.map((f) => f.name).filter((n) => n !== KEY_COLUMN).slice(0, 10);
        // a new Table from the vectors, not RecordBatch.select: select drops dictionaries in Arrow JS 21
        picked.splice(0, picked.length, ...names);
        yield* new arrow.Table({ [KEY_COLUMN]: keys, ...Object.fromEntries(names.map((n) => [n, b.getChild(n)])) }).batches;
      }
    })(),
  );
  // as `lasso load` reads a file: one reused buffer (engine/store/file-chunks.ts)
  const body = (p) => fileChunks(p);

  const dataDir = join(work, "data");
  settleDisk();
  t = performance.now();
  let c = process.cpuUsage();
  let engine = await openEngine({ dataDir, threads: 0, shardRows, log });
  await engine.load({ entity: "user", key: KEY_COLUMN, body: body(fixture) });
  const durableLoadMs = ms(t);
  const durableLoadCpuMs = cpuMs(c);
  const save = saves.pop();
  await engine.close();
  collect();
  const bytes = dirBytes(dataDir);
  // twice: now, and again after the in-memory loads below; the faster of each way is its baseline (the
  // disk of this VM changes speed by 3× within hours)
  const rawRuns = [await rawWrite(bytes, save.files)];

  // first open right after the load (the files may have left the page cache), then a second, warm one:
  // until the store answers (openEngine returns), a first count over one tag, and until all is in
  const opens = [];
  for (let i = 0; i < 2; i++) {
    const done = new Promise((r) => (resident = r));
    const alive = setInterval(() => {}, 1000); // the background reader does not keep the process alive
    t = performance.now();
    engine = await openEngine({ dataDir, threads: 0, log });
    const servingMs = ms(t);
    await engine.count({ entity: "user", expr: `${picked[0]} IS NOT NULL` });
    const firstCountMs = ms(t);
    const f = await done;
    clearInterval(alive);
    opens.push({ servingMs, firstCountMs, allResidentMs: ms(t), columnsMs: f.columnsMs, keysMs: f.keysMs, onDemandChunks: f.onDemand });
    if (i === 0) {
      await engine.close();
      collect();
    }
  }

  t = performance.now();
  await engine.load({ entity: "user", key: KEY_COLUMN, body: body(upsert) });
  const upsertMs = ms(t);
  const upsertSave = saves.pop();
  await engine.close();
  collect();

  // in memory (no data directory): the cost of ingest alone, after the durable load (which, like
  // `lasso load`, runs first in a fresh process); the better of two runs
  let memoryLoadMs = Infinity;
  let memoryLoadCpuMs = 0;
  let tags = 0;
  for (let i = 0; i < 2; i++) {
    t = performance.now();
    c = process.cpuUsage();
    const mem = await openEngine({ threads: 0, shardRows });
    await mem.load({ entity: "user", key: KEY_COLUMN, body: body(fixture) });
    if (ms(t) < memoryLoadMs) {
      memoryLoadMs = ms(t);
      memoryLoadCpuMs = cpuMs(c);
    }
    tags = mem.entities()[0].tags;
    await mem.close();
    collect();
  }
  rawRuns.push(await rawWrite(bytes, save.files));
  const copyOnly = await copyOnlyLoad(fixture, bytes, save.files);
  collect();
  const raw = (way) => {
    const best = Math.min(...rawRuns.map((r) => r[way]));
    return { ms: best, MBps: Math.round(bytes / 1e3 / best), runsMs: rawRuns.map((r) => r[way]), durableVsRaw: Math.round((best / durableLoadMs) * 1000) / 1000 };
  };
  const ways = { oneFile: raw("single"), filesAsTheStoreWritesThem: raw("many"), filesDirectIo: raw("direct") };
  const fastest = Object.values(ways).reduce((a, b) => (b.ms < a.ms ? b : a));

  console.log(
    JSON.stringify(
      {
        rows,
        schema,
        loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
        tags,
        shardRows,
        fixtureMB: Math.round(statSync(fixture).size / 1e6),
        dataDirMB: Math.round(bytes / 1e6),
        loadInMemoryMs: memoryLoadMs,
        loadInMemoryCpuMs: memoryLoadCpuMs,
        loadDurableMs: durableLoadMs,
        loadDurableCpuMs: durableLoadCpuMs,
        save: { files: save.files, buffered: save.buffered, MB: Math.round(save.bytes / 1e6), ms: save.tookMs, MBps: Math.round(save.bytes / 1e3 / save.tookMs) },
        rawWriteSameBytes: { ...ways, fastest: { ms: fastest.ms, durableVsRaw: fastest.durableVsRaw } },
        copyOnlyLoad: { ...copyOnly, vsFastestRaw: Math.round((fastest.ms / copyOnly.ms) * 1000) / 1000 },
        durableRowsPerSec: Math.round(rows / (durableLoadMs / 1000)),
        durableMBps: Math.round(bytes / 1e3 / durableLoadMs),
        open: opens,
        upsert: { rows: upsertRows, tags: picked.length, ms: upsertMs, save: { files: upsertSave.files, MB: Math.round(upsertSave.bytes / 1e6), ms: upsertSave.tookMs } },
      },
      null,
      1,
    ),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
