/**
 * `npm run bench`: the README's benchmark table. seg-v1 at 10M rows (the `10m` fixture), latency mode,
 * the engine in process and over a WebSocket server started in this process, beside DuckDB on the same
 * data in the same run; then the kernel micro-benchmarks. Writes bench/results/latest.{json,md}.
 *
 *   npm run bench                                  # 10M rows (first run generates and caches the data)
 *   LASSO_BENCH_ROWS=1000000 npm run bench         # a smaller fixture
 *   LASSO_BENCH_TARGETS=engine npm run bench       # skip the WebSocket target
 *   LASSO_BENCH_KERNEL_ROWS=10m npm run bench      # kernels over 10M rows (default 100M)
 *
 * Exit status 1 when the systems disagree on any answer.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SIZES } from "../fixtures/schema.js";
import { fixtureFromEnv, repoRoot } from "./data.js";
import { terminalProgress } from "./progress.js";
import { formatResult } from "./report.js";
import { validateResult } from "./result.js";
import { runBench } from "./run-bench.js";
import { SEG_V1 } from "./workload.js";

async function main(): Promise<number> {
  const fixture = fixtureFromEnv("LASSO_BENCH_ROWS", "10m");
  const targets = (process.env["LASSO_BENCH_TARGETS"] ?? "engine,ws").split(",").map((t) => t.trim()).filter(Boolean);
  // 100M rows: the kernels' inputs (up to 800 MB) must not fit in the caches, or "memory speed" means cache speed.
  const kernelFixture = fixtureFromEnv("LASSO_BENCH_KERNEL_ROWS", "100m");
  const kernelRows = typeof kernelFixture === "number" ? kernelFixture : SIZES[kernelFixture];
  const progress = terminalProgress(process.stderr);
  const result = await runBench({
    targets,
    peer: "duckdb",
    fixture,
    workload: SEG_V1,
    mode: "latency",
    kernelRows,
    progress,
  });
  const report = formatResult(result);
  process.stdout.write(report);
  const dir = join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const problems = validateResult(JSON.parse(JSON.stringify(result)));
  if (problems.length > 0) progress.log(`WARNING: the result does not match its schema: ${problems.slice(0, 3).join("; ")}`);
  writeFileSync(join(dir, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  writeFileSync(join(dir, "latest.md"), report);
  progress.log(`wrote ${join(dir, "latest.json")} and latest.md`);
  return result.checks.mismatches.length + result.checks.failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`npm run bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
