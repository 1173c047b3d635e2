/**
 * The result of a `lasso bench` run: every figure, the environment it was measured in, the data and
 * workload it was measured on (so `compare` can refuse apples against oranges), and the checks that
 * the systems agreed. Written with `--json FILE`; `RESULT_SCHEMA` is its JSON Schema, `validateResult`
 * checks a value against it (a small validator for the subset of JSON Schema the schema uses).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import type { KernelBenchResult } from "./kernels.js";
import type { LatencySummary } from "./stats.js";
import { repoRoot } from "./data.js";

export const RESULT_FORMAT = "lasso-bench/1";

export type Mode = "latency" | "throughput" | "rate" | "ids" | "load";
export const MODES: readonly Mode[] = ["latency", "throughput", "rate", "ids", "load"];

export interface Environment {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  os: string;
  lassoVersion: string;
  gitCommit: string;
  /** Uncommitted changes in the working tree when measured. */
  gitDirty: boolean;
  duckdbVersion?: string;
}

export interface QueryFigures {
  id: string;
  op: "count" | "select";
  /** Matching entities. */
  count: number;
  /** Latency as measured (rate mode: from the intended send time, corrected for coordinated omission). */
  latency: LatencySummary;
  /** HdrHistogram, compressed base64, µs. */
  hdr: string;
  /** Raw samples in µs, in order (latency and ids modes; for `compare`'s bootstrap). */
  samplesUs?: number[];
  /** Rate mode: latency from the actual send time (what a closed-loop tool would report). */
  uncorrected?: LatencySummary;
  /** Selects: keys per run and keys per second at the median. */
  ids?: number;
  idsPerSec?: number;
}

export interface RunTotals {
  ops: number;
  errors: number;
  durationS: number;
  opsPerSec: number;
  latency: LatencySummary;
  hdr: string;
  uncorrected?: LatencySummary;
  /** Rate mode: the rate asked for. */
  targetRate?: number;
  firstError?: string;
}

export interface LoadFigures {
  rows: number;
  bytes: number;
  ms: number;
  rowsPerSec: number;
  mbPerSec: number;
  /** What was measured, e.g. "Arrow IPC file → engine" or "CSV → DuckDB table". */
  what: string;
}

export interface RunResult {
  target: string;
  kind: "lasso" | "peer";
  mode: Mode;
  concurrency?: number;
  rate?: number;
  queries: QueryFigures[];
  totals?: RunTotals;
  load?: LoadFigures;
}

export interface Comparison {
  query: string;
  target: string;
  peer: string;
  targetP50Ms: number;
  peerP50Ms: number;
  /** peer p50 / target p50: above 1 means the target is faster. */
  speedup: number;
}

export interface Mismatch {
  query: string;
  /** Target name → its count (or key digest). */
  answers: Record<string, string | number>;
  what: "count" | "ids";
}

export interface BenchResult {
  format: typeof RESULT_FORMAT;
  createdAt: string;
  env: Environment;
  config: {
    mode: Mode;
    targets: string[];
    peer: string | null;
    seed: number;
    warmup: number;
    samples: number;
    maxQuerySeconds: number;
    concurrency?: number[];
    durationS?: number;
    rate?: number;
    engineThreads?: number;
    duckdbThreads?: number;
    duckdbStorage?: string;
  };
  workload: {
    name: string;
    version: string;
    digest: string;
    asOf: string;
    queries: { id: string; shape: string; op: "count" | "select"; expr: string; sql: string; weight: number }[];
  };
  data: {
    source: string;
    entity: string;
    key: string;
    rows: number;
    /** See bench/data.ts: equal fingerprints mean the same data. */
    fingerprint: string;
    fileSha256?: string;
    fixture?: { name: string; rows: number; seed: number; schema: string };
    excludedColumns: { column: string; reason: string }[];
  };
  runs: RunResult[];
  comparisons: Comparison[];
  /** Per lasso target: geometric mean of the speedups over the peer, and the queries slower than it. */
  summary: { target: string; peer: string; geomeanSpeedup: number; slowerThanPeer: string[] }[];
  /** `failures`: queries a system did not answer (error or timeout); they have no figures there. */
  checks: { countsAgree: boolean; idsAgree: boolean; mismatches: Mismatch[]; failures: { query: string; target: string; error: string }[] };
  kernels?: KernelBenchResult[];
  /** Memory and machine load of this process while it ran (bench/run-bench.ts). */
  resources?: ResourceFigures;
  notes: string[];
}

/** /proc/self/status and os.loadavg() at points of a run (Linux; elsewhere RSS figures are 0). */
export interface ResourceSample {
  phase: string;
  /** Milliseconds since the run started. */
  atMs: number;
  rssBytes: number;
  /** Peak RSS of the process so far (VmHWM). */
  peakRssBytes: number;
  /** 1, 5 and 15 minute load averages of the machine. */
  loadAvg: number[];
}

export interface ResourceFigures {
  samples: ResourceSample[];
  /** The engine of this process (local targets), measured when it was ready, before any peer opened. */
  engine?: {
    rows: number;
    /** Tag data in Wasm memory (`stats().bytes`). */
    storeBytes: number;
    /** Sizes of the entity's shard memories (WebAssembly.Memory buffers), when the engine lets the bench see them. */
    wasmMemoryBytes?: number;
    shards?: number;
    /** RSS and peak RSS of the process when the engine was ready, per row. */
    rssBytesPerRow: number;
    peakRssBytesPerRow: number;
    storeBytesPerRow: number;
    wasmBytesPerRow?: number;
  };
}

// ---- environment ---------------------------------------------------------------------------------

export function environment(extra: { duckdbVersion?: string } = {}): Environment {
  const root = repoRoot();
  let lassoVersion = "unknown";
  try {
    lassoVersion = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    // keep unknown
  }
  const git = (args: string[]): string | undefined => {
    try {
      return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  };
  const commit = git(["rev-parse", "HEAD"]) ?? "unknown";
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  const env: Environment = {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    os: `${platform()} ${release()}`,
    lassoVersion,
    gitCommit: commit,
    gitDirty: status === undefined ? false : status.length > 0,
  };
  if (extra.duckdbVersion) env.duckdbVersion = extra.duckdbVersion;
  return env;
}

// ---- JSON Schema ---------------------------------------------------------------------------------

type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";
type JsonSchema = {
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: readonly unknown[];
  const?: unknown;
  minimum?: number;
  minItems?: number;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  $schema?: string;
  $id?: string;
  title?: string;
};

const num: JsonSchema = { type: "number" };
const nonNeg: JsonSchema = { type: "number", minimum: 0 };
const count: JsonSchema = { type: "integer", minimum: 0 };
const str: JsonSchema = { type: "string" };

const latency: JsonSchema = {
  type: "object",
  required: ["samples", "minMs", "meanMs", "p50Ms", "p90Ms", "p95Ms", "p99Ms", "p999Ms", "maxMs"],
  additionalProperties: false,
  properties: {
    samples: count, minMs: nonNeg, meanMs: nonNeg, p50Ms: nonNeg, p90Ms: nonNeg, p95Ms: nonNeg, p99Ms: nonNeg, p999Ms: nonNeg, maxMs: nonNeg,
  },
};

export const RESULT_SCHEMA: JsonSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://github.com/lasso/lasso/bench/result.schema.json",
  title: "lasso bench result",
  type: "object",
  required: ["format", "createdAt", "env", "config", "workload", "data", "runs", "comparisons", "summary", "checks", "notes"],
  additionalProperties: false,
  $defs: { latency },
  properties: {
    format: { const: RESULT_FORMAT },
    createdAt: str,
    env: {
      type: "object",
      required: ["cpu", "cores", "memoryBytes", "node", "os", "lassoVersion", "gitCommit", "gitDirty"],
      additionalProperties: false,
      properties: {
        cpu: str, cores: count, memoryBytes: count, node: str, os: str, lassoVersion: str, gitCommit: str,
        gitDirty: { type: "boolean" }, duckdbVersion: str,
      },
    },
    config: {
      type: "object",
      required: ["mode", "targets", "peer", "seed", "warmup", "samples", "maxQuerySeconds"],
      additionalProperties: false,
      properties: {
        mode: { enum: MODES },
        targets: { type: "array", items: str, minItems: 1 },
        peer: { type: ["string", "null"] },
        seed: count, warmup: count, samples: count, maxQuerySeconds: nonNeg,
        concurrency: { type: "array", items: count },
        durationS: nonNeg, rate: nonNeg, engineThreads: count, duckdbThreads: count, duckdbStorage: str,
      },
    },
    workload: {
      type: "object",
      required: ["name", "version", "digest", "asOf", "queries"],
      additionalProperties: false,
      properties: {
        name: str, version: str, digest: str, asOf: str,
        queries: {
          type: "array", minItems: 1,
          items: {
            type: "object", required: ["id", "shape", "op", "expr", "sql", "weight"], additionalProperties: false,
            properties: { id: str, shape: str, op: { enum: ["count", "select"] }, expr: str, sql: str, weight: nonNeg },
          },
        },
      },
    },
    data: {
      type: "object",
      required: ["source", "entity", "key", "rows", "fingerprint", "excludedColumns"],
      additionalProperties: false,
      properties: {
        source: str, entity: str, key: str, rows: count, fingerprint: str, fileSha256: str,
        fixture: {
          type: "object", required: ["name", "rows", "seed", "schema"], additionalProperties: false,
          properties: { name: str, rows: count, seed: count, schema: str },
        },
        excludedColumns: {
          type: "array",
          items: { type: "object", required: ["column", "reason"], additionalProperties: false, properties: { column: str, reason: str } },
        },
      },
    },
    runs: {
      type: "array",
      items: {
        type: "object",
        required: ["target", "kind", "mode", "queries"],
        additionalProperties: false,
        properties: {
          target: str, kind: { enum: ["lasso", "peer"] }, mode: { enum: MODES }, concurrency: count, rate: nonNeg,
          queries: {
            type: "array",
            items: {
              type: "object",
              required: ["id", "op", "count", "latency", "hdr"],
              additionalProperties: false,
              properties: {
                id: str, op: { enum: ["count", "select"] }, count, latency: { $ref: "#/$defs/latency" }, hdr: str,
                samplesUs: { type: "array", items: count }, uncorrected: { $ref: "#/$defs/latency" }, ids: count, idsPerSec: nonNeg,
              },
            },
          },
          totals: {
            type: "object",
            required: ["ops", "errors", "durationS", "opsPerSec", "latency", "hdr"],
            additionalProperties: false,
            properties: {
              ops: count, errors: count, durationS: nonNeg, opsPerSec: nonNeg, latency: { $ref: "#/$defs/latency" }, hdr: str,
              uncorrected: { $ref: "#/$defs/latency" }, targetRate: nonNeg, firstError: str,
            },
          },
          load: {
            type: "object",
            required: ["rows", "bytes", "ms", "rowsPerSec", "mbPerSec", "what"],
            additionalProperties: false,
            properties: { rows: count, bytes: count, ms: nonNeg, rowsPerSec: nonNeg, mbPerSec: nonNeg, what: str },
          },
        },
      },
    },
    comparisons: {
      type: "array",
      items: {
        type: "object",
        required: ["query", "target", "peer", "targetP50Ms", "peerP50Ms", "speedup"],
        additionalProperties: false,
        properties: { query: str, target: str, peer: str, targetP50Ms: nonNeg, peerP50Ms: nonNeg, speedup: num },
      },
    },
    summary: {
      type: "array",
      items: {
        type: "object",
        required: ["target", "peer", "geomeanSpeedup", "slowerThanPeer"],
        additionalProperties: false,
        properties: { target: str, peer: str, geomeanSpeedup: num, slowerThanPeer: { type: "array", items: str } },
      },
    },
    checks: {
      type: "object",
      required: ["countsAgree", "idsAgree", "mismatches", "failures"],
      additionalProperties: false,
      properties: {
        failures: {
          type: "array",
          items: { type: "object", required: ["query", "target", "error"], additionalProperties: false, properties: { query: str, target: str, error: str } },
        },
        countsAgree: { type: "boolean" },
        idsAgree: { type: "boolean" },
        mismatches: {
          type: "array",
          items: {
            type: "object", required: ["query", "answers", "what"], additionalProperties: false,
            properties: { query: str, what: { enum: ["count", "ids"] }, answers: { type: "object", additionalProperties: { type: ["string", "number"] } } },
          },
        },
      },
    },
    kernels: {
      type: "array",
      items: {
        type: "object",
        required: ["kernel", "form", "rows", "bytes", "ms", "gbps", "scanGbps", "ratio"],
        additionalProperties: false,
        properties: {
          kernel: str, form: { enum: ["simd", "scalar", "baseline"] }, rows: count, bytes: count, ms: nonNeg, gbps: nonNeg,
          scanGbps: nonNeg, ratio: nonNeg, simdSpeedup: nonNeg,
          readBytes: count, writtenBytes: count, kind: { enum: ["bitmap", "predicate", "other"] }, target: nonNeg, samples: count, baseline: str,
          bestMs: nonNeg, baselineBestMs: nonNeg, ratioBest: nonNeg,
        },
      },
    },
    resources: {
      type: "object",
      required: ["samples"],
      additionalProperties: false,
      properties: {
        samples: {
          type: "array",
          items: {
            type: "object", required: ["phase", "atMs", "rssBytes", "peakRssBytes", "loadAvg"], additionalProperties: false,
            properties: { phase: str, atMs: nonNeg, rssBytes: count, peakRssBytes: count, loadAvg: { type: "array", items: nonNeg } },
          },
        },
        engine: {
          type: "object",
          required: ["rows", "storeBytes", "rssBytesPerRow", "peakRssBytesPerRow", "storeBytesPerRow"],
          additionalProperties: false,
          properties: {
            rows: count, storeBytes: count, wasmMemoryBytes: count, shards: count,
            rssBytesPerRow: nonNeg, peakRssBytesPerRow: nonNeg, storeBytesPerRow: nonNeg, wasmBytesPerRow: nonNeg,
          },
        },
      },
    },
    notes: { type: "array", items: str },
  },
};

/**
 * Checks `value` against `schema` (type, const, enum, required, properties, additionalProperties,
 * items, minItems, minimum, local $ref); returns the problems as "path: what", empty when valid.
 */
export function validateAgainst(value: unknown, schema: JsonSchema = RESULT_SCHEMA, root: JsonSchema = schema, path = ""): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/\$defs\//, "");
    const target = root.$defs?.[name];
    if (!target) return [`${path || "/"}: unresolved $ref ${schema.$ref}`];
    return validateAgainst(value, target, root, path);
  }
  const at = path || "/";
  const problems: string[] = [];
  if (schema.const !== undefined && value !== schema.const) return [`${at}: must be ${JSON.stringify(schema.const)}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: must be one of ${JSON.stringify(schema.enum)}`];
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(value, t))) return [`${at}: must be ${types.join(" or ")}, got ${describe(value)}`];
  }
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: must be ≥ ${schema.minimum}`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${at}: needs at least ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => problems.push(...validateAgainst(v, schema.items!, root, `${path}/${i}`)));
  } else if (typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) problems.push(`${at}: missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) problems.push(...validateAgainst(v, sub, root, `${path}/${k}`));
      else if (schema.additionalProperties === false) problems.push(`${path}/${k}: not allowed`);
      else if (typeof schema.additionalProperties === "object") problems.push(...validateAgainst(v, schema.additionalProperties, root, `${path}/${k}`));
    }
  }
  return problems;
}

export function validateResult(value: unknown): string[] {
  return validateAgainst(value, RESULT_SCHEMA, RESULT_SCHEMA);
}

function typeMatches(v: unknown, t: string): boolean {
  switch (t) {
    case "object": return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array": return Array.isArray(v);
    case "string": return typeof v === "string";
    case "number": return typeof v === "number" && !Number.isNaN(v);
    case "integer": return typeof v === "number" && Number.isInteger(v);
    case "boolean": return typeof v === "boolean";
    case "null": return v === null;
    default: return false;
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && Number.isNaN(v)) return "NaN";
  return typeof v;
}
