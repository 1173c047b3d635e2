/**
 * One `lasso bench` run, from options to a BenchResult: find or make the data, open the targets and the
 * peer over it, create the workload's segments, check that every system gives the same answer to every
 * query, measure in the chosen mode, and put the figures side by side.
 *
 *   const result = await runBench({ targets: ["engine"], peer: "duckdb", fixture: "1m", workload: SEG_V1, mode: "latency" });
 *   console.log(formatResult(result));
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { Engine } from "../engine/api.js";
import { openEngine } from "../engine/index.js";
import { LassoError } from "../engine/errors.js";
import { collectTags, format, parseExpr } from "../engine/expr/index.js";
import type { TagType } from "../engine/expr/ast.js";
import type { SizeName } from "../fixtures/schema.js";
import {
  defaultCacheDir, engineForFile, engineSummary, ensureFixture, fileSha256, FINGERPRINT_VALUES_LIMIT, loadFile, readArrowFile, summaryFingerprint,
  type DataSummary, type FixtureFile,
} from "./data.js";
import { DuckPeer } from "./duckdb.js";
import { runKernelBench } from "./kernels.js";
import { pairKey, runLatency, runRate, runThroughput, type WeightedQuery } from "./modes.js";
import { silentProgress, type Progress } from "./progress.js";
import {
  environment, RESULT_FORMAT, type BenchResult, type Comparison, type LoadFigures, type Mismatch, type Mode, type ResourceFigures,
  type ResourceSample, type RunResult,
} from "./result.js";
import { selToSql } from "./sql.js";
import { geometricMean } from "./stats.js";
import { DuckTarget, EngineTarget, HttpTarget, WsTarget, baseUrlOf, runBounded, type BenchQuery, type Target } from "./targets.js";
import { workloadDigest, type Workload } from "./workload.js";
import { processMemory } from "./proc.js";

export interface BenchOptions {
  /** "engine", "ws" / "http" (a server started here over the engine), "ws://…/v1/ws", "http://…". */
  targets: string[];
  peer?: "duckdb" | null;
  /** Data: a named fixture size or a row count (generated and cached), an Arrow IPC file, or a data directory. */
  fixture?: SizeName | number;
  file?: string;
  dataDir?: string;
  entity?: string;
  key?: string;
  workload: Workload;
  mode: Mode;
  seed?: number;
  warmup?: number;
  samples?: number;
  maxQuerySeconds?: number;
  /** Throughput: one run per value; rate: connections (first value). */
  concurrency?: number[];
  durationS?: number;
  rate?: number;
  engineThreads?: number;
  duckdbThreads?: number;
  duckdbStorage?: "file" | "memory";
  /** Keep the engine's copy of the data in memory only (no cached data directory). */
  engineMemoryOnly?: boolean;
  cacheDir?: string;
  /** A query without an answer after this many seconds fails (default 120); 0 waits for ever. */
  queryTimeoutS?: number;
  token?: string;
  /** Add the kernel micro-benchmarks (bench/kernels.ts) over this many rows. */
  kernelRows?: number;
  progress?: Progress;
}

const DEFAULTS = { seed: 42, warmup: 3, samples: 30, maxQuerySeconds: 5, durationS: 10, rate: 100, queryTimeoutS: 120 };

interface Opened {
  targets: Target[];
  peer?: DuckTarget;
  cleanup: (() => Promise<void>)[];
  summary: DataSummary;
  excluded: { column: string; reason: string }[];
  source: string;
  fixture?: FixtureFile;
  fileSha?: string;
  file?: string;
  notes: string[];
}

/** Memory and load samples through a run, and the engine's bytes per row once it is ready. */
class Resources {
  readonly samples: ResourceSample[] = [];
  engine?: ResourceFigures["engine"];
  private readonly t0 = performance.now();

  sample(phase: string): ResourceSample {
    const m = processMemory("self");
    const s = { phase, atMs: Math.round(performance.now() - this.t0), rssBytes: m.rss, peakRssBytes: m.hwm, loadAvg: loadavg().map((x) => Math.round(x * 100) / 100) };
    this.samples.push(s);
    return s;
  }

  engineReady(engine: Engine, entity: string): void {
    const s = this.sample("engine ready (before any peer)");
    const rows = engine.entities().find((e) => e.name === entity)?.rows ?? 0;
    if (rows === 0) return;
    // the bench loads one entity, so the engine's totals are that entity's
    const { bytes: storeBytes, shards, wasmMemoryBytes } = engine.stats();
    this.engine = {
      rows, storeBytes, rssBytesPerRow: s.rssBytes / rows, peakRssBytesPerRow: s.peakRssBytes / rows, storeBytesPerRow: storeBytes / rows,
      shards, wasmMemoryBytes, wasmBytesPerRow: wasmMemoryBytes / rows,
    };
  }

  figures(): ResourceFigures {
    return { samples: this.samples, ...(this.engine ? { engine: this.engine } : {}) };
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const p = o.progress ?? silentProgress;
  const entity = o.entity ?? o.workload.entity;
  const key = o.key ?? "user_id";
  const seed = o.seed ?? DEFAULTS.seed;
  const warmup = o.warmup ?? DEFAULTS.warmup;
  const samples = o.samples ?? DEFAULTS.samples;
  const maxQuerySeconds = o.maxQuerySeconds ?? DEFAULTS.maxQuerySeconds;
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const queryTimeoutMs = (o.queryTimeoutS ?? DEFAULTS.queryTimeoutS) * 1000;
  if (o.targets.length === 0) throw new LassoError("bad_request", "give at least one --target");

  const resources = new Resources();
  resources.sample("start");
  const opened = o.mode === "load" ? await openForLoad(o, entity, cacheDir, p) : await openTargets(o, entity, key, cacheDir, p, resources);
  resources.sample("data ready");
  try {
    const queries = o.mode === "load" ? [] : await prepareQueries(o.workload, entity, opened, p);
    const all: Target[] = [...opened.targets, ...(opened.peer ? [opened.peer] : [])];
    const runs: RunResult[] = [];
    let checks: BenchResult["checks"] = { countsAgree: true, idsAgree: true, mismatches: [], failures: [] };
    const failed = new Set<string>();
    const fail = (t: Target, q: BenchQuery, e: Error) => {
      failed.add(pairKey(t.name, q.id));
      checks.failures.push({ query: q.id, target: t.name, error: e.message });
      p.log(`FAILED: ${q.id} on ${t.name}: ${e.message}`);
    };

    if (o.mode !== "load") {
      checks = await verify(all, queries, queryTimeoutMs, fail, checks.failures, p);
      resources.sample("answers checked");
      if (checks.mismatches.length > 0) {
        p.log(`MISMATCH: the systems disagree on ${checks.mismatches.map((m) => m.query).join(", ")} — see the checks in the report`);
      }
    }

    switch (o.mode) {
      case "latency":
      case "ids": {
        const chosen = o.mode === "ids" ? queries.filter((q) => q.op === "select") : queries;
        if (chosen.length === 0) throw new LassoError("bad_request", `workload ${o.workload.name} has no select queries for ids mode`);
        p.log(`${o.mode}: ${chosen.length} queries × ${all.length} systems, warm-up ${warmup}, up to ${samples} samples or ${maxQuerySeconds} s each`);
        const res = await runLatency(all, chosen, {
          warmup, samples, maxQuerySeconds, onProgress: (t) => p.update(t), queryTimeoutMs, skip: failed, onFailure: fail,
          onResult: (t, f) => p.log(`  ${f.id.padEnd(24)} ${t.name.padEnd(28)} p50 ${f.latency.p50Ms.toFixed(3).padStart(9)} ms  p99 ${f.latency.p99Ms.toFixed(3).padStart(9)} ms  (${f.latency.samples} samples)`),
        });
        for (const r of res) runs.push({ target: r.target.name, kind: r.target.kind, mode: o.mode, queries: r.queries });
        break;
      }
      case "throughput": {
        const levels = o.concurrency ?? [1, 16, 64];
        const durationS = o.durationS ?? DEFAULTS.durationS;
        for (const target of all) {
          for (const c of levels) {
            p.log(`throughput: ${target.name}, concurrency ${c}, ${durationS} s`);
            await warm(target, queries.filter((q) => !failed.has(pairKey(target.name, q.id))), warmup, queryTimeoutMs);
            const r = await runThroughput(target, queries, { concurrency: c, durationS, seed, queryTimeoutMs, onProgress: (t) => p.update(t) });
            runs.push({ target: target.name, kind: target.kind, mode: "throughput", concurrency: c, queries: r.queries, totals: r.totals });
          }
        }
        break;
      }
      case "rate": {
        const rate = o.rate ?? DEFAULTS.rate;
        const concurrency = o.concurrency?.[0] ?? 16;
        const durationS = o.durationS ?? DEFAULTS.durationS;
        for (const target of all) {
          p.log(`rate: ${target.name} at ${rate}/s over ${concurrency} connections for ${durationS} s`);
          await warm(target, queries.filter((q) => !failed.has(pairKey(target.name, q.id))), warmup, queryTimeoutMs);
          const r = await runRate(target, queries, { rate, durationS, concurrency, seed, queryTimeoutMs, onProgress: (t) => p.update(t) });
          runs.push({ target: target.name, kind: target.kind, mode: "rate", concurrency, rate, queries: r.queries, totals: r.totals });
        }
        break;
      }
      case "load":
        runs.push(...(await runLoads(o, opened, entity, key, cacheDir, p)));
        break;
    }
    p.clear();
    resources.sample("measured");

    const comparisons = compareWithPeer(runs, o.mode);
    const summary = summarize(comparisons);
    let kernels;
    if (o.kernelRows) {
      p.log(`kernels: ${o.kernelRows.toLocaleString("en-US")} rows`);
      kernels = await runKernelBench({ rows: o.kernelRows, seed, log: (l) => p.update(l.trim()) });
      p.clear();
      resources.sample("kernels measured");
    }
    const duck = opened.peer?.peer;
    const config: BenchResult["config"] = {
      mode: o.mode, targets: o.mode === "load" ? [...o.targets] : opened.targets.map((t) => t.name), peer: opened.peer ? "duckdb" : null, seed, warmup, samples, maxQuerySeconds,
    };
    if (o.mode === "throughput") config.concurrency = o.concurrency ?? [1, 16, 64];
    if (o.mode === "rate") {
      config.concurrency = [o.concurrency?.[0] ?? 16];
      config.rate = o.rate ?? DEFAULTS.rate;
    }
    if (o.mode === "throughput" || o.mode === "rate") config.durationS = o.durationS ?? DEFAULTS.durationS;
    if (o.engineThreads !== undefined) config.engineThreads = o.engineThreads;
    if (duck) {
      config.duckdbThreads = duck.threads;
      config.duckdbStorage = duck.storage;
    }
    const data: BenchResult["data"] = {
      source: opened.source, entity, key, rows: opened.summary.rows, fingerprint: summaryFingerprint(opened.summary),
      excludedColumns: opened.excluded,
    };
    if (opened.fileSha) data.fileSha256 = opened.fileSha;
    if (opened.fixture) {
      data.fixture = { name: String(opened.fixture.name), rows: opened.fixture.rows, seed: opened.fixture.seed, schema: opened.fixture.schema };
    }
    const result: BenchResult = {
      format: RESULT_FORMAT,
      createdAt: new Date().toISOString(),
      env: environment(duck ? { duckdbVersion: duck.version } : {}),
      config,
      workload: {
        name: o.workload.name, version: o.workload.version, digest: workloadDigest(o.workload), asOf: o.workload.asOf,
        queries: o.workload.queries.map((q) => ({
          id: q.id, shape: q.shape, op: q.op, expr: typeof q.expr === "string" ? q.expr : format(parseExpr(q.expr)),
          sql: queries.find((x) => x.id === q.id)?.sql ?? q.sql ?? "", weight: q.weight,
        })),
      },
      data,
      runs,
      comparisons,
      summary,
      checks,
      notes: opened.notes,
    };
    if (kernels) result.kernels = kernels;
    result.resources = resources.figures();
    return result;
  } finally {
    p.clear();
    for (const c of opened.cleanup.reverse()) await c().catch(() => {});
  }
}

// ---- opening ------------------------------------------------------------------------------------

async function resolveFile(o: BenchOptions, cacheDir: string, p: Progress): Promise<{ file?: string; fixture?: FixtureFile; sha?: string; source: string }> {
  if (o.fixture !== undefined) {
    const fixture = await ensureFixture({
      size: o.fixture, cacheDir, log: (l) => p.log(l),
      onProgress: (done, total) => p.update(`generating fixture: ${((100 * done) / total).toFixed(0)}% (${done.toLocaleString("en-US")} rows)`),
    });
    p.update("hashing the fixture file");
    const sha = await fileSha256(fixture.path);
    return { file: fixture.path, fixture, sha, source: `fixture ${fixture.name} (${fixture.schema}, seed ${fixture.seed})` };
  }
  if (o.file) {
    statSync(o.file);
    p.update(`hashing ${o.file}`);
    return { file: o.file, sha: await fileSha256(o.file), source: `file ${o.file}` };
  }
  if (o.dataDir) return { source: `data directory ${o.dataDir}` };
  return { source: "the server's data" };
}

function isRemote(t: string): boolean {
  return /^(ws|wss|http|https):\/\//.test(t);
}

async function openTargets(o: BenchOptions, entity: string, key: string, cacheDir: string, p: Progress, resources: Resources): Promise<Opened> {
  const cleanup: Opened["cleanup"] = [];
  const notes: string[] = [];
  for (const t of o.targets) {
    if (!["engine", "ws", "http"].includes(t) && !isRemote(t)) {
      throw new LassoError("bad_request", `--target ${t}: expected engine, ws, http, ws://HOST:PORT/v1/ws or http://HOST:PORT`);
    }
  }
  const needsEngine = o.targets.some((t) => !isRemote(t));
  if (needsEngine && !o.fixture && !o.file && !o.dataDir) {
    throw new LassoError("bad_request", "the engine needs data: give --fixture small|1m|10m|100m, --file FILE.arrow or --data DIR");
  }
  if (o.peer === "duckdb" && !o.fixture && !o.file) {
    throw new LassoError("bad_request", "--peer duckdb needs the data as an Arrow file: give --fixture NAME or --file FILE.arrow (with --data DIR, the file it was loaded from)");
  }
  const f = await resolveFile(o, cacheDir, p);
  let engine: Engine | undefined;
  let excluded: Opened["excluded"] = [];
  try {
    if (needsEngine) {
      if (o.dataDir) {
        p.log(`engine: opening ${o.dataDir}`);
        engine = await openEngine({ dataDir: o.dataDir, ...(o.engineThreads !== undefined ? { threads: o.engineThreads } : {}) });
      } else {
        p.log(`engine: loading ${f.file} (cached in ${cacheDir} after the first run)`);
        const loaded = await engineForFile({
          file: f.file!, fileSha256: f.sha!, entity, key, cacheDir,
          ...(o.engineThreads !== undefined ? { threads: o.engineThreads } : {}),
          ...(o.engineMemoryOnly ? { memoryOnly: true } : {}),
          onProgress: (rows) => p.update(`engine: loaded ${rows.toLocaleString("en-US")} rows`),
          log: (l) => p.log(l),
        });
        engine = loaded.engine;
        excluded = loaded.excluded;
        if (loaded.load) p.log(`engine: loaded ${loaded.load.rows.toLocaleString("en-US")} rows in ${(loaded.load.ms / 1000).toFixed(1)} s`);
      }
      const e = engine;
      cleanup.push(() => e.close());
    }
    const targets: Target[] = [];
    let local: string | undefined; // one in-process server serves both "ws" and "http"
    for (const t of o.targets) {
      if (t === "engine") targets.push(new EngineTarget(engine!));
      else if (t === "ws" || t === "http") {
        const url = (local ??= await startServer(engine!, cleanup, p));
        const target = t === "ws" ? new WsTarget(`ws://${url}/v1/ws`) : new HttpTarget(`http://${url}`);
        cleanup.push(() => target.close());
        targets.push(target);
      } else {
        const target = t.startsWith("ws") ? new WsTarget(t, o.token ? { token: o.token } : {}) : new HttpTarget(t, o.token ? { token: o.token } : {});
        cleanup.push(() => target.close());
        await ensureRemoteData(target, entity, key, f.file, p);
        targets.push(target);
      }
    }
    // Segments first: the summary (and so the fingerprint) does not depend on them, queries do.
    for (const target of targets) await createSegments(target, o.workload, entity);
    const summaries = await Promise.all(targets.map((t) => summaryOf(t, entity, engine)));
    if (engine) {
      resources.engineReady(engine, entity);
      const e = resources.engine;
      if (e) {
        p.log(`engine: ${e.rows.toLocaleString("en-US")} rows, ${(e.storeBytes / 2 ** 30).toFixed(2)} GiB tag data (${e.storeBytesPerRow.toFixed(1)} B/row)`
          + (e.wasmMemoryBytes !== undefined ? `, ${e.shards} shards, ${(e.wasmMemoryBytes / 2 ** 30).toFixed(2)} GiB Wasm memory (${e.wasmBytesPerRow!.toFixed(1)} B/row)` : "")
          + `, RSS ${(e.rssBytesPerRow * e.rows / 2 ** 30).toFixed(2)} GiB (peak ${(e.peakRssBytesPerRow * e.rows / 2 ** 30).toFixed(2)} GiB)`);
      }
    }
    const fps = new Set(summaries.map(summaryFingerprint));
    if (fps.size > 1) notes.push(`WARNING: the targets hold different data (fingerprints ${[...fps].map((x) => x.slice(0, 12)).join(", ")})`);
    let peer: DuckTarget | undefined;
    if (o.peer === "duckdb") {
      const columns = workloadColumns(o.workload);
      // The 100m engine takes ~11 GB; on a shared 24 GiB machine DuckDB's default limit (80% of RAM) lets the
      // two together run out of memory, so the limit can be set (and is then noted in the result).
      const memoryLimit = process.env["LASSO_BENCH_DUCKDB_MEMORY"] || undefined;
      const duck = await DuckPeer.open({
        file: f.file!, fileSha256: f.sha!, entity, key, columns, cacheDir,
        ...(o.duckdbThreads !== undefined ? { threads: o.duckdbThreads } : {}),
        ...(memoryLimit ? { memoryLimit } : {}),
        storage: o.duckdbStorage ?? "file",
        onProgress: (phase, done, total) => p.update(`${phase}: ${((100 * done) / Math.max(total, 1)).toFixed(0)}%`),
        log: (l) => p.log(l),
      });
      if (duck.load) p.log(`duckdb: CSV written in ${(duck.load.csvMs / 1000).toFixed(1)} s, read_csv into a table in ${(duck.load.loadMs / 1000).toFixed(1)} s`);
      peer = new DuckTarget(duck);
      cleanup.push(() => peer!.close());
      resources.sample("peer ready");
      notes.push(`DuckDB holds the key and the ${columns.length} tags the workload uses (a column store reads only those); it queries its own storage, warm.`);
      if (memoryLimit) notes.push(`DuckDB ran with memory_limit = ${memoryLimit} (LASSO_BENCH_DUCKDB_MEMORY), not its default of 80% of RAM.`);
    }
    for (const x of excluded) notes.push(`WARNING: the engine refused column ${x.column} (${x.reason}); it was loaded without it`);
    const o2: Opened = { targets, cleanup, summary: summaries[0]!, excluded, source: f.source, notes };
    if (peer) o2.peer = peer;
    if (f.fixture) o2.fixture = f.fixture;
    if (f.sha) o2.fileSha = f.sha;
    if (f.file) o2.file = f.file;
    return o2;
  } catch (e) {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    throw e;
  }
}

async function startServer(engine: Engine, cleanup: Opened["cleanup"], p: Progress): Promise<string> {
  const { createServer } = await import("../server/app.js");
  const server = await createServer(engine, { host: "127.0.0.1", port: 0 });
  cleanup.push(() => server.close(1000));
  p.log(`server: listening on 127.0.0.1:${server.port} (in this process, over the same engine)`);
  return `127.0.0.1:${server.port}`;
}

/** A remote server without the entity gets the data file loaded over HTTP first (said in the log). */
async function ensureRemoteData(target: WsTarget | HttpTarget, entity: string, key: string, file: string | undefined, p: Progress): Promise<void> {
  const { entities } = await target.client.http.entities();
  if (entities.some((e) => e.name === entity)) return;
  if (!file) throw new LassoError("unknown_entity", `${target.name} has no entity ${entity}; give --fixture or --file to load it`);
  p.log(`${target.name}: no entity ${entity}; loading ${file} over HTTP`);
  const r = await target.client.http.load(entity, key, createReadStream(file, { highWaterMark: 1 << 22 }) as unknown as AsyncIterable<Uint8Array>, { format: "file" });
  p.log(`${target.name}: loaded ${r.rows.toLocaleString("en-US")} rows in ${(r.tookMs / 1000).toFixed(1)} s`);
}

async function createSegments(target: Target, w: Workload, entity: string): Promise<void> {
  for (const s of w.segments) {
    if (target instanceof EngineTarget) await target.engine.putSegment({ name: s.name, entity, expr: s.expr });
    else if (target instanceof WsTarget || target instanceof HttpTarget) await target.client.http.putSegment(s.name, { entity, expr: s.expr });
  }
}

async function summaryOf(target: Target, entity: string, engine: Engine | undefined): Promise<DataSummary> {
  if (target instanceof EngineTarget || !(target instanceof WsTarget || target instanceof HttpTarget)) return engineSummary(engine!, entity);
  const http = target.client.http;
  const info = (await http.entities()).entities.find((e) => e.name === entity);
  if (!info) throw new LassoError("unknown_entity", `${target.name} has no entity ${entity}`);
  const tags = (await http.tags(entity, FINGERPRINT_VALUES_LIMIT)).tags;
  return { entity, keyType: info.keyType, rows: info.rows, tags };
}

/** Tags the workload reads (queries and segments), for the DuckDB table. */
export function workloadColumns(w: Workload): string[] {
  const names = new Set<string>();
  for (const x of [...w.queries, ...w.segments]) for (const t of collectTags(parseExpr(x.expr))) names.add(t);
  return [...names];
}

async function prepareQueries(w: Workload, entity: string, opened: Opened, p: Progress): Promise<WeightedQuery[]> {
  const types: Record<string, TagType> = Object.fromEntries(opened.summary.tags.map((t) => [t.name, t.type as TagType]));
  const segments = new Map(w.segments.map((s) => [s.name, s.expr]));
  return w.queries.map((q) => {
    let sql = q.sql;
    if (sql === undefined) {
      try {
        sql = selToSql(q.expr, { types, segments, asOf: w.asOf });
      } catch (e) {
        if (opened.peer) throw new LassoError("bad_request", `query ${q.id}: no SQL given and none derived (${(e as Error).message})`);
        sql = "";
      }
      if (opened.peer) p.log(`${q.id}: SQL derived from SEL: ${sql}`);
    }
    return { id: q.id, op: q.op, expr: q.expr, sql, entity, asOf: w.asOf, weight: q.weight };
  });
}

// ---- checks ---------------------------------------------------------------------------------------

/**
 * Every query once on every system (untimed; also a first warm-up): counts, and key digests for selects.
 * A system that fails a query is recorded and left out of that query's measurements.
 */
async function verify(targets: readonly Target[], queries: readonly BenchQuery[], timeoutMs: number,
  fail: (t: Target, q: BenchQuery, e: Error) => void, failures: BenchResult["checks"]["failures"], p: Progress): Promise<BenchResult["checks"]> {
  const mismatches: Mismatch[] = [];
  for (const [i, q] of queries.entries()) {
    const answers: Record<string, number> = {};
    const digests: Record<string, string> = {};
    for (const t of targets) {
      p.update(`checking ${q.id} on ${t.name} (${i + 1}/${queries.length})`);
      try {
        const a = await runBounded(t, q, timeoutMs, { digest: q.op === "select" });
        answers[t.name] = a.count;
        if (a.digest) digests[t.name] = `${a.digest.count}:${a.digest.sum}`;
      } catch (e) {
        fail(t, q, e as Error);
      }
    }
    if (new Set(Object.values(answers)).size > 1) mismatches.push({ query: q.id, what: "count", answers });
    else if (new Set(Object.values(digests)).size > 1) mismatches.push({ query: q.id, what: "ids", answers: digests });
  }
  return {
    countsAgree: !mismatches.some((m) => m.what === "count"),
    idsAgree: !mismatches.some((m) => m.what === "ids"),
    mismatches,
    failures,
  };
}

async function warm(target: Target, queries: readonly BenchQuery[], rounds: number, timeoutMs: number): Promise<void> {
  for (let r = 0; r < rounds; r++) for (const q of queries) await runBounded(target, q, timeoutMs).catch(() => undefined);
}

// ---- comparisons ----------------------------------------------------------------------------------

function compareWithPeer(runs: readonly RunResult[], mode: Mode): Comparison[] {
  if (mode !== "latency" && mode !== "ids") return [];
  const peer = runs.find((r) => r.kind === "peer");
  if (!peer) return [];
  const out: Comparison[] = [];
  for (const run of runs.filter((r) => r.kind === "lasso")) {
    for (const q of run.queries) {
      const pq = peer.queries.find((x) => x.id === q.id);
      if (!pq || q.latency.p50Ms <= 0) continue;
      out.push({ query: q.id, target: run.target, peer: peer.target, targetP50Ms: q.latency.p50Ms, peerP50Ms: pq.latency.p50Ms, speedup: pq.latency.p50Ms / q.latency.p50Ms });
    }
  }
  return out;
}

function summarize(comparisons: readonly Comparison[]): BenchResult["summary"] {
  const byTarget = new Map<string, Comparison[]>();
  for (const c of comparisons) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);
  return [...byTarget].map(([target, cs]) => ({
    target, peer: cs[0]!.peer, geomeanSpeedup: geometricMean(cs.map((c) => c.speedup)),
    slowerThanPeer: cs.filter((c) => c.speedup < 1).map((c) => c.query),
  }));
}

// ---- load mode ------------------------------------------------------------------------------------

async function openForLoad(o: BenchOptions, entity: string, cacheDir: string, p: Progress): Promise<Opened> {
  const f = await resolveFile(o, cacheDir, p);
  if (!f.file) throw new LassoError("bad_request", "load mode needs an Arrow file: give --fixture NAME or --file FILE.arrow");
  const { reader, close } = await readArrowFile(f.file);
  const tags = reader.schema.fields.filter((x) => x.name !== (o.key ?? "user_id")).map((x) => ({ name: x.name, type: "?", rowsWithValue: 0 }));
  await close();
  const rows = f.fixture?.rows ?? 0;
  const o2: Opened = {
    targets: [], cleanup: [], excluded: [], source: f.source, notes: [],
    // Load mode measures loading, not querying: the fingerprint is of the file (its sha256 and columns).
    summary: { entity, keyType: "file", rows, tags: [{ name: `sha256:${f.sha}`, type: "file", rowsWithValue: rows }, ...tags] },
    file: f.file,
  };
  if (f.fixture) o2.fixture = f.fixture;
  if (f.sha) o2.fileSha = f.sha;
  return o2;
}

function loadFigures(rows: number, bytes: number, ms: number, what: string): LoadFigures {
  return { rows, bytes, ms, rowsPerSec: rows / (ms / 1000), mbPerSec: bytes / 1e6 / (ms / 1000), what };
}

async function runLoads(o: BenchOptions, opened: Opened, entity: string, key: string, cacheDir: string, p: Progress): Promise<RunResult[]> {
  const file = opened.file!;
  const bytes = statSync(file).size;
  const runs: RunResult[] = [];
  for (const t of o.targets) {
    if (t === "engine") {
      p.log(`load: ${file} into a fresh in-memory engine`);
      const engine = await openEngine(o.engineThreads !== undefined ? { threads: o.engineThreads } : {});
      try {
        const r = await loadFile(engine, file, entity, key, { onProgress: (rows) => p.update(`engine load: ${rows.toLocaleString("en-US")} rows`), log: (l) => p.log(l) });
        for (const x of r.excluded) opened.notes.push(`WARNING: the engine refused column ${x.column} (${x.reason}); it was loaded without it`);
        opened.excluded = r.excluded;
        runs.push({ target: "engine", kind: "lasso", mode: "load", queries: [], load: loadFigures(r.load!.rows, bytes, r.load!.ms, "Arrow IPC file → engine (in memory)") });
        opened.summary.rows = r.load!.rows;
      } finally {
        await engine.close();
      }
    } else if (isRemote(t) || t === "ws" || t === "http") {
      let base: string;
      let stop: (() => Promise<void>) | undefined;
      let engine: Engine | undefined;
      if (isRemote(t)) base = baseUrlOf(t);
      else {
        engine = await openEngine(o.engineThreads !== undefined ? { threads: o.engineThreads } : {});
        const cleanup: Opened["cleanup"] = [];
        base = `http://${await startServer(engine, cleanup, p)}`;
        stop = async () => {
          for (const c of cleanup) await c();
        };
      }
      // A remote server keeps what it is sent: load into an entity of its own, named so.
      const target = isRemote(t) ? `${entity}_bench_load` : entity;
      const http = new HttpTarget(base, o.token ? { token: o.token } : {});
      try {
        p.log(`load: ${file} into ${base} entity ${target} over HTTP`);
        const t0 = performance.now();
        const r = await http.client.http.load(target, key, createReadStream(file, { highWaterMark: 1 << 22 }) as unknown as AsyncIterable<Uint8Array>, { format: "file" });
        runs.push({ target: isRemote(t) ? t : `${t} (in-process server)`, kind: "lasso", mode: "load", queries: [], load: loadFigures(r.rows, bytes, performance.now() - t0, "Arrow IPC file → HTTP POST → server") });
      } finally {
        await http.close();
        await stop?.();
        await engine?.close();
      }
    }
  }
  if (o.peer === "duckdb") {
    const tmp = mkdtempSync(join(cacheDir, "duckload-"));
    try {
      const { reader, close } = await readArrowFile(file);
      const columns = reader.schema.fields.map((x) => x.name).filter((n) => n !== key && !opened.excluded.some((e) => e.column === n));
      await close();
      p.log(`load: ${file} into DuckDB (${columns.length} columns, via CSV)`);
      const duck = await DuckPeer.open({
        file, fileSha256: opened.fileSha ?? "nohash", entity, key, columns, cacheDir: tmp,
        ...(o.duckdbThreads !== undefined ? { threads: o.duckdbThreads } : {}),
        onProgress: (phase, done, total) => p.update(`${phase}: ${((100 * done) / Math.max(total, 1)).toFixed(0)}%`),
      });
      const l = duck.load!;
      duck.close();
      runs.push({ target: "duckdb", kind: "peer", mode: "load", queries: [], load: loadFigures(l.rows, l.csvBytes, l.loadMs, "CSV file → DuckDB table (read_csv; the CSV is written from the Arrow file first, not timed)") });
      opened.notes.push(`DuckDB has no Arrow reader offline: its load reads a CSV of the same data (${(l.csvBytes / 1e6).toFixed(0)} MB, written in ${(l.csvMs / 1000).toFixed(1)} s, not counted).`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return runs;
}
