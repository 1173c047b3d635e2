/**
 * `lasso gen`: writes a seeded synthetic tag data set (fixtures/) as an Arrow IPC file.
 *
 *   lasso gen --size 10m --out users-10m.arrow
 *   lasso gen --rows 250000 --seed 7 --schema narrow --out small.arrow
 */
import { parseArgs } from "node:util";
import { FIXTURE_NOW_ISO, KEY_COLUMN, SIZES, tagsOf, writeFixture, type SchemaName, type SizeName } from "../../fixtures/generate.js";
import { parseRowCount } from "../../fixtures/schema.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Command } from "./command.js";

const SIZE_NAMES = Object.keys(SIZES) as SizeName[];

const usage = `Usage: lasso gen (--rows N | --size ${SIZE_NAMES.join("|")}) --out FILE.arrow [options]

Writes a synthetic, seeded tag data set as an Arrow IPC file: key column ${KEY_COLUMN} (Int64) and ~100 tags
of every SEL type (bool, enum, int, float, time, multi) with realistic skew, nulls and correlations.
Times are relative to ${FIXTURE_NOW_ISO}: query with asOf = that instant for stable WITHIN answers.
The same seed, size and schema always give the same file.

Options:
  --rows N              number of rows (e.g. 250000, 2_500_000, 500k, 3m)
  --size NAME           a named size: ${SIZE_NAMES.map((s) => `${s} (${SIZES[s].toLocaleString("en-US")})`).join(", ")}
  --out FILE            the Arrow IPC file to write (required; replaced if it exists)
  --seed S              random seed, a whole number (default 42)
  --schema NAME         standard (~100 tags) or narrow (~30 tags); default standard, narrow for --size 100m
  --batch-rows N        rows per record batch (default 65536)
  --help                show this text

Examples:
  lasso gen --size small --out fixtures/small.arrow
  lasso gen --size 10m --seed 1 --out /data/users-10m.arrow
  lasso load users-10m.arrow --entity user --key ${KEY_COLUMN}
`;


function parseCount(flag: string, text: string): number {
  const n = parseRowCount(text);
  if (n === null) throw new UsageError(`${flag} must be a whole number (like 250000, 2_500_000, 500k or 3m), got "${text}"`);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} is too large: "${text}"`);
  return n;
}

interface GenFlags {
  rows: number;
  out: string;
  seed: number;
  schema: SchemaName;
  batchRows?: number;
}

/** Flags → options, or a UsageError naming what is wrong and what would be valid. Null means --help. */
export function parseGenFlags(argv: string[]): GenFlags | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        rows: { type: "string" },
        size: { type: "string" },
        out: { type: "string" },
        seed: { type: "string" },
        schema: { type: "string" },
        "batch-rows": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return null;
  if (values.rows !== undefined && values.size !== undefined) throw new UsageError("give --rows or --size, not both");
  if (values.rows === undefined && values.size === undefined) throw new UsageError(`give --rows N or --size ${SIZE_NAMES.join("|")}`);
  let rows: number;
  if (values.size !== undefined) {
    const size = values.size.toLowerCase() as SizeName;
    if (!SIZE_NAMES.includes(size)) throw new UsageError(`--size must be one of ${SIZE_NAMES.join(", ")}, got "${values.size}"`);
    rows = SIZES[size];
  } else {
    rows = parseCount("--rows", values.rows!);
  }
  if (values.out === undefined || values.out === "") throw new UsageError("--out FILE.arrow is required");
  const seed = values.seed === undefined ? 42 : parseCount("--seed", values.seed);
  const schemaText = values.schema ?? (values.size?.toLowerCase() === "100m" ? "narrow" : "standard");
  if (schemaText !== "standard" && schemaText !== "narrow") {
    throw new UsageError(`--schema must be standard or narrow, got "${schemaText}"`);
  }
  const flags: GenFlags = { rows, out: values.out, seed, schema: schemaText };
  if (values["batch-rows"] !== undefined) {
    const b = parseCount("--batch-rows", values["batch-rows"]);
    if (b < 1) throw new UsageError("--batch-rows must be at least 1");
    flags.batchRows = b;
  }
  return flags;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

function bytesText(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

function durationText(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A one-line progress bar redrawn in place on a TTY: bar, %, rows, rows/s, ETA. */
function progressBar(stream: NodeJS.WriteStream): { update(done: number, total: number): void; clear(): void } {
  const t0 = performance.now();
  let last = 0;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total === 0 ? 1 : done / total;
      const width = 24;
      const filled = Math.round(frac * width);
      const rate = done / Math.max((now - t0) / 1000, 1e-3);
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ` +
        `${fmt(done)}/${fmt(total)} rows  ${fmt(rate)} rows/s  ETA ${durationText(eta)}`;
      stream.write(`\r${line.slice(0, Math.max((stream.columns || 120) - 1, 20))}\x1b[K`);
    },
    clear() {
      stream.write("\r\x1b[K");
    },
  };
}

export const command: Command = {
  name: "gen",
  summary: "write a seeded synthetic tag data set (Arrow IPC file)",
  usage,
  async run(argv) {
    let flags: GenFlags | null;
    try {
      flags = parseGenFlags(argv);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`lasso gen: ${e.message}\nRun \`lasso gen --help\` for the options.\n`);
      return EXIT_USAGE;
    }
    if (flags === null) {
      process.stdout.write(usage);
      return EXIT_OK;
    }
    const bar = process.stderr.isTTY ? progressBar(process.stderr) : null;
    try {
      const result = await writeFixture(flags.out, {
        rows: flags.rows,
        seed: flags.seed,
        schema: flags.schema,
        ...(flags.batchRows !== undefined ? { batchRows: flags.batchRows } : {}),
        ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {}),
      });
      bar?.clear();
      const secs = result.ms / 1000;
      process.stdout.write(
        `wrote ${flags.out}: ${fmt(result.rows)} rows × ${tagsOf(flags.schema).length} tags (${flags.schema}, seed ${flags.seed}), ` +
          `${bytesText(result.bytes)} in ${secs.toFixed(1)} s (${fmt(result.rows / Math.max(secs, 1e-3))} rows/s)\n`,
      );
      return EXIT_OK;
    } catch (e) {
      bar?.clear();
      const err = e as NodeJS.ErrnoException;
      const why = err.code === "ENOENT" ? "its folder does not exist"
        : err.code === "EACCES" || err.code === "EPERM" ? "permission denied"
        : err.code === "ENOSPC" ? "the disk is full"
        : err.message;
      process.stderr.write(`lasso gen: cannot write ${flags.out}: ${why}\n`);
      return EXIT_FAILURE;
    }
  },
};
