import type { KeyTextFormat } from "../../engine/api.js";
import { EXIT_OK, UsageError, type Command } from "./command.js";
import { SOURCE_FLAGS, openOffline, reportError } from "./offline.js";

export const command: Command = {
  name: "select",
  summary: "print the keys of the entities matching a segment expression (offline)",
  usage: `Usage: lasso select [options] EXPR

Streams the matching entity keys to stdout, one per line (or as CSV / NDJSON), in row order.
The count goes to stderr.

${SOURCE_FLAGS}
Output:
  --limit N           at most N keys (the count is still the full number)
  --format F          lines (default), csv (RFC 4180: header "id", CRLF line ends), ndjson
`,
  async run(argv) {
    let o;
    try {
      o = await openOffline(argv, { limit: { type: "string" }, format: { type: "string" } });
      const limitText = o.values["limit"] as string | undefined;
      const limit = limitText === undefined ? undefined : Number(limitText);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new UsageError("--limit must be a non-negative integer");
      const format = (o.values["format"] as string | undefined) ?? "lines";
      if (!["lines", "csv", "ndjson"].includes(format)) throw new UsageError(`--format must be lines, csv or ndjson, got "${format}"`);
      const sel = await o.engine.select({ entity: o.entity, expr: o.expr, asOf: o.asOf, limit });
      process.stderr.write(`${sel.count} of ${sel.total} entities match\n`);
      if (format === "csv") process.stdout.write("id\r\n");
      for await (const chunk of sel.batches()) {
        if (!process.stdout.write(chunk.text(format as KeyTextFormat, false))) await new Promise((r) => process.stdout.once("drain", r));
      }
      return EXIT_OK;
    } catch (e) {
      return reportError(e);
    } finally {
      await o?.engine.close();
    }
  },
};
