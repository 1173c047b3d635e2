/**
 * Percentile and histogram maths on known distributions: the HDR summary must agree with exact
 * nearest-rank percentiles of the same samples within HDR's 3-significant-digit resolution, and the
 * bootstrap ratio must find a known scale factor.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../fixtures/prng.js";
import {
  decodeHistogram, encodeHistogram, geometricMean, median, medianRatio, newHistogram, percentile, recordMs, summarize,
} from "../../bench/stats.js";

const SEED = 20260101;

function check(name: string, samplesMs: number[]): void {
  const h = newHistogram();
  for (const v of samplesMs) recordMs(h, v);
  const s = summarize(h);
  const sortedUs = samplesMs.map((v) => Math.max(1, Math.round(v * 1000))).sort((a, b) => a - b);
  const exact = (p: number) => percentile(sortedUs, p) / 1000;
  const near = (got: number, want: number) => {
    // HDR with 3 significant digits: equivalent values are within 1/1024 of each other (+1 µs rounding).
    expect(Math.abs(got - want), `${name}: got ${got}, want ${want} (seed ${SEED})`).toBeLessThanOrEqual(want / 1000 + 0.002);
  };
  expect(s.samples).toBe(samplesMs.length);
  near(s.p50Ms, exact(50));
  near(s.p90Ms, exact(90));
  near(s.p95Ms, exact(95));
  near(s.p99Ms, exact(99));
  near(s.p999Ms, exact(99.9));
  near(s.maxMs, sortedUs[sortedUs.length - 1]! / 1000);
  near(s.minMs, sortedUs[0]! / 1000);
}

describe("latency histograms", () => {
  it("uniform 1..10000 µs: percentiles are where they must be", () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 1000);
    check("uniform", samples);
    const h = newHistogram();
    for (const v of samples) recordMs(h, v);
    const s = summarize(h);
    // Analytically: the p-th percentile of 1..N is ceil(p·N/100) µs.
    expect(s.p50Ms).toBeCloseTo(5, 2);
    expect(s.p99Ms).toBeCloseTo(9.9, 1);
    expect(s.maxMs).toBeCloseTo(10, 1);
    expect(s.meanMs).toBeCloseTo(5.0005, 2);
  });

  it("exponential (mean 2 ms): p50 ≈ 2·ln 2, p99 ≈ 2·ln 100", () => {
    const rng = new Rng(SEED, "exp");
    const samples = Array.from({ length: 200_000 }, () => rng.exponential(2));
    check("exponential", samples);
    const h = newHistogram();
    for (const v of samples) recordMs(h, v);
    const s = summarize(h);
    expect(s.p50Ms, `seed ${SEED}`).toBeGreaterThan(2 * Math.LN2 * 0.97);
    expect(s.p50Ms, `seed ${SEED}`).toBeLessThan(2 * Math.LN2 * 1.03);
    expect(s.p99Ms, `seed ${SEED}`).toBeGreaterThan(2 * Math.log(100) * 0.95);
    expect(s.p99Ms, `seed ${SEED}`).toBeLessThan(2 * Math.log(100) * 1.05);
  });

  it("bimodal (99% at 1 ms, 1% at 250 ms): p95 sees the fast mode, p99.9 the slow one", () => {
    const rng = new Rng(SEED, "bimodal");
    const samples = Array.from({ length: 100_000 }, () => (rng.float() < 0.01 ? 250 + rng.float() : 1 + rng.float() * 0.01));
    check("bimodal", samples);
    const h = newHistogram();
    for (const v of samples) recordMs(h, v);
    const s = summarize(h);
    expect(s.p95Ms).toBeLessThan(1.1);
    expect(s.p999Ms).toBeGreaterThan(249);
  });

  it("survives the portable encoding", () => {
    const rng = new Rng(SEED, "enc");
    const h = newHistogram();
    for (let i = 0; i < 5000; i++) recordMs(h, rng.exponential(5));
    const back = summarize(decodeHistogram(encodeHistogram(h)));
    const orig = summarize(h);
    // A decoded histogram knows its max only to its bucket (the top of the max's equivalent range).
    expect({ ...back, maxMs: 0 }).toEqual({ ...orig, maxMs: 0 });
    expect(Math.abs(back.maxMs - orig.maxMs)).toBeLessThanOrEqual(orig.maxMs / 1000 + 0.001);
  });

  it("an empty histogram summarises to zeros, not NaN", () => {
    const s = summarize(newHistogram());
    expect(s.samples).toBe(0);
    expect(Object.values(s).every((v) => v === 0)).toBe(true);
  });
});

describe("helpers", () => {
  it("percentile is nearest-rank and median averages the middle pair", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
    expect(percentile([7], 1)).toBe(7);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });

  it("geometric mean ignores non-positive values", () => {
    expect(geometricMean([1, 100])).toBeCloseTo(10, 10);
    expect(geometricMean([2, 8, 0, -1])).toBeCloseTo(4, 10);
    expect(geometricMean([])).toBeNaN();
  });

  it("the bootstrap finds a known factor, and its interval is tight for tight data", () => {
    const rng = new Rng(SEED, "ratio");
    const a = Array.from({ length: 200 }, () => 10_000 * (1 + 0.02 * rng.normal()));
    const b = a.map((x) => x * 1.5 * (1 + 0.01 * rng.normal()));
    const r = medianRatio(a, b, { seed: 3 });
    expect(r.ratio, `seed ${SEED}`).toBeGreaterThan(1.45);
    expect(r.ratio, `seed ${SEED}`).toBeLessThan(1.55);
    expect(r.low).toBeLessThanOrEqual(r.ratio);
    expect(r.high).toBeGreaterThanOrEqual(r.ratio);
    expect(r.low, `seed ${SEED}`).toBeGreaterThan(1.4);
    expect(r.high, `seed ${SEED}`).toBeLessThan(1.6);
    // Same inputs, same seed: the same interval.
    expect(medianRatio(a, b, { seed: 3 })).toEqual(r);
  });

  it("the bootstrap interval of identical sets contains 1", () => {
    const rng = new Rng(SEED, "same");
    const a = Array.from({ length: 100 }, () => 1000 + rng.exponential(100));
    const b = Array.from({ length: 100 }, () => 1000 + rng.exponential(100));
    const r = medianRatio(a, b);
    expect(r.low, `seed ${SEED}`).toBeLessThan(1);
    expect(r.high, `seed ${SEED}`).toBeGreaterThan(1);
  });
});
