/**
 * `lasso serve`: serves a data directory as it is (an empty directory is an empty store) over HTTP and
 * WebSocket until SIGINT/SIGTERM, then shuts down gracefully: stop accepting, let running work finish
 * within a deadline, cancel the rest, close the engine.
 */
import { parseArgs } from "node:util";
import type { Engine } from "../../engine/api.js";
import { DEFAULT_DATA_DIR, envValue, resolveDataDir } from "../../engine/catalog/data-dir.js";
import { createServer } from "../app.js";
import { createLogger, type Logger } from "../log.js";
import { DEFAULT_HOST, DEFAULT_PORT } from "../options.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Command } from "./command.js";


export interface ServeSettings {
  dataDir: string;
  host: string;
  port: number;
  /** Engine worker threads; undefined = the engine's default (cores). */
  threads?: number;
  timeoutMs?: number;
  maxInFlight?: number;
  shutdownMs: number;
  accessLog: boolean;
  /** Serve a non-loopback address even with no users configured (open to anyone who can connect). */
  insecure: boolean;
}

export const SERVE_FLAGS = `Options:
  --data DIR          data directory (env LASSO_DATA; default ${DEFAULT_DATA_DIR})
  --port N            TCP port, 0 for any free one (env LASSO_PORT; default ${DEFAULT_PORT})
  --host H            address to listen on (env LASSO_HOST; default ${DEFAULT_HOST})
  --threads N         engine worker threads (default: one per core; 0 runs queries on the main thread)
  --timeout-ms N      default query timeout in milliseconds (default 30000)
  --max-in-flight N   queries running at once before new ones get 503 overloaded (default 256)
  --shutdown-ms N     on SIGINT/SIGTERM, how long running work may finish (default 10000)
  --access-log        log one line per HTTP request
  --insecure          no warning for a non-loopback --host with no users configured (anyone reaching it is admin)
  -h, --help          show this help`;

const USAGE = `Usage: lasso serve [options]

Serves the store in a data directory over HTTP and WebSocket (see docs/api.md). The directory is
served as it is: an empty or missing directory is an empty store (use \`npm start\` / \`lasso start\`
to get the demo data set in an empty directory).

${SERVE_FLAGS}
`;

function nonNegativeInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}


/** Flags win over environment variables, which win over defaults. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeSettings {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        threads: { type: "string" },
        "timeout-ms": { type: "string" },
        "max-in-flight": { type: "string" },
        "shutdown-ms": { type: "string" },
        "access-log": { type: "boolean" },
        insecure: { type: "boolean" },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const port = nonNegativeInt("port", values.port ?? envValue(env, "LASSO_PORT")) ?? DEFAULT_PORT;
  if (port > 65535) throw new UsageError(`--port must be 0…65535, got ${port}`);
  const s: ServeSettings = {
    dataDir: resolveDataDir(values.data, env),
    host: values.host ?? envValue(env, "LASSO_HOST") ?? DEFAULT_HOST,
    port,
    shutdownMs: nonNegativeInt("shutdown-ms", values["shutdown-ms"]) ?? 10_000,
    accessLog: values["access-log"] ?? false,
    insecure: values.insecure ?? false,
  };
  const threads = nonNegativeInt("threads", values.threads);
  if (threads !== undefined) s.threads = threads;
  const timeoutMs = nonNegativeInt("timeout-ms", values["timeout-ms"]);
  if (timeoutMs !== undefined) s.timeoutMs = timeoutMs;
  const maxInFlight = nonNegativeInt("max-in-flight", values["max-in-flight"]);
  if (maxInFlight !== undefined) s.maxInFlight = maxInFlight;
  return s;
}

export interface RunHooks {
  /** Runs after the engine opened, before the server listens (e.g. the demo data load). */
  prepare?: (engine: Engine, log: Logger) => Promise<void>;
  /** Resolves when the server should stop; default: the first SIGINT or SIGTERM. */
  stopSignal?: Promise<string>;
  /** Called once listening (tests read the port here). */
  onListening?: (port: number) => void;
  /** Where logs go; default: stderr (JSON lines, or readable lines on a terminal). */
  log?: Logger;
}

function firstSignal(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (sig: NodeJS.Signals) => {
      if (seen) {
        // A second signal: the operator does not want to wait for the graceful path.
        log("warn", "second signal: exiting now", { signal: sig });
        process.exit(130);
      }
      seen = true;
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** Opens the engine, serves until stopped, shuts down; resolves with the exit code. */
export async function runServer(settings: ServeSettings, hooks: RunHooks = {}): Promise<number> {
  const log = hooks.log ?? createLogger();
  const { openEngine } = await import("../../engine/index.js");
  let engine: Engine;
  try {
    const open: Parameters<typeof openEngine>[0] = { dataDir: settings.dataDir, log };
    if (settings.threads !== undefined) open.threads = settings.threads;
    engine = await openEngine(open);
  } catch (e) {
    log("error", "cannot open the data directory", { dataDir: settings.dataDir, error: e });
    return EXIT_FAILURE;
  }
  try {
    if (engine.tagCatalog.openMode()) {
      // API.md: --host / LASSO_HOST are honoured as given. Open mode on an address others can reach is
      // the operator's call (a container publishes 0.0.0.0), so it is said loudly, not refused.
      if (!isLoopback(settings.host) && !settings.insecure) {
        log("warn", "open single-user mode on a non-loopback address: anyone who reaches it acts as admin", {
          host: settings.host,
          fix: "add a user (`lasso users add NAME --role admin`) to require tokens, or pass --insecure to silence this",
        });
      }
      log("info", "open single-user mode: no users are configured, every request acts as the local admin", {
        host: settings.host,
        users: "add one with `lasso users add NAME --role ROLE` to require tokens and tag review",
      });
    } else log("info", "multi-user mode: requests need Authorization: Bearer TOKEN");
    await hooks.prepare?.(engine, log);
    const server = await createServer(engine, {
      host: settings.host,
      port: settings.port,
      log,
      accessLog: settings.accessLog,
      ...(settings.timeoutMs !== undefined ? { queryTimeoutMs: settings.timeoutMs } : {}),
      ...(settings.maxInFlight !== undefined ? { maxInFlight: settings.maxInFlight } : {}),
    });
    hooks.onListening?.(server.port);
    const signal = await (hooks.stopSignal ?? firstSignal(log));
    log("info", "stopping", { signal, deadlineMs: settings.shutdownMs });
    await server.close(settings.shutdownMs);
    return EXIT_OK;
  } catch (e) {
    log("error", "the server stopped on an error", { error: e });
    return EXIT_FAILURE;
  } finally {
    await engine.close().catch((e: unknown) => log("error", "closing the engine failed", { error: e }));
    log("info", "engine closed");
  }
}

/** 127.0.0.0/8, ::1 and localhost: the only addresses open mode may listen on. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

export const command: Command = {
  name: "serve",
  summary: "serve a data directory over HTTP and WebSocket",
  usage: USAGE,
  run: (argv) => withServeArgs("serve", USAGE, argv, runServer),
};

/** Parses the serving flags for `lasso NAME` and runs `then` with them; bad flags print the usage (exit 2). */
export function withServeArgs(name: string, usage: string, argv: string[], then: (s: ServeSettings) => Promise<number>): Promise<number> {
  let settings: ServeSettings;
  try {
    settings = parseServeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`lasso ${name}: ${e.message}\n\n${usage}`);
    return Promise.resolve(EXIT_USAGE);
  }
  return then(settings);
}
