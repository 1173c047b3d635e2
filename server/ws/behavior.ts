/**
 * uWS settings and event wiring for `/v1/ws`. One `Session` per socket holds its state.
 */
import uWS, { type WebSocket, type WebSocketBehavior } from "uWebSockets.js";
import { JSON_TYPE, errorHeaders, statusLine } from "../http/exchange.js";
import { asLassoError, errorBody } from "../http/errors.js";
import { requireAction } from "../http/auth.js";
import { LassoError } from "../../engine/errors.js";
import { Session, type SocketData, type WsContext } from "./session.js";

/** Close codes this server uses. 1001: going away (shutdown). */
export const CLOSE_GOING_AWAY = 1001;

export function wsBehavior(ctx: WsContext, sockets: Set<WebSocket<SocketData>>): WebSocketBehavior<SocketData> {
  const { opts } = ctx;
  return {
    compression: uWS.DISABLED,
    maxPayloadLength: opts.maxFrameBytes,
    idleTimeout: opts.idleTimeoutSec,
    sendPingsAutomatically: true,
    // Streams pull only below the high-water mark (see session.ts), so this limit is only reached by a
    // client that floods small requests without reading the answers: such a socket is closed rather
    // than allowed to grow server memory, and no frame is ever silently dropped.
    maxBackpressure: Math.max(64 * 1024 * 1024, opts.streamHighWaterBytes * 8),
    closeOnBackpressureLimit: 1,
    upgrade: (res, req, context) => {
      // an upgrade refused is a plain HTTP error answer, as every route gives
      const refuse = (err: LassoError) => {
        res.writeStatus(statusLine(err.status)).writeHeader("Content-Type", JSON_TYPE);
        for (const [k, v] of Object.entries(errorHeaders(err, { retryAfterSec: opts.retryAfterSec }))) res.writeHeader(k, v);
        res.end(JSON.stringify(errorBody(err)));
      };
      if (ctx.closing()) {
        refuse(new LassoError("overloaded", "the server is shutting down"));
        return;
      }
      // queries need the `query` action; browsers cannot set headers on an upgrade, so ?token= works too
      let data: SocketData;
      try {
        const q = new URLSearchParams(req.getQuery() ?? "").get("token");
        const auth = req.getHeader("authorization") || (q ? `Bearer ${q}` : undefined);
        data = { principal: requireAction(ctx.engine.tagCatalog, auth, "query") };
      } catch (e) {
        refuse(asLassoError(e));
        return;
      }
      res.upgrade(
        data,
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open: (ws) => {
      ws.getUserData().session = new Session(ws, ctx);
      sockets.add(ws);
    },
    message: (ws, message, isBinary) => {
      ws.getUserData().session?.onMessage(message, isBinary);
    },
    drain: (ws) => {
      ws.getUserData().session?.onDrain();
    },
    close: (ws) => {
      sockets.delete(ws);
      ws.getUserData().session?.onClose();
    },
  };
}
