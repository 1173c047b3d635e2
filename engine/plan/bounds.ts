/**
 * Exact conversion of SEL literals into inclusive bounds over a column's stored values.
 *
 * Every comparison becomes `lo ≤ v ≤ hi` so one range kernel serves =, <, <=, >, >=, BETWEEN, BEFORE,
 * AFTER and WITHIN. Integers and times are bounded with bigint arithmetic on the literal's exact value
 * (SEL.md: int tags compare exactly, literals exact to 64 bits, time literals finer than the tag's
 * precision compare exactly as instants); floats with the literal as a double, stepping to the adjacent
 * representable value for strict comparisons.
 */
import type { CompareOp } from "../expr/ast.js";

/** An exact rational `num / den` with den > 0. */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** Parses SEL number text (`-?digits(.digits)?([eE][+-]?digits)?`, or a JSON number's String()) exactly. */
export function rationalOf(text: string): Rational | null {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) return null;
  const sign = m[1] === "-" ? -1n : 1n;
  const frac = m[3] ?? "";
  const digits = (m[2]! + frac).replace(/^0+/, "");
  if (digits === "") return { num: 0n, den: 1n };
  // value = digits × 10^scale; its magnitude lies in [10^(magnitude-1), 10^magnitude)
  const scale = (m[4] ? Number(m[4]) : 0) - frac.length;
  const magnitude = digits.length + scale;
  // Beyond 10^±400 every comparison with a 64-bit integer comes out the same, and an exponent like
  // 1e999999999 must not build a billion-digit bigint; so only the magnitude is clamped, never the
  // exponent alone (30000…e-449 is 30).
  if (magnitude > 400) return { num: sign * 10n ** 400n, den: 1n };
  if (magnitude < -400) return { num: sign, den: 10n ** 401n };
  const num = BigInt(digits) * sign;
  return scale >= 0 ? { num: num * 10n ** BigInt(scale), den: 1n } : { num, den: 10n ** BigInt(-scale) };
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}
export function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) === (b < 0n)) ? q + 1n : q;
}

export interface IntRange {
  lo: bigint;
  hi: bigint;
}

/**
 * Inclusive integer bounds for `v op x` where v is an integer and x = num/den exactly.
 * For `=`: empty when x is not an integer.
 */
export function intBounds(op: CompareOp | ">=" | "<=", x: Rational, min: bigint, max: bigint): IntRange | null {
  const fl = floorDiv(x.num, x.den);
  const ce = ceilDiv(x.num, x.den);
  let lo = min;
  let hi = max;
  switch (op) {
    case "=":
      if (fl !== ce) return null;
      lo = hi = fl;
      break;
    case "<":
      hi = ce - 1n;
      break;
    case "<=":
      hi = fl;
      break;
    case ">":
      lo = fl + 1n;
      break;
    case ">=":
      lo = ce;
      break;
    case "!=":
      throw new Error("!= is planned as NOT =");
  }
  if (lo < min) lo = min;
  if (hi > max) hi = max;
  return lo > hi ? null : { lo, hi };
}

export function intersect(a: IntRange | null, b: IntRange | null): IntRange | null {
  if (!a || !b) return null;
  const lo = a.lo > b.lo ? a.lo : b.lo;
  const hi = a.hi < b.hi ? a.hi : b.hi;
  return lo > hi ? null : { lo, hi };
}

export interface FloatRange {
  lo: number;
  hi: number;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The next double above x (x finite or -Infinity). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  u64[0] = x > 0 ? u64[0]! + 1n : u64[0]! - 1n;
  return f64[0]!;
}
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Float32 bounds: the stored float32, widened exactly to a double, compared with double bounds. */
export function toF32Range(r: FloatRange): FloatRange | null {
  let lo = Math.fround(r.lo);
  if (lo < r.lo) lo = nextUpF32(lo);
  let hi = Math.fround(r.hi);
  if (hi > r.hi) hi = nextDownF32(hi);
  return lo > hi ? null : { lo, hi };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function nextUpF32(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return 1.401298464324817e-45;
  f32[0] = x;
  u32[0] = x > 0 ? u32[0]! + 1 : u32[0]! - 1;
  return f32[0]!;
}
function nextDownF32(x: number): number {
  return -nextUpF32(-x);
}

/** Inclusive double bounds for `v op x`. */
export function floatBounds(op: CompareOp | ">=" | "<=", x: number): FloatRange | null {
  if (Number.isNaN(x)) return null;
  switch (op) {
    case "=":
      return { lo: x, hi: x };
    case "<":
      return x === -Infinity ? null : { lo: -Infinity, hi: nextDown(x) };
    case "<=":
      return { lo: -Infinity, hi: x };
    case ">":
      return x === Infinity ? null : { lo: nextUp(x), hi: Infinity };
    case ">=":
      return { lo: x, hi: Infinity };
    default:
      throw new Error("!= is planned as NOT =");
  }
}

export function intersectFloat(a: FloatRange | null, b: FloatRange | null): FloatRange | null {
  if (!a || !b) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo > hi ? null : { lo, hi };
}
