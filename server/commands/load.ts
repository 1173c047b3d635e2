/**
 * `lasso load FILE --entity E --key COL`: bulk-loads an Arrow IPC file or stream, a Parquet file or a CSV
 * file into a data directory, all-or-nothing and durable, with a progress line on a terminal. Parquet and
 * CSV become Arrow record batches (parquet-load.ts, csv-load.ts) → ipcStream into the same engine.load.
 */
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { resolveDataDir } from "../../engine/catalog/data-dir.js";
import { openEngine } from "../../engine/engine.js";
import { LassoError } from "../../engine/errors.js";
import { fileChunks } from "../../engine/store/file-chunks.js";
import { parseCsvTypes, type CsvType } from "../../engine/store/csv.js";
import { csvLoadBody } from "../csv-load.js";
import { parquetFileBody } from "../parquet-load.js";
import { EXIT_OK, UsageError, type Command } from "./command.js";
import { reportError } from "./offline.js";

type Format = "arrow" | "parquet" | "csv";
const FORMATS: ReadonlySet<string> = new Set<Format>(["arrow", "parquet", "csv"]);

/** The format a file's name says: .parquet and .csv by extension, anything else Arrow IPC. */
function formatOf(file: string): Format {
  const lower = file.toLowerCase();
  if (lower.endsWith(".parquet")) return "parquet";
  if (lower.endsWith(".csv")) return "csv";
  return "arrow";
}

export const command: Command = {
  name: "load",
  summary: "bulk-load an Arrow IPC, Parquet or CSV file into a data directory (upsert, all-or-nothing)",
  usage: `Usage: lasso load FILE --entity E --key COL [--data DIR] [--format arrow|parquet|csv] [--types COL:TYPE,…]

Loads FILE (Arrow IPC file or stream, Parquet, or CSV) into entity E of the data directory. COL is the entity-id
column (Utf8, Int32, Int64, UInt32 or UInt64); every other column is a tag (SEL types: Bool,
Utf8/Dictionary, Int*, UInt*, Float*, Decimal, Date*, Timestamp, List<Utf8>). New keys add entities,
known keys overwrite the given tags, nulls clear them. The load is all-or-nothing: on any error the store
is unchanged.

Parquet (a FILE ending in .parquet, or --format parquet): read a row group at a time; its columns arrive
as the Arrow types above (DECIMAL loads as float, LIST<VARCHAR> as a list). Any compression.

CSV (a FILE ending in .csv, or --format csv): UTF-8, RFC 4180, a header row naming the columns. An empty
field is null ("" is the empty string, or the empty list in a multi column). A column that names an
existing tag takes the tag's type; other columns' types are inferred from the first 10,000 rows: bool
(true/false), int, float, time (ISO 8601, UTC unless an offset is given), else string (an enum tag).
--types overrides; multi (a list, items split on --list-sep) is never inferred. A value that does not fit
its column's type stops the load with its line number.

Options:
  --entity E          entity name (letters of any script, digits, _ - .)
  --key COL           entity-id column
  --data DIR          data directory (env LASSO_DATA; default ./data)
  --format F          arrow, parquet or csv (default: by the extension .parquet or .csv, else arrow)
  --types LIST        CSV column types, e.g. zip:string,interests:multi (bool int float time string multi)
  --list-sep C        CSV multi item separator (default |)
  --quiet             no progress line
`,
  async run(argv) {
    let engine;
    try {
      let parsed;
      try {
        parsed = parseArgs({
          args: argv,
          options: {
            entity: { type: "string" },
            key: { type: "string" },
            data: { type: "string" },
            format: { type: "string" },
            types: { type: "string" },
            "list-sep": { type: "string" },
            quiet: { type: "boolean" },
          },
          allowPositionals: true,
          strict: true,
        });
      } catch (e) {
        throw new UsageError(e instanceof Error ? e.message : String(e));
      }
      const { values, positionals } = parsed;
      if (positionals.length !== 1) throw new UsageError("give exactly one FILE to load");
      if (!values.entity) throw new UsageError("--entity E is required");
      if (!values.key) throw new UsageError("--key COL is required");
      const file = positionals[0]!;
      if (values.format !== undefined && !FORMATS.has(values.format)) {
        throw new UsageError(`--format must be arrow, parquet or csv, got "${values.format}"`);
      }
      const format = (values.format as Format | undefined) ?? formatOf(file);
      if (format !== "csv" && (values.types !== undefined || values["list-sep"] !== undefined)) {
        throw new UsageError("--types and --list-sep apply to CSV only (a .csv file or --format csv)");
      }
      let types: Record<string, CsvType> | undefined;
      try {
        types = values.types === undefined ? undefined : parseCsvTypes(values.types);
      } catch (e) {
        throw new UsageError(`--types: ${e instanceof LassoError ? e.message : String(e)}`);
      }
      const size = statSync(file).size;
      const dataDir = resolveDataDir(values.data);
      engine = await openEngine({ dataDir, threads: 0 });
      const tty = process.stderr.isTTY && !values.quiet;
      let bytes = 0;
      /** Parquet's progress is rows of the footer's count (its bytes are read by range, not in order). */
      let parquetRows = 0;
      const started = performance.now();
      // one reused buffer (the CSV reader decodes each chunk before it asks for the next, as ingest does)
      const chunks = fileChunks(file, (total) => (bytes = total));
      let last = 0;
      const key = values.key;
      const listSeparator = values["list-sep"];
      const body =
        format === "csv"
          ? csvLoadBody(engine, values.entity, chunks, { key, ...(types ? { types } : {}), ...(listSeparator !== undefined ? { listSeparator } : {}) })
          : format === "parquet"
            ? parquetFileBody(file, (rows) => (parquetRows = rows))
            : chunks;
      const r = await engine.load({
        entity: values.entity,
        key,
        body,
        onProgress: (rows) => {
          const now = performance.now();
          if (!tty || now - last < 200) return;
          last = now;
          const fraction = format === "parquet" ? (parquetRows ? rows / parquetRows : null) : size ? bytes / size : null;
          const pct = fraction === null ? "?" : Math.min(100, fraction * 100).toFixed(1);
          const rate = Math.round(rows / ((now - started) / 1000));
          process.stderr.write(`\r  loading ${file}: ${pct}%  ${rows.toLocaleString()} rows  ${rate.toLocaleString()} rows/s   `);
        },
      });
      if (tty) process.stderr.write("\n");
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return EXIT_OK;
    } catch (e) {
      return reportError(e);
    } finally {
      await engine?.close();
    }
  },
};
