/**
 * Lasso's engine: exact segment counts and IDs over tag stores.
 *
 * @example
 *   const engine = await openEngine({ dataDir: "./data" });
 *   const { count } = await engine.count({ entity: "user", expr: "城市 IN ('上海', '北京') AND age BETWEEN 25 AND 35" });
 */
export { openEngine, LassoEngine } from "./engine.js";
export { fileChunks } from "./store/file-chunks.js";
export type * from "./api.js";
export { LassoError, isLassoError, HTTP_STATUS, type ErrorCode } from "./errors.js";
export { parseExpr, parseText, parseJson, format, toJson, check } from "./expr/index.js";
