/**
 * `npm run bench:server`: the server's figures for the README, with the server in its own process
 * (`lasso serve` over the fixture's cached data directory) and the load generator in this one, on
 * loopback — as a marketing system would see it.
 *
 * 1. seg-v1's count queries (weighted mix) in closed-loop throughput at 1, 16 and 64 in flight: first the engine in
 *    this process, then the server over WebSocket and over HTTP (LassoClient); DuckDB with as many connections
 *    in both runs.
 * 2. The server's overhead over the engine alone (bench/overhead.ts): the engine opened again in this process
 *    beside the server, the two taking turns in short rounds with a lean load generator, CPU per query beside.
 * 3. Keys per second of the select queries (WebSocket, HTTP NDJSON, beside DuckDB), then of the broadest
 *    select per transport and format (bench/keys-rate.ts).
 * 4. A slow reader: a WebSocket client reading `true` (every key) at a bounded pace until it has read
 *    LASSO_SLOW_IDS keys (default 100M), while the server's RSS is sampled: the growth must stay small
 *    (backpressure holds the stream, not memory).
 *
 * Writes bench/results/server-{engine,throughput,overhead,ids,keys,slow-reader}.{json,md}.
 *
 *   npm run bench:server
 *   LASSO_BENCH_ROWS=1m LASSO_BENCH_DURATION=20 LASSO_SLOW_IDS=20m npm run bench:server
 *   LASSO_OVERHEAD_ROUNDS=5 LASSO_OVERHEAD_SECONDS=3 (the overhead's rounds per target and concurrency, seconds each)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SIZES } from "../fixtures/schema.js";
import { openEngine } from "../engine/index.js";
import { LassoClient } from "../server/client.js";
import { defaultCacheDir, engineDataDir, ensureFixture, fileSha256, fixtureFromEnv, repoRoot } from "./data.js";
import { measureKeyRates, type KeyRate } from "./keys-rate.js";
import { terminalProgress, type Progress } from "./progress.js";
import { formatResult } from "./report.js";
import { measureOverhead, overheadMd, type OverheadRow } from "./overhead.js";
import { processMemory } from "./proc.js";
import type { BenchResult } from "./result.js";
import { runBench } from "./run-bench.js";
import { SEG_V1, type Workload } from "./workload.js";

/** Longest wait for a started server to have every column resident before measuring anyway. */
const RESIDENT_WAIT_MS = 300_000;

/**
 * A `lasso serve` child over a data directory; resolves once it listens and has every column resident
 * (it serves at once and reads columns behind: measuring before that would charge the reads to the server).
 */
async function startServer(dataDir: string, p: Progress): Promise<{ url: string; child: ChildProcess }> {
  const cli = join(repoRoot(), "dist", "server", "cli.js");
  const child = spawn(process.execPath, [cli, "serve", "--data", dataDir, "--port", "0"], { stdio: ["ignore", "inherit", "pipe"] });
  let resident!: () => void;
  const allResident = new Promise<void>((r) => (resident = r));
  const url = await new Promise<string>((resolve, reject) => {
    // its log (JSON lines on stderr, since that is a pipe here) is read for as long as it runs
    const lines = createInterface({ input: child.stderr! });
    lines.on("line", (line) => {
      let rec: { msg?: string; url?: string; level?: string };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        p.log(`server: ${line}`);
        return;
      }
      if (rec.msg === "listening" && rec.url) resolve(rec.url);
      else if (rec.msg?.startsWith("opened") || rec.level === "error" || rec.level === "warn") p.log(`server: ${rec.msg}`);
      if (rec.msg?.startsWith("opened")) resident();
    });
    child.once("exit", (code) => reject(new Error(`lasso serve exited with ${code} before listening`)));
  });
  p.update("server: waiting for its columns to be resident");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), RESIDENT_WAIT_MS)));
  if (await Promise.race([allResident.then(() => false), late])) p.log(`WARNING: the server did not say its columns were resident within ${RESIDENT_WAIT_MS / 1000} s; measuring anyway`);
  clearTimeout(timer);
  p.log(`server: ${url} (pid ${child.pid}, its own process)`);
  return { url, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

interface SlowReader {
  idsWanted: number;
  idsRead: number;
  seconds: number;
  idsPerSec: number;
  pauseMsPerChunk: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  growthBytes: number;
}

/**
 * Reads every key (`true`) over one WebSocket, pausing after each chunk, until `wanted` keys were read;
 * the server's RSS is sampled every 50 ms.
 */
async function slowReader(url: string, pid: number, wanted: number, pauseMs: number, p: Progress): Promise<SlowReader> {
  const client = new LassoClient(url);
  const before = processMemory(pid).rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, processMemory(pid).rss);
  }, 50);
  const t0 = performance.now();
  let read = 0;
  try {
    while (read < wanted) {
      for await (const chunk of client.select("true", { entity: SEG_V1.entity })) {
        read += chunk.length;
        p.update(`slow reader: ${(read / 1e6).toFixed(1)}M of ${(wanted / 1e6).toFixed(0)}M keys, server RSS ${(processMemory(pid).rss / 2 ** 20).toFixed(0)} MiB`);
        await new Promise((r) => setTimeout(r, pauseMs));
        if (read >= wanted) break;
      }
    }
  } finally {
    clearInterval(sampler);
    await client.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, processMemory(pid).rss);
  return {
    idsWanted: wanted, idsRead: read, seconds, idsPerSec: read / seconds, pauseMsPerChunk: pauseMs,
    rssBeforeBytes: before, rssPeakBytes: peak, growthBytes: peak - before,
  };
}

function slowReaderMd(s: SlowReader): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  return [
    "### Slow reader (server in its own process)",
    "",
    `A WebSocket client read ${s.idsRead.toLocaleString("en-US")} keys (\`true\`, repeated until ${s.idsWanted.toLocaleString("en-US")}), `
      + `pausing ${s.pauseMsPerChunk} ms after every 65,536-key chunk: ${(s.idsPerSec / 1e6).toFixed(1)}M keys/s over ${s.seconds.toFixed(0)} s.`,
    "",
    "| server RSS before | peak while reading | growth |",
    "|---:|---:|---:|",
    `| ${mib(s.rssBeforeBytes)} | ${mib(s.rssPeakBytes)} | ${mib(s.growthBytes)} |`,
    "",
  ].join("\n");
}

/**
 * The engine opened in this process over the server's data directory (read-only: the server holds it),
 * then the two measured in alternating rounds (bench/overhead.ts).
 */
async function overheadBesideEngine(dataDir: string, url: string, pid: number, w: Workload, rounds: number, roundSeconds: number, p: Progress): Promise<OverheadRow[]> {
  let resident!: () => void;
  const allResident = new Promise<void>((r) => (resident = r));
  const engine = await openEngine({ dataDir, log: (_level, msg) => msg.startsWith("opened") && resident() });
  try {
    p.log("overhead: the engine opened again in this process (read-only beside the server), reading its columns");
    await allResident;
    const queries = [];
    for (const { expr } of w.queries) queries.push({ expr, count: (await engine.count({ entity: w.entity, expr, asOf: w.asOf })).count });
    return await measureOverhead({
      engine, entity: w.entity, asOf: w.asOf, queries, url, serverPid: pid,
      inFlight: [1, 16, 64], rounds, roundSeconds, log: (l, lasting) => (lasting ? p.log(l) : p.update(l)),
    });
  } finally {
    await engine.close();
  }
}

function keyRatesMd(rates: KeyRate[]): string {
  const lines = [
    "### Keys streamed by the server to a client in another process",
    "",
    "| transport | format | keys | median ms | keys/s |",
    "|:--|:--|--:|--:|--:|",
  ];
  for (const r of rates) {
    lines.push(`| ${r.transport} | ${r.format} | ${r.keys.toLocaleString("en-US")} | ${r.medianMs.toFixed(0)} | ${(r.keysPerSec / 1e6).toFixed(1)}M |`);
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<number> {
  const fixture = fixtureFromEnv("LASSO_BENCH_ROWS", "10m");
  const durationS = Number(process.env["LASSO_BENCH_DURATION"] ?? 10);
  const slowIds = fixtureFromEnv("LASSO_SLOW_IDS", "100m");
  const progress = terminalProgress(process.stderr);
  const dir = join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const save = (name: string, r: BenchResult | object, md: string) => {
    process.stdout.write(md + "\n");
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(r, null, 2) + "\n");
    writeFileSync(join(dir, `${name}.md`), md);
  };
  const common = { peer: "duckdb" as const, fixture, workload: SEG_V1, progress };
  // queries/s and overhead are about counts (selects are measured as keys/s below)
  const counts = { ...common, workload: { ...SEG_V1, name: "seg-v1-counts", queries: SEG_V1.queries.filter((q) => q.op === "count") } };
  const results: BenchResult[] = [];

  // 1. the engine alone, in this process (it also makes and caches the fixture and its data directory)
  const engine = await runBench({ ...counts, targets: ["engine"], mode: "throughput", concurrency: [1, 16, 64], durationS });
  save("server-engine", engine, formatResult(engine));
  results.push(engine);

  // 2. the server in its own process over the cached data directory
  const cacheDir = defaultCacheDir();
  const file = await ensureFixture({ size: fixture, cacheDir });
  const dataDir = engineDataDir(cacheDir, await fileSha256(file.path));
  const { url, child } = await startServer(dataDir, progress);
  try {
    const targets = [`${url.replace(/^http/, "ws")}/v1/ws`, url];
    const throughput = await runBench({ ...counts, targets, mode: "throughput", concurrency: [1, 16, 64], durationS });
    save("server-throughput", throughput, formatResult(throughput));
    results.push(throughput);
    const rounds = Number(process.env["LASSO_OVERHEAD_ROUNDS"] ?? 5);
    const roundSeconds = Number(process.env["LASSO_OVERHEAD_SECONDS"] ?? 3);
    const o = await overheadBesideEngine(dataDir, url, child.pid!, counts.workload, rounds, roundSeconds, progress);
    save("server-overhead", { rounds, roundSeconds, overheads: o }, overheadMd(o, { rounds, roundSeconds }));
    const ids = await runBench({ ...common, targets, mode: "ids", samples: 10 });
    save("server-ids", ids, formatResult(ids));
    results.push(ids);
    const rates = await measureKeyRates(url, SEG_V1, { samples: 5, log: (l) => progress.update(l) });
    save("server-keys", { rates }, keyRatesMd(rates));
    const slow = await slowReader(url, child.pid!, typeof slowIds === "number" ? slowIds : SIZES[slowIds], 20, progress);
    save("server-slow-reader", slow, slowReaderMd(slow));
  } finally {
    await stopServer(child);
  }
  return results.some((r) => r.checks.mismatches.length + r.checks.failures.length > 0) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`npm run bench:server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
