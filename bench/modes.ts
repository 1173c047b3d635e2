/**
 * The measuring loops. Each takes targets and prepared queries and returns figures; none knows about
 * files, flags or terminals (bench/run-bench.ts wires those).
 *
 * - latency: sequential; per query, warm-up runs, then samples until `samples` or `maxQuerySeconds`
 *   (at least MIN_SAMPLES). Each query runs on every target back to back, so slow drift of a noisy
 *   machine hits the systems alike and their ratio stays honest.
 * - throughput: closed loop, `concurrency` callers, each picking queries by weight, for `durationS`.
 * - rate: open loop at `rate` requests/s from `concurrency` connections, wrk2-style: each request has an
 *   intended send time on a fixed schedule, and its latency is measured from that time, not from when a
 *   free connection got round to sending it. A stall then shows as the queue of requests it delayed
 *   (coordinated omission corrected), not as one slow sample.
 * - ids: the select queries; keys per second streamed to the caller.
 */
import { Rng } from "../fixtures/prng.js";
import { runBounded, type BenchQuery, type Target } from "./targets.js";
import { encodeHistogram, newHistogram, recordMs, summarize, type Histogram } from "./stats.js";
import type { QueryFigures, RunTotals } from "./result.js";
import { WeightedPicker } from "./workload.js";

/** A latency run stops after `maxQuerySeconds` but never below this many samples (or `samples`, if fewer). */
export const MIN_SAMPLES = 5;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms))),
};

export interface WeightedQuery extends BenchQuery {
  weight: number;
}

export type ProgressFn = (text: string) => void;

export interface LatencyOptions {
  warmup: number;
  samples: number;
  maxQuerySeconds: number;
  onProgress?: ProgressFn;
  /** Called as each query finishes on each target. */
  onResult?: (target: Target, figures: QueryFigures) => void;
  /** A run without an answer after this long fails (default: none). */
  queryTimeoutMs?: number;
  /** `target\0query` pairs not to run (they failed already). */
  skip?: ReadonlySet<string>;
  /** A query failed on a target: it gets no figures there, the others go on. */
  onFailure?: (target: Target, q: BenchQuery, error: Error) => void;
  clock?: Clock;
}

export const pairKey = (target: string, query: string): string => `${target}\0${query}`;

export interface LatencyRun {
  target: Target;
  queries: QueryFigures[];
}

/** Runs every query on every target (in that nesting), sequentially. */
export async function runLatency(targets: readonly Target[], queries: readonly BenchQuery[], opts: LatencyOptions): Promise<LatencyRun[]> {
  const clock = opts.clock ?? realClock;
  const out = targets.map((target) => ({ target, queries: [] as QueryFigures[] }));
  const timeout = opts.queryTimeoutMs ?? 0;
  for (const [qi, q] of queries.entries()) {
    for (const [ti, target] of targets.entries()) {
      if (opts.skip?.has(pairKey(target.name, q.id))) continue;
      try {
        const fig = await sampleQuery(target, q, `${q.id} on ${target.name} (${qi + 1}/${queries.length})`, timeout, clock, opts);
        out[ti]!.queries.push(fig);
        opts.onResult?.(target, fig);
      } catch (e) {
        opts.onFailure?.(target, q, e as Error);
      }
    }
  }
  return out;
}

async function sampleQuery(target: Target, q: BenchQuery, label: string, timeout: number, clock: Clock, opts: LatencyOptions): Promise<QueryFigures> {
  // Slow queries need fewer warm-up runs (one run already warms caches and the JIT): stop after
  // half the sampling budget.
  const warmStart = clock.now();
  for (let i = 0; i < opts.warmup && (i === 0 || clock.now() - warmStart < (opts.maxQuerySeconds * 1000) / 2); i++) {
    opts.onProgress?.(`${label}: warm-up ${i + 1}/${opts.warmup}`);
    await runBounded(target, q, timeout);
  }
  const h = newHistogram();
  const samples: number[] = [];
  let count = 0;
  let ids: number | undefined;
  const started = clock.now();
  const least = Math.min(MIN_SAMPLES, opts.samples);
  while (samples.length < opts.samples && (samples.length < least || clock.now() - started < opts.maxQuerySeconds * 1000)) {
    const t0 = clock.now();
    const a = await runBounded(target, q, timeout);
    const ms = clock.now() - t0;
    recordMs(h, ms);
    samples.push(Math.max(1, Math.round(ms * 1000)));
    count = a.count;
    if (a.ids !== undefined) ids = a.ids;
    if (samples.length % 5 === 0 || samples.length === opts.samples) {
      opts.onProgress?.(`${label}: ${samples.length}/${opts.samples} samples, last ${ms.toFixed(2)} ms`);
    }
  }
  const latency = summarize(h);
  const fig: QueryFigures = { id: q.id, op: q.op, count, latency, hdr: encodeHistogram(h), samplesUs: samples };
  if (ids !== undefined) {
    fig.ids = ids;
    fig.idsPerSec = latency.p50Ms > 0 ? ids / (latency.p50Ms / 1000) : 0;
  }
  return fig;
}

interface Recorder {
  perQuery: Map<string, { h: Histogram; u?: Histogram; count: number; op: BenchQuery["op"]; ids?: number }>;
  total: Histogram;
  uncorrected?: Histogram;
  ops: number;
  errors: number;
  firstError?: string;
}

function recorder(corrected: boolean): Recorder {
  const r: Recorder = { perQuery: new Map(), total: newHistogram(), ops: 0, errors: 0 };
  if (corrected) r.uncorrected = newHistogram();
  return r;
}

function record(r: Recorder, q: BenchQuery, ms: number, count: number, ids: number | undefined, uncorrectedMs?: number): void {
  let e = r.perQuery.get(q.id);
  if (!e) {
    e = { h: newHistogram(), count, op: q.op };
    if (r.uncorrected) e.u = newHistogram();
    r.perQuery.set(q.id, e);
  }
  recordMs(e.h, ms);
  recordMs(r.total, ms);
  if (uncorrectedMs !== undefined) {
    recordMs(e.u!, uncorrectedMs);
    recordMs(r.uncorrected!, uncorrectedMs);
  }
  e.count = count;
  if (ids !== undefined) e.ids = ids;
  r.ops++;
}

function figures(r: Recorder, order: readonly BenchQuery[]): QueryFigures[] {
  const out: QueryFigures[] = [];
  for (const q of order) {
    const e = r.perQuery.get(q.id);
    if (!e) continue;
    const f: QueryFigures = { id: q.id, op: e.op, count: e.count, latency: summarize(e.h), hdr: encodeHistogram(e.h) };
    if (e.u) f.uncorrected = summarize(e.u);
    if (e.ids !== undefined) f.ids = e.ids;
    out.push(f);
  }
  return out;
}

function totals(r: Recorder, seconds: number): RunTotals {
  const t: RunTotals = {
    ops: r.ops, errors: r.errors, durationS: seconds, opsPerSec: seconds > 0 ? r.ops / seconds : 0,
    latency: summarize(r.total), hdr: encodeHistogram(r.total),
  };
  if (r.uncorrected) t.uncorrected = summarize(r.uncorrected);
  if (r.firstError) t.firstError = r.firstError;
  return t;
}

/** The query sequence a seeded run issues: the same seed, weights and length give the same sequence. */
export function querySequence(queries: readonly WeightedQuery[], seed: number, stream: string): () => WeightedQuery {
  const rng = new Rng(seed, stream);
  const picker = new WeightedPicker(queries, () => rng.float());
  return () => picker.pick();
}

export interface ThroughputOptions {
  concurrency: number;
  queryTimeoutMs?: number;
  durationS: number;
  seed: number;
  onProgress?: ProgressFn;
  clock?: Clock;
}

/** Closed loop: `concurrency` callers, each sending its next query as soon as the last one answered. */
export async function runThroughput(target: Target, queries: readonly WeightedQuery[], opts: ThroughputOptions): Promise<{ queries: QueryFigures[]; totals: RunTotals }> {
  const clock = opts.clock ?? realClock;
  const r = recorder(false);
  const start = clock.now();
  const end = start + opts.durationS * 1000;
  let stop = false;
  const ticker = opts.onProgress ? setInterval(() => {
    const s = (clock.now() - start) / 1000;
    opts.onProgress!(`${target.name} ×${opts.concurrency}: ${s.toFixed(0)}/${opts.durationS} s, ${r.ops} ops, ${(r.ops / Math.max(s, 1e-3)).toFixed(0)} ops/s`);
  }, 250) : undefined;
  const caller = async (k: number) => {
    const next = querySequence(queries, opts.seed, `bench/throughput/${k}`);
    while (!stop && clock.now() < end) {
      const q = next();
      const t0 = clock.now();
      try {
        const a = await runBounded(target, q, opts.queryTimeoutMs ?? 0);
        record(r, q, clock.now() - t0, a.count, a.ids);
      } catch (e) {
        r.errors++;
        r.firstError ??= (e as Error).message;
        if (r.errors > 100 && r.errors > r.ops) stop = true; // a broken target: do not spin for the whole duration
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, (_, k) => caller(k)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const seconds = (clock.now() - start) / 1000;
  return { queries: figures(r, queries), totals: totals(r, seconds) };
}

export interface RateOptions {
  queryTimeoutMs?: number;
  /** Requests per second, over all connections. */
  rate: number;
  durationS: number;
  /** Connections (requests in flight at most). */
  concurrency: number;
  seed: number;
  onProgress?: ProgressFn;
  clock?: Clock;
}

/**
 * Open loop at a fixed rate (wrk2's model): request i is due at start + i / rate; a free connection takes
 * the next due request, waits for its due time if it is early, sends, and records
 * latency = answer time − due time (corrected) beside answer time − send time (uncorrected).
 */
export async function runRate(target: Target, queries: readonly WeightedQuery[], opts: RateOptions): Promise<{ queries: QueryFigures[]; totals: RunTotals }> {
  const clock = opts.clock ?? realClock;
  const r = recorder(true);
  const total = Math.max(1, Math.floor(opts.rate * opts.durationS));
  const intervalMs = 1000 / opts.rate;
  const next = querySequence(queries, opts.seed, "bench/rate");
  const sequence = Array.from({ length: total }, () => next());
  let issued = 0;
  const start = clock.now();
  const ticker = opts.onProgress ? setInterval(() => {
    const s = (clock.now() - start) / 1000;
    opts.onProgress!(`${target.name} @${opts.rate}/s: ${s.toFixed(0)}/${opts.durationS} s, ${r.ops} done, ${issued - r.ops - r.errors} in flight`);
  }, 250) : undefined;
  const connection = async () => {
    for (;;) {
      const i = issued++;
      if (i >= total) return;
      const due = start + i * intervalMs;
      // Timers may fire a little early against performance.now(): sleep until the due time has passed.
      for (let wait = due - clock.now(); wait > 0; wait = due - clock.now()) await clock.sleep(wait);
      const q = sequence[i]!;
      const sent = clock.now();
      try {
        const a = await runBounded(target, q, opts.queryTimeoutMs ?? 0);
        const done = clock.now();
        record(r, q, done - due, a.count, a.ids, done - sent);
      } catch (e) {
        r.errors++;
        r.firstError ??= (e as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, () => connection()));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const seconds = (clock.now() - start) / 1000;
  const t = totals(r, seconds);
  t.targetRate = opts.rate;
  return { queries: figures(r, queries), totals: t };
}

/**
 * A deterministic clock for tests: time moves only when every task is waiting on `sleep`, straight to
 * the earliest wake-up. `run(main)` drives it until `main` settles.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers: { at: number; seq: number; wake: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, wake });
    });
  }

  async run<T>(main: () => Promise<T>): Promise<T> {
    let settled = false;
    const p = main().finally(() => (settled = true));
    for (;;) {
      // Let every ready task run until all are parked on a timer (or done).
      await new Promise<void>((r) => setImmediate(r));
      if (settled) return p;
      if (this.timers.length === 0) {
        await new Promise<void>((r) => setImmediate(r));
        if (settled) return p;
        throw new Error("VirtualClock: every task is blocked and no timer is pending");
      }
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const first = this.timers.shift()!;
      this.t = Math.max(this.t, first.at);
      first.wake();
    }
  }
}
