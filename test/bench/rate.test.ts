/**
 * Coordinated omission: an open-loop run at a fixed rate against a target that stalls for 500 ms must
 * report the stall as the queue of requests it delayed (corrected latencies), while latencies measured
 * from the actual send time hide it in one sample. Runs on a virtual clock: deterministic, no timing.
 */
import { describe, expect, it } from "vitest";
import { runLatency, runRate, runThroughput, VirtualClock, type WeightedQuery } from "../../bench/modes.js";
import type { Answer, BenchQuery, Target } from "../../bench/targets.js";

const QUERY: WeightedQuery = { id: "q", op: "count", expr: "churned", sql: "churned", entity: "user", asOf: "2026-01-01T00:00:00Z", weight: 1 };

/** Answers in `serviceMs`; while the clock is inside [stallFrom, stallTo) every answer waits for stallTo. */
class StallingTarget implements Target {
  readonly name = "stalling";
  readonly kind = "lasso" as const;
  calls = 0;
  constructor(private readonly clock: VirtualClock, private readonly serviceMs: number, private readonly stallFrom = Infinity, private readonly stallTo = Infinity) {}
  async run(_q: BenchQuery): Promise<Answer> {
    this.calls++;
    const now = this.clock.now();
    const finish = now >= this.stallFrom && now < this.stallTo ? this.stallTo + this.serviceMs : now + this.serviceMs;
    await this.clock.sleep(finish - now);
    return { count: 42 };
  }
  async close(): Promise<void> {}
}

describe("rate mode (open loop, corrected for coordinated omission)", () => {
  it("without a stall, corrected and uncorrected latencies are the service time", async () => {
    const clock = new VirtualClock();
    const target = new StallingTarget(clock, 2);
    const r = await clock.run(() => runRate(target, [QUERY], { rate: 100, durationS: 3, concurrency: 1, seed: 1, clock }));
    expect(r.totals.ops).toBe(300);
    expect(r.totals.errors).toBe(0);
    expect(r.totals.latency.maxMs).toBeCloseTo(2, 2);
    expect(r.totals.uncorrected!.maxMs).toBeCloseTo(2, 2);
    // 300 requests at 100/s take 3 s of schedule.
    expect(r.totals.durationS).toBeCloseTo(2.992, 2);
    expect(r.totals.opsPerSec).toBeGreaterThan(99);
    expect(r.queries[0]!.count).toBe(42);
  });

  it("a 500 ms stall shows in the corrected latencies, not only in one sample", async () => {
    const clock = new VirtualClock();
    const target = new StallingTarget(clock, 1, 1000, 1500);
    const r = await clock.run(() => runRate(target, [QUERY], { rate: 100, durationS: 3, concurrency: 1, seed: 1, clock }));
    expect(r.totals.ops).toBe(300);
    const corrected = r.totals.latency;
    const uncorrected = r.totals.uncorrected!;
    // The request sent at t = 1000 waits until 1500: one slow sample either way.
    expect(uncorrected.maxMs).toBeGreaterThanOrEqual(500);
    expect(corrected.maxMs).toBeGreaterThanOrEqual(500);
    // From the send time, 299 of 300 answers took ~1 ms: p95 hides the stall (what a closed-loop tool reports).
    expect(uncorrected.p95Ms).toBeLessThan(5);
    // From the intended time, the ~50 requests due during the stall waited 500 … 10 ms: p90 shows it.
    expect(corrected.p90Ms).toBeGreaterThan(100);
    expect(corrected.p95Ms).toBeGreaterThan(250);
    expect(corrected.p50Ms).toBeLessThan(5);
  });

  it("more connections absorb a stall only as far as they overlap it", async () => {
    const clock = new VirtualClock();
    // Every request is held to the end of the stall, so more connections do not help: corrected p90 stays high.
    const target = new StallingTarget(clock, 1, 1000, 1500);
    const r = await clock.run(() => runRate(target, [QUERY], { rate: 100, durationS: 3, concurrency: 8, seed: 1, clock }));
    expect(r.totals.latency.p90Ms).toBeGreaterThan(100);
    // With 8 connections, 8 requests are in the stall at once, sent on time: uncorrected shows 8 slow ones.
    expect(r.totals.uncorrected!.p95Ms).toBeLessThan(5);
    expect(r.totals.uncorrected!.p99Ms).toBeGreaterThan(100);
  });

  it("a closed loop sees the same stall as a single slow sample", async () => {
    const clock = new VirtualClock();
    const target = new StallingTarget(clock, 10, 1000, 1500);
    const r = await clock.run(() => runThroughput(target, [QUERY], { concurrency: 1, durationS: 3, seed: 1, clock }));
    expect(r.totals.latency.maxMs).toBeGreaterThan(490);
    expect(r.totals.latency.p95Ms).toBeLessThan(15);
    // 2.5 s of 10 ms answers plus the stall.
    expect(r.totals.ops).toBeGreaterThan(240);
    expect(r.totals.ops).toBeLessThan(260);
  });
});

describe("a target that stalls on one query", () => {
  it("fails that query after the timeout (aborting it) and measures the others", async () => {
    const aborted: string[] = [];
    const target: Target = {
      name: "flaky",
      kind: "lasso",
      async run(q, opts) {
        if (q.id !== "stuck") return { count: 7 };
        // Never answers; only the abort ends it (and the deadline fails it even if it did not).
        await new Promise<void>((resolve) => opts?.signal?.addEventListener("abort", () => (aborted.push(q.id), resolve())));
        return new Promise<Answer>(() => {});
      },
      async close() {},
    };
    const qs = ["a", "stuck", "b"].map((id) => ({ ...QUERY, id }));
    const failures: string[] = [];
    const runs = await runLatency([target], qs, {
      warmup: 1, samples: 2, maxQuerySeconds: 1, queryTimeoutMs: 100,
      onFailure: (t, q, e) => failures.push(`${t.name}/${q.id}: ${e.message}`),
    });
    expect(runs[0]!.queries.map((q) => q.id)).toEqual(["a", "b"]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^flaky\/stuck: flaky gave no answer to stuck within 100 ms/);
    expect(aborted).toEqual(["stuck"]);
  });
});
