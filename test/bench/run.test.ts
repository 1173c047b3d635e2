/**
 * Short real runs of every mode: a generated fixture (20,000 rows), the engine in process, a real
 * server on loopback (started here, reached over WebSocket and HTTP), and DuckDB, all on the same data.
 * What is asserted is behaviour, never speed: every system gives the same counts and keys for every
 * seg-v1 query, each mode produces its figures, the JSON validates, the cache is reused.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { tagTypes } from "../../fixtures/schema.js";
import { ensureFixture, fileSha256 } from "../../bench/data.js";
import { DuckPeer } from "../../bench/duckdb.js";
import { formatResult } from "../../bench/report.js";
import { validateResult, type BenchResult } from "../../bench/result.js";
import { runBench, workloadColumns, type BenchOptions } from "../../bench/run-bench.js";
import { selToSql } from "../../bench/sql.js";
import { SEG_V1, parseWorkload } from "../../bench/workload.js";
import { memoryProgress } from "../../bench/progress.js";

const ROWS = 20_000;
let cacheDir: string;

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), "lasso-bench-run-"));
  await ensureFixture({ size: ROWS, cacheDir });
});
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const base = (): Omit<BenchOptions, "mode" | "targets"> => ({
  fixture: ROWS, cacheDir, workload: SEG_V1, warmup: 0, samples: 2, maxQuerySeconds: 0.2, engineThreads: 1, duckdbThreads: 1,
});

function expectValid(r: BenchResult): void {
  expect(validateResult(JSON.parse(JSON.stringify(r)))).toEqual([]);
  expect(r.checks.mismatches, JSON.stringify(r.checks.mismatches)).toEqual([]);
  expect(formatResult(r)).toContain("lasso bench");
}

describe("lasso bench, real runs", () => {
  it("latency: engine, in-process server over ws and http, and DuckDB agree on every seg-v1 query", async () => {
    const progress = memoryProgress();
    const r = await runBench({ ...base(), mode: "latency", targets: ["engine", "ws", "http"], peer: "duckdb", progress });
    expectValid(r);
    expect(r.runs.map((x) => x.target.replace(/\d+/g, "N"))).toEqual(["engine", "ws://N.N.N.N:N/vN/ws", "http://N.N.N.N:N", "duckdb"]);
    for (const run of r.runs) {
      expect(run.queries.map((q) => q.id)).toEqual(SEG_V1.queries.map((q) => q.id));
      for (const q of run.queries) expect(q.latency.samples).toBe(2);
    }
    // Same counts everywhere, and they are real answers (not all zero, not all everything).
    const counts = r.runs.map((run) => run.queries.map((q) => q.count));
    for (const c of counts) expect(c).toEqual(counts[0]);
    expect(counts[0]!.some((c) => c > 0 && c < ROWS)).toBe(true);
    expect(r.comparisons).toHaveLength(3 * SEG_V1.queries.length);
    expect(r.summary.map((s) => s.target)).toHaveLength(3);
    expect(r.data.rows).toBe(ROWS);
    expect(r.data.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(r.env.duckdbVersion).toMatch(/^v\d/);
    // Selects report keys: every key of the match arrived.
    const sel = r.runs[0]!.queries.find((q) => q.id === "q18_select_50pct")!;
    expect(sel.ids).toBe(sel.count);
    expect(progress.lines.some((l) => l.includes("generating") || l.includes("engine: loading"))).toBe(true);
  });

  it("a second run reuses the cached engine data and DuckDB database, and gets the same fingerprint", async () => {
    const before = readdirSync(cacheDir).sort();
    const progress = memoryProgress();
    const a = await runBench({ ...base(), mode: "ids", targets: ["engine"], peer: "duckdb", progress });
    const b = await runBench({ ...base(), mode: "ids", targets: ["engine"], peer: "duckdb" });
    expectValid(a);
    expect(readdirSync(cacheDir).sort()).toEqual(before);
    expect(progress.lines.some((l) => l.includes("loaded") || l.includes("building"))).toBe(false);
    expect(a.data.fingerprint).toBe(b.data.fingerprint);
    expect(a.runs[0]!.queries.map((q) => q.id)).toEqual(["q17_select_1pct", "q18_select_50pct"]);
    for (const q of a.runs[0]!.queries) expect(q.idsPerSec).toBeGreaterThan(0);
  });

  describe("against a running server on loopback", () => {
    let engine: Engine;
    let server: { port: number; close(ms?: number): Promise<void> };
    beforeAll(async () => {
      const { createServer } = await import("../../server/app.js");
      engine = await openEngine({ threads: 1 });
      server = await createServer(engine, { host: "127.0.0.1", port: 0 });
    });
    afterAll(async () => {
      await server?.close(1000);
      await engine?.close();
    });

    it("throughput over ws:// (the empty server is loaded over HTTP first), at two concurrencies", async () => {
      const url = `ws://127.0.0.1:${server.port}/v1/ws`;
      const progress = memoryProgress();
      const r = await runBench({ ...base(), mode: "throughput", targets: [url], peer: "duckdb", concurrency: [1, 4], durationS: 0.4, progress });
      expectValid(r);
      expect(progress.lines.some((l) => l.includes("loading") && l.includes("over HTTP"))).toBe(true);
      expect(engine.entities().map((e) => e.rows)).toEqual([ROWS]);
      expect(r.runs.map((x) => [x.target, x.concurrency])).toEqual([[url, 1], [url, 4], ["duckdb", 1], ["duckdb", 4]]);
      for (const run of r.runs) {
        expect(run.totals!.ops).toBeGreaterThan(0);
        expect(run.totals!.errors).toBe(0);
        expect(run.totals!.ops).toBe(run.queries.reduce((s, q) => s + q.latency.samples, 0));
      }
    });

    it("rate over http://", async () => {
      const url = `http://127.0.0.1:${server.port}`;
      const r = await runBench({ ...base(), mode: "rate", targets: [url], rate: 50, concurrency: [4], durationS: 0.4 });
      expectValid(r);
      const t = r.runs[0]!.totals!;
      expect(t.ops).toBe(20);
      expect(t.errors).toBe(0);
      expect(t.targetRate).toBe(50);
      expect(t.uncorrected).toBeDefined();
      // From the intended time, latency can only be longer than from the send time.
      expect(t.latency.maxMs + 0.01).toBeGreaterThanOrEqual(t.uncorrected!.maxMs);
    });
  });

  it("load: the fixture into a fresh engine, an in-process server and DuckDB", async () => {
    const r = await runBench({ ...base(), mode: "load", targets: ["engine", "http"], peer: "duckdb" });
    expectValid(r);
    expect(r.runs.map((x) => x.target)).toEqual(["engine", "http (in-process server)", "duckdb"]);
    for (const run of r.runs) {
      expect(run.load!.rows).toBe(ROWS);
      expect(run.load!.rowsPerSec).toBeGreaterThan(0);
    }
  });

  it("a workload file without SQL gets SQL derived from SEL, and the counts still agree", async () => {
    const w = parseWorkload({
      name: "mini", version: "1",
      segments: [{ name: "mini_women", expr: "gender = 'female'" }],
      queries: [
        { expr: "NOT (churned OR 城市 = '上海')", weight: 2 },
        { expr: { and: [{ segment: "mini_women" }, { within: ["last_login_at", 3, "days"] }] } },
        { expr: "edge_case LIKE 'a\\\\_b' OR edge_case NOT LIKE '%\\\\%%'", op: "select" },
        { expr: "coupon_expire_at BEFORE '2026-01-15T12:00:00.0000005Z' AND rating_avg NOT BETWEEN 2.5 AND 4.5" },
      ],
    }, "test");
    const r = await runBench({ ...base(), mode: "latency", targets: ["engine"], peer: "duckdb", workload: w });
    expectValid(r);
    expect(r.workload.queries.every((q) => q.sql.length > 0)).toBe(true);
  });
});

describe("seg-v1's hand-written SQL", () => {
  it("counts what the SQL derived from its SEL counts, query by query", async () => {
    const fixture = await ensureFixture({ size: ROWS, cacheDir });
    const peer = await DuckPeer.open({
      file: fixture.path, fileSha256: await fileSha256(fixture.path), entity: "user", key: "user_id",
      columns: workloadColumns(SEG_V1), cacheDir, threads: 1,
    });
    try {
      const ctx = { types: tagTypes("standard"), segments: new Map(SEG_V1.segments.map((s) => [s.name, s.expr])), asOf: SEG_V1.asOf };
      for (const q of SEG_V1.queries) {
        const derived = selToSql(q.expr, ctx);
        expect(await peer.count(q.sql!), `${q.id}: ${q.sql} vs ${derived}`).toBe(await peer.count(derived));
      }
    } finally {
      peer.close();
    }
  });
});
