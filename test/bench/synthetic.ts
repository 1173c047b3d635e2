/** Synthetic bench results with known figures, for the schema and `compare` tests. */
import { Rng } from "../../fixtures/prng.js";
import { RESULT_FORMAT, type BenchResult, type QueryFigures } from "../../bench/result.js";
import { encodeHistogram, newHistogram, recordMs, summarize } from "../../bench/stats.js";

/** Per query: median latency in ms (samples spread ±3% around it). */
export function syntheticResult(opts: { seed: number; engineMs: Record<string, number>; duckMs?: Record<string, number>; fingerprint?: string; version?: string }): BenchResult {
  const rng = new Rng(opts.seed, "synthetic");
  const figures = (medians: Record<string, number>): QueryFigures[] =>
    Object.entries(medians).map(([id, m]) => {
      const h = newHistogram();
      const samplesUs: number[] = [];
      for (let i = 0; i < 40; i++) {
        const ms = m * (1 + 0.03 * rng.normal());
        recordMs(h, ms);
        samplesUs.push(Math.round(ms * 1000));
      }
      return { id, op: "count", count: 1000, latency: summarize(h), hdr: encodeHistogram(h), samplesUs };
    });
  const ids = Object.keys(opts.engineMs);
  const runs: BenchResult["runs"] = [{ target: "engine", kind: "lasso", mode: "latency", queries: figures(opts.engineMs) }];
  if (opts.duckMs) runs.push({ target: "duckdb", kind: "peer", mode: "latency", queries: figures(opts.duckMs) });
  return {
    format: RESULT_FORMAT,
    createdAt: "2026-01-01T00:00:00.000Z",
    env: { cpu: "test cpu", cores: 2, memoryBytes: 2 ** 34, node: "v20.0.0", os: "linux", lassoVersion: "0.1.0", gitCommit: "0".repeat(40), gitDirty: false },
    config: { mode: "latency", targets: ["engine"], peer: opts.duckMs ? "duckdb" : null, seed: 42, warmup: 3, samples: 40, maxQuerySeconds: 5 },
    workload: {
      name: "seg-v1", version: opts.version ?? "1.0.0", digest: "d".repeat(64), asOf: "2026-01-01T00:00:00Z",
      queries: ids.map((id) => ({ id, shape: "test", op: "count", expr: "churned", sql: "churned", weight: 1 })),
    },
    data: { source: "test", entity: "user", key: "user_id", rows: 1000, fingerprint: opts.fingerprint ?? "f".repeat(64), excludedColumns: [] },
    runs,
    comparisons: [],
    summary: [],
    checks: { countsAgree: true, idsAgree: true, mismatches: [], failures: [] },
    notes: [],
  };
}
