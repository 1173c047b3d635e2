/** Shared test helpers: error capture and the fixed property-test seed. */
import { expect } from "vitest";
import { HTTP_STATUS, LassoError } from "../../engine/errors.js";

/** Seed for every property test; override with SEL_SEED=… to explore, fast-check prints it on failure. */
export const SEED = Number(process.env["SEL_SEED"] ?? 20_251_130);

export const ERROR_CODES = new Set(Object.keys(HTTP_STATUS));

/** Runs `fn`, which must throw a LassoError; returns it. */
export function catchLasso(fn: () => unknown): LassoError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error("expected a LassoError, nothing was thrown");
  if (!(thrown instanceof LassoError)) throw thrown;
  return thrown;
}

/** JSON.stringify that shows bigints (for readable diffs). */
export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
}

export function expectSpan(e: LassoError, line: number, column: number, length: number): void {
  expect(e.at, `${e.code}: ${e.message}`).toEqual({ line, column, length });
}
