/**
 * The segment server: uWebSockets.js serving API.md's HTTP endpoints and the `/v1/ws` WebSocket over
 * one engine. A thin shell: decode, validate shapes, call the engine, stream, encode.
 *
 *   const engine = await openEngine({ dataDir: "./data" });
 *   const server = await createServer(engine, { port: 7600 });
 *   // … later
 *   await server.close(10_000); // stop accepting, let running work finish within 10 s, then cut it
 *   await engine.close();
 */
import uWS, { type WebSocket } from "uWebSockets.js";
import type { Engine } from "../engine/api.js";
import { Admission } from "./admission.js";
import type { Exchange } from "./http/exchange.js";
import { dispatch, type HttpContext } from "./http/routes.js";
import { ServerMetrics } from "./metrics.js";
import { resolveOptions, type ServerOptions } from "./options.js";
import { CLOSE_GOING_AWAY, wsBehavior } from "./ws/behavior.js";
import type { SocketData } from "./ws/session.js";

export type { ServerOptions } from "./options.js";

export interface LassoServer {
  /** The port actually listened on (the one chosen when `port` was 0). */
  readonly port: number;
  readonly host: string;
  /**
   * Graceful stop: refuse new connections and requests at once, let running requests finish for up
   * to `deadlineMs` (default 10 s), then cancel what still runs and close every connection. Does not
   * close the engine (the caller owns it).
   */
  close(deadlineMs?: number): Promise<void>;
}

export const DEFAULT_SHUTDOWN_DEADLINE_MS = 10_000;

export async function createServer(engine: Engine, options: ServerOptions = {}): Promise<LassoServer> {
  const opts = resolveOptions(options);
  const log = opts.log;
  const admission = new Admission(opts.maxInFlight, opts.maxLoadsInFlight);
  const metrics = new ServerMetrics();
  const open = new Set<Exchange>();
  const sockets = new Set<WebSocket<SocketData>>();
  let closing = false;

  metrics.gauge("lasso_queries_in_flight", "Queries running now (HTTP and WebSocket).", () => admission.queriesInFlight);
  metrics.gauge("lasso_loads_in_flight", "Loads and deletes running now.", () => admission.loadsInFlight);
  metrics.gauge("lasso_ws_connections", "Open WebSocket connections.", () => sockets.size);
  const stat = (pick: (s: ReturnType<Engine["stats"]>) => number) => () => {
    try {
      return pick(engine.stats());
    } catch {
      return Number.NaN;
    }
  };
  metrics.gauge("lasso_store_entity_types", "Entity types in the store.", stat((s) => s.entities));
  metrics.gauge("lasso_store_rows", "Existing entities over all entity types.", stat((s) => s.rows));
  metrics.gauge("lasso_store_tags", "Tags over all entity types.", stat((s) => s.tags));
  metrics.gauge("lasso_store_bytes", "Bytes of tag data held in memory.", stat((s) => s.bytes));
  metrics.gauge("lasso_engine_queries_in_flight", "Queries the engine reports running.", stat((s) => s.queriesInFlight));

  const ctx: HttpContext = {
    engine,
    opts,
    admission,
    metrics,
    log,
    startedAt: performance.now(),
    closing: () => closing,
    open,
  };

  const app = uWS.App();
  app.ws<SocketData>("/v1/ws", wsBehavior(ctx, sockets));
  app.any("/*", (res, req) => dispatch(ctx, res, req));

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(opts.host, opts.port, (ls) => {
      if (ls) resolve(ls);
      else reject(new Error(`cannot listen on ${opts.host}:${opts.port} (address in use or not available)`));
    });
  });
  const port = uWS.us_socket_local_port(listenSocket as uWS.us_socket);

  let closed: Promise<void> | undefined;
  const close = (deadlineMs = DEFAULT_SHUTDOWN_DEADLINE_MS): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      uWS.us_listen_socket_close(listenSocket);
      log("info", "shutting down", { queriesInFlight: admission.queriesInFlight, loadsInFlight: admission.loadsInFlight, deadlineMs });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"deadline">((r) => (timer = setTimeout(() => r("deadline"), deadlineMs)));
      const outcome = await Promise.race([admission.idle().then(() => "idle" as const), deadline]);
      clearTimeout(timer);
      if (outcome === "deadline") {
        log("warn", "shutdown deadline passed: cancelling running work", { queriesInFlight: admission.queriesInFlight, loadsInFlight: admission.loadsInFlight });
        admission.abortAll("the server is shutting down");
      }
      for (const ws of [...sockets]) {
        ws.getUserData().session?.abortAll("the server is shutting down");
        ws.end(CLOSE_GOING_AWAY, "server shutting down");
      }
      for (const ex of [...open]) ex.destroy();
      // Cancelled work unwinds on its own turn of the event loop; give it that turn before the caller
      // closes the engine underneath it.
      await Promise.race([admission.idle(), new Promise((r) => setTimeout(r, 1000))]);
      // Closes idle keep-alive connections too, so the process can exit. The native v20.30 build has
      // `close()`; its bundled typings predate it.
      (app as uWS.TemplatedApp & { close(): void }).close();
      log("info", "server stopped");
    })();
    return closed;
  };

  log("info", "listening", { url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`, ws: "/v1/ws" });
  return { port, host: opts.host, close };
}
