/**
 * `lasso bench compare` on synthetic results with known changes, and the result schema: valid results
 * pass, broken ones are named precisely.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareResults, formatComparison, parseResultFile } from "../../bench/compare.js";
import { validateResult } from "../../bench/result.js";
import { formatResult } from "../../bench/report.js";
import { command } from "../../server/commands/bench.js";
import { syntheticResult } from "./synthetic.js";

const A = syntheticResult({ seed: 1, engineMs: { q1: 10, q2: 10, q3: 10, q4: 10 }, duckMs: { q1: 100, q2: 100, q3: 100, q4: 100 } });
// q1 50% slower, q2 unchanged, q3 twice as fast, q4 slower by 2% (within noise).
const B = syntheticResult({ seed: 2, engineMs: { q1: 15, q2: 10, q3: 5, q4: 10.2 }, duckMs: { q1: 100, q2: 100, q3: 100, q4: 100 } });

describe("compare", () => {
  it("flags changes beyond noise and only those", () => {
    const rows = compareResults(A, B, { threshold: 0.05 });
    const engine = new Map(rows.filter((r) => r.target === "engine").map((r) => [r.query, r]));
    expect(engine.get("q1")!.verdict).toBe("slower");
    expect(engine.get("q1")!.ratio).toBeGreaterThan(1.4);
    expect(engine.get("q1")!.low).toBeGreaterThan(1.3);
    expect(engine.get("q2")!.verdict).toBe("same");
    expect(engine.get("q3")!.verdict).toBe("faster");
    expect(engine.get("q3")!.ratio).toBeLessThan(0.55);
    expect(engine.get("q4")!.verdict).toBe("same");
    // The peer did not move, so the peer-normalised change equals the raw one.
    expect(engine.get("q1")!.vsPeer).toBeCloseTo(engine.get("q1")!.bMs / engine.get("q1")!.aMs, 1);
    const duck = rows.filter((r) => r.target === "duckdb");
    expect(duck.every((r) => r.verdict === "same")).toBe(true);
    const text = formatComparison(A, B, rows);
    expect(text).toContain("SLOWER");
    expect(text).toMatch(/2 change\(s\) beyond noise/);
  });

  it("a result compared with itself shows no change", () => {
    const rows = compareResults(A, A);
    expect(rows.every((r) => r.verdict === "same" && r.ratio === 1)).toBe(true);
  });

  it("refuses different data or workloads", () => {
    expect(() => compareResults(A, syntheticResult({ seed: 3, engineMs: { q1: 10 }, fingerprint: "e".repeat(64) }))).toThrow(/different data/);
    expect(() => compareResults(A, syntheticResult({ seed: 3, engineMs: { q1: 10 }, version: "2.0.0" }))).toThrow(/different workloads/);
    const otherDigest = { ...A, workload: { ...A.workload, digest: "0".repeat(64) } };
    expect(() => compareResults(A, otherDigest)).toThrow(/digest differs/);
  });
});

describe("result schema", () => {
  it("accepts a complete result", () => {
    expect(validateResult(JSON.parse(JSON.stringify(A)))).toEqual([]);
  });

  it("names what is wrong", () => {
    const broken = JSON.parse(JSON.stringify(A));
    delete broken.data.fingerprint;
    broken.runs[0].queries[0].latency.p50Ms = "fast";
    broken.config.mode = "sprint";
    broken.extra = 1;
    const problems = validateResult(broken);
    expect(problems).toContain("/data: missing fingerprint");
    expect(problems.some((p) => p.startsWith("/runs/0/queries/0/latency/p50Ms: must be number"))).toBe(true);
    expect(problems.some((p) => p.startsWith("/config/mode: must be one of"))).toBe(true);
    expect(problems).toContain("/extra: not allowed");
    expect(validateResult({ format: "something else" }).length).toBeGreaterThan(5);
  });

  it("renders as a report", () => {
    const text = formatResult(A);
    expect(text).toContain("| q1");
    expect(text).toContain("Checks: every query returned the same count");
  });
});

describe("lasso bench compare (command)", () => {
  const dir = mkdtempSync(join(tmpdir(), "lasso-bench-compare-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0 for comparable files and 1 with a reason for incomparable ones", async () => {
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    const c = join(dir, "c.json");
    const bad = join(dir, "bad.json");
    writeFileSync(a, JSON.stringify(A));
    writeFileSync(b, JSON.stringify(B));
    writeFileSync(c, JSON.stringify(syntheticResult({ seed: 3, engineMs: { q1: 10 }, fingerprint: "e".repeat(64) })));
    writeFileSync(bad, JSON.stringify({ format: "lasso-bench/1" }));
    const out: string[] = [];
    const err: string[] = [];
    const w1 = process.stdout.write.bind(process.stdout);
    const w2 = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
    try {
      expect(await command.run(["compare", a, b])).toBe(0);
      expect(await command.run(["compare", a, c])).toBe(1);
      expect(await command.run(["compare", a, bad])).toBe(1);
      expect(await command.run(["compare", a])).toBe(2);
    } finally {
      process.stdout.write = w1;
      process.stderr.write = w2;
    }
    expect(out.join("")).toContain("q1");
    expect(err.join("")).toMatch(/different data/);
    expect(err.join("")).toMatch(/not a lasso bench result/);
    expect(() => parseResultFile("{", "x.json")).toThrow(/x.json/);
  });
});
