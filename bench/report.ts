/**
 * A result as Markdown: the same text is printed on the terminal and written by `--md FILE`
 * (the README's benchmark table is this output).
 */
import { formatKernelTable } from "./kernels.js";
import type { BenchResult, RunResult } from "./result.js";

export function table(head: readonly string[], rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? "l" : "r"));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (a[i] === "l" ? (c ?? "").padEnd(widths[i]!) : (c ?? "").padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (a[i] === "l" ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":")).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

export const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "" : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
export const times = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? "" : `${v < 10 ? v.toFixed(1) : v.toFixed(0)}×`);
const int = (v: number): string => Math.round(v).toLocaleString("en-US");
const rate = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));

function header(r: BenchResult): string {
  const e = r.env;
  const d = r.data;
  const lines = [
    `## lasso bench — ${r.config.mode}, workload ${r.workload.name} ${r.workload.version}`,
    "",
    `- data: ${d.source}, ${int(d.rows)} ${d.entity} rows, fingerprint \`${d.fingerprint.slice(0, 12)}\`` +
      (d.excludedColumns.length ? `; left out: ${d.excludedColumns.map((c) => c.column).join(", ")}` : ""),
    `- machine: ${e.cpu}, ${e.cores} cores, ${(e.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${e.node}, ${e.os}`,
    `- lasso ${e.lassoVersion} @ ${e.gitCommit.slice(0, 10)}${e.gitDirty ? " (uncommitted changes)" : ""}` +
      (e.duckdbVersion ? `; peer DuckDB ${e.duckdbVersion}` + (r.config.duckdbThreads ? ` (${r.config.duckdbThreads} threads, ${r.config.duckdbStorage ?? "file"} storage)` : "") : ""),
    `- seed ${r.config.seed}, warm-up ${r.config.warmup}, asOf ${r.workload.asOf}, ${r.createdAt}`,
  ];
  return lines.join("\n");
}

function latencySection(r: BenchResult): string {
  const runs = r.runs.filter((x) => x.mode === r.config.mode);
  if (runs.length === 0) return "";
  const lasso = runs.filter((x) => x.kind === "lasso");
  const peer = runs.find((x) => x.kind === "peer");
  const first = lasso[0] ?? runs[0]!;
  const head = ["query", "shape", "matches"];
  for (const run of lasso) head.push(`${short(run.target)} p50`, `${short(run.target)} p99`);
  if (peer) head.push(`${peer.target} p50`);
  if (peer) for (const run of lasso) head.push(`${short(run.target)} vs ${peer.target}`);
  const shapes = new Map(r.workload.queries.map((q) => [q.id, q.shape]));
  const rows = first.queries.map((q) => {
    const row = [q.id, shapes.get(q.id) ?? "", int(q.count)];
    for (const run of lasso) {
      const f = run.queries.find((x) => x.id === q.id);
      row.push(ms(f?.latency.p50Ms), ms(f?.latency.p99Ms));
    }
    if (peer) row.push(ms(peer.queries.find((x) => x.id === q.id)?.latency.p50Ms));
    if (peer) {
      for (const run of lasso) {
        row.push(times(r.comparisons.find((c) => c.query === q.id && c.target === run.target && c.peer === peer.target)?.speedup));
      }
    }
    return row;
  });
  const align = head.map((_, i) => (i < 2 ? "l" : "r") as "l" | "r");
  const out = [`### Per-query latency (ms, sequential; "vs" = ${peer?.target ?? "peer"} p50 / Lasso p50, above 1× means Lasso is faster)`, "", table(head, rows, align)];
  for (const s of r.summary) {
    const failed = r.checks.failures.filter((f) => f.target === s.target || f.target === s.peer).map((f) => f.query);
    out.push("", `${short(s.target)} vs ${s.peer}: geometric mean ${times(s.geomeanSpeedup)} faster` +
      (s.slowerThanPeer.length ? `; slower than ${s.peer} on ${s.slowerThanPeer.join(", ")}` : `; no query slower than ${s.peer}`) +
      (failed.length ? ` (no figures for ${[...new Set(failed)].join(", ")}: failed)` : ""));
  }
  const engine = lasso.find((x) => x.target === "engine");
  const remote = lasso.filter((x) => x.target !== "engine");
  if (engine && remote.length > 0) {
    for (const run of remote) {
      const over = run.queries.flatMap((q) => {
        const e = engine.queries.find((x) => x.id === q.id);
        return e ? [q.latency.p50Ms - e.latency.p50Ms] : [];
      }).sort((a, b) => a - b);
      if (over.length) out.push(`${short(run.target)} overhead over the in-process engine (p50 difference): median ${ms(over[Math.floor(over.length / 2)]!)} ms, range ${ms(over[0]!)}…${ms(over[over.length - 1]!)} ms`);
    }
  }
  const selects = runs.flatMap((run) => run.queries.filter((q) => q.idsPerSec !== undefined).map((q) => [q.id, run.target, int(q.ids ?? 0), ms(q.latency.p50Ms), rate(q.idsPerSec!)]));
  if (selects.length) out.push("", "#### Keys streamed", "", table(["query", "target", "keys", "p50 ms", "keys/s"], selects, ["l", "l", "r", "r", "r"]));
  return out.join("\n");
}

function totalsSection(r: BenchResult, title: string, runs: RunResult[]): string {
  if (runs.length === 0) return "";
  const isRate = r.config.mode === "rate";
  const head = isRate
    ? ["target", "conns", "rate asked", "achieved/s", "p50 ms", "p99 ms", "max ms", "p99 uncorrected", "errors"]
    : ["target", "concurrency", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "ops/s vs peer"];
  const peerAt = (c: number | undefined) => runs.find((x) => x.kind === "peer" && x.concurrency === c)?.totals;
  const rows = runs.map((run) => {
    const t = run.totals!;
    const peer = run.kind === "lasso" ? peerAt(run.concurrency) : undefined;
    return isRate
      ? [run.target, String(run.concurrency ?? ""), String(run.rate ?? ""), t.opsPerSec.toFixed(1), ms(t.latency.p50Ms), ms(t.latency.p99Ms), ms(t.latency.maxMs), ms(t.uncorrected?.p99Ms), String(t.errors)]
      : [run.target, String(run.concurrency ?? ""), t.opsPerSec.toFixed(1), ms(t.latency.p50Ms), ms(t.latency.p95Ms), ms(t.latency.p99Ms), ms(t.latency.maxMs), String(t.errors),
        peer && peer.opsPerSec > 0 ? times(t.opsPerSec / peer.opsPerSec) : ""];
  });
  const out = [`### ${title}`, "", table(head, rows)];
  const errors = runs.filter((x) => x.totals?.firstError);
  for (const run of errors) out.push(`${run.target}: first error: ${run.totals!.firstError}`);
  return out.join("\n");
}

function loadSection(r: BenchResult): string {
  const runs = r.runs.filter((x) => x.load);
  if (runs.length === 0) return "";
  const rows = runs.map((run) => {
    const l = run.load!;
    return [run.target, l.what, int(l.rows), (l.bytes / 1e6).toFixed(0), (l.ms / 1000).toFixed(1), rate(l.rowsPerSec), l.mbPerSec.toFixed(0)];
  });
  return ["### Bulk load", "", table(["target", "what", "rows", "MB", "s", "rows/s", "MB/s"], rows, ["l", "l", "r", "r", "r", "r", "r"])].join("\n");
}

function checksSection(r: BenchResult): string {
  const c = r.checks;
  if (r.config.mode === "load") return `Every system loaded the same file${r.data.fileSha256 ? ` (sha256 ${r.data.fileSha256.slice(0, 12)})` : ""}.`;
  const out: string[] = [];
  if (c.failures.length > 0) {
    out.push("**FAILED: some systems gave no answer to some queries (they have no figures there):**", "",
      ...c.failures.map((f) => `- ${f.query} on ${f.target}: ${f.error}`));
  }
  if (c.mismatches.length === 0) {
    const systems = [...new Set(r.runs.map((x) => x.target))].join(", ");
    out.push(`Checks: every ${c.failures.length ? "answered " : ""}query returned the same count${r.workload.queries.some((q) => q.op === "select") ? " and the same keys" : ""} on ${systems}.`);
  } else {
    out.push(
      "**MISMATCH: the systems disagree. A bug in one of them or in the workload's SQL; the figures above do not compare like with like.**",
      "",
      ...c.mismatches.map((m) => `- ${m.query} (${m.what}): ${Object.entries(m.answers).map(([k, v]) => `${k} = ${v}`).join(", ")}`),
    );
  }
  return out.join("\n");
}

/** The whole report. */
export function formatResult(r: BenchResult): string {
  const parts = [header(r)];
  const mode = r.config.mode;
  if (mode === "latency" || mode === "ids") parts.push(latencySection(r));
  if (mode === "throughput") parts.push(totalsSection(r, "Throughput (closed loop, weighted mix)", r.runs.filter((x) => x.totals)));
  if (mode === "rate") parts.push(totalsSection(r, "Open-loop rate (latency from the intended send time: corrected for coordinated omission)", r.runs.filter((x) => x.totals)));
  if (mode === "load") parts.push(loadSection(r));
  parts.push(checksSection(r));
  if (r.resources) parts.push(resourcesSection(r));
  if (r.kernels?.length) {
    parts.push("### Kernels (GB/s beside a same-run baseline moving the same bytes, both uncached)", formatKernelTable(r.kernels));
  }
  if (r.notes.length) parts.push(r.notes.map((n) => `- ${n}`).join("\n"));
  return parts.filter((p) => p !== "").join("\n\n") + "\n";
}

function resourcesSection(r: BenchResult): string {
  const x = r.resources!;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const out = ["### Memory and machine load (this process)", ""];
  const e = x.engine;
  if (e) {
    out.push(`- engine, when ready (before any peer opened): ${int(e.rows)} rows; tag data ${gib(e.storeBytes)} (${e.storeBytesPerRow.toFixed(1)} B/row)`
      + (e.wasmMemoryBytes !== undefined ? `; Wasm memory ${gib(e.wasmMemoryBytes)} in ${e.shards} shards (${e.wasmBytesPerRow!.toFixed(1)} B/row)` : "")
      + `; RSS ${(e.rssBytesPerRow).toFixed(1)} B/row, peak RSS so far ${(e.peakRssBytesPerRow).toFixed(1)} B/row`);
  }
  out.push("", table(["phase", "at s", "RSS", "peak RSS", "load avg 1/5/15"],
    x.samples.map((s) => [s.phase, (s.atMs / 1000).toFixed(0), gib(s.rssBytes), gib(s.peakRssBytes), s.loadAvg.map((v) => v.toFixed(2)).join(" ")])));
  return out.join("\n");
}

function short(target: string): string {
  if (target === "engine" || target === "duckdb") return target;
  return target.startsWith("ws") ? "ws" : target.startsWith("http") ? "http" : target;
}
