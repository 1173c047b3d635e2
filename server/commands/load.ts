/**
 * `lasso load FILE --entity E --key COL`: bulk-loads an Arrow IPC file or stream into a data directory,
 * all-or-nothing and durable, with a progress line on a terminal.
 */
import { createReadStream, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { openEngine } from "../../engine/engine.js";
import { EXIT_OK, UsageError, type Command } from "./command.js";
import { reportError } from "./offline.js";

export const command: Command = {
  name: "load",
  summary: "bulk-load an Arrow IPC file into a data directory (upsert, all-or-nothing)",
  usage: `Usage: lasso load FILE --entity E --key COL [--data DIR]

Loads FILE (Arrow IPC file or stream) into entity E of the data directory. COL is the entity-id column
(Utf8, Int32, Int64, UInt32 or UInt64); every other column is a tag (SEL types: Bool, Utf8/Dictionary,
Int*, UInt*, Float*, Decimal, Date*, Timestamp, List<Utf8>). New keys add entities, known keys overwrite
the given tags, nulls clear them. The load is all-or-nothing: on any error the store is unchanged.

Options:
  --entity E          entity name (letters, digits, _ - .)
  --key COL           entity-id column
  --data DIR          data directory (env LASSO_DATA; default ./data)
  --quiet             no progress line
`,
  async run(argv) {
    let engine;
    try {
      let parsed;
      try {
        parsed = parseArgs({
          args: argv,
          options: { entity: { type: "string" }, key: { type: "string" }, data: { type: "string" }, quiet: { type: "boolean" } },
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
      const size = statSync(file).size;
      const dataDir = values.data ?? process.env["LASSO_DATA"] ?? "./data";
      engine = await openEngine({ dataDir, threads: 0 });
      const tty = process.stderr.isTTY && !values.quiet;
      let bytes = 0;
      const started = performance.now();
      const stream = createReadStream(file, { highWaterMark: 1 << 20 });
      stream.on("data", (c) => (bytes += c.length));
      let last = 0;
      const r = await engine.load({
        entity: values.entity,
        key: values.key,
        body: stream,
        onProgress: (rows) => {
          const now = performance.now();
          if (!tty || now - last < 200) return;
          last = now;
          const pct = size ? Math.min(100, (bytes / size) * 100).toFixed(1) : "?";
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
