/**
 * `lasso bench`: the selection benchmark (bench/). Flags → BenchOptions, a live progress line on a
 * terminal, the report on stdout, `--json` / `--md` files; `lasso bench compare A.json B.json`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { isLassoError } from "../../engine/errors.js";
import { SIZES, parseRowCount, type SizeName } from "../../fixtures/schema.js";
import { compareResults, formatComparison, parseResultFile } from "../../bench/compare.js";
import { terminalProgress } from "../../bench/progress.js";
import { formatResult } from "../../bench/report.js";
import { MODES, validateResult, type Mode } from "../../bench/result.js";
import { runBench, type BenchOptions } from "../../bench/run-bench.js";
import { BUILTIN_WORKLOADS, resolveWorkload, type Workload } from "../../bench/workload.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Command } from "./command.js";

const usage = `Usage: lasso bench [options]
       lasso bench compare A.json B.json [--threshold 0.05]

Measures how fast segments are selected: a named, versioned workload of segment queries run against
Lasso (in process, or a server over WebSocket / HTTP), beside DuckDB on the same data in the same run,
with every answer checked to agree between the systems.

Targets (repeat --target for several; figures are reported side by side):
  --target engine          the engine in this process (default)
  --target ws              a server started in this process over the same engine, over its WebSocket
  --target http            the same, over HTTP
  --target ws://H:P/v1/ws  a running server's WebSocket          --target http://H:P   its HTTP API
  --token T                bearer token for a server with users configured
  --peer duckdb            run the same workload on DuckDB (needs the data as a file: --fixture or --file)

Data (one of):
  --fixture NAME           a generated fixture: ${Object.keys(SIZES).join(", ")} (or --rows N); made once and
                           cached in bench/.cache with the engine's and DuckDB's copies of it
  --rows N                 a fixture of N rows (standard schema)
  --file F.arrow           an Arrow IPC file (the engine loads it; DuckDB reads it)
  --data DIR               an existing data directory (the engine only; add --file for DuckDB)
  --entity E --key COL     entity and key column (default: the workload's entity, user_id)

Workload:
  --workload NAME|FILE     ${Object.keys(BUILTIN_WORKLOADS).join(", ")} (default seg-v1), or a JSON file:
                           {"name","version","asOf"?,"segments"?:[{"name","expr"}],
                            "queries":[{"id"?,"expr","op"?:"count"|"select","weight"?,"sql"?}]}
                           (without "sql", the DuckDB SQL is derived from the SEL expression)
  --queries ID,ID,…        only these queries of the workload (a subset compares only with the same subset)

Mode (--mode, default latency):
  latency                  sequential; per query p50/p95/p99/max (HDR histograms)
  throughput               closed loop; --concurrency 1,16,64 (one run each) --duration S
  rate                     open loop at --rate R per second over --concurrency C connections, latency
                           corrected for coordinated omission (measured from the intended send time, as wrk2)
  ids                      the select queries; keys per second streamed
  load                     bulk load of the data file: rows/s and MB/s (engine, servers, DuckDB)
  --samples N              latency/ids: samples per query (default 30)
  --max-query-seconds S    latency/ids: stop sampling a query after S seconds (default 5; at least 5 samples)
  --warmup N               untimed runs of each query first (default 3)
  --duration S             throughput/rate: seconds per run (default 10)
  --seed S                 query mix and fixture seed (default 42)
  --threads N              engine worker threads      --duckdb-threads N   DuckDB threads (default: cores)
  --duckdb-storage file|memory   DuckDB queries its cached database file (default) or an in-memory copy
  --kernels ROWS           also run the kernel micro-benchmarks over ROWS rows
  --query-timeout S        a query without an answer after S seconds fails (default 120; 0 = wait for ever)

Output:
  --json FILE              every figure, the environment, data fingerprint, seed and workload version
  --md FILE                the report as Markdown (also printed on stdout)
  --quiet                  no progress display

Exit status: 0; 1 when the systems disagree on any answer, a query fails or times out, or the run fails;
2 for bad flags.

Examples:
  lasso bench --fixture 1m --peer duckdb
  lasso bench --fixture 10m --target engine --target ws --peer duckdb --json bench/results/10m.json
  lasso bench --target ws://127.0.0.1:7600/v1/ws --mode throughput --concurrency 1,16,64 --duration 20
  lasso bench --fixture 1m --mode rate --rate 500 --concurrency 32
  lasso bench compare bench/results/before.json bench/results/after.json
`;


function positiveInt(flag: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return n;
}

function positiveNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`${flag} must be a positive number, got "${text}"`);
  return n;
}

function parseRows(text: string): number {
  const rows = parseRowCount(text);
  if (rows === null) throw new UsageError(`--rows must be a whole number (like 250000, 500k or 3m), got "${text}"`);
  return rows;
}

export interface BenchFlags {
  options: BenchOptions;
  json?: string;
  md?: string;
  quiet: boolean;
}

/** Flags → options (throws UsageError naming the flag and what is valid). */
export function parseBenchFlags(argv: string[]): BenchFlags {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        peer: { type: "string" },
        fixture: { type: "string" },
        rows: { type: "string" },
        file: { type: "string" },
        data: { type: "string" },
        entity: { type: "string" },
        key: { type: "string" },
        workload: { type: "string" },
        queries: { type: "string" },
        mode: { type: "string" },
        samples: { type: "string" },
        "max-query-seconds": { type: "string" },
        warmup: { type: "string" },
        concurrency: { type: "string" },
        duration: { type: "string" },
        rate: { type: "string" },
        seed: { type: "string" },
        threads: { type: "string" },
        "duckdb-threads": { type: "string" },
        "duckdb-storage": { type: "string" },
        kernels: { type: "string" },
        token: { type: "string" },
        json: { type: "string" },
        md: { type: "string" },
        quiet: { type: "boolean" },
        "cache-dir": { type: "string" },
        "query-timeout": { type: "string" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const s = (k: string) => values[k] as string | undefined;
  const mode = (s("mode") ?? "latency") as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(", ")}, got "${mode}"`);
  const peer = s("peer");
  if (peer !== undefined && peer !== "duckdb" && peer !== "none") throw new UsageError(`--peer must be duckdb (or none), got "${peer}"`);
  const sources = ["fixture", "rows", "file", "data"].filter((k) => s(k) !== undefined);
  if (sources.length > 1 && !(sources.length === 2 && sources.includes("data") && sources.includes("file"))) {
    throw new UsageError(`give one of --fixture, --rows, --file, --data (or --data with --file), not ${sources.map((x) => "--" + x).join(" and ")}`);
  }
  const fixture = s("fixture")?.toLowerCase();
  if (fixture !== undefined && !(fixture in SIZES)) throw new UsageError(`--fixture must be one of ${Object.keys(SIZES).join(", ")}, got "${fixture}"`);
  const storage = s("duckdb-storage");
  if (storage !== undefined && storage !== "file" && storage !== "memory") throw new UsageError(`--duckdb-storage must be file or memory, got "${storage}"`);
  let workload: Workload;
  try {
    workload = resolveWorkload(s("workload") ?? "seg-v1");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (s("queries") !== undefined) {
    const ids = s("queries")!.split(",").map((x) => x.trim()).filter(Boolean);
    const unknown = ids.filter((id) => !workload.queries.some((q) => q.id === id));
    if (unknown.length > 0) throw new UsageError(`--queries: ${unknown.join(", ")} not in ${workload.name} (has ${workload.queries.map((q) => q.id).join(", ")})`);
    // A subset is another workload for `compare`: its digest covers only these queries.
    workload = { ...workload, queries: workload.queries.filter((q) => ids.includes(q.id)) };
  }
  const concurrency = s("concurrency")?.split(",").map((x) => positiveInt("--concurrency", x.trim())!);
  const options: BenchOptions = {
    targets: (values["target"] as string[] | undefined) ?? ["engine"],
    peer: peer === "duckdb" ? "duckdb" : null,
    workload,
    mode,
  };
  if (fixture !== undefined) options.fixture = fixture as SizeName;
  if (s("rows") !== undefined) options.fixture = parseRows(s("rows")!);
  if (s("file") !== undefined) options.file = s("file")!;
  if (s("data") !== undefined) options.dataDir = s("data")!;
  if (s("entity") !== undefined) options.entity = s("entity")!;
  if (s("key") !== undefined) options.key = s("key")!;
  const set = <K extends keyof BenchOptions>(k: K, v: BenchOptions[K] | undefined) => {
    if (v !== undefined) options[k] = v;
  };
  set("samples", positiveInt("--samples", s("samples")));
  set("maxQuerySeconds", positiveNumber("--max-query-seconds", s("max-query-seconds")));
  set("warmup", positiveInt("--warmup", s("warmup"), 0));
  set("concurrency", concurrency);
  set("durationS", positiveNumber("--duration", s("duration")));
  set("rate", positiveNumber("--rate", s("rate")));
  set("seed", positiveInt("--seed", s("seed"), 0));
  set("engineThreads", positiveInt("--threads", s("threads"), 0));
  set("duckdbThreads", positiveInt("--duckdb-threads", s("duckdb-threads")));
  set("duckdbStorage", storage as "file" | "memory" | undefined);
  set("kernelRows", positiveInt("--kernels", s("kernels"), 65_536));
  set("token", s("token"));
  set("cacheDir", s("cache-dir"));
  if (s("query-timeout") !== undefined) options.queryTimeoutS = Number(s("query-timeout"));
  if (options.queryTimeoutS !== undefined && !(options.queryTimeoutS >= 0)) throw new UsageError(`--query-timeout must be seconds ≥ 0, got "${s("query-timeout")}"`);
  const flags: BenchFlags = { options, quiet: values["quiet"] === true };
  if (s("json") !== undefined) flags.json = s("json")!;
  if (s("md") !== undefined) flags.md = s("md")!;
  return flags;
}

function writeOut(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

async function runCompare(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { threshold: { type: "string" } } });
  } catch (e) {
    process.stderr.write(`lasso bench compare: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  const [a, b, ...rest] = parsed.positionals;
  if (!a || !b || rest.length > 0) {
    process.stderr.write("Usage: lasso bench compare A.json B.json [--threshold 0.05]\n");
    return EXIT_USAGE;
  }
  const threshold = parsed.values.threshold === undefined ? 0.05 : Number(parsed.values.threshold);
  if (!(threshold >= 0 && threshold < 1)) {
    process.stderr.write(`lasso bench compare: --threshold must be a fraction in [0, 1), got "${parsed.values.threshold}"\n`);
    return EXIT_USAGE;
  }
  try {
    const ra = parseResultFile(readFileSync(a, "utf8"), a);
    const rb = parseResultFile(readFileSync(b, "utf8"), b);
    const rows = compareResults(ra, rb, { threshold });
    process.stdout.write(formatComparison(ra, rb, rows, threshold));
    return EXIT_OK;
  } catch (e) {
    process.stderr.write(`lasso bench compare: ${(e as Error).message}\n`);
    return EXIT_FAILURE;
  }
}

export const command: Command = {
  name: "bench",
  summary: "benchmark segment selection (latency, throughput, rate, ids, load) beside DuckDB",
  usage,
  async run(argv) {
    if (argv[0] === "compare") return runCompare(argv.slice(1));
    let flags: BenchFlags;
    try {
      flags = parseBenchFlags(argv);
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`lasso bench: ${e.message}\nRun \`lasso bench --help\` for the options.\n`);
        return EXIT_USAGE;
      }
      throw e;
    }
    const progress = terminalProgress(process.stderr, { quiet: flags.quiet });
    try {
      const result = await runBench({ ...flags.options, progress });
      const report = formatResult(result);
      process.stdout.write(report);
      if (flags.json) {
        const problems = validateResult(JSON.parse(JSON.stringify(result)));
        if (problems.length > 0) progress.log(`WARNING: the result does not match its schema: ${problems.slice(0, 3).join("; ")}`);
        writeOut(flags.json, JSON.stringify(result, null, 2) + "\n");
        progress.log(`wrote ${flags.json}`);
      }
      if (flags.md) {
        writeOut(flags.md, report);
        progress.log(`wrote ${flags.md}`);
      }
      if (result.checks.mismatches.length > 0) {
        process.stderr.write(`lasso bench: MISMATCH between systems on ${result.checks.mismatches.map((m) => m.query).join(", ")}\n`);
        return EXIT_FAILURE;
      }
      if (result.checks.failures.length > 0) {
        process.stderr.write(`lasso bench: FAILED queries: ${result.checks.failures.map((f) => `${f.query} on ${f.target}`).join(", ")}\n`);
        return EXIT_FAILURE;
      }
      return EXIT_OK;
    } catch (e) {
      progress.clear();
      const code = isLassoError(e) ? ` (${e.code})` : "";
      process.stderr.write(`lasso bench: ${e instanceof Error ? e.message : String(e)}${code}\n`);
      return EXIT_FAILURE;
    }
  },
};
