// Lasso's kernels: pure functions over pointers into one shared, imported memory (env.memory).
// Nothing here allocates; every buffer is a byte offset the engine passes in. Each kernel checks its
// pointer ranges once at entry and returns a negative status (status.ts) instead of trapping.
// Every kernel comes as a SIMD form and a `<name>Scalar` twin with identical results.

export { E_BOUNDS, E_ARG, E_DATA } from "./status";
export {
  bitmapAnd, bitmapAndScalar, bitmapOr, bitmapOrScalar, bitmapAndNot, bitmapAndNotScalar,
  bitmapCopy, bitmapCopyScalar, bitmapFill, bitmapFillScalar, bitmapClearTail,
} from "./bitmap/bitset-ops";
export { popcount, popcountScalar, andPopcount, andPopcountScalar } from "./bitmap/popcount";
export { bitmapToRows, bitmapToRowsScalar } from "./bitmap/to-rows";
export { containerToBitmap, containerToBitmapScalar } from "./bitmap/container";
export {
  rangeI32, rangeI32Scalar, rangeI64, rangeI64Scalar, rangeF32, rangeF32Scalar, rangeF64, rangeF64Scalar,
} from "./predicate/range-scan";
export {
  codesEqAnyU8, codesEqAnyU8Scalar, codesEqAnyU16, codesEqAnyU16Scalar,
  codesInLutU8, codesInLutU8Scalar, codesInLutU16, codesInLutU16Scalar, codesInLutU32, codesInLutU32Scalar,
} from "./predicate/codes-in";
export { listHasAnyU16, listHasAnyU16Scalar, listHasAnyU32, listHasAnyU32Scalar } from "./predicate/list-has";
export { scanBytes, copyBytes, streamBytes } from "./baseline";
export { keysToDecimal } from "./keys/decimal";

// Constants the engine mirrors in TypeScript (engine/exec/wasm.ts), exported as globals so that it checks
// every mirror against these when it instantiates the module.
export { MORSEL_ROWS, MORSEL_WORDS, RESERVED_BYTES } from "./status";
export { MAX_EQ_VALUES, LUT_U8_BYTES, LUT_U16_BYTES } from "./predicate/codes-in";
export { MIN_LIST_SCRATCH_BYTES } from "./predicate/list-has";
export { KIND_EMPTY, KIND_ARRAY, KIND_BITMAP, KIND_RUNS } from "./bitmap/container";
export { KEYS_SIGNED, KEYS_QUOTE, KEYS_FIXSTR, KEYS_COMMA, KEYS_LF, KEYS_CRLF, KEY_TEXT_MAX_BYTES } from "./keys/decimal";

/** End of the module's static data in memory: the engine must place nothing below it (wasm.ts checks). */
export function dataEnd(): usize {
  return __heap_base;
}
