/**
 * Shared by the offline query commands (count, select, explain): open an engine over a data directory
 * (`--data DIR`, env LASSO_DATA, default ./data) or over an Arrow IPC file loaded into memory
 * (`--file F.arrow --key COL [--entity E]`), and read the expression from the arguments or stdin.
 */
import { parseArgs } from "node:util";
import type { Engine } from "../../engine/api.js";
import { LassoError } from "../../engine/errors.js";
import { resolveDataDir } from "../../engine/catalog/data-dir.js";
import { openEngine } from "../../engine/engine.js";
import { fileChunks } from "../../engine/store/file-chunks.js";
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from "./command.js";

export const SOURCE_FLAGS = `Data (one of):
  --data DIR          data directory (env LASSO_DATA; default ./data)
  --file F.arrow      an Arrow IPC file or stream, loaded into memory (needs --key)
  --key COL           the entity-id column of --file
  --entity E          entity name (default: the only one; with --file, "user")
Query:
  EXPR                SEL text (quote it), or JSON form; "-" or nothing reads stdin
  --as-of TIME        pin now (ISO 8601) for WITHIN and @segments
  --threads N         worker threads (default: one per core)`;

export interface Offline {
  engine: Engine;
  entity?: string;
  expr: string | object;
  asOf?: string;
  values: Record<string, string | boolean | undefined>;
}


export async function openOffline(argv: string[], extra: Record<string, { type: "string" | "boolean" }> = {}): Promise<Offline> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        data: { type: "string" },
        file: { type: "string" },
        key: { type: "string" },
        entity: { type: "string" },
        "as-of": { type: "string" },
        threads: { type: "string" },
        ...extra,
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  const v = values as Record<string, string | boolean | undefined>;
  if (positionals.length > 1) throw new UsageError(`one expression expected, got ${positionals.length} arguments (quote the expression)`);
  let text = positionals[0];
  if (text === undefined || text === "-") text = await readStdin();
  const trimmed = text.trim();
  const expr: string | object = trimmed.startsWith("{") ? JSON.parse(trimmed) : text;
  const threads = v["threads"] !== undefined ? Number(v["threads"]) : undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) throw new UsageError("--threads must be a non-negative integer");
  let engine: Engine;
  let entity = v["entity"] as string | undefined;
  if (v["file"]) {
    if (v["data"]) throw new UsageError("give --data or --file, not both");
    if (!v["key"]) throw new UsageError("--file needs --key COL (the entity-id column)");
    engine = await openEngine({ threads });
    entity ??= "user";
    await engine.load({ entity, key: v["key"] as string, body: fileChunks(v["file"] as string) });
  } else {
    engine = await openEngine({ dataDir: resolveDataDir(v["data"] as string | undefined), threads });
  }
  return { engine, entity, expr, asOf: v["as-of"] as string | undefined, values: v };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("no expression given (pass it as an argument or on stdin)");
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

/** Prints an error the way every command does and returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`lasso: ${e.message}\n`);
    return EXIT_USAGE;
  }
  if (e instanceof LassoError) {
    const at = e.at ? ` at ${e.at.line}:${e.at.column}` : e.path !== undefined ? ` at ${e.path}` : "";
    process.stderr.write(`lasso: ${e.code}${at}: ${e.message}\n`);
    return EXIT_FAILURE;
  }
  if (e instanceof SyntaxError) {
    process.stderr.write(`lasso: bad JSON expression: ${e.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`lasso: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  return EXIT_FAILURE;
}
