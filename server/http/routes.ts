/**
 * The HTTP surface of API.md: a route table, the dispatcher (404 / 405 / shutdown), and one small
 * handler per endpoint. Handlers decode and check shapes, call the engine, and encode; nothing here
 * knows what an expression means.
 */
import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import type { Engine } from "../../engine/api.js";
import { LassoError, isLassoError } from "../../engine/errors.js";
import { Admission, QueryControl, effectiveTimeout, selectRequest, type WorkKind } from "../admission.js";
import type { Logger } from "../log.js";
import type { ServerMetrics } from "../metrics.js";
import type { ResolvedOptions } from "../options.js";
import { deleteKeys, queryFields, requireObject, segmentFields, selectFields } from "../request-shapes.js";
import { BodyStream, ClientGone, declaredLength, mediaType, readJsonBody, requireJsonContentType } from "./body.js";
import { asLassoError, isServerFault } from "./errors.js";
import { Exchange, type FinishStatus } from "./exchange.js";
import { negotiate, streamSelection } from "./select-stream.js";
import { principalOf, requireAction } from "./auth.js";
import { handleCatalog } from "../catalog-api.js";
import type { Action } from "../../engine/catalog/index.js";
import { parseCsvTypes } from "../../engine/store/csv.js";
import { csvLoadBody } from "../csv-load.js";
import { parquetRequestBody } from "../parquet-load.js";
import { PARQUET_MEDIA_TYPE } from "../../engine/store/parquet.js";

export interface HttpContext {
  readonly engine: Engine;
  readonly opts: ResolvedOptions;
  readonly admission: Admission;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  readonly startedAt: number;
  /** True once shutdown began: new requests are refused. */
  closing(): boolean;
  /** Responses not yet finished, so shutdown can cut them past its deadline. */
  readonly open: Set<Exchange>;
}

type Handler = (ctx: HttpContext, ex: Exchange, params: string[]) => void | Promise<void>;

interface Route {
  readonly pattern: string;
  readonly parts: readonly (string | null)[];
  readonly methods: Readonly<Record<string, Handler>>;
  /** The action each method needs (engine/catalog ROLE_ACTIONS); absent: no authentication. */
  readonly needs: Readonly<Record<string, Action>>;
}

function route(pattern: string, methods: Record<string, Handler>, needs: Record<string, Action> = {}): Route {
  const parts = pattern
    .split("/")
    .slice(1)
    .map((p) => (p.startsWith("{") ? null : p));
  return { pattern, parts, methods, needs };
}

const LOAD_TYPES = new Set(["application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file"]);
/** The smallest Content-Length uWebSockets.js 20.30 refuses (uNetworking/uWebSockets#1693): chunked bodies have no limit. */
const UWS_MAX_CONTENT_LENGTH = 1_000_000_000;

// ---------------------------------------------------------------------------------------------------
// Running engine work: admission, cancellation on client abort, timeout, errors.

async function runWork<T>(
  ctx: HttpContext,
  ex: Exchange,
  kind: WorkKind,
  timeoutMs: number,
  work: (control: QueryControl) => Promise<T>,
): Promise<T | undefined> {
  const control = new QueryControl(timeoutMs);
  const release = ctx.admission.admit(kind, control);
  ex.onAbort(() => control.cancel("the client closed the connection"));
  try {
    return await work(control);
  } catch (e) {
    if (ex.aborted) return undefined;
    throw control.toLassoError(e);
  } finally {
    control.done();
    release();
  }
}

function timeoutOf(ctx: HttpContext, requested: number | undefined): number {
  return effectiveTimeout(requested, ctx.opts.queryTimeoutMs, ctx.opts.maxQueryTimeoutMs);
}

async function jsonObject(ctx: HttpContext, ex: Exchange, limit = ctx.opts.maxJsonBodyBytes): Promise<Record<string, unknown>> {
  requireJsonContentType(ex);
  return requireObject(await readJsonBody(ex, limit), "body");
}

function decodeParam(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new LassoError("bad_request", `the ${name} in the URL is not valid percent-encoding: "${raw}"`);
  }
}

function queryParam(ex: Exchange, name: string): string | undefined {
  const v = new URLSearchParams(ex.rawQuery).get(name);
  return v === null ? undefined : v;
}

// ---------------------------------------------------------------------------------------------------
// Handlers

const count: Handler = async (ctx, ex) => {
  const f = queryFields(await jsonObject(ctx, ex), "body", ctx.opts.maxQueryTimeoutMs);
  const timeoutMs = timeoutOf(ctx, f.timeoutMs);
  await runWork(ctx, ex, "query", timeoutMs, async (control) => {
    const r = await ctx.engine.count({ ...f, timeoutMs, signal: control.signal });
    ex.sendJson(200, r);
  });
};

const select: Handler = async (ctx, ex) => {
  const format = negotiate(ex.headers["accept"]);
  const f = selectFields(await jsonObject(ctx, ex), "body", ctx.opts.maxQueryTimeoutMs, ctx.opts.maxChunk);
  await runWork(ctx, ex, "query", timeoutOf(ctx, f.timeoutMs), async (control) => {
    const sel = await ctx.engine.select(selectRequest(f, control));
    control.stopClock();
    if (ex.aborted) {
      sel.close();
      return;
    }
    await streamSelection(ex, sel, format);
  });
};

const load: Handler = async (ctx, ex, [rawEntity]) => {
  const entity = decodeParam(rawEntity!, "entity");
  const { type, params } = mediaType(ex.headers["content-type"]);
  // text/csv: converted to Arrow record batches as it streams in (engine/store/csv.ts); Parquet: spooled,
  // then read a row group at a time (engine/store/parquet.ts). Both go through the same load as Arrow.
  const csv = type === "text/csv";
  const parquet = type === PARQUET_MEDIA_TYPE;
  if (!LOAD_TYPES.has(type) && !csv && !parquet) {
    throw new LassoError(
      "unsupported_media_type",
      `a load body must be Content-Type: application/vnd.apache.arrow.stream, application/vnd.apache.arrow.file, ${PARQUET_MEDIA_TYPE} or text/csv, got ${ex.headers["content-type"] ? `"${ex.headers["content-type"]}"` : "none"}`,
    );
  }
  if (csv && params.charset !== undefined && params.charset !== "utf-8" && params.charset !== "utf8") {
    throw new LassoError("unsupported_media_type", `a CSV load body must be UTF-8, got charset "${params.charset}"`);
  }
  const key = queryParam(ex, "key");
  if (!key) throw new LassoError("bad_request", `the query parameter "key" is missing: name the entity-id column, e.g. ?key=user_id`);
  const typesParam = queryParam(ex, "types");
  const listSep = queryParam(ex, "listSep");
  if (!csv && (typesParam !== undefined || listSep !== undefined)) {
    throw new LassoError("bad_request", `the query parameters "types" and "listSep" apply to Content-Type: text/csv only`);
  }
  const types = typesParam === undefined ? undefined : parseCsvTypes(typesParam);
  const declared = declaredLength(ex);
  if (declared !== undefined && declared >= UWS_MAX_CONTENT_LENGTH) {
    // uWebSockets.js 20.30 (the newest build for this glibc) drops such a connection before any byte of
    // the body arrives, so no answer can reach the client: say why where the operator looks.
    ctx.log("warn", "a load declared a Content-Length of 1e9 bytes or more, which this HTTP server cannot receive: send such bodies chunked (Transfer-Encoding: chunked)", { entity, contentLength: declared });
  }
  // a CSV or Parquet body cut short is bad input of its own kind, not unreadable Arrow
  const body = new BodyStream(ex, ctx.opts.loadHighWaterBytes, csv || parquet ? "bad_request" : "bad_arrow");
  try {
    await runWork(ctx, ex, "load", 0, async (control) => {
      const input = csv
        ? csvLoadBody(ctx.engine, entity, body, { key, ...(types ? { types } : {}), ...(listSep !== undefined ? { listSeparator: listSep } : {}) })
        : parquet
          ? parquetRequestBody(body)
          : body;
      const r = await ctx.engine.load({ entity, key, body: input, signal: control.signal, ...(ex.principal ? { actor: ex.principal.name } : {}) });
      // Bytes the engine did not read (past the end-of-stream marker) stay unread: close after replying.
      ex.send(200, "application/json; charset=utf-8", JSON.stringify(r), {}, !body.fullyRead);
    });
  } catch (e) {
    ex.sendError(asLassoError(e), { close: !body.fullyRead, retryAfterSec: ctx.opts.retryAfterSec });
    if (isServerFault(asLassoError(e))) ctx.log("error", "load failed", { entity, error: e });
  }
};

const deleteRows: Handler = async (ctx, ex, [rawEntity]) => {
  const entity = decodeParam(rawEntity!, "entity");
  const keys = deleteKeys(await jsonObject(ctx, ex, ctx.opts.maxDeleteBodyBytes));
  await runWork(ctx, ex, "load", 0, async () => {
    ex.sendJson(200, await ctx.engine.deleteRows(entity, keys));
  });
};

const listEntities: Handler = (ctx, ex) => {
  ex.sendJson(200, { entities: ctx.engine.entities() });
};

const tags: Handler = (ctx, ex, [rawEntity]) => {
  const entity = decodeParam(rawEntity!, "entity");
  const raw = queryParam(ex, "values");
  let valuesLimit = ctx.opts.tagValuesLimit;
  if (raw !== undefined) {
    if (!/^\d+$/.test(raw)) throw new LassoError("bad_request", `the query parameter "values" must be a non-negative integer, got "${raw}"`);
    valuesLimit = Number(raw);
  }
  ex.sendJson(200, { entity, tags: ctx.engine.tags(entity, { valuesLimit }) });
};

const listSegments: Handler = (ctx, ex) => {
  ex.sendJson(200, { segments: ctx.engine.listSegments() });
};

const getSegment: Handler = async (ctx, ex, [rawName]) => {
  const name = decodeParam(rawName!, "segment name");
  const def = ctx.engine.getSegment(name);
  if (!def) throw new LassoError("unknown_segment", `there is no saved segment "${name}"`);
  const timeoutMs = ctx.opts.queryTimeoutMs;
  await runWork(ctx, ex, "query", timeoutMs, async (control) => {
    const r = await ctx.engine.count({ entity: def.entity, expr: { segment: name }, timeoutMs, signal: control.signal });
    ex.sendJson(200, { ...def, count: r.count, total: r.total, tookMs: r.tookMs });
  });
};

const putSegment: Handler = async (ctx, ex, [rawName]) => {
  const name = decodeParam(rawName!, "segment name");
  const f = segmentFields(await jsonObject(ctx, ex));
  const { created, segment } = await ctx.engine.putSegment({ name, ...f });
  ex.sendJson(created ? 201 : 200, segment);
};

const deleteSegment: Handler = async (ctx, ex, [rawName]) => {
  const name = decodeParam(rawName!, "segment name");
  await ctx.engine.deleteSegment(name);
  ex.sendJson(200, { deleted: name });
};

const healthz: Handler = (ctx, ex) => {
  if (ctx.closing()) {
    ex.sendJson(503, { status: "shutting_down" });
    return;
  }
  const s = ctx.engine.stats();
  ex.sendJson(200, {
    status: "ok",
    uptimeSec: Math.round((performance.now() - ctx.startedAt) / 1000),
    entities: s.entities,
    rows: s.rows,
    queriesInFlight: ctx.admission.queriesInFlight,
  });
};

const metrics: Handler = (ctx, ex) => {
  ex.send(200, "text/plain; version=0.0.4; charset=utf-8", ctx.metrics.render());
};

const wsWithoutUpgrade: Handler = () => {
  throw new LassoError("bad_request", "/v1/ws takes WebSocket connections only (send an Upgrade: websocket request)");
};

/**
 * `/v1/catalog/…`: the tag catalog's REST API (docs/catalog.md), answered by server/catalog-api.ts with
 * the caller's principal (it checks each action itself).
 */
const catalog = async (ctx: HttpContext, ex: Exchange, method: string): Promise<void> => {
  const cat = ctx.engine.tagCatalog;
  const principal = principalOf(cat, ex.headers["authorization"]);
  let body: unknown;
  const hasBody = ex.headers["content-length"] !== undefined ? ex.headers["content-length"] !== "0" : ex.headers["transfer-encoding"] !== undefined;
  if (ex.method !== "GET" && ex.method !== "HEAD" && hasBody) {
    requireJsonContentType(ex);
    body = await readJsonBody(ex, ctx.opts.maxJsonBodyBytes);
  }
  const path = ex.url.slice(CATALOG_PREFIX.length) || "/";
  const r = handleCatalog(cat, { method, path, query: new URLSearchParams(ex.rawQuery), body, principal });
  ex.sendJson(r.status, r.body);
};
const CATALOG_PREFIX = "/v1/catalog";

export const ROUTES: readonly Route[] = [
  route("/v1/count", { POST: count }, { POST: "query" }),
  route("/v1/select", { POST: select }, { POST: "query" }),
  route("/v1/entities", { GET: listEntities }, { GET: "read" }),
  route("/v1/entities/{entity}/tags", { GET: tags }, { GET: "read" }),
  route("/v1/entities/{entity}/load", { POST: load }, { POST: "load" }),
  route("/v1/entities/{entity}/rows", { DELETE: deleteRows }, { DELETE: "load" }),
  route("/v1/segments", { GET: listSegments }, { GET: "read" }),
  route("/v1/segments/{name}", { GET: getSegment, PUT: putSegment, DELETE: deleteSegment }, { GET: "query", PUT: "query", DELETE: "query" }),
  route("/v1/ws", { GET: wsWithoutUpgrade }),
  route("/healthz", { GET: healthz }),
  route("/metrics", { GET: metrics }),
];

function match(url: string): { route: Route; params: string[] } | undefined {
  const parts = url.split("/").slice(1);
  for (const r of ROUTES) {
    if (r.parts.length !== parts.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      const want = r.parts[i];
      if (want === null) {
        if (parts[i] === "") ok = false;
        else params.push(parts[i]!);
      } else if (want !== parts[i]) ok = false;
      if (!ok) break;
    }
    if (ok) return { route: r, params };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------

function fail(ctx: HttpContext, ex: Exchange, e: unknown): void {
  if (e instanceof ClientGone || ex.aborted) return;
  const err = asLassoError(e);
  if (isServerFault(err)) {
    ctx.log("error", "request failed", { method: ex.method, route: ex.route, code: err.code, error: isLassoError(e) ? e : e });
  }
  // A body over the limit is left unread: answer and close rather than read it to the end.
  ex.sendError(err, { retryAfterSec: ctx.opts.retryAfterSec, close: err.code === "payload_too_large" });
}

/** The uWS catch-all: every HTTP request comes through here. */
export function dispatch(ctx: HttpContext, res: HttpResponse, req: HttpRequest): void {
  const ex = new Exchange(res, req, (x, status) => finished(ctx, x, status));
  ctx.open.add(ex);
  if (ctx.closing()) {
    ex.sendError(new LassoError("overloaded", "the server is shutting down"), { retryAfterSec: ctx.opts.retryAfterSec, close: true });
    return;
  }
  // HEAD is GET without the body (RFC 9110: a server that answers GET answers HEAD); Exchange drops the body.
  const asGet = ex.method === "HEAD" ? "GET" : ex.method;
  if (ex.url === CATALOG_PREFIX || ex.url.startsWith(`${CATALOG_PREFIX}/`)) {
    ex.route = `${CATALOG_PREFIX}/*`;
    catalog(ctx, ex, asGet).catch((e: unknown) => fail(ctx, ex, e));
    return;
  }
  const m = match(ex.url);
  if (!m) {
    ex.sendError(new LassoError("not_found", `no such endpoint: ${ex.method} ${ex.url} (see docs/api.md)`));
    return;
  }
  ex.route = m.route.pattern;
  const method = m.route.methods["GET"] ? asGet : ex.method;
  const handler = m.route.methods[method];
  if (!handler) {
    const allow = allowed(m.route).join(", ");
    ex.sendError(new LassoError("method_not_allowed", `${ex.method} is not allowed on ${m.route.pattern}; allowed: ${allow}`), { allow });
    return;
  }
  try {
    const need = m.route.needs[method];
    if (need) ex.principal = requireAction(ctx.engine.tagCatalog, ex.headers["authorization"], need);
    const r = handler(ctx, ex, m.params);
    if (r) r.catch((e: unknown) => fail(ctx, ex, e));
  } catch (e) {
    fail(ctx, ex, e);
  }
}

/** The Allow header of a route: its methods, and HEAD wherever GET is. */
function allowed(r: Route): string[] {
  const methods = Object.keys(r.methods);
  return methods.includes("GET") ? [...methods, "HEAD"] : methods;
}

function finished(ctx: HttpContext, ex: Exchange, status: FinishStatus): void {
  ctx.open.delete(ex);
  const seconds = (performance.now() - ex.startedAt) / 1000;
  ctx.metrics.httpRequests.inc({ route: ex.route, method: ex.method, status: String(status) });
  ctx.metrics.httpLatency.observe({ route: ex.route }, seconds);
  if (ctx.opts.accessLog) {
    ctx.log("info", "http", { method: ex.method, path: ex.url, status, ms: Math.round(seconds * 1e4) / 10 });
  }
}
