/**
 * Latency statistics for the benchmark: HDR histograms (hdr-histogram-js) in microseconds, their
 * summaries in milliseconds, and the spread of a median ratio by a seeded bootstrap (for `compare`).
 *
 * Latencies are recorded in whole microseconds: HDR histograms hold integers, and a microsecond is far
 * below the noise of anything measured here. Three significant digits keep every percentile within
 * 0.1% of the recorded value.
 */
import * as hdr from "hdr-histogram-js";
import { Rng } from "../fixtures/prng.js";

export type Histogram = hdr.Histogram;

/** Longest latency a histogram tracks before it resizes (it auto-resizes; this only sizes it well). */
const HIGHEST_US = 3_600_000_000;
const SIGNIFICANT_DIGITS = 3;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    bitBucketSize: 32,
    useWebAssembly: false,
  });
}

/** Records a latency given in milliseconds (rounded to the microsecond, at least 1 µs). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export interface LatencySummary {
  samples: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const toMs = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) {
    return { samples: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  }
  return {
    samples: h.totalCount,
    minMs: toMs(h.minNonZeroValue),
    meanMs: Math.round(h.mean) / 1000,
    p50Ms: toMs(h.getValueAtPercentile(50)),
    p90Ms: toMs(h.getValueAtPercentile(90)),
    p95Ms: toMs(h.getValueAtPercentile(95)),
    p99Ms: toMs(h.getValueAtPercentile(99)),
    p999Ms: toMs(h.getValueAtPercentile(99.9)),
    maxMs: toMs(h.maxValue),
  };
}

/** The histogram in HdrHistogram's portable form (compressed, base64): other HDR tools read it. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(text: string): Histogram {
  return hdr.decodeFromCompressedBase64(text, 32, false);
}

/** Exact percentile of raw samples (nearest rank, as HDR reports it): for tests and the bootstrap. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export function geometricMean(values: readonly number[]): number {
  const ok = values.filter((v) => v > 0 && Number.isFinite(v));
  if (ok.length === 0) return Number.NaN;
  return Math.exp(ok.reduce((s, v) => s + Math.log(v), 0) / ok.length);
}

export interface RatioSpread {
  /** median(b) / median(a). */
  ratio: number;
  /** 95% bootstrap interval of that ratio. */
  low: number;
  high: number;
}

/**
 * The ratio of medians of two sample sets with a 95% percentile-bootstrap interval: resample each set
 * with replacement `rounds` times (seeded, so the same files give the same interval), take the ratio of
 * the resampled medians, and report its 2.5th and 97.5th percentiles.
 */
export function medianRatio(a: ArrayLike<number>, b: ArrayLike<number>, opts: { rounds?: number; seed?: number } = {}): RatioSpread {
  const ratio = median(b) / median(a);
  if (a.length < 2 || b.length < 2) return { ratio, low: Number.NaN, high: Number.NaN };
  const rounds = opts.rounds ?? 2000;
  const rng = new Rng(opts.seed ?? 1, "bench/bootstrap");
  const ra = new Float64Array(a.length);
  const rb = new Float64Array(b.length);
  const ratios = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < ra.length; i++) ra[i] = a[rng.below(a.length)]!;
    for (let i = 0; i < rb.length; i++) rb[i] = b[rng.below(b.length)]!;
    ratios[r] = median(rb) / median(ra);
  }
  ratios.sort();
  return { ratio, low: percentile(ratios, 2.5), high: percentile(ratios, 97.5) };
}
