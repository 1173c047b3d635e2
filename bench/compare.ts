/**
 * `lasso bench compare A.json B.json`: per query and target, B's median over A's with a 95% bootstrap
 * interval from the raw samples, flagged when the whole interval lies beyond the noise threshold.
 * Also the change relative to the peer (B's Lasso/DuckDB ratio over A's), which cancels a machine that
 * is simply slower or faster today.
 *
 * Refuses (LassoError `bad_request`) to compare results of different formats, modes, workloads
 * (name, version and digest) or data (fingerprint).
 */
import { LassoError } from "../engine/errors.js";
import { table } from "./report.js";
import { RESULT_FORMAT, validateResult, type BenchResult, type RunResult } from "./result.js";
import { medianRatio } from "./stats.js";

export interface CompareRow {
  target: string;
  /** Query id, or "(all)" for a run's totals. */
  query: string;
  /** Context of the run: concurrency or rate. */
  setting: string;
  aMs: number;
  bMs: number;
  /** b / a (latency: above 1 is slower; throughput rows compare ops/s, so above 1 is faster). */
  ratio: number;
  low?: number;
  high?: number;
  /** (b target / b peer) / (a target / a peer). */
  vsPeer?: number;
  verdict: "slower" | "faster" | "same";
  metric: "p50" | "ops/s";
}

export interface CompareOptions {
  /** Changes within ±threshold are noise (default 0.05 = 5%). */
  threshold?: number;
  seed?: number;
}

export function checkComparable(a: BenchResult, b: BenchResult): void {
  const refuse = (what: string) => {
    throw new LassoError("bad_request", `cannot compare these results: ${what}`);
  };
  for (const [name, r] of [["A", a], ["B", b]] as const) {
    if (r.format !== RESULT_FORMAT) refuse(`${name} is format ${String(r.format)}, expected ${RESULT_FORMAT}`);
  }
  if (a.workload.name !== b.workload.name || a.workload.version !== b.workload.version) {
    refuse(`different workloads (${a.workload.name} ${a.workload.version} vs ${b.workload.name} ${b.workload.version})`);
  }
  if (a.workload.digest !== b.workload.digest) refuse(`workload ${a.workload.name} ${a.workload.version} has different queries in the two runs (digest differs)`);
  if (a.data.fingerprint !== b.data.fingerprint) {
    refuse(`different data (fingerprint ${a.data.fingerprint.slice(0, 12)} from ${a.data.source} vs ${b.data.fingerprint.slice(0, 12)} from ${b.data.source})`);
  }
  if (a.config.mode !== b.config.mode) refuse(`different modes (${a.config.mode} vs ${b.config.mode})`);
}

function settingOf(run: RunResult): string {
  return run.rate !== undefined ? `@${run.rate}/s` : run.concurrency !== undefined ? `×${run.concurrency}` : "";
}

export function compareResults(a: BenchResult, b: BenchResult, opts: CompareOptions = {}): CompareRow[] {
  checkComparable(a, b);
  const thr = opts.threshold ?? 0.05;
  const rows: CompareRow[] = [];
  const peerOf = (r: BenchResult, setting: string) => r.runs.find((x) => x.kind === "peer" && settingOf(x) === setting);
  const verdictOf = (ratio: number, low: number | undefined, high: number | undefined, higherIsWorse: boolean): CompareRow["verdict"] => {
    const worse = (x: number) => (higherIsWorse ? x > 1 + thr : x < 1 - thr);
    const better = (x: number) => (higherIsWorse ? x < 1 - thr : x > 1 + thr);
    if (low !== undefined && high !== undefined && !Number.isNaN(low)) {
      // The whole interval must lie beyond the threshold.
      if (worse(higherIsWorse ? low : high)) return higherIsWorse ? "slower" : "slower";
      if (better(higherIsWorse ? high : low)) return "faster";
      return "same";
    }
    // No spread known: demand twice the threshold.
    const far = Math.abs(ratio - 1) > 2 * thr;
    if (!far) return "same";
    return (higherIsWorse ? ratio > 1 : ratio < 1) ? "slower" : "faster";
  };
  for (const runB of b.runs) {
    const setting = settingOf(runB);
    const runA = a.runs.find((x) => x.target === runB.target && x.mode === runB.mode && settingOf(x) === setting);
    if (!runA) continue;
    const peerA = peerOf(a, setting);
    const peerB = peerOf(b, setting);
    for (const qb of runB.queries) {
      const qa = runA.queries.find((x) => x.id === qb.id);
      if (!qa) continue;
      const spread = qa.samplesUs && qb.samplesUs ? medianRatio(qa.samplesUs, qb.samplesUs, { seed: opts.seed ?? 1 }) : undefined;
      const ratio = spread?.ratio ?? qb.latency.p50Ms / qa.latency.p50Ms;
      const row: CompareRow = {
        target: runB.target, query: qb.id, setting, aMs: qa.latency.p50Ms, bMs: qb.latency.p50Ms, ratio,
        verdict: verdictOf(ratio, spread?.low, spread?.high, true), metric: "p50",
      };
      if (spread && !Number.isNaN(spread.low)) {
        row.low = spread.low;
        row.high = spread.high;
      }
      const pa = peerA?.queries.find((x) => x.id === qb.id);
      const pb = peerB?.queries.find((x) => x.id === qb.id);
      if (runB.kind === "lasso" && pa && pb) row.vsPeer = (qb.latency.p50Ms / pb.latency.p50Ms) / (qa.latency.p50Ms / pa.latency.p50Ms);
      rows.push(row);
    }
    if (runA.totals && runB.totals) {
      const ratio = runB.totals.opsPerSec / runA.totals.opsPerSec;
      rows.push({
        target: runB.target, query: "(all)", setting, aMs: runA.totals.latency.p50Ms, bMs: runB.totals.latency.p50Ms, ratio,
        verdict: verdictOf(ratio, undefined, undefined, false), metric: "ops/s",
      });
    }
  }
  return rows;
}

export function formatComparison(a: BenchResult, b: BenchResult, rows: readonly CompareRow[], threshold = 0.05): string {
  const pct = (x: number) => `${x >= 1 ? "+" : ""}${((x - 1) * 100).toFixed(1)}%`;
  const body = rows.map((r) => [
    r.target + (r.setting ? ` ${r.setting}` : ""), r.query, r.metric, r.aMs.toFixed(3), r.bMs.toFixed(3), pct(r.ratio),
    r.low !== undefined && r.high !== undefined ? `${pct(r.low)} … ${pct(r.high)}` : "",
    r.vsPeer !== undefined ? pct(r.vsPeer) : "",
    r.verdict === "same" ? "" : r.verdict === "slower" ? "SLOWER" : "faster",
  ]);
  const flagged = rows.filter((r) => r.verdict !== "same");
  return [
    `A: ${a.createdAt} @ ${a.env.gitCommit.slice(0, 10)}${a.env.gitDirty ? "+" : ""} (${a.env.cpu})`,
    `B: ${b.createdAt} @ ${b.env.gitCommit.slice(0, 10)}${b.env.gitDirty ? "+" : ""} (${b.env.cpu})`,
    `workload ${a.workload.name} ${a.workload.version}, data ${a.data.fingerprint.slice(0, 12)}; change = B / A (p50 for queries, ops/s for totals); ` +
      `95% bootstrap interval; flagged when the interval lies beyond ±${(threshold * 100).toFixed(0)}%`,
    "",
    table(["target", "query", "metric", "A ms", "B ms", "change", "95% interval", "vs peer", "flag"], body,
      ["l", "l", "l", "r", "r", "r", "r", "r", "l"]),
    "",
    flagged.length === 0 ? "No change beyond noise." : `${flagged.length} change(s) beyond noise: ${flagged.map((r) => `${r.query} on ${r.target} ${r.verdict}`).join("; ")}`,
    "",
  ].join("\n");
}

/** Reads and validates a result file. */
export function parseResultFile(text: string, name: string): BenchResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LassoError("bad_json", `${name}: ${(e as Error).message}`);
  }
  const problems = validateResult(json);
  if (problems.length > 0) {
    throw new LassoError("bad_request", `${name} is not a lasso bench result: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ""}`);
  }
  return json as BenchResult;
}
