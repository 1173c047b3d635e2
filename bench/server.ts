/**
 * `npm run bench:server`: the server's figures for the README. seg-v1's weighted mix in closed-loop
 * throughput at concurrency 1, 16 and 64 over a WebSocket (a server started in this process over the
 * fixture, or LASSO_BENCH_TARGET=ws://HOST:PORT/v1/ws), beside DuckDB with as many connections; then the
 * keys per second of the select queries. Writes bench/results/server-{throughput,ids}.{json,md}.
 *
 *   npm run bench:server
 *   LASSO_BENCH_ROWS=1m LASSO_BENCH_DURATION=20 npm run bench:server
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SIZES, type SizeName } from "../fixtures/schema.js";
import { repoRoot } from "./data.js";
import { terminalProgress } from "./progress.js";
import { formatResult } from "./report.js";
import type { BenchResult } from "./result.js";
import { runBench } from "./run-bench.js";
import { SEG_V1 } from "./workload.js";

function rowsFromEnv(): SizeName | number {
  const v = process.env["LASSO_BENCH_ROWS"]?.trim().toLowerCase();
  if (!v) return "10m";
  if (v in SIZES) return v as SizeName;
  const m = /^(\d[\d_]*)([km]?)$/.exec(v);
  if (!m) throw new Error(`LASSO_BENCH_ROWS must be a row count like 1000000, 500k or 10m, got "${v}"`);
  return Number(m[1]!.replaceAll("_", "")) * (m[2] === "" ? 1 : m[2] === "k" ? 1_000 : 1_000_000);
}

async function main(): Promise<number> {
  const fixture = rowsFromEnv();
  const target = process.env["LASSO_BENCH_TARGET"] ?? "ws";
  const durationS = Number(process.env["LASSO_BENCH_DURATION"] ?? 10);
  const progress = terminalProgress(process.stderr);
  const dir = join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const save = (name: string, r: BenchResult) => {
    const report = formatResult(r);
    process.stdout.write(report + "\n");
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(r, null, 2) + "\n");
    writeFileSync(join(dir, `${name}.md`), report);
  };
  const common = { targets: [target], peer: "duckdb" as const, fixture, workload: SEG_V1, progress };
  const throughput = await runBench({ ...common, mode: "throughput", concurrency: [1, 16, 64], durationS });
  save("server-throughput", throughput);
  const ids = await runBench({ ...common, targets: ["engine", target], mode: "ids", samples: 10 });
  save("server-ids", ids);
  return [throughput, ids].some((r) => r.checks.mismatches.length + r.checks.failures.length > 0) ? 1 : 0;
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
