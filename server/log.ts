/**
 * Structured logs: one JSON object per line on stderr (what log shippers read), or one readable line per
 * event when stderr is a terminal (what a person reads). The signature matches the engine's
 * `OpenOptions.log`, so one logger serves both.
 *
 *   const log = createLogger();
 *   log("info", "listening", { url: "http://127.0.0.1:7600" });
 */
export type LogLevel = "info" | "warn" | "error";

export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export const silentLogger: Logger = () => {};

export interface LoggerOptions {
  /** Default: process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Readable lines instead of JSON; default: when the stream is a TTY. */
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const pretty = opts.pretty ?? stream.isTTY === true;
  return (level, msg, fields) => {
    const time = new Date().toISOString();
    stream.write(pretty ? prettyLine(time, level, msg, fields) : jsonLine(time, level, msg, fields));
  };
}

function jsonLine(time: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): string {
  // Fields first so `time`/`level`/`msg` cannot be overwritten by a field of the same name.
  return JSON.stringify({ ...fields, time, level, msg }, jsonSafe) + "\n";
}

function prettyLine(time: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): string {
  const rest = fields
    ? Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, jsonSafe)}`)
        .join(" ")
    : "";
  const tag = level === "info" ? "" : `${level.toUpperCase()} `;
  return `${time.slice(11, 23)} ${tag}${msg}${rest ? "  " + rest : ""}\n`;
}

/** Errors and bigints would otherwise vanish or throw inside JSON.stringify. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return { name: e.name, message: e.message, code: e.code, stack: e.stack };
  }
  return value;
}
