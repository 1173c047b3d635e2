/**
 * Errors on the wire: API.md's `{"error":{"code","message","at"?,"path"?}}` with the status of
 * engine/errors.ts. Anything that is not a LassoError is the server's own fault and says no more than
 * "internal error" (the details go to the log, not to the client).
 */
import { LassoError, isLassoError } from "../../engine/errors.js";

export interface ErrorBody {
  error: ReturnType<LassoError["toJSON"]>;
}

export function errorBody(e: LassoError): ErrorBody {
  return { error: e.toJSON() };
}

export function asLassoError(e: unknown): LassoError {
  if (isLassoError(e)) return e;
  return new LassoError("internal", "internal error", { cause: e });
}

/** True for faults worth an error log line (5xx), false for the client's mistakes. */
export function isServerFault(e: LassoError): boolean {
  return e.status >= 500;
}
